"""manage.py lookup_host URL_OR_DOMAIN [URL_OR_DOMAIN ...] [--json] [--refresh]

With one target --json prints its object; with several, a list of those objects in the order
given (so a caseworker can paste a list). Exit status: 0 when every target had a responsible
party, 1 when some had none, 2 on bad input (every bad target is named, nothing is looked up).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.errors import NotPossible
from takedown.resolve.lookup import lookup_hosts, parse_target


class Command(BaseCommand):
    help = "Find who is responsible for URLs or hosts: hosting, registrar, platform, the law."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("targets", nargs="+", metavar="URL_OR_DOMAIN")
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print one JSON object (a list of them for several targets)",
        )
        parser.add_argument("--refresh", action="store_true", help="Ignore cached answers")
        parser.add_argument(
            "--category", choices=["medical", "intimate", "personal", "other"], default=None
        )
        parser.add_argument("--owns-copyright", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        targets: list[str] = options["targets"]
        # All of the input is checked before any lookup: a typo in a pasted list is reported
        # at once, not after minutes of lookups of the rest.
        parsed: list[tuple[str, str, str, bool]] = []
        bad: list[str] = []
        for target in targets:
            try:
                parsed.append(parse_target(target))
            except NotPossible as exc:
                bad.append(exc.message)
        if bad:
            raise CommandError("; ".join(bad), returncode=2)
        results = lookup_hosts(
            parsed,
            refresh=options["refresh"],
            category=options["category"],
            owns_copyright=options["owns_copyright"],
        )
        data = [result.as_dict() for result in results]
        if options["json"]:
            payload: Any = data[0] if len(targets) == 1 else data
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
        else:
            for item in data:
                self._print(item)
        if not all(result.found_any_party for result in results):
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
