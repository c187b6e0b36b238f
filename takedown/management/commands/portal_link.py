"""manage.py portal_link --case REF [--days N] [--as USER] | --revoke

Prints a new link to the affected person's portal (it replaces the case's earlier links), for
the caseworker to send. Only its hash is stored: the printed URL is the only copy. --revoke
makes every link of the case stop working at once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.errors import NotPossible
from takedown.management.lookups import case_named, user_named
from takedown.web.portal.access import issue_portal_link, revoke_portal_links


class Command(BaseCommand):
    help = "Print a new portal link for the affected person of a case, or revoke the links."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", required=True, metavar="REF")
        parser.add_argument("--days", type=int, metavar="N", help="valid for N days (1-365)")
        parser.add_argument("--revoke", action="store_true", help="revoke the case's links")
        parser.add_argument("--as", dest="user", metavar="USER")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"])
        user = user_named(options["user"]) if options["user"] else None
        if options["revoke"]:
            if options["days"] is not None:
                raise CommandError("--days and --revoke cannot be combined", returncode=2)
            count = revoke_portal_links(case, actor=user)
            self.stdout.write(f"revoked {count} portal link(s) of {case.reference}")
            return
        try:
            url = issue_portal_link(case, actor=user, days=options["days"])
        except NotPossible as exc:
            raise CommandError(exc.message, returncode=2) from None
        self.stdout.write(url)
