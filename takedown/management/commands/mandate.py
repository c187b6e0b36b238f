"""manage.py mandate --case REF (--pdf FILE | --upload FILE [--as USER])

--pdf writes the authorisation (GDPR Art. 80(1) style) for the affected person to sign;
--upload stores the signed copy, encrypted at rest. Notices whose regime needs a mandate cannot
be approved before one is on file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.management.lookups import case_named, user_named
from takedown.models import Mandate
from takedown.notices.pdf import render_mandate
from takedown.workflow import record_event

MAX_UPLOAD = 20 * 1024 * 1024


class Command(BaseCommand):
    help = "Write the mandate for signing, or store the signed copy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", required=True, metavar="REF")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--pdf", metavar="FILE", help="write the mandate to sign here")
        action.add_argument("--upload", metavar="FILE", help="store this signed copy")
        parser.add_argument("--as", dest="user", metavar="USER")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"])
        if options["pdf"]:
            Path(options["pdf"]).write_bytes(render_mandate(case))
            self.stdout.write(f"wrote the mandate for {case.reference} to {options['pdf']}")
            return
        path = Path(options["upload"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file", returncode=2)
        data = path.read_bytes()
        if len(data) > MAX_UPLOAD or not data.startswith(b"%PDF"):
            raise CommandError(f"{path}: not a PDF of at most 20 MB", returncode=2)
        user = user_named(options["user"]) if options["user"] else None
        Mandate.objects.create(case=case, signed_document=data, uploaded_by=user)
        record_event(
            case,
            "mandate.uploaded",
            actor=user,
            visible_to_person=True,
            message="Your signed authorisation was received.",
        )
        self.stdout.write(f"stored the signed mandate for {case.reference} (encrypted)")
