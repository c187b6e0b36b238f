"""Every deadline unit, on the calendar and in time travel: hours, calendar days, working days
with the recipient country's public holidays, months with the GDPR extension."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from takedown.checks.escalate import mark_overdue
from takedown.models import Notice
from takedown.notices.clock import DeadlineError, extend_deadline
from takedown.notices.periods import period_end
from takedown.notices.regimes import get_regime
from takedown.workflow import transition
from tests.factories import FoundLinkFactory, NoticeFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


def at(*args: int) -> datetime:
    """A wall-clock time in Berlin (settings.TIME_ZONE)."""
    return timezone.make_aware(datetime(*args))


# --- the calendar (see also tests/test_periods.py) ----------------------------------------


def test_gdpr_month_ending_on_a_holiday_runs_to_the_next_working_day():
    # 25 November + one month = Christmas Day (Saturday 25, Sunday 26 December 2027 ...).
    start = at(2027, 11, 25, 15, 0)

    assert get_regime("gdpr").due_at(start, country="DE") == at(2027, 12, 27, 23, 59, 59)
    # The DSA period is our own setting, not a legal period: no rolling; it still ends with
    # its last day.
    assert get_regime("dsa").due_at(at(2027, 12, 18, 15, 0)) == at(2027, 12, 25, 23, 59, 59)


def test_gdpr_month_ending_over_easter_runs_to_the_next_working_day():
    # 26 March 2027 is Good Friday, then a weekend and Easter Monday.
    assert get_regime("gdpr").due_at(at(2027, 2, 26, 8, 0), country="DE") == at(
        2027, 3, 30, 23, 59, 59
    )
    # Easter Monday 2028 is 17 April.
    assert get_regime("gdpr").due_at(at(2028, 3, 17, 8, 0), country="DE") == at(
        2028, 4, 18, 23, 59, 59
    )


# --- time travel: a sent notice becomes overdue exactly when its deadline passes ------------


def sent_notice(regime: str, country: str = "DE", **fields) -> Notice:
    fields.setdefault("recipient", OrganisationFactory(country=country))
    notice = NoticeFactory(status=Notice.Status.SENDING, regime=regime, **fields)
    notice.links.add(FoundLinkFactory(case=notice.case))
    transition(notice, Notice.Status.SENT, fields={"sent_at": timezone.now()})
    notice.refresh_from_db()
    return notice


@pytest.mark.parametrize(
    ("regime", "country", "sent", "due"),
    [
        # TAKE IT DOWN: 48 hours, exact.
        ("take_it_down", "US", (2026, 11, 27, 12, 0), (2026, 11, 29, 12, 0)),
        # DSA: 7 calendar days (our setting), straight over Christmas, to the end of the day.
        ("dsa", "DE", (2027, 12, 21, 10, 0), (2027, 12, 28, 23, 59, 59)),
        # DMCA: 5 working days over Thanksgiving, to the end of the day in New York (06:00
        # the next morning in Berlin).
        ("dmca", "US", (2026, 11, 24, 12, 0), (2026, 12, 3, 5, 59, 59)),
        # GDPR: one month; 26 March 2027 is Good Friday, so the month ends on Tuesday.
        ("gdpr", "DE", (2027, 2, 26, 9, 0), (2027, 3, 30, 23, 59, 59)),
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
    assert notice.due_at == at(2027, 2, 11, 23, 59, 59)
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
    with translation.override("de"), pytest.raises(DeadlineError) as german:
        extend_deadline(notice, date(2027, 1, 25))
    notice.refresh_from_db()
    assert notice.extended_until is None
    # The regime by its German title, as the notice page names it; not "DSA notice".
    assert german.value.message.startswith(
        "Meldung rechtswidriger Inhalte nach dem Digital Services Act: "
    )


def test_extension_before_the_current_deadline_is_refused():
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        notice = sent_notice("gdpr")

    with pytest.raises(DeadlineError, match="must end after the current deadline"):
        extend_deadline(notice, date(2027, 2, 1))


def test_overdue_uses_utc_start_and_berlin_calendar():
    start = datetime(2027, 3, 24, 23, 30, tzinfo=UTC)  # already Thursday in Berlin

    # Thursday 25 counts as the day of receipt; then Fri 26 is Good Friday, Mon 29 Easter
    # Monday: Tue 30, Wed 31, Thu 1, Fri 2, Mon 5.
    due = period_end(start, 5, "working_days", country="DE").due
    assert due == at(2027, 4, 5, 23, 59, 59)


def test_gdpr_extension_announced_after_the_first_month_is_refused():
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        notice = sent_notice("gdpr")

    # The first month ran out at the end of 11 February; an announcement on the 12th is late.
    with pytest.raises(DeadlineError, match="only if announced by 2027-02-11"):
        extend_deadline(notice, date(2027, 4, 9), announced_at=at(2027, 2, 12, 0, 30))
    # On the last day itself, late in the evening, it still counts.
    extend_deadline(notice, date(2027, 4, 9), announced_at=at(2027, 2, 11, 23, 0))
    notice.refresh_from_db()
    assert notice.extended_until == at(2027, 4, 9, 23, 59, 59)


def test_gdpr_extension_to_the_last_allowed_day_is_accepted_whatever_the_time_written():
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        notice = sent_notice("gdpr")

    # Three months from 11 January is Sunday 11 April: the latest day is Monday 12 April, and
    # "12 April, 23:00" names that day.
    until = extend_deadline(notice, at(2027, 4, 12, 23, 0), announced_at=at(2027, 1, 20, 9, 0))

    assert until == at(2027, 4, 12, 23, 59, 59)


def test_deadline_uses_the_recipients_region_and_zone():
    # One month from 6 December 2026 is Epiphany: a holiday in Bavaria, not in Berlin.
    with time_machine.travel(at(2026, 12, 6, 10, 0), tick=False):
        bavarian = sent_notice("gdpr", recipient=OrganisationFactory(country="DE", region="DE-BY"))
        berlin = sent_notice("gdpr", recipient=OrganisationFactory(country="DE", region="DE-BE"))

    assert bavarian.due_at == at(2027, 1, 7, 23, 59, 59)
    assert berlin.due_at == at(2027, 1, 6, 23, 59, 59)


def test_record_reply_refuses_an_extension_that_arrived_after_the_first_month():
    with time_machine.travel(at(2027, 1, 11, 9, 0), tick=False):
        notice = sent_notice("gdpr")
    author = UserFactory()

    with time_machine.travel(at(2027, 2, 20, 9, 0), tick=False):
        with pytest.raises(CommandError, match="only if announced by 2027-02-11") as late:
            call_command(
                "record_reply",
                str(notice.pk),
                "--outcome",
                "pending",
                "--text",
                "Later.",
                "--as",
                author.username,
                "--extend-until",
                "2027-04-01",
                "--received",
                "2027-02-12T08:00",
            )
        assert late.value.returncode == 2
        # The same answer, recorded late by the caseworker but received in time, counts.
        call_command(
            "record_reply",
            str(notice.pk),
            "--outcome",
            "pending",
            "--text",
            "Later.",
            "--as",
            author.username,
            "--extend-until",
            "2027-04-01",
            "--received",
            "2027-02-10T08:00",
            stdout=StringIO(),
        )
    notice.refresh_from_db()
    assert notice.extended_until == at(2027, 4, 1, 23, 59, 59)
    assert notice.replied_at == at(2027, 2, 10, 8, 0)
