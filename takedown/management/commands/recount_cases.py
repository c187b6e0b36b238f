"""manage.py recount_cases [REFERENCE ...]

Count the links of every case at or above TAKEDOWN_TALLY_THRESHOLD (or of the cases named) for
their pages now, instead of at the next view or import (takedown.tallies): after an upgrade,
or after lowering the threshold. A case below the threshold loses its stored counts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count

from takedown import tallies
from takedown.models import Case, CaseTally, FoundLink


class Command(BaseCommand):
    help = "Count the links of large cases for their pages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("references", nargs="*", metavar="REFERENCE")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["references"]:
            ids = list(
                Case.objects.filter(reference__in=options["references"]).values_list(
                    "pk", flat=True
                )
            )
        else:
            # One pass over the links: the cases large now, and those counted before.
            large = (
                FoundLink.objects.values("case")
                .annotate(n=Count("*"))
                .filter(n__gte=settings.TAKEDOWN_TALLY_THRESHOLD)
                .values_list("case", flat=True)
                .order_by()
            )
            ids = sorted({*large, *CaseTally.objects.values_list("case_id", flat=True)})
        for case_id in ids:
            tally = tallies.recount(case_id)
            counted = f"{tally.links} links counted" if tally else "counted live"
            self.stdout.write(f"case {case_id}: {counted}")
