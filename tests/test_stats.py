"""The results selectors: exact figures from factory data, scoping by case, query counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from takedown import stats
from takedown.checks.escalate import close_case, mark_overdue
from takedown.models import Case, FoundLink, Notice, NoticeLink
from takedown.web.staff.selectors import queue_counts
from takedown.workflow import transition
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    NoticeFactory,
    OrganisationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)  # a Wednesday
L, N, Outcome = FoundLink.Status, Notice.Status, Notice.Outcome


def at(day: int, hour: int = 10, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def link(
    case: Case, *, created: datetime = NOW, status: str = L.NOTIFIED, removed=None, verdict=""
):
    return FoundLinkFactory(
        case=case, created_at=created, status=status, removed_at=removed, last_verdict=verdict
    )


def sent(case: Case, recipient, links=(), **fields) -> Notice:
    fields.setdefault("status", N.SENT)
    fields.setdefault("sent_at", at(2))
    notice = NoticeFactory(case=case, recipient=recipient, **fields)
    NoticeLink.objects.bulk_create(NoticeLink(notice=notice, link=lk) for lk in links)
    return notice


@pytest.fixture
def world():
    """Three recipients; notices with removals, reminders, bounces and deadlines (see each)."""
    a = OrganisationFactory(name="Alpha Hosting GmbH", country="DE")
    b = OrganisationFactory(name="Beta Host Inc", country="US")
    c = OrganisationFactory(name="Gamma SAS", country="FR")
    case = CaseFactory()
    l1 = link(case, status=L.REMOVED, removed=at(3))  # 24 h after N1
    l2 = link(case, status=L.REMOVED, removed=at(5))  # 72 h after N1
    l3 = link(case, verdict="online_same")  # still online
    l4 = link(case, status=L.REMOVED, removed=at(12))  # 240 h after N2
    l5 = link(case, status=L.REMOVED, removed=at(1))  # removed before N2 was sent
    # Removal no longer holds.
    l6 = link(case, status=L.REAPPEARED, removed=at(10), verdict="online_same")
    n1 = sent(case, a, [l1, l2, l3], regime="gdpr", outcome=Outcome.COMPLIED, due_at=at(2, month=4))
    # A reminder names l2 again, two days after the notice: it must not count as 24 h.
    sent(case, a, [l2], kind=Notice.Kind.REMINDER, parent=n1, sent_at=at(4), regime="gdpr")
    # A bounced notice never reached the recipient.
    sent(case, a, [l1], status=N.BOUNCED, sent_at=at(2, 9), regime="gdpr")
    # A draft has no sent_at and counts for nothing.
    NoticeFactory(case=case, recipient=a, status=N.DRAFT)
    sent(case, b, [l4, l5], regime="dmca", outcome=Outcome.NO_RESPONSE)
    # Deadline passed, nothing recorded: overdue, and ignored on the scoreboard.
    n4 = sent(case, c, [l6], regime="dsa", sent_at=at(9), due_at=at(10, 12))
    # Deadline passed but extended into the future: neither overdue nor settled.
    sent(case, c, [], regime="dsa", sent_at=at(9), due_at=at(10), extended_until=at(25))
    # The escalation clock marked it overdue although its deadline is later.
    n6 = sent(case, b, [], regime="dmca", sent_at=at(13), due_at=at(20), overdue_at=at(16))
    # Pending within its deadline.
    sent(case, a, [], regime="dsa", sent_at=at(16), due_at=at(30))
    return {"a": a, "b": b, "c": c, "case": case, "n4": n4, "n6": n6}


def test_removal_times_medians_by_recipient_country_and_regime(world):
    times = stats.removal_times()

    a, b = world["a"], world["b"]
    assert times.by_recipient == [
        stats.Median(str(a.pk), "Alpha Hosting GmbH", timedelta(hours=48), 2),
        stats.Median(str(b.pk), "Beta Host Inc", timedelta(hours=240), 1),
    ]
    assert times.by_country == [
        stats.Median("DE", "DE", timedelta(hours=48), 2),
        stats.Median("US", "US", timedelta(hours=240), 1),
    ]
    assert times.by_regime == [
        stats.Median("gdpr", "GDPR erasure request", timedelta(hours=48), 2),
        stats.Median("dmca", "DMCA takedown notice", timedelta(hours=240), 1),
    ]
    assert times.overall == timedelta(hours=72)
    assert times.links == 3


def test_removal_times_no_removals_empty():
    times = stats.removal_times()

    assert times == stats.RemovalTimes([], [], [], None, 0)


def test_overdue_notices_past_deadline_or_marked_without_outcome(world):
    overdue = stats.overdue_notices(now=NOW)

    reference = world["case"].reference
    assert overdue == [
        stats.OverdueNotice(
            world["n4"].pk, reference, "Gamma SAS", "dsa", at(9), at(10, 12), NOW - at(10, 12)
        ),
        stats.OverdueNotice(
            world["n6"].pk, reference, "Beta Host Inc", "dmca", at(13), at(20), NOW - at(16)
        ),
    ]


def overdue_everywhere(now: datetime) -> tuple[int, list[int]]:
    """The caseworker's queue tab count and the reviewer's list, at `now`."""
    with time_machine.travel(now, tick=False):
        tab = queue_counts(Case.objects.all(), UserFactory())["overdue"]
    return tab, [row.notice_id for row in stats.overdue_notices(now=now)]


def test_overdue_notices_stay_overdue_once_the_daily_job_marks_them():
    hoster = OrganisationFactory(name="Hoster GmbH", country="DE")
    case = CaseFactory()
    first, second = link(case), link(case)
    notice = sent(case, hoster, [first, second], regime="gdpr", due_at=at(10))
    assert overdue_everywhere(NOW) == (1, [notice.pk])

    with time_machine.travel(NOW, tick=False):
        assert mark_overdue() == 1

    notice.refresh_from_db()
    assert (notice.overdue_at, notice.outcome) == (NOW, Outcome.NO_RESPONSE)
    later = NOW + timedelta(days=1)
    assert overdue_everywhere(later) == (1, [notice.pk])
    assert stats.overdue_notices(now=later)[0].overdue_for == timedelta(days=1)
    # One link removed: the other is still online past the deadline.
    transition(FoundLink.objects.get(pk=first.pk), L.REMOVED, fields={"removed_at": NOW})
    notice.refresh_from_db()
    assert notice.outcome == Outcome.PARTLY
    assert overdue_everywhere(later) == (1, [notice.pk])
    # Both removed: complied, and the case closes by itself.
    transition(FoundLink.objects.get(pk=second.pk), L.REMOVED, fields={"removed_at": NOW})
    notice.refresh_from_db()
    assert notice.outcome == Outcome.COMPLIED
    assert overdue_everywhere(later) == (0, [])


def test_overdue_notices_of_a_closed_case_are_not_listed():
    case = CaseFactory()
    sent(case, OrganisationFactory(), [link(case)], regime="gdpr", due_at=at(10))
    with time_machine.travel(NOW, tick=False):
        assert mark_overdue() == 1
    assert overdue_everywhere(NOW) == (1, [Notice.objects.get(case=case).pk])

    close_case(case, reason="The person found another way.", actor=None)

    assert overdue_everywhere(NOW) == (0, [])


def test_overdue_notices_before_deadline_none(world):
    assert stats.overdue_notices(now=at(10, 11)) == []


def test_scoreboard_shares_of_settled_notices(world):
    board = stats.scoreboard(now=NOW)

    a, b, c = world["a"], world["b"], world["c"]
    assert board == [
        stats.Responsiveness(
            a.pk,
            "Alpha Hosting GmbH",
            "DE",
            sent=2,
            settled=1,
            complied=1,
            partly=0,
            refused=0,
            ignored=0,
            pending=1,
            median_removal=timedelta(hours=48),
        ),
        stats.Responsiveness(
            b.pk,
            "Beta Host Inc",
            "US",
            sent=2,
            settled=2,
            complied=0,
            partly=0,
            refused=0,
            ignored=2,
            pending=0,
            median_removal=timedelta(hours=240),
        ),
        stats.Responsiveness(
            c.pk,
            "Gamma SAS",
            "FR",
            sent=2,
            settled=1,
            complied=0,
            partly=0,
            refused=0,
            ignored=1,
            pending=1,
            median_removal=None,
        ),
    ]
    assert board[0].complied_share == 1.0
    assert board[0].ignored_share == 0.0
    assert board[1].ignored_share == 1.0
    assert board[2].complied_share == 0.0


def test_scoreboard_outcomes_partly_and_refused_counted_apart():
    org = OrganisationFactory(name="Delta")
    case = CaseFactory()
    for outcome in (Outcome.PARTLY, Outcome.REFUSED, Outcome.NOT_RESPONSIBLE, Outcome.COMPLIED):
        sent(case, org, outcome=outcome)

    (row,) = stats.scoreboard(now=NOW)

    assert (row.sent, row.settled, row.complied, row.partly, row.refused, row.ignored) == (
        4,
        4,
        1,
        1,
        2,
        0,
    )
    assert row.complied_share == 0.25


def test_scoreboard_without_settled_notices_has_no_shares():
    org = OrganisationFactory(name="Epsilon")
    sent(CaseFactory(), org, due_at=at(30))

    (row,) = stats.scoreboard(now=NOW)

    assert (row.sent, row.settled, row.pending) == (1, 0, 1)
    assert row.complied_share is None
    assert row.ignored_share is None


def test_link_weeks_counts_per_local_week_with_carry_over():
    case = CaseFactory()
    # Before the three-week window: two found, one removed.
    link(case, created=at(20, month=2), status=L.REMOVED, removed=at(25, month=2))
    link(case, created=at(20, month=2), status=L.REMOVED, removed=at(3))
    # Week of 9 March: found three, one of them excluded (not counted), one reappeared.
    link(case, created=at(10), status=L.REMOVED, removed=at(17))
    link(case, created=at(10), status=L.REAPPEARED, removed=at(11), verdict="online_same")
    link(case, created=at(10), status=L.EXCLUDED)
    # Sunday 23:30 UTC is Monday 00:30 in Berlin: the week of 16 March.
    link(case, created=datetime(2026, 3, 15, 23, 30, tzinfo=UTC))

    weeks = stats.link_weeks(weeks=3, now=NOW)

    assert weeks == [
        stats.Week(date(2026, 3, 2), found=0, removed=1, not_removed=0),
        stats.Week(date(2026, 3, 9), found=2, removed=0, not_removed=2),
        stats.Week(date(2026, 3, 16), found=1, removed=1, not_removed=2),
    ]
    assert stats.link_totals() == {
        "found": 5,
        "removed": 3,
        "still_online": 1,
        "never_reachable": 0,
        "not_seen_online": 1,
        "excluded": 1,
    }


def test_link_totals_still_online_is_what_the_last_check_found():
    case = CaseFactory()
    link(case, verdict="online_same")
    link(case, verdict="online_changed")
    link(case, status=L.FOUND, verdict="moved")
    link(case, status=L.REAPPEARED, verdict="online_same")
    # Not seen online at the last check: none of these is "still online".
    link(case)
    link(case, verdict="unreachable")
    link(case, verdict="blocked")
    link(case, verdict="not_image")
    link(case, verdict="removed")  # a first 404, not yet confirmed
    # Gone before anyone saw it.
    link(case, status=L.NEVER_REACHABLE, verdict="removed")

    assert stats.link_totals() == {
        "found": 10,
        "removed": 0,
        "still_online": 4,
        "never_reachable": 1,
        "not_seen_online": 5,
        "excluded": 0,
    }


def test_link_weeks_zero_weeks_refused():
    with pytest.raises(ValueError, match="at least 1"):
        stats.link_weeks(weeks=0)


def test_results_scoped_to_given_cases(world):
    other = CaseFactory()
    stranger = OrganisationFactory(name="Zeta")
    sent(other, stranger, [link(other, status=L.REMOVED, removed=at(3))], outcome=Outcome.COMPLIED)

    scoped = stats.results(Case.objects.filter(pk=world["case"].pk), now=NOW)
    everything = stats.results(now=NOW)

    assert [row.organisation for row in scoped.scoreboard] == [
        "Alpha Hosting GmbH",
        "Beta Host Inc",
        "Gamma SAS",
    ]
    assert scoped.totals == {
        "found": 6,
        "removed": 4,
        "still_online": 2,
        "never_reachable": 0,
        "not_seen_online": 0,
        "excluded": 0,
    }
    assert scoped.removal.links == 3
    assert [row.organisation for row in everything.scoreboard][-1] == "Zeta"
    assert everything.totals["found"] == 7
    assert everything.removal.links == 4


def test_results_query_count_does_not_grow_with_rows(world):
    with CaptureQueriesContext(connection) as few:
        stats.results(now=NOW)
    case = CaseFactory()
    for i in range(20):
        org = OrganisationFactory()
        lk = link(case, status=L.REMOVED, removed=at(5))
        sent(case, org, [lk], outcome=Outcome.COMPLIED, regime="dsa" if i % 2 else "gdpr")
    with CaptureQueriesContext(connection) as many:
        result = stats.results(now=NOW)

    assert len(result.scoreboard) == 23
    assert len(few) == len(many) == 8  # with the stored counts and the live cases
