from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from takedown.models import FoundLink, Notice
from takedown.notices.regimes import get_regime
from takedown.workflow import transition
from tests.factories import FoundLinkFactory, NoticeFactory

pytestmark = pytest.mark.django_db

FRIDAY_NOON = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
# Periods in days and months end with their last day, here in the default zone (Berlin).
END = (23, 59, 59)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("take_it_down", datetime(2026, 11, 29, 12, 0, tzinfo=UTC)),  # 48 hours
        ("dsa", datetime(2026, 12, 4, *END, tzinfo=BERLIN)),  # 7 calendar days
        # One month ends on Sunday 27 December: the period runs to Monday (1182/71 Art. 3(4)).
        ("gdpr", datetime(2026, 12, 28, *END, tzinfo=BERLIN)),
        ("dmca", datetime(2026, 12, 4, *END, tzinfo=BERLIN)),  # 5 working days, over a weekend
    ],
)
def test_due_date_per_regime_unit(code, expected):
    assert get_regime(code).due_at(FRIDAY_NOON) == expected


def test_due_date_month_end_clamps():
    january_31 = datetime(2028, 1, 31, 9, 0, tzinfo=UTC)

    # 2028 is a leap year; Tuesday 29 February is a working day.
    assert get_regime("gdpr").due_at(january_31) == datetime(2028, 2, 29, *END, tzinfo=BERLIN)


def test_sent_notice_starts_clock_and_marks_links_notified():
    notice = NoticeFactory(status=Notice.Status.SENDING, regime="dsa")
    link = FoundLinkFactory(case=notice.case)
    removed = FoundLinkFactory(case=notice.case, status=FoundLink.Status.REMOVED)
    notice.links.add(link, removed)

    transition(notice, Notice.Status.SENT, fields={"sent_at": FRIDAY_NOON})

    notice.refresh_from_db()
    link.refresh_from_db()
    removed.refresh_from_db()
    assert notice.due_at == datetime(2026, 12, 4, *END, tzinfo=BERLIN)
    assert (link.status, removed.status) == ("notified", "removed")
    visible = notice.case.events.get(kind="notice.sent_to_recipient")
    assert visible.visible_to_person is True
    assert notice.recipient.name in visible.message


def test_sent_reminder_tells_the_person_it_is_a_reminder():
    parent = NoticeFactory(status=Notice.Status.SENT, regime="dsa", sent_at=FRIDAY_NOON)
    reminder = NoticeFactory(
        case=parent.case,
        parent=parent,
        recipient=parent.recipient,
        kind=Notice.Kind.REMINDER,
        status=Notice.Status.SENDING,
        regime="dsa",
    )

    transition(reminder, Notice.Status.SENT, fields={"sent_at": FRIDAY_NOON})

    event = reminder.case.events.get(kind="notice.sent_to_recipient", notice=reminder)
    assert event.message == (
        f"A reminder was sent to {parent.recipient.name}, who had not answered our request. "
        "They are expected to respond by 4 December 2026."
    )


def test_sent_complaint_runs_three_months():
    complaint = NoticeFactory(
        kind=Notice.Kind.COMPLAINT,
        recipient_role="dpa",
        status=Notice.Status.SENDING,
        regime="gdpr",
    )

    transition(complaint, Notice.Status.SENT, fields={"sent_at": FRIDAY_NOON})

    complaint.refresh_from_db()
    # 27 February 2027 is a Saturday: the period runs to Monday 1 March.
    assert complaint.due_at == datetime(2027, 3, 1, *END, tzinfo=BERLIN)
