"""manage.py generate_notices --case REF [--json] [--as USER]: create or refresh draft notices
and print them with their element-check results, and each host whose links have no recipient
with the reason (--json: unrouted_links, the count, and unrouted_hosts, the hosts)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from takedown.management.lookups import case_named, user_named
from takedown.notices.generate import generate_notices


class Command(BaseCommand):
    help = "Create or refresh the draft notices of a case (one per recipient)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", required=True, metavar="REF")
        parser.add_argument("--as", dest="user", metavar="USER", help="author of new drafts")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"])
        actor = user_named(options["user"]) if options["user"] else None
        report = generate_notices(case, actor=actor).as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        self.stdout.write(
            f"{case.reference}: {report['created']} new, {report['refreshed']} refreshed, "
            f"{report['unchanged']} already under way; "
            f"{report['unrouted_links']} links have no resolved recipient yet"
        )
        for entry in report["unrouted_hosts"]:
            self.stdout.write(
                f"  unrouted {entry['host']} ({entry['links']} links): {entry['reason']}"
            )
        for notice in report["notices"]:
            missing = notice["missing"]
            check = "missing: " + "; ".join(missing) if missing else "complete"
            address = notice["to"] or "(no contact)"
            self.stdout.write(
                f"  notice {notice['id']} [{notice['status']}] to {notice['recipient']} "
                f"({notice['role']}, {notice['regime']}, {notice['language']}, "
                f"{notice['links']} links, {notice['channel']} {address}): {check}"
            )
