"""manage.py lookup_host URL_OR_DOMAIN [--json] [--refresh]

Exit status: 0 when any responsible party was found, 1 when none, 2 on bad input.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.errors import NotPossible
from takedown.resolve.lookup import lookup_host


class Command(BaseCommand):
    help = "Find who is responsible for a URL or host: hosting, registrar, platform, the law."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", metavar="URL_OR_DOMAIN")
        parser.add_argument("--json", action="store_true", help="Print one JSON object")
        parser.add_argument("--refresh", action="store_true", help="Ignore cached answers")
        parser.add_argument(
            "--category", choices=["medical", "intimate", "personal", "other"], default=None
        )
        parser.add_argument("--owns-copyright", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = lookup_host(
                options["target"],
                refresh=options["refresh"],
                category=options["category"],
                owns_copyright=options["owns_copyright"],
            )
        except NotPossible as exc:
            raise CommandError(exc.message, returncode=2) from None
        data = result.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
        else:
            self._print(data)
        if not result.found_any_party:
            sys.exit(1)

    def _print(self, data: dict[str, Any]) -> None:
        write = self.stdout.write
        write(f"{data['hostname']} (registered domain {data['registered_domain']})")
        write(f"  addresses: {', '.join(data['ips']) or '-'}")
        if data["cname_chain"]:
            write(f"  CNAME chain: {' -> '.join(data['cname_chain'])}")
        for role in ("platform", "cdn", "hosting", "registrar", "registrant"):
            party = data[role]
            if party:
                name = party.get("name") or party.get("organization") or "?"
                country = party.get("country") or "country unknown"
                write(f"  {role}: {name} ({country}; {party.get('source', '')})")
        for contact in data["contacts"]:
            write(f"  contact {contact['role']}: {contact['email']} ({contact['source']})")
        jurisdiction = data["jurisdiction"]
        write(
            f"  law: {', '.join(jurisdiction.get('regimes', [])) or '-'} "
            f"(confidence {jurisdiction.get('confidence', 'none')})"
        )
        for reason in jurisdiction.get("reasons", []):
            write(f"    - {reason}")
        if jurisdiction.get("needs_decision"):
            write("  needs a caseworker's decision:")
            for reason in jurisdiction.get("decision_reasons", []):
                write(f"    - {reason}")
        for error in data["errors"]:
            write(f"  error from {error['source']}: {error['message']}")
