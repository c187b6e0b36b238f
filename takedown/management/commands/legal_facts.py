"""manage.py legal_facts REF [--learned-of-act DATE] [--learned-of-offender DATE]
                             [--consent HOW | --withdraw-consent] [--as USER] [--json]

Record and show the facts of a case the law needs beyond the links: the day the person learned
of the act and of the offender (StGB §77b: a criminal complaint within three months, see
takedown/complaint_period.py) and their consent to be named in a complaint to a
data-protection authority. Without options it only prints them. Exit 2 on bad input.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.cases import record_complaint_consent, withdraw_complaint_consent
from takedown.complaint_period import deadline_of, is_german, record_knowledge
from takedown.errors import NotPossible
from takedown.management.lookups import case_named, day_named, user_named


class Command(BaseCommand):
    help = "Record or show when the person learned of the act, and their consent to be named."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("case", metavar="REF")
        parser.add_argument("--learned-of-act", metavar="DATE")
        parser.add_argument("--learned-of-offender", metavar="DATE")
        consent = parser.add_mutually_exclusive_group()
        consent.add_argument("--consent", metavar="HOW", help="How the person consented")
        consent.add_argument("--withdraw-consent", action="store_true")
        parser.add_argument("--as", dest="user", metavar="USER")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"])
        actor = user_named(options["user"]) if options["user"] else None
        try:
            if options["learned_of_act"] or options["learned_of_offender"]:
                if not options["learned_of_act"]:
                    raise CommandError("--learned-of-offender needs --learned-of-act", returncode=2)
                record_knowledge(
                    case,
                    act_on=day_named(options["learned_of_act"]),
                    offender_on=day_named(options["learned_of_offender"])
                    if options["learned_of_offender"]
                    else None,
                    actor=actor,
                )
            if options["consent"]:
                record_complaint_consent(case, how=options["consent"], actor=actor)
            elif options["withdraw_consent"]:
                withdraw_complaint_consent(case, actor=actor)
        except NotPossible as exc:
            raise CommandError(exc.message, returncode=2) from None
        self._print(case, as_json=options["json"])

    def _print(self, case: Any, *, as_json: bool) -> None:
        deadline = deadline_of(case)
        facts = {
            "case": case.reference,
            "learned_of_act_on": _iso(case.learned_of_act_on),
            "learned_of_offender_on": _iso(case.learned_of_offender_on),
            "german": is_german(case),
            "criminal_complaint_by": deadline.last_day.isoformat() if deadline else None,
            "offences": list(deadline.offences) if deadline else [],
            "complaint_consent": {
                "at": case.complaint_consent_at.isoformat(),
                "how": case.complaint_consent_how,
                "recorded_by": getattr(case.complaint_consent_recorded_by, "username", None),
            }
            if case.complaint_consent_at
            else None,
        }
        if as_json:
            self.stdout.write(json.dumps(facts, ensure_ascii=False))
            return
        lines = [f"case {case.reference}"]
        if deadline:
            lines.append(
                f"criminal complaint (StGB §77b) by {deadline.last_day.isoformat()}: "
                + ", ".join(deadline.offences)
            )
        elif case.learned_of_act_on is None:
            lines.append("day of knowledge: not recorded")
        else:
            lines.append("no German complaint period (not a German case)")
        lines.append(
            f"consent to be named in a complaint: {case.complaint_consent_how}"
            if case.complaint_consent_at
            else "consent to be named in a complaint: none"
        )
        self.stdout.write("\n".join(lines))


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
