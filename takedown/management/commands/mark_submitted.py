"""manage.py mark_submitted ID --confirmation REF [--as USER]

For notices sent through a web form, by post or a platform API: the caseworker submitted it by
hand (with the PDF from `render_notice ID --pdf FILE`) and records the confirmation number.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.errors import NotPossible
from takedown.management.lookups import user_named
from takedown.models import Notice
from takedown.notices.send import mark_submitted


class Command(BaseCommand):
    help = "Record that a notice was submitted by hand, with the recipient's confirmation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", type=int)
        parser.add_argument("--confirmation", required=True, metavar="REF")
        parser.add_argument("--as", dest="user", metavar="USER")

    def handle(self, *args: Any, **options: Any) -> None:
        notice = Notice.objects.filter(pk=options["id"]).first()
        if notice is None:
            raise CommandError(f"no notice {options['id']}", returncode=2)
        actor = user_named(options["user"]) if options["user"] else None
        try:
            mark_submitted(notice, actor, options["confirmation"])
        except NotPossible as exc:
            raise CommandError(exc.message, returncode=1) from None
        self.stdout.write(f"notice {notice.pk} recorded as submitted ({options['confirmation']})")
