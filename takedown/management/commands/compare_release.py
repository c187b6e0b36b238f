"""manage.py compare_release --case REF --dataset NAME [--format F] [--partial] [--json] FILE...

Reads a newer release of a dataset's index (the formats of import_links) and reports, per sent
notice to the dataset's maintainer, which of the entries it named are still present and which
are gone. The result is recorded on each notice and feeds its outcome. Pass every file of the
release at once; `--partial` compares one shard: present entries are reported, absent ones are
not taken for gone. A file that cannot be read, has no valid row, or holds no entry known from
the dataset exits with status 2 and records nothing.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.checks.releases import IntakeError, ReleaseError, compare_release
from takedown.intake.readers import FORMATS
from takedown.management.lookups import case_named


class Command(BaseCommand):
    help = "Compare a dataset release with the entries named in the case's maintainer notices."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--case", required=True, metavar="REF")
        parser.add_argument("--dataset", required=True, metavar="NAME")
        parser.add_argument("--format", choices=FORMATS)
        parser.add_argument(
            "--partial",
            action="store_true",
            help="the files are part of a release: report present entries, conclude nothing "
            "about absent ones",
        )
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"])
        try:
            report = compare_release(
                case,
                options["dataset"],
                options["files"],
                format=options["format"],
                partial=options["partial"],
            )
        except IntakeError as exc:
            raise CommandError(f"cannot read the release: {exc}", returncode=2) from None
        except ReleaseError as exc:
            raise CommandError(f"cannot compare the release: {exc}", returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
            return
        if not report.notices:
            self.stdout.write(
                f"{case.reference}: no sent notice to the maintainer of {options['dataset']}"
            )
        for diff in report.notices:
            absent = (
                f"{len(diff.not_found)} not in these files (not concluded)"
                if report.partial
                else f"{len(diff.gone)} gone"
            )
            self.stdout.write(
                f"notice {diff.notice.pk} to {diff.notice.recipient.name}: "
                f"{len(diff.present)} still present, {absent}"
            )
            for link in diff.present:
                self.stdout.write(f"  present  {link.entry_id or '-'}  {link.url}")
