"""manage.py import_links --case REF [--create [CASE OPTIONS]] [--format F] [--dataset NAME]
                          [--json] FILE...

Case options, for a case --create opens: --category, --country and --region (where the person
lives), --learned-of-act and --learned-of-offender (StGB §77b: the day the person learned of
the act and of the offender; see takedown/complaint_period.py and `legal_facts`).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from takedown.cases import open_case
from takedown.complaint_period import record_knowledge
from takedown.errors import NotPossible
from takedown.intake.readers import FORMATS
from takedown.intake.store import IntakeError, import_links
from takedown.management.lookups import day_named, input_file
from takedown.models import Case
from takedown.notices.periods import PeriodError, normalise_region

CASE_OPTIONS = ("category", "country", "region", "learned_of_act", "learned_of_offender")


class Command(BaseCommand):
    help = "Import found image URLs (text, CSV/TSV, JSON Lines, LAION Parquet) into a case."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--case", required=True, metavar="REF", help="Case reference")
        parser.add_argument(
            "--create", action="store_true", help="Open the case when no case has this reference"
        )
        parser.add_argument("--format", choices=sorted(FORMATS), help="Skip format detection")
        parser.add_argument("--dataset", default="", help="Where the rows came from, e.g. laion-5b")
        parser.add_argument(
            "--json", action="store_true", help="Print the report as one JSON object"
        )
        case = parser.add_argument_group("case options (with --create)")
        case.add_argument("--category", choices=Case.Category.values)
        case.add_argument("--country", metavar="CC", help="Where the person lives, e.g. DE")
        case.add_argument("--region", metavar="CODE", help="Their state, e.g. DE-BY")
        case.add_argument("--learned-of-act", metavar="DATE", help="StGB §77b: YYYY-MM-DD")
        case.add_argument("--learned-of-offender", metavar="DATE", help="YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        paths = [input_file(name) for name in options["files"]]
        reference = options["case"]
        try:
            # One transaction: a case opened by --create disappears again if the import fails.
            with transaction.atomic():
                case = Case.objects.filter(reference=reference).first()
                if case is None:
                    if not options["create"]:
                        raise CommandError(
                            f"no case {reference!r}; pass --create to open it", returncode=2
                        )
                    case = self._open(reference, options)
                elif given := [name for name in CASE_OPTIONS if options.get(name)]:
                    raise CommandError(
                        f"case {reference} exists: --{given[0].replace('_', '-')} only opens a "
                        "new case (see legal_facts for an existing one)",
                        returncode=2,
                    )
                report = import_links(
                    case, paths, format=options["format"], dataset=options["dataset"]
                )
        except IntakeError as exc:
            raise CommandError(f"{exc} (nothing was imported)", returncode=2) from None
        except NotPossible as exc:
            raise CommandError(f"{exc.message} (nothing was imported)", returncode=2) from None
        result = report.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(
            f"{case.reference}: {report.rows} rows, {report.created} new links, "
            f"{report.duplicates} duplicates, {report.invalid} invalid, "
            f"{report.hosts} hosts on {report.registered_domains} registered domains"
        )
        if report.in_other_cases:
            self.stdout.write(f"{report.in_other_cases} links are also in another case")
        for error in result["errors"]:
            where = f"{error['file']} " if "file" in error else ""
            self.stdout.write(f"  {where}row {error['row']}: {error['reason']}")
        if result["errors_truncated"]:
            self.stdout.write(f"  ... {report.invalid - len(result['errors'])} more invalid rows")

    def _open(self, reference: str, options: dict[str, Any]) -> Case:
        country = (options["country"] or "").upper()
        try:
            region = normalise_region(country, options["region"] or "")
        except PeriodError as exc:
            raise CommandError(exc.message, returncode=2) from None
        act = day_named(options["learned_of_act"]) if options["learned_of_act"] else None
        offender = (
            day_named(options["learned_of_offender"]) if options["learned_of_offender"] else None
        )
        if offender and not act:
            raise CommandError("--learned-of-offender needs --learned-of-act", returncode=2)
        case = open_case(
            reference=reference,
            category=options["category"] or Case.Category.OTHER,
            person={"country": country or region[:2], "region": region},
        )
        if act:
            record_knowledge(case, act_on=act, offender_on=offender)
        return case
