"""Every deadline unit, on the calendar and in time travel: hours, calendar days, working days
with the recipient country's public holidays, months with the GDPR extension."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from takedown.checks.escalate import mark_overdue
from takedown.models import Notice
from takedown.notices.clock import DeadlineError, extend_deadline
from takedown.notices.regimes import deadline, get_regime, is_working_day
from takedown.workflow import transition
from tests.factories import FoundLinkFactory, NoticeFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def at(*args: int) -> datetime:
    """A wall-clock time in Berlin (settings.TIME_ZONE)."""
    return timezone.make_aware(datetime(*args))


# --- the calendar ---------------------------------------------------------------------------


def test_is_working_day_german_holidays():
    assert is_working_day(date(2027, 3, 26), "DE") is False  # Good Friday
    assert is_working_day(date(2027, 3, 29), "DE") is False  # Easter Monday
    assert is_working_day(date(2027, 3, 30), "DE") is True
    assert is_working_day(date(2027, 3, 26), "") is True  # no country: weekends only
    assert is_working_day(date(2027, 3, 27), "") is False  # a Saturday


def test_is_working_day_unknown_country_counts_weekends_only():
    assert is_working_day(date(2027, 12, 27), "XX") is True


def test_working_days_skip_easter_in_germany():
    # Wednesday before Easter 2027: Good Friday and Easter Monday are not counted.
    start = at(2027, 3, 24, 10, 0)

    assert deadline(start, 5, "working_days", country="DE") == at(2027, 4, 2, 10, 0)
    assert deadline(start, 5, "working_days", country="US") == at(2027, 3, 31, 10, 0)


def test_working_days_skip_christmas_and_new_year_in_germany():
    start = at(2027, 12, 23, 9, 30)  # Thursday

    # 24 Dec (1), [25/26 holidays and weekend], 27 (2), 28 (3), 29 (4), 30 (5)
    assert deadline(start, 5, "working_days", country="DE") == at(2027, 12, 30, 9, 30)
    # 31 Dec (6), [1 Jan is a Saturday], 3 (7), 4 (8), 5 (9), 6 Jan (10: Epiphany is regional).
    assert deadline(start, 10, "working_days", country="DE") == at(2028, 1, 6, 9, 30)


def test_working_days_skip_thanksgiving_in_the_us():
    start = at(2026, 11, 24, 12, 0)  # Tuesday before Thanksgiving

    assert deadline(start, 3, "working_days", country="US") == at(2026, 11, 30, 12, 0)
    assert deadline(start, 3, "working_days", country="DE") == at(2026, 11, 27, 12, 0)


def test_hours_are_absolute_across_the_dst_change():
    start = at(2027, 3, 27, 12, 0)  # the clocks go forward that night

    due = deadline(start, 48, "hours")

    # Subtracting in one zone compares wall clocks; in UTC it measures elapsed time.
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=48)
    assert timezone.localtime(due).hour == 13


def test_calendar_days_keep_the_wall_clock_across_the_dst_change():
    due = deadline(at(2027, 3, 27, 12, 0), 7, "calendar_days")

    assert timezone.localtime(due).replace(tzinfo=None) == datetime(2027, 4, 3, 12, 0)


def test_gdpr_month_ending_on_a_holiday_runs_to_the_next_working_day():
    # 25 November + one month = Christmas Day (Saturday 25, Sunday 26 December 2027 ...).
    start = at(2027, 11, 25, 15, 0)

    assert get_regime("gdpr").due_at(start, country="DE") == at(2027, 12, 27, 15, 0)
    # The DSA period is our own setting, not a legal period: no rolling.
    assert get_regime("dsa").due_at(at(2027, 12, 18, 15, 0)) == at(2027, 12, 25, 15, 0)


def test_gdpr_month_ending_over_easter_runs_to_the_next_working_day():
    # 26 March 2027 is Good Friday, then a weekend and Easter Monday.
    assert get_regime("gdpr").due_at(at(2027, 2, 26, 8, 0), country="DE") == at(2027, 3, 30, 8, 0)
    # Easter Monday 2028 is 17 April.
    assert get_regime("gdpr").due_at(at(2028, 3, 17, 8, 0), country="DE") == at(2028, 4, 18, 8, 0)


def test_unknown_unit_is_refused():
    with pytest.raises(ValueError, match="unknown deadline unit"):
        deadline(at(2027, 1, 4, 9, 0), 3, "fortnights")


# --- time travel: a sent notice becomes overdue exactly when its deadline passes ------------


def sent_notice(regime: str, country: str = "DE", **fields) -> Notice:
    notice = NoticeFactory(
        status=Notice.Status.SENDING,
        regime=regime,
        recipient=OrganisationFactory(country=country),
        **fields,
    )
    notice.links.add(FoundLinkFactory(case=notice.case))
    transition(notice, Notice.Status.SENT, fields={"sent_at": timezone.now()})
    notice.refresh_from_db()
    return notice


@pytest.mark.parametrize(
    ("regime", "country", "sent", "due"),
    [
        # TAKE IT DOWN: 48 hours.
        ("take_it_down", "US", (2026, 11, 27, 12, 0), (2026, 11, 29, 12, 0)),
        # DSA: 7 calendar days (our setting), straight over Christmas.
        ("dsa", "DE", (2027, 12, 21, 10, 0), (2027, 12, 28, 10, 0)),
        # DMCA: 5 working days over Thanksgiving.
        ("dmca", "US", (2026, 11, 24, 12, 0), (2026, 12, 2, 12, 0)),
        # GDPR: one month; 26 March 2027 is Good Friday, so the month ends on Tuesday.
        ("gdpr", "DE", (2027, 2, 26, 9, 0), (2027, 3, 30, 9, 0)),
    ],
)
def test_notice_becomes_overdue_exactly_at_its_deadline(regime, country, sent, due):
    with time_machine.travel(at(*sent), tick=False):
        notice = sent_notice(regime, country)
    assert notice.due_at == at(*due)

    with time_machine.travel(at(*due) - timedelta(seconds=1), tick=False):
        assert mark_overdue() == 0
    with time_machine.travel(at(*due), tick=False):
        assert mark_overdue() == 1
        assert mark_overdue() == 0  # claimed: a second run marks nothing

    notice.refresh_from_db()
    assert notice.overdue_at == at(*due)
    assert notice.outcome == Notice.Outcome.NO_RESPONSE


def test_gdpr_extension_moves_the_deadline_and_clears_the_overdue_mark():
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        notice = sent_notice("gdpr")
    assert notice.due_at == at(2027, 2, 11, 9, 0)
    with time_machine.travel(at(2027, 2, 1, 9, 0), tick=False):
        until = extend_deadline(notice, date(2027, 4, 9))
    assert until == at(2027, 4, 9, 23, 59, 59)

    with time_machine.travel(at(2027, 2, 12, 9, 0), tick=False):
        assert mark_overdue() == 0  # the original deadline no longer counts
    with time_machine.travel(at(2027, 4, 10, 0, 0), tick=False):
        assert mark_overdue() == 1
    notice.refresh_from_db()
    assert notice.extended_until == at(2027, 4, 9, 23, 59, 59)
    visible = notice.case.events.get(kind="notice.deadline_extended")
    assert visible.visible_to_person is True
    assert visible.message == (
        f"{notice.recipient.name} has extended its deadline to respond until 9 April 2027, "
        "as the law allows."
    )


def test_gdpr_extension_beyond_two_further_months_is_refused():
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        notice = sent_notice("gdpr")

    # Three months from 11 January is Sunday 11 April: the latest day is Monday 12 April.
    extend_deadline(notice, at(2027, 4, 12, 9, 0))
    with pytest.raises(DeadlineError, match="2027-04-12 at the latest"):
        extend_deadline(notice, date(2027, 4, 13))


def test_extension_under_a_regime_without_one_is_refused():
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        notice = sent_notice("dsa")

    with pytest.raises(DeadlineError, match="allows the recipient no extension"):
        extend_deadline(notice, date(2027, 1, 25))
    notice.refresh_from_db()
    assert notice.extended_until is None


def test_extension_before_the_current_deadline_is_refused():
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        notice = sent_notice("gdpr")

    with pytest.raises(DeadlineError, match="must end after the current deadline"):
        extend_deadline(notice, date(2027, 2, 1))


def test_overdue_uses_utc_start_and_berlin_calendar():
    start = datetime(2027, 3, 24, 23, 30, tzinfo=UTC)  # already Thursday in Berlin

    # Thursday 25 counts as the day of receipt; then Tue 30, Wed 31, Thu 1, Fri 2, Mon 5.
    assert deadline(start, 5, "working_days", country="DE") == at(2027, 4, 5, 0, 30)
