"""How long a recipient has: the law of periods, pure (no database, no network).

A period in days, weeks or months is counted in whole days on the recipient's calendar, in the
recipient's time zone (takedown.notices.zones):

- the day on which the notice is received is not counted (Regulation 1182/71 Art. 3(1); BGB
  §187(1));
- the period ends with the last hour of its last day (Art. 3(2)(b) and (c); BGB §188(1), (2)):
  for days, the day `amount` days after receipt; for months, the day of the last month with the
  same number as the day of receipt, or that month's last day when it has no such day (Art.
  3(2)(c); BGB §188(3));
- where the regime's law says so, a last day that is a Saturday, Sunday or public holiday
  moves to the next working day (Art. 3(4); BGB §193; the ICO applies the same rule to UK
  GDPR). Public holidays are those of the recipient's country and, where they differ, of its
  region (German states, UK nations, US states: the holidays package knows subdivisions);
- working days skip weekends (the country's own: Friday and Saturday in some countries) and
  public holidays as they are counted.

A period in hours is exact: 48 hours after receipt, whatever the calendar (Art. 3(2)(a) and
(4) do not move periods in hours). See docs/law/clocks.md.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

from django.utils.translation import gettext

from takedown.errors import NotPossible
from takedown.notices.zones import recipient_zone, zone_name

DeadlineUnit = Literal["hours", "calendar_days", "working_days", "weeks", "months"]
DEADLINE_UNITS: tuple[str, ...] = ("hours", "calendar_days", "working_days", "weeks", "months")

# The last second of a day: a date named in a letter means the whole of that day.
END_OF_DAY = dt.time(23, 59, 59)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class PeriodError(NotPossible):
    """The period cannot be computed as asked (unknown unit, country or region)."""


@dataclass(frozen=True)
class Skipped:
    """A day the period's end moved over, and why."""

    day: dt.date
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"date": self.day.isoformat(), "reason": self.reason}


@dataclass(frozen=True)
class Period:
    received: dt.datetime
    due: dt.datetime
    unit: str
    amount: int
    time_zone: str
    moved_for: tuple[Skipped, ...] = field(default=())


@dataclass(frozen=True)
class Calendar:
    """The working calendar of one place: its weekend and its public holidays."""

    country: str
    region: str = ""

    @property
    def label(self) -> str:
        return self.region or self.country

    def non_working_reason(self, day: dt.date) -> str | None:
        """Why `day` is not a working day here, or None when it is one."""
        holidays = _holidays(self.country, _subdivision(self.country, self.region), day.year)
        if day in holidays.days:
            return f"public holiday in {self.label}: {holidays.days[day]}"
        if day.weekday() in holidays.weekend:
            return WEEKDAY_NAMES[day.weekday()]
        return None

    def is_working_day(self, day: dt.date) -> bool:
        return self.non_working_reason(day) is None


def period_end(
    received: dt.datetime,
    amount: int,
    unit: str,
    *,
    country: str = "",
    region: str = "",
    ends_on_working_day: bool = False,
    default_zone: str = "UTC",
) -> Period:
    """The end of a period of `amount` `unit`s for a recipient in `country` (ISO 3166-1
    alpha-2) and `region` (ISO 3166-2, e.g. DE-BY), received at `received`. A naive
    `received` is read as the recipient's local time."""
    if unit not in DEADLINE_UNITS:
        raise PeriodError(gettext("unknown deadline unit %(unit)s") % {"unit": repr(unit)})
    if amount < 0:
        raise PeriodError(gettext("a period cannot be negative"))
    country, region = country.upper(), normalise_region(country, region)
    zone_key = zone_name(country, region, default=default_zone)
    zone = ZoneInfo(zone_key)
    if received.tzinfo is None:
        received = received.replace(tzinfo=zone)
    if unit == "hours":
        # Exact: arithmetic in UTC, so 48 hours over a DST change are still 48 hours.
        due = (received.astimezone(dt.UTC) + dt.timedelta(hours=amount)).astimezone(zone)
        return Period(received, due, unit, amount, zone_key)
    place = Calendar(country, region)
    start_day = received.astimezone(zone).date()
    skipped: list[Skipped] = []
    if unit == "working_days":
        last = start_day
        counted = 0
        while counted < amount:
            last += dt.timedelta(days=1)
            if (reason := place.non_working_reason(last)) is None:
                counted += 1
            else:
                skipped.append(Skipped(last, reason))
    elif unit == "months":
        last = add_months(start_day, amount)
    else:
        last = start_day + dt.timedelta(days=amount * (7 if unit == "weeks" else 1))
    if ends_on_working_day:
        while (reason := place.non_working_reason(last)) is not None:
            skipped.append(Skipped(last, reason))
            last += dt.timedelta(days=1)
    due = dt.datetime.combine(last, END_OF_DAY, tzinfo=zone)
    return Period(received, due, unit, amount, zone_key, tuple(skipped))


