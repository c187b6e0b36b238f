"""manage.py recheck_links [--case REF] [--sync] [--json]

Checks the links that are due (with --case: every link of the case, now), in the workers or
with --sync here, printing each link's verdict. The links are leased and claimed exactly as the
dispatcher does it, so a worker running at the same time never checks one of them twice.

--json prints, with --sync, one JSON list with an object per checked link:
{"id", "url", "verdict", "status", "reason", "next_check_at", "check"} ("check" is the
LinkCheck id, null when the link was not fetched: excluded, case withdrawn or paused);
without --sync one object {"queued": links, "tasks": tasks}.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from takedown.checks.check import CheckOutcome, check_links
from takedown.checks.schedule import (
    claim_leased,
    feed_new_links,
    lease_due_links,
    make_due,
    release_hosts,
)
from takedown.dispatch import hand_out_rechecks
from takedown.management.lookups import case_named
from takedown.models import FoundLink


class Command(BaseCommand):
    help = "Check the links that are due, or every link of a case, and print their verdicts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", metavar="REF", help="Every link of this case, now")
        parser.add_argument("--sync", action="store_true", help="Check here, not in the workers")
        parser.add_argument("--json", action="store_true", help="Machine-readable output")

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_named(options["case"]) if options["case"] else None
        if case is not None:
            make_due(FoundLink.objects.filter(case=case))
        else:
            feed_new_links()
        if options["sync"]:
            self._check_here(case, as_json=options["json"])
        else:
            self._queue(case, as_json=options["json"])

    def _queue(self, case: Any, *, as_json: bool) -> None:
        queued, tasks = hand_out_rechecks(case)
        if as_json:
            self.stdout.write(json.dumps({"queued": queued, "tasks": tasks}))
        else:
            self.stdout.write(f"handed {queued} links to the workers in {tasks} tasks")

    def _check_here(self, case: Any, *, as_json: bool) -> None:
        seen: set[int] = set()
        counts: dict[str, int] = {}
        first = True
        if as_json:
            self.stdout.write("[", ending="")
        # Round after round (each within the per-host limits) until nothing is due; a link
        # that comes due again during the run (a retry at 0 minutes) waits for the next run.
        while True:
            batches, lease_until = lease_due_links(case=case)
            if not batches:
                break
            leased = [link_id for batch in batches for link_id in batch]
            claimed = claim_leased(
                [link_id for link_id in leased if link_id not in seen], lease_until
            )
            if not claimed:
                release_hosts(leased, lease_until)
                break
            seen.update(claimed)
            try:
                outcomes = check_links(claimed)
            finally:
                # This process holds the whole lease: the next round may take these hosts.
                release_hosts(leased, lease_until)
            for outcome in outcomes:
                counts[outcome.verdict or "not checked"] = (
                    counts.get(outcome.verdict or "not checked", 0) + 1
                )
                if as_json:
                    prefix = "" if first else ","
                    self.stdout.write(prefix + json.dumps(outcome.as_dict()), ending="")
                else:
                    self.stdout.write(_line(outcome))
                first = False
        if as_json:
            self.stdout.write("]")
            return
        summary = ", ".join(f"{count} {verdict}" for verdict, count in sorted(counts.items()))
        self.stdout.write(f"checked {sum(counts.values())} links: {summary or 'none due'}")


def _line(outcome: CheckOutcome) -> str:
    due = (
        f"{outcome.next_check_at:%Y-%m-%d %H:%M} UTC" if outcome.next_check_at else "no more checks"
    )
    return (
        f"link {outcome.link_id}: {outcome.verdict or '-'} ({outcome.status}) "
        f"{outcome.reason}; next: {due}  {outcome.url}"
    )
