"""manage.py reference_hashes --case REF [--json] FILE

Stores reference hashes computed elsewhere (CSV: url,sha256,phash,pdq) on the case's links;
checks then compare against them instead of the first fetch. All rows or none: any bad row
(unknown URL, malformed hash) prints the rows at fault and exits with status 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.checks.references import ReferenceHashError, import_reference_hashes
from takedown.management.lookups import case_named


class Command(BaseCommand):
    help = "Store reference hashes (CSV url,sha256,phash,pdq) on the links of a case."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", metavar="REF", required=True)
        parser.add_argument("--json", action="store_true", help="Machine-readable output")
        parser.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"])
        try:
            report = import_reference_hashes(case, options["file"])
        except ReferenceHashError as exc:
            for error in exc.errors:
                self.stderr.write(f"row {error['row']}: {error['reason']}")
            raise CommandError(f"{exc}; nothing was stored", returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
        else:
            self.stdout.write(f"stored reference hashes for {report.updated} links")
