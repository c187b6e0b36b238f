"""manage.py close_case --case REF --reason TEXT --as USER

A caseworker closes a case (cases also close by themselves when every link is removed).
Unsent notices of the case are cancelled; the person's timeline says the case was closed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.checks.escalate import close_case
from takedown.errors import NotPossible
from takedown.management.lookups import case_named, user_named
from takedown.workflow import ConcurrentChange, TransitionNotAllowed


class Command(BaseCommand):
    help = "Close a case with a reason."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", required=True, metavar="REF")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--as", dest="user", required=True, metavar="USER")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"])
        actor = user_named(options["user"])
        try:
            close_case(case, reason=options["reason"], actor=actor)
        except (TransitionNotAllowed, ConcurrentChange) as exc:
            raise CommandError(exc.message, returncode=1) from None
        except NotPossible as exc:
            raise CommandError(exc.message, returncode=2) from None
        self.stdout.write(f"case {case.reference} closed")
