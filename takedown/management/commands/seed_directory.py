"""python manage.py seed_directory [--json]: create or update the curated operator directory."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from takedown.directory.seed import seed_directory


class Command(BaseCommand):
    help = (
        "Create or update the curated organisations, contacts and operator rules "
        "(takedown/directory/seed.py). Safe to run again; never touches caseworker overrides."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="Print the report as one JSON object"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_directory().as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        for what in ("organisations", "contacts", "rules"):
            counts = ", ".join(f"{n} {label}" for label, n in result[what].items())
            self.stdout.write(f"{what}: {counts}")
        for conflict in result["conflicts"]:
            self.stdout.write(f"  not seeded, a rule from elsewhere exists: {conflict}")
