"""manage.py mandate --case REF (--pdf FILE | --upload FILE... [--as USER] | --revoke --as USER)

--pdf writes the power of attorney for the affected person to sign (its hash is remembered: the
unsigned form cannot be uploaded as signed); --upload stores the signed copy, encrypted at rest:
one PDF, or photos of the signed pages (JPEG, PNG, HEIC), made into one PDF; --revoke revokes
it and returns every unsent notice that needs it to draft. Notices whose regime needs a mandate
cannot be submitted or approved before one is on file. See takedown/mandates.py.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown import mandates
from takedown.management.lookups import case_named, input_file, user_named, write_output


class Command(BaseCommand):
    help = "Write the mandate for signing, store the signed copy, or revoke it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", required=True, metavar="REF")
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--pdf", metavar="FILE", help="write the mandate to sign here")
        action.add_argument(
            "--upload", nargs="+", metavar="FILE", help="store this signed PDF, or these photos"
        )
        action.add_argument("--revoke", action="store_true", help="revoke the mandate")
        parser.add_argument("--as", dest="user", metavar="USER")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"])
        if options["pdf"]:
            # The authorisation names the person: not for other users of the machine.
            write_output(options["pdf"], mandates.issue_form(case), private=True)
            self.stdout.write(f"wrote the mandate for {case.reference} to {options['pdf']}")
            return
        user = user_named(options["user"]) if options["user"] else None
        if options["revoke"]:
            if user is None:
                raise CommandError("--revoke needs --as USER (who revokes it)", returncode=2)
            try:
                stopped = mandates.revoke(case, actor=user)
            except mandates.MandateRefused as refused:
                raise CommandError(refused.message, returncode=2) from None
            self.stdout.write(
                f"revoked the mandate for {case.reference}; {len(stopped)} unsent notices"
                " returned to draft"
            )
            return
        paths = [input_file(name) for name in options["upload"]]
        try:
            mandates.store_signed(case, [path.read_bytes() for path in paths], actor=user)
        except mandates.MandateRefused as refused:
            at_fault = paths[refused.page - 1] if refused.page else paths[0]
            raise CommandError(f"{at_fault}: {refused.message}", returncode=2) from None
        self.stdout.write(f"stored the signed mandate for {case.reference} (encrypted)")
