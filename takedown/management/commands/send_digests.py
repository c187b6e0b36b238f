"""manage.py send_digests [--json]: what the daily task does, now: an e-mail to each caseworker
who asked for the digest, with the counts of what waits in their cases (never content). A
person's digest goes out at most once in 20 hours, however often this runs."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from takedown.notifications import send_digests


class Command(BaseCommand):
    help = "Send the caseworkers' daily e-mail digests that are due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print {sent, skipped}")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = send_digests()
        if options["json"]:
            self.stdout.write(json.dumps(counts))
        else:
            self.stdout.write(f"digests: {counts['sent']} sent, {counts['skipped']} skipped")
