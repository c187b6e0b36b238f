"""manage.py prepare_delisting REF [--as USER] [--json]: the search-engine step of a case. Drafts
(or extends) one web-form request per search engine for the links removed at their source
(outdated results) and one for the links their hosts did not remove (delisting), and prints
them with their element check. Exit 1 when the step is refused (the message says why)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.management.lookups import case_named, user_named
from takedown.notices.delisting import DelistingError, prepare_delisting


class Command(BaseCommand):
    help = "Prepare the requests to search engines for a case's removed and unremoved links."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("case", metavar="REF")
        parser.add_argument("--as", dest="user", metavar="USER", help="author of new drafts")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"])
        actor = user_named(options["user"]) if options["user"] else None
        try:
            report = prepare_delisting(case, actor=actor).as_dict()
        except DelistingError as refused:
            raise CommandError(refused.message, returncode=1) from None
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        self.stdout.write(
            f"{case.reference}: {report['created']} new, {report['extended']} extended, "
            f"{report['unchanged']} already requested"
        )
        for entry in report["skipped"]:
            self.stdout.write(
                f"  skipped {entry['engine']} ({entry['situation']}, {entry['links']} links):"
                f" {entry['reason']}"
            )
        for notice in report["notices"]:
            missing = notice["missing"]
            check = "missing: " + "; ".join(missing) if missing else "complete"
            self.stdout.write(
                f"  notice {notice['id']} [{notice['status']}] to {notice['engine']} "
                f"({notice['regime']}, {notice['links']} links, web form {notice['form']}):"
                f" {check}"
            )