def add_months(day: dt.date, months: int) -> dt.date:
    """The day with the same number `months` later, or that month's last day when it has no
    such day (Regulation 1182/71 Art. 3(2)(c); BGB §188(2), (3))."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def end_of_day(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=zone)


def normalise_region(country: str, region: str) -> str:
    """`region` as a full ISO 3166-2 code ("BY" with country DE -> "DE-BY"), checked against
    the country: a region of another country is an error, not a silent national fallback."""
    region = region.strip().upper()
    if not region:
        return ""
    country = country.strip().upper()
    if "-" not in region:
        if not country:
            raise PeriodError(
                gettext("region %(region)s needs its country (or write it as CC-%(code)s)")
                % {"region": repr(region), "code": region}
            )
        region = f"{country}-{region}"
    prefix, _, code = region.partition("-")
    if not (len(prefix) == 2 and prefix.isalpha() and 1 <= len(code) <= 3 and code.isalnum()):
        raise PeriodError(
            gettext("region %(region)s is not an ISO 3166-2 code such as DE-BY")
            % {"region": repr(region)}
        )
    if country and prefix != country:
        raise PeriodError(
            gettext("region %(region)s does not belong to country %(country)s")
            % {"region": region, "country": country}
        )
    known = subdivisions(prefix)
    if known and code not in known:
        listed = ", ".join(sorted(k for k in known if len(k) <= 3))
        raise PeriodError(
            gettext("%(country)s has no region %(code)s (known: %(known)s)")
            % {"country": prefix, "code": code, "known": listed}
        )
    return region


def subdivisions(country: str) -> frozenset[str]:
    """The subdivision codes whose public holidays the holidays package knows for `country`."""
    try:
        return _holidays(country.upper(), "", dt.date.today().year).subdivisions
    except PeriodError:
        return frozenset()


def known_country(country: str) -> bool:
    return bool(zone_name(country))


def _subdivision(country: str, region: str) -> str:
    if not region:
        return ""
    code = region.partition("-")[2]
    return code if code in subdivisions(country) else ""


@dataclass(frozen=True)
class _Holidays:
    days: dict[dt.date, str]
    weekend: frozenset[int]
    subdivisions: frozenset[str]


@functools.lru_cache(maxsize=512)
def _holidays(country: str, subdivision: str, year: int) -> _Holidays:
    """Public holidays of a country (and subdivision) in one year, named in English where the
    package can. A country the package does not know has weekends only: better a deadline
    that ignores a holiday than none."""
    if not country:
        return _Holidays({}, frozenset({5, 6}), frozenset())
    import holidays

    try:
        probe = holidays.country_holidays(country, years=year)
    except NotImplementedError:
        return _Holidays({}, frozenset({5, 6}), frozenset())
    language = "en_US" if "en_US" in (probe.supported_languages or ()) else None
    found = holidays.country_holidays(
        country, subdiv=subdivision or None, years=year, language=language
    )
    return _Holidays(
        {day: str(name) for day, name in found.items()},
        frozenset(found.weekend),
        frozenset(str(s) for s in probe.subdivisions),
    )


__all__ = [
    "DEADLINE_UNITS",
    "Calendar",
    "DeadlineUnit",
    "Period",
    "PeriodError",
    "Skipped",
    "add_months",
    "end_of_day",
    "known_country",
    "normalise_region",
    "period_end",
    "recipient_zone",
]
