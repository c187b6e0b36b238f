"""manage.py approve_notice ID --as USER [--confirm-disclosure] [--reject COMMENT]

Four-eyes: a draft is first submitted (by its author), then approved by USER, who must hold the
reviewer permission and must not be the author or the submitter.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.errors import NotPossible
from takedown.management.lookups import user_named
from takedown.models import Notice
from takedown.notices.review import approve, reject, submit_for_review


class Command(BaseCommand):
    help = "Approve (or reject) a notice as a reviewer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", type=int)
        parser.add_argument("--as", dest="user", required=True, metavar="USER")
        parser.add_argument("--confirm-disclosure", action="store_true")
        parser.add_argument("--reject", metavar="COMMENT")

    def handle(self, *args: Any, **options: Any) -> None:
        notice = Notice.objects.filter(pk=options["id"]).first()
        if notice is None:
            raise CommandError(f"no notice {options['id']}", returncode=2)
        reviewer = user_named(options["user"])
        try:
            if notice.status == Notice.Status.DRAFT:
                # Recorded as the command's step, not the author's; the author check in
                # approve() still applies, and a draft with no author cannot be approved.
                submit_for_review(notice, None)
            if options["reject"]:
                reject(notice, reviewer, options["reject"])
                self.stdout.write(f"notice {notice.pk} returned to its author")
                return
            approve(notice, reviewer, confirm_disclosure=options["confirm_disclosure"])
        except NotPossible as exc:
            raise CommandError(exc.message, returncode=1) from None
        self.stdout.write(f"notice {notice.pk} approved by {reviewer.username}")
