"""manage.py reset_two_factor USERNAME --as ADMIN

Removes a staff member's authenticator and recovery codes (a lost phone): they set up
two-factor sign-in again at their next sign-in. Only an admin may do it; it is an audit event.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.management.lookups import user_named
from takedown.web.access import is_admin
from takedown.web.twofactor import reset_two_factor


class Command(BaseCommand):
    help = "Reset a staff member's two-factor sign-in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--as", dest="actor", required=True, metavar="ADMIN")

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_named(options["username"])
        actor = user_named(options["actor"])
        if not is_admin(actor):
            raise CommandError(f"{actor.get_username()} is not an admin", returncode=2)
        removed = reset_two_factor(user, actor=actor)
        self.stdout.write(f"two-factor sign-in of {user.get_username()} reset ({removed} removed)")
