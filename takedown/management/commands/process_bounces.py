"""manage.py process_bounces PATH [--json]

Reads delivery-status reports (RFC 3464) from an mbox file or a Maildir folder, maps each to
its notice (by the bounces+<id>@ envelope address, or by the original Message-ID) and marks the
notice bounced with the reason. The mailbox is only read: running it twice changes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.notices.bounces import process_bounces
from takedown.notices.send import SendError

RESULTS = ("bounced", "partial", "duplicate", "delayed", "ignored", "unmatched", "not_dsn")


class Command(BaseCommand):
    help = "Mark notices bounced from the delivery-status reports in an mbox or Maildir."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="mbox file or Maildir folder")
        parser.add_argument("--json", action="store_true", help="Print the results as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            outcomes = process_bounces(options["path"])
        except SendError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        counts = Counter(outcome.result for outcome in outcomes)
        totals = {"messages": len(outcomes), **{result: counts[result] for result in RESULTS}}
        if options["json"]:
            payload = {"counts": totals, "messages": [asdict(o) for o in outcomes]}
            self.stdout.write(json.dumps(payload, indent=2))
            return
        for outcome in outcomes:
            if outcome.result in ("bounced", "partial", "unmatched"):
                about = f"notice {outcome.notice_id}" if outcome.notice_id else outcome.detail
                reasons = "; ".join(outcome.reasons)
                self.stdout.write(f"{outcome.key}: {outcome.result}: {about} {reasons}".rstrip())
        self.stdout.write(
            f"read {totals['messages']} messages: "
            + ", ".join(f"{totals[result]} {result}" for result in RESULTS)
        )
