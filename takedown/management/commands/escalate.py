"""manage.py escalate [--json]

What the daily job does, now: mark the notices whose deadline passed, then draft the reminders
and ladder steps that are due (each a draft for four-eyes review).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from takedown.checks.escalate import escalate_due, mark_overdue


class Command(BaseCommand):
    help = "Mark overdue notices and draft the reminders and escalations that are due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = {"overdue": mark_overdue(), "drafts": escalate_due()}
        if options["json"]:
            self.stdout.write(json.dumps(counts))
        else:
            self.stdout.write(
                f"{counts['overdue']} notice(s) newly overdue, {counts['drafts']} draft(s) created"
            )
