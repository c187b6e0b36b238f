"""python manage.py import_directory --format datenanfragen [--include-scraped] [--json] PATH"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.directory.importers import DirectoryImportError, import_datenanfragen

FORMATS = ("datenanfragen",)


class Command(BaseCommand):
    help = (
        "Import a recipient database into the operator directory. datenanfragen: a .jsonl file, "
        "a directory with companies.jsonl / supervisory-authorities.jsonl, or the upstream "
        "companies/<slug>.json and supervisory-authorities/<slug>.json layout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="PATH")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument(
            "--include-scraped",
            action="store_true",
            help="Also import records graded 'scraped' (never checked by a human)",
        )
        parser.add_argument(
            "--source-date",
            type=datetime.date.fromisoformat,
            metavar="YYYY-MM-DD",
            help="Date of the data snapshot, recorded on new and changed contacts (default today)",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the report as one JSON object"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = import_datenanfragen(
                Path(options["path"]),
                include_scraped=options["include_scraped"],
                source_date=options["source_date"],
            )
        except DirectoryImportError as exc:
            raise CommandError(f"{exc} (nothing was imported)", returncode=2) from None
        result = report.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(
            f"{result['created']} created, {result['updated']} updated, "
            f"{result['unchanged']} unchanged, {result['skipped']} skipped (graded 'scraped')"
        )
        for kind, counts in result["by_kind"].items():
            self.stdout.write(
                f"  {kind}: {counts['created']} created, {counts['updated']} updated, "
                f"{counts['unchanged']} unchanged, {counts['skipped']} skipped"
            )
        contacts = result["contacts"]
        self.stdout.write(
            f"  contacts: {contacts['created']} created, {contacts['updated']} updated, "
            f"{contacts['deleted']} deleted"
        )
