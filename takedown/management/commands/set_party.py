"""manage.py set_party --case REF --host HOST [--registered-domain] --as USER [--json] and one of

  --role ROLE (--organisation NAME | --new-organisation NAME --country CC [--region CODE]
              [--email ADDR | --web-form URL] | --holder)
  --exclude --reason TEXT      take the host's links out of the case
  --clear                      remove the decision: resolution decides again

A caseworker decides who is responsible where the machine cannot (resolve.decisions). The
decision is a case event with its author and wins over resolution until cleared. --holder
confirms the domain's holder (a private person the machine would not write to) as the party.
Exit status: 0 done, 1 refused (the message says why), 2 bad input (case, user, organisation).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.errors import NotPossible
from takedown.management.lookups import case_named, user_named
from takedown.models import Organisation, PartyDecision
from takedown.resolve.decisions import (
    DECIDABLE_ROLES,
    clear_decisions,
    exclude_host,
    holder_organisation,
    new_organisation,
    set_party,
)
from takedown.web.access import cases_for, is_caseworker


class Command(BaseCommand):
    help = "Set (or exclude, or clear) the responsible party of a host in a case by hand."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", required=True, metavar="REF")
        parser.add_argument("--host", required=True, metavar="HOST")
        parser.add_argument(
            "--registered-domain",
            action="store_true",
            help="HOST is a registered domain: the decision covers every host under it",
        )
        parser.add_argument("--as", dest="user", required=True, metavar="USER")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--role", choices=[str(role) for role in DECIDABLE_ROLES])
        who = parser.add_mutually_exclusive_group()
        who.add_argument("--organisation", metavar="NAME", help="a directory organisation")
        who.add_argument("--new-organisation", metavar="NAME", help="create it in the directory")
        who.add_argument("--holder", action="store_true", help="the domain's holder")
        parser.add_argument("--country", metavar="CC", default="")
        parser.add_argument("--region", metavar="CODE", default="", help="ISO 3166-2, e.g. DE-BY")
        contact = parser.add_mutually_exclusive_group()
        contact.add_argument("--email", metavar="ADDR", default="")
        contact.add_argument("--web-form", metavar="URL", default="")
        parser.add_argument("--exclude", action="store_true")
        parser.add_argument("--reason", metavar="TEXT", default="")
        parser.add_argument("--clear", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"])
        user = user_named(options["user"])
        if not is_caseworker(user) or not cases_for(user).filter(pk=case.pk).exists():
            raise CommandError(
                f"{user.username} is not a caseworker of {case.reference}", returncode=2
            )
        actions = [options["exclude"], options["clear"], bool(options["role"])]
        if sum(actions) != 1:
            raise CommandError("give exactly one of --role, --exclude, --clear", returncode=2)
        target, whole = options["host"], options["registered_domain"]
        try:
            if options["clear"]:
                cleared = clear_decisions(case, target, whole_domain=whole, actor=user)
                self._report(options, {"action": "clear", "target": target, "cleared": cleared})
                return
            if options["exclude"]:
                decision = exclude_host(
                    case, target, reason=options["reason"], whole_domain=whole, actor=user
                )
            else:
                organisation = self._organisation(case, options, user)
                decision = set_party(
                    case,
                    target,
                    role=options["role"],
                    organisation=organisation,
                    whole_domain=whole,
                    actor=user,
                    reason=options["reason"],
                )
        except NotPossible as exc:
            raise CommandError(exc.message, returncode=1) from None
        self._report(options, describe(decision))

    def _organisation(self, case: Any, options: dict[str, Any], user: Any) -> Organisation:
        if options["holder"]:
            return holder_organisation(
                case, options["host"], whole_domain=options["registered_domain"]
            )
        if options["new_organisation"]:
            return new_organisation(
                options["new_organisation"],
                role=options["role"],
                country=options["country"],
                region=options["region"],
                email=options["email"],
                web_form=options["web_form"],
                actor=user,
            )
        name = options["organisation"]
        if not name:
            raise CommandError(
                "--role needs --organisation, --new-organisation or --holder", returncode=2
            )
        found = list(Organisation.objects.filter(name__iexact=name.strip())[:2])
        if len(found) != 1:
            problem = "no organisation" if not found else "more than one organisation"
            raise CommandError(f"{problem} named {name!r} in the directory", returncode=2)
        return found[0]

    def _report(self, options: dict[str, Any], data: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
        elif data["action"] == "clear":
            self.stdout.write(f"{data['target']}: {data['cleared']} decision(s) cleared")
        elif data["action"] == PartyDecision.Action.EXCLUDE:
            self.stdout.write(f"{data['target']}: {data['links']} links excluded")
        else:
            self.stdout.write(
                f"{data['target']}: {data['organisation']['name']} is the {data['role']}"
            )


def describe(decision: PartyDecision) -> dict[str, Any]:
    organisation = decision.organisation
    return {
        "id": decision.pk,
        "action": decision.action,
        "target": decision.target,
        "registered_domain": decision.whole_domain,
        "role": decision.role,
        "organisation": None
        if organisation is None
        else {
            "id": organisation.pk,
            "name": organisation.name,
            "country": organisation.country,
            "region": organisation.region,
        },
        "reason": decision.reason,
        "links": len(decision.excluded_links),
        "by": decision.created_by.username if decision.created_by else "",
    }
