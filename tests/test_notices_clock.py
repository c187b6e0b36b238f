from __future__ import annotations

from datetime import UTC, datetime

import pytest

from takedown.models import FoundLink, Notice
from takedown.notices.regimes import get_regime
from takedown.workflow import transition
from tests.factories import FoundLinkFactory, NoticeFactory

pytestmark = pytest.mark.django_db

FRIDAY_NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("take_it_down", datetime(2026, 11, 29, 12, 0, tzinfo=UTC)),  # 48 hours
        ("dsa", datetime(2026, 12, 4, 12, 0, tzinfo=UTC)),  # 7 calendar days
        ("gdpr", datetime(2026, 12, 27, 12, 0, tzinfo=UTC)),  # one month
        ("dmca", datetime(2026, 12, 4, 12, 0, tzinfo=UTC)),  # 5 working days, over a weekend
    ],
)
def test_due_date_per_regime_unit(code, expected):
    assert get_regime(code).due_at(FRIDAY_NOON) == expected


def test_due_date_month_end_clamps():
    january_31 = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)

    assert get_regime("gdpr").due_at(january_31) == datetime(2027, 2, 28, 9, 0, tzinfo=UTC)


def test_sent_notice_starts_clock_and_marks_links_notified():
    notice = NoticeFactory(status=Notice.Status.SENDING, regime="dsa")
    link = FoundLinkFactory(case=notice.case)
    removed = FoundLinkFactory(case=notice.case, status=FoundLink.Status.REMOVED)
    notice.links.add(link, removed)

    transition(notice, Notice.Status.SENT, fields={"sent_at": FRIDAY_NOON})

    notice.refresh_from_db()
    link.refresh_from_db()
    removed.refresh_from_db()
    assert notice.due_at == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert (link.status, removed.status) == ("notified", "removed")
    visible = notice.case.events.get(kind="notice.sent_to_recipient")
    assert visible.visible_to_person is True
    assert notice.recipient.name in visible.message
