"""manage.py render_notice ID [--pdf FILE] [--text]: the notice as the recipient will see it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.management.lookups import write_output
from takedown.models import Notice
from takedown.notices.render import render_notice


class Command(BaseCommand):
    help = "Render a notice: print its subject and text, and write its PDF."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("id", type=int)
        parser.add_argument("--pdf", metavar="FILE", help="write the PDF here")

    def handle(self, *args: Any, **options: Any) -> None:
        notice = Notice.objects.filter(pk=options["id"]).select_related("case", "recipient").first()
        if notice is None:
            raise CommandError(f"no notice {options['id']}", returncode=2)
        rendered = render_notice(notice, with_pdf=bool(options["pdf"]))
        if options["pdf"]:
            pdf = next(a for a in rendered.attachments if a.mimetype == "application/pdf")
            # It may name the person (where a regime requires it and a reviewer confirmed).
            write_output(options["pdf"], pdf.content, private=notice.discloses_person)
            self.stderr.write(f"wrote {options['pdf']} ({len(pdf.content)} bytes)")
        self.stdout.write(f"Subject: {rendered.subject}\n\n{rendered.text}")
        names = ", ".join(a.filename for a in rendered.attachments)
        self.stdout.write(f"\nAttachments: {names}")
