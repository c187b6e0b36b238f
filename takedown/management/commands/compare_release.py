"""manage.py compare_release --case REF --dataset NAME [--format F] [--json] FILE...

Reads a newer release of a dataset's index (the formats of import_links) and reports, per sent
notice to the dataset's maintainer, which of the entries it named are still present and which
are gone. The result is recorded on each notice and feeds its outcome.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.checks.releases import IntakeError, compare_release
from takedown.intake.readers import FORMATS
from takedown.management.lookups import case_named


class Command(BaseCommand):
    help = "Compare a dataset release with the entries named in the case's maintainer notices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--case", required=True, metavar="REF")
        parser.add_argument("--dataset", required=True, metavar="NAME")
        parser.add_argument("--format", choices=FORMATS)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"])
        try:
            report = compare_release(
                case, options["dataset"], options["files"], format=options["format"]
            )
        except IntakeError as exc:
            raise CommandError(f"cannot read the release: {exc}", returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
            return
        if not report.notices:
            self.stdout.write(
                f"{case.reference}: no sent notice to the maintainer of {options['dataset']}"
            )
        for diff in report.notices:
            self.stdout.write(
                f"notice {diff.notice.pk} to {diff.notice.recipient.name}: "
                f"{len(diff.present)} still present, {len(diff.gone)} gone"
            )
            for link in diff.present:
                self.stdout.write(f"  present  {link.entry_id or '-'}  {link.url}")
