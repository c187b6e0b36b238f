"""The law of periods (takedown.notices.periods): counted on the recipient's calendar, in its
time zone, ending with the last day, moved off weekends and regional public holidays where the
regime's law says so; hours exact."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from takedown.notices.periods import Calendar, PeriodError, normalise_region, period_end

BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def test_day_of_receipt_is_not_counted_and_the_period_ends_with_its_last_day():
    # Received Monday 7 December at 23:50 in Berlin: day 1 is 8 December, day 7 the 14th.
    period = period_end(
        datetime(2026, 12, 7, 23, 50, tzinfo=BERLIN), 7, "calendar_days", country="DE"
    )

    assert period.due == datetime(2026, 12, 14, 23, 59, 59, tzinfo=BERLIN)
    assert period.moved_for == ()


def test_the_day_is_the_recipients_not_ours():
    # 23:30 UTC on 7 December is already the 8th in Berlin but still the 7th in Los Angeles.
    received = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)

    assert period_end(received, 7, "calendar_days", country="DE").due.date() == date(2026, 12, 15)
    us = period_end(received, 7, "calendar_days", country="US", region="US-CA")
    assert us.due == datetime(2026, 12, 14, 23, 59, 59, tzinfo=LOS_ANGELES)
    assert us.time_zone == "America/Los_Angeles"


def test_months_end_on_the_same_date_or_the_last_day_of_a_shorter_month():
    def due(*received: int) -> date:
        return period_end(datetime(*received, tzinfo=BERLIN), 1, "months").due.date()

    assert due(2026, 12, 7, 9, 0) == date(2027, 1, 7)
    assert due(2027, 1, 31, 9, 0) == date(2027, 2, 28)
    assert due(2028, 1, 31, 9, 0) == date(2028, 2, 29)


def test_a_last_day_on_a_regional_holiday_moves_only_in_that_region():
    # Epiphany (6 January) is a public holiday in Bavaria, not in Berlin.
    received = datetime(2026, 12, 6, 10, 0, tzinfo=BERLIN)

    bavaria = period_end(
        received, 1, "months", country="DE", region="DE-BY", ends_on_working_day=True
    )
    berlin = period_end(
        received, 1, "months", country="DE", region="DE-BE", ends_on_working_day=True
    )

    assert bavaria.due.date() == date(2027, 1, 7)
    assert [(s.day, s.reason) for s in bavaria.moved_for] == [
        (date(2027, 1, 6), "public holiday in DE-BY: Epiphany")
    ]
    assert berlin.due.date() == date(2027, 1, 6)
    assert berlin.moved_for == ()


def test_uk_nations_keep_their_own_bank_holidays():
    # The summer bank holiday is the last Monday of August in England, the first in Scotland.
    received = datetime(2026, 7, 31, 12, 0, tzinfo=LONDON)

    england = period_end(
        received, 1, "months", country="GB", region="GB-ENG", ends_on_working_day=True
    )
    scotland = period_end(
        received, 1, "months", country="GB", region="GB-SCT", ends_on_working_day=True
    )

    assert england.due == datetime(2026, 9, 1, 23, 59, 59, tzinfo=LONDON)
    assert scotland.due == datetime(2026, 8, 31, 23, 59, 59, tzinfo=LONDON)


def test_moving_is_only_where_the_law_says_so():
    received = datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)  # one month: Saturday 26 December

    assert period_end(received, 1, "months", country="DE").due.date() == date(2026, 12, 26)
    moved = period_end(received, 1, "months", country="DE", ends_on_working_day=True)
    assert moved.due.date() == date(2026, 12, 28)
    assert [s.as_dict() for s in moved.moved_for] == [
        {"date": "2026-12-26", "reason": "public holiday in DE: Second Day of Christmas"},
        {"date": "2026-12-27", "reason": "Sunday"},
    ]


def test_hours_are_exact_across_the_dst_change_and_never_moved():
    received = datetime(2027, 3, 27, 12, 0, tzinfo=BERLIN)  # the clocks go forward that night

    period = period_end(received, 48, "hours", country="DE", ends_on_working_day=True)

    assert period.due.astimezone(UTC) - received.astimezone(UTC) == timedelta(hours=48)
    assert period.due == datetime(2027, 3, 29, 13, 0, tzinfo=BERLIN)
    assert period.moved_for == ()


def test_working_days_skip_the_countrys_weekend_and_holidays():
    # Israel rests on Friday and Saturday.
    received = datetime(2026, 12, 9, 10, 0, tzinfo=ZoneInfo("Asia/Jerusalem"))  # Wednesday

    period = period_end(received, 2, "working_days", country="IL")

    assert period.due.date() == date(2026, 12, 13)  # Thursday 10, then Sunday 13
    assert [s.reason for s in period.moved_for] == ["Friday", "Saturday"]


def test_working_days_skip_easter_in_germany_but_not_in_the_us():
    received = datetime(2027, 3, 24, 10, 0, tzinfo=BERLIN)  # Wednesday before Easter

    assert period_end(received, 5, "working_days", country="DE").due.date() == date(2027, 4, 2)
    assert period_end(received, 5, "working_days", country="US").due.date() == date(2027, 3, 31)


def test_a_naive_time_is_the_recipients_local_time():
    period = period_end(
        datetime(2026, 12, 7, 9, 0), 7, "calendar_days", country="US", region="US-CA"
    )

    assert period.received == datetime(2026, 12, 7, 9, 0, tzinfo=LOS_ANGELES)


def test_unknown_country_counts_weekends_only_in_the_default_zone():
    period = period_end(
        datetime(2026, 12, 24, 9, 0, tzinfo=UTC),
        1,
        "calendar_days",
        country="XX",
        ends_on_working_day=True,
        default_zone="Europe/Berlin",
    )

    assert period.time_zone == "Europe/Berlin"
    assert period.due.date() == date(2026, 12, 25)  # no holidays known for XX: a Friday


@pytest.mark.parametrize(
    ("country", "region", "expected"),
    [("DE", "BY", "DE-BY"), ("DE", "de-by", "DE-BY"), ("", "US-CA", "US-CA"), ("GB", "", "")],
)
def test_regions_are_normalised(country, region, expected):
    assert normalise_region(country, region) == expected


@pytest.mark.parametrize(
    ("country", "region", "message"),
    [
        ("DE", "FR-IDF", "does not belong to country DE"),
        ("DE", "DE-XX", "DE has no region XX"),
        ("", "BY", "needs its country"),
        ("DE", "DE-BAYERN", "not an ISO 3166-2 code"),
    ],
)
def test_bad_regions_are_refused(country, region, message):
    with pytest.raises(PeriodError, match=message):
        normalise_region(country, region)


def test_calendar_reasons():
    bavaria = Calendar("DE", "DE-BY")

    assert bavaria.non_working_reason(date(2026, 6, 4)) == "public holiday in DE-BY: Corpus Christi"
    assert Calendar("DE", "DE-BE").non_working_reason(date(2026, 6, 4)) is None
    assert bavaria.non_working_reason(date(2026, 12, 12)) == "Saturday"


# --- manage.py deadline ----------------------------------------------------------------------


def run_deadline(*args: str) -> dict:
    out = StringIO()
    call_command("deadline", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_deadline_command_prints_the_clock():
    assert run_deadline(
        "gdpr", "--received", "2026-11-26T10:00", "--country", "DE", "--region", "DE-BY"
    ) == {
        "regime": "gdpr",
        "received": "2026-11-26T10:00:00+01:00",
        "due": "2026-12-28T23:59:59+01:00",
        "unit": "months",
        "amount": 1,
        "time_zone": "Europe/Berlin",
        "moved_for": [
            {"date": "2026-12-26", "reason": "public holiday in DE-BY: Second Day of Christmas"},
            {"date": "2026-12-27", "reason": "Sunday"},
        ],
    }


def test_deadline_command_hours_in_the_recipients_zone():
    result = run_deadline(
        "take_it_down", "--received", "2026-12-07T14:00:00Z", "--country", "US", "--region", "CA"
    )

    assert result["due"] == "2026-12-09T06:00:00-08:00"
    assert result["time_zone"] == "America/Los_Angeles"
    assert result["unit"] == "hours" and result["amount"] == 48


@pytest.mark.parametrize(
    "args",
    [
        ("nope", "--received", "2026-12-07"),
        ("gdpr", "--received", "7.12.2026"),
        ("gdpr", "--received", "2026-12-07", "--country", "QQ"),
        ("gdpr", "--received", "2026-12-07", "--country", "DE", "--region", "DE-XX"),
        ("gdpr", "--received", "2026-12-07", "--country", "DE", "--region", "AT-9"),
    ],
)
def test_deadline_command_bad_input_exits_2(args):
    with pytest.raises(CommandError) as raised:
        call_command("deadline", *args, "--json", stdout=StringIO())

    assert raised.value.returncode == 2
