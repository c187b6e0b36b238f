"""manage.py process_replies PATH... [--json]

Reads recipients' answers from .eml files, mbox files, Maildir folders or folders of .eml files,
stores each once (by Message-ID), matches it to its notice and acts on it as the IMAP poller
does (takedown/replies/inbound.py). Unreadable input: exit 2 and nothing stored; the messages
of one run are stored in one transaction. Running it twice on the same files changes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.replies.inbound import process_files
from takedown.replies.mail import ReplyInputError


class Command(BaseCommand):
    help = "Store recipients' answers from .eml, mbox or Maildir and record them in their cases."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help=".eml, mbox or Maildir")
        parser.add_argument(
            "--json", action="store_true", help="print one JSON object per message, a line each"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            results = process_files(options["paths"])
        except ReplyInputError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if options["json"]:
            for result in results:
                self.stdout.write(json.dumps(result.as_json()))
            return
        for result in results:
            where = (
                f"notice {result.notice} ({result.reference})"
                if result.notice
                else result.reference or "no case"
            )
            self.stdout.write(
                f"{result.message_id or '(no Message-ID)'}: {result.kind} "
                f"{result.confidence:.0%} -> {where}, {result.action}"
            )
        counts = Counter(result.action for result in results)
        summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
        self.stdout.write(f"read {len(results)} messages: {summary or 'none'}")
