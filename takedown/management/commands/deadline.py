"""manage.py deadline REGIME --received DATETIME [--country CC] [--region CODE] [--json]

Prints the clock the product uses for a notice of REGIME received at DATETIME by a recipient in
CC (ISO 3166-1) and CODE (ISO 3166-2, e.g. DE-BY): the same function that sets a sent notice's
due date. A DATETIME without an offset is the recipient's local time; a bare date is its start.

    {"regime", "received", "due", "unit", "amount", "time_zone", "moved_for": [{"date", "reason"}]}

Exit 2 on bad input (unknown regime, country or region, unreadable date).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.notices.periods import PeriodError, known_country
from takedown.notices.regimes import REGIMES, UnknownRegime, get_regime


def _received(value: str) -> dt.datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--received: {value!r} is not a date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM[+01:00])",
            returncode=2,
        ) from None


class Command(BaseCommand):
    help = "Print the response deadline the product computes for a notice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("regime", help=f"one of: {', '.join(REGIMES)}")
        parser.add_argument("--received", required=True, metavar="DATETIME")
        parser.add_argument("--country", default="", metavar="CC")
        parser.add_argument("--region", default="", metavar="CODE")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            regime = get_regime(options["regime"])
        except UnknownRegime:
            raise CommandError(
                f"unknown regime {options['regime']!r}: choose from {', '.join(REGIMES)}",
                returncode=2,
            ) from None
        country = options["country"].strip().upper()
        if country and not known_country(country):
            raise CommandError(f"--country: {country!r} is not an ISO 3166-1 code", returncode=2)
        received = _received(options["received"])
        try:
            period = regime.period(received, country=country, region=options["region"])
        except PeriodError as exc:
            raise CommandError(str(exc), returncode=2) from None
        result = {
            "regime": regime.code,
            "received": period.received.isoformat(),
            "due": period.due.isoformat(),
            "unit": period.unit,
            "amount": period.amount,
            "time_zone": period.time_zone,
            "moved_for": [skipped.as_dict() for skipped in period.moved_for],
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        self.stdout.write(f"{regime.title} ({regime.code}): {period.amount} {period.unit}")
        self.stdout.write(f"received {result['received']}")
        self.stdout.write(f"due      {result['due']} ({period.time_zone})")
        for skipped in period.moved_for:
            self.stdout.write(f"  skipped {skipped.day:%a %Y-%m-%d}: {skipped.reason}")
