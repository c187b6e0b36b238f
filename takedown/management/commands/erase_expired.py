"""manage.py erase_expired [--dry-run] [--json]

What the daily job does, now: erases the person's data from every case whose retention period
has run out (takedown.retention). --dry-run lists the cases that would be erased.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from takedown.retention import erase_expired


class Command(BaseCommand):
    help = "Erase the person's data from cases whose retention period has run out."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        erased = erase_expired(dry_run=dry_run)
        if options["json"]:
            self.stdout.write(
                json.dumps({"dry_run": dry_run, "cases": [item.as_json() for item in erased]})
            )
            return
        verb = "would be erased" if dry_run else "erased"
        for item in erased:
            self.stdout.write(f"{item.reference} {verb}")
        self.stdout.write(f"{len(erased)} case(s) {verb}")
