"""manage.py mandate --case REF (--pdf FILE | --upload FILE [--as USER])

--pdf writes the power of attorney for the affected person to sign;
--upload stores the signed copy, encrypted at rest. Notices whose regime needs a mandate cannot
be approved before one is on file.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.management.lookups import case_named, input_file, user_named, write_output
from takedown.notices.render import render_mandate
from takedown.web.portal.access import PortalError
from takedown.web.portal.actions import store_signed_mandate


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
            # The authorisation names the person: not for other users of the machine.
            write_output(options["pdf"], render_mandate(case), private=True)
            self.stdout.write(f"wrote the mandate for {case.reference} to {options['pdf']}")
            return
        path = input_file(options["upload"])
        user = user_named(options["user"]) if options["user"] else None
        try:
            store_signed_mandate(case, path.read_bytes(), actor=user)
        except PortalError:
            limit = settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES // (1024 * 1024)
            raise CommandError(f"{path}: not a PDF of at most {limit} MB", returncode=2) from None
        self.stdout.write(f"stored the signed mandate for {case.reference} (encrypted)")
