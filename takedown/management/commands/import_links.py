"""manage.py import_links --case REF [--create] [--format F] [--dataset NAME] [--json] FILE..."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from takedown.cases import open_case
from takedown.intake.readers import FORMATS
from takedown.intake.store import IntakeError, import_links
from takedown.management.lookups import input_file
from takedown.models import Case


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
                    case = open_case(reference=reference)
                report = import_links(
                    case, paths, format=options["format"], dataset=options["dataset"]
                )
        except IntakeError as exc:
            raise CommandError(f"{exc} (nothing was imported)", returncode=2) from None
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
