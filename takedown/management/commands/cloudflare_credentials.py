"""manage.py cloudflare_credentials TEAM --account ID [--clear]: store a team's Cloudflare
account id and abuse-report API token (takedown/notices/cloudflare.py).

The token is read from standard input (or $TAKEDOWN_CLOUDFLARE_TOKEN), never from the command
line where `ps` and shell histories would keep it, and stored encrypted (takedown/crypto.py).
The token needs Cloudflare's "Abuse Reports: Edit" permission on that account. --clear removes
both: the team's notices to Cloudflare then go through its web form by hand.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.models import Team


class Command(BaseCommand):
    help = "Store (or --clear) a team's Cloudflare account id and API token (token on stdin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("team", help="The team's name.")
        parser.add_argument("--account", default="", help="Cloudflare account id (32 hex).")
        parser.add_argument("--clear", action="store_true", help="Remove id and token.")

    def handle(self, *args: Any, **options: Any) -> None:
        team = Team.objects.filter(name=options["team"]).first()
        if team is None:
            raise CommandError(f"no team named {options['team']!r}")
        if options["clear"]:
            team.cloudflare_account_id, team.cloudflare_api_token = "", ""
            team.save(update_fields=["cloudflare_account_id", "cloudflare_api_token"])
            self.stdout.write(f"{team.name}: Cloudflare credentials removed (web form from now).")
            return
        account = options["account"].strip()
        if not account or len(account) > 32:
            raise CommandError("--account: the Cloudflare account id (at most 32 characters)")
        token = os.environ.get("TAKEDOWN_CLOUDFLARE_TOKEN", "").strip()
        if not token:
            if sys.stdin.isatty():
                self.stderr.write("Cloudflare API token: ", ending="")
                self.stderr.flush()
            token = sys.stdin.readline().strip()
        if not token:
            raise CommandError("no token on standard input")
        team.cloudflare_account_id, team.cloudflare_api_token = account, token
        team.save(update_fields=["cloudflare_account_id", "cloudflare_api_token"])
        self.stdout.write(
            f"{team.name}: Cloudflare account {account} stored; notices to Cloudflare go "
            "through its abuse-report API."
        )
