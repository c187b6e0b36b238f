"""manage.py choose_authority NOTICE (--authority ID | --residence) [--as USER]

Address a complaint draft to another data-protection authority: the one of the controller's
state when the product could not tell it, or the person's residence authority (GDPR
Art. 77(1)). The draft is checked again; see docs/law/authorities.md.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.checks.escalate import choose_authority, residence_authority
from takedown.errors import NotPossible
from takedown.management.lookups import user_named
from takedown.models import Notice, Organisation


class Command(BaseCommand):
    help = "Choose the authority a complaint draft goes to."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("notice", type=int, metavar="NOTICE")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--authority", type=int, metavar="ID", help="Organisation id")
        which.add_argument(
            "--residence", action="store_true", help="The authority of the person's residence"
        )
        parser.add_argument("--as", dest="user", metavar="USER")

    def handle(self, *args: Any, **options: Any) -> None:
        notice = Notice.objects.filter(pk=options["notice"]).first()
        if notice is None:
            raise CommandError(f"no notice {options['notice']}", returncode=2)
        actor = user_named(options["user"]) if options["user"] else None
        if options["residence"]:
            authority = residence_authority(notice.case)
            if authority is None:
                raise CommandError(
                    "no authority is known for the person's residence (record their country "
                    "and, in Germany, their state)",
                    returncode=2,
                )
        else:
            authority = Organisation.objects.filter(pk=options["authority"]).first()
            if authority is None:
                raise CommandError(f"no organisation {options['authority']}", returncode=2)
        try:
            notice = choose_authority(notice, authority, actor=actor)
        except NotPossible as exc:
            raise CommandError(exc.message, returncode=2) from None
        missing = notice.element_check.get("missing", [])
        self.stdout.write(
            f"complaint {notice.pk} to {authority.name} ({notice.get_authority_basis_display()})"
            + (f"; still missing: {'; '.join(missing)}" if missing else "")
        )
