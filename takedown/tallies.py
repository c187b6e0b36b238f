"""How many links a case has in each state, for the pages that show it: the caseworker's case
page (links per responsible party and status, the hosts needing a decision), the person's
portal overview (links per plain-language state) and the reviewer's results (totals and weekly
series over the team's cases).

Counted live, each of these reads every link of the case on every view: at a million links
the case page took 3.2 s, the results 2.7 s and the portal 3.7 s (README, "Pages at scale").
So a case with at least TAKEDOWN_TALLY_THRESHOLD links shows counts computed in the
background (`recount`: a handful of set-based queries, the same ones the live pages run,
written to CaseTally and PartyTally in one transaction), and says when they were counted;
a smaller case is counted live on each view, exactly as before.

Why a snapshot and not counters kept exactly by every writer:
- The writers are many and some are set-based on purpose: the import's COPY, resolution's
  party UPDATE over every link of a changed host (resolve.hosts), the checks' bulk recording,
  exclusions, workflow transitions, raw SQL in resolve.bulk. Each would have to maintain the
  counts in its own transaction, and a missed path is a count wrong for ever. PostgreSQL
  statement triggers with transition tables would catch every path, but not on SQLite (the
  quick-start database), and the import is at its throughput target: the tally rows of one
  case would be one hot row set that every concurrent writer of the case updates (a lock
  queue, and deadlocks between writers touching parties in different orders).
- Not every count is a function of the rows alone: a notified link is "waiting" until its
  notice's deadline passes, which no write announces. A recount is right by construction:
  it runs the live query.
- What a snapshot costs is freshness, and the page says so ("counted 40 s ago"). A view that
  finds the counts older than TAKEDOWN_TALLY_MAX_AGE asks for a recount (`tally_of`), so a
  case looked at often shows counts at most that old plus one recount's time (25 s at a
  million links on a loaded machine, 6 s at 200,000); the first view after a quiet spell shows
  the old counts with their age, and the views after the recount fresh ones. The import asks
  for one when it ends, so a case that grows past the threshold gets its first counts without
  a view asking; until they are stored the pages count live.

Why a recount is neither lost nor run by every view at once: the view claims the recount with
a conditional update on `recount_until` (a lease, as the dispatcher's), and sends the task
only if it won the claim. A lost message or a dead worker leaves the lease to run out; the
next view finding the counts stale claims it again. Two recounts of the same case that do
overlap (a lease ran out while one was slow) each replace the case's rows in one transaction,
locking the tally row first, so the last one to commit stands and no row is counted twice.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from takedown.models import (
    Case,
    CaseTally,
    FoundLink,
    Host,
    Notice,
    NoticeLink,
    PartyDecision,
    PartyTally,
)
from takedown.models.roles import FIRST_RECIPIENT_KINDS
from takedown.workflow import OPEN_LINK_STATUSES

LINK_STATUSES = [value for value, _label in FoundLink.Status.choices]
# A recipient's answer that ends its part: the link stays online and the caseworker decides.
REFUSALS = [Notice.Outcome.REFUSED, Notice.Outcome.NOT_RESPONSIBLE]
# The facts about a notified link's sent notices that the portal's states read, in the order
# of a link_states row.
NOTICE_FACTS = ("waiting", "has_deadline", "refused")
# Longer than the task may run (CELERY_TASK_TIME_LIMIT): a recount still running is not
# asked for again.
RECOUNT_LEASE = timedelta(minutes=15)
PARTY_BATCH = 5000


# --- the counts, live: one query each, rows per group, not per link ---------------------------


def party_groups(case: Case) -> list[dict[str, Any]]:
    """One row per responsible party (the stored FoundLink.party): party, party_role, total
    and by_status, most links first."""
    status_counts = {status: Count("pk", filter=Q(status=status)) for status in LINK_STATUSES}
    rows: Any = (
        FoundLink.objects.filter(case=case)
        .values("party", "party_role")
        .annotate(total=Count("pk"), **status_counts)
        .order_by("-total", "party")
    )
    return [
        {
            "party": row["party"],
            "party_role": row["party_role"],
            "total": row["total"],
            "by_status": {status: row[status] for status in LINK_STATUSES},
        }
        for row in rows
    ]


def needing_decision(case: Case) -> Q:
    """The hosts of `case` that need a caseworker's decision: those with open links whose
    evidence conflicts (needs_decision), whose party changed, or which resolution left without
    anyone to write to; none that a caseworker has already decided for this case."""
    decided = PartyDecision.objects.filter(case=case, cleared_at__isnull=True)
    no_recipient = Q(current__isnull=True) | Q(
        **{f"current__{kind}__isnull": True for kind in FIRST_RECIPIENT_KINDS}
    )
    settled = ~Q(status__in=[Host.Status.PENDING, Host.Status.RESOLVING])
    return (
        (Q(needs_decision=True) | Q(status=Host.Status.CHANGED) | (no_recipient & settled))
        & Q(
            pk__in=FoundLink.objects.filter(case=case, status__in=OPEN_LINK_STATUSES).values("host")
        )
        & ~Q(hostname__in=decided.filter(whole_domain=False).values("target"))
        & ~Q(registered_domain__in=decided.filter(whole_domain=True).values("target"))
    )


def flagged_hosts(case: Case) -> int:
    return Host.objects.filter(needing_decision(case)).count()


def notice_links(case: Case) -> dict[int, int]:
    """Links per notice of the case (one grouped count over the (notice, link) index)."""
    return dict(
        NoticeLink.objects.filter(notice__case=case)
        .order_by()
        .values("notice")
        .annotate(n=Count("*"))
        .values_list("notice", "n")
    )


def _sent_notice_links() -> QuerySet[NoticeLink]:
    return NoticeLink.objects.filter(link=OuterRef("pk"), notice__status=Notice.Status.SENT)


def link_states(links: QuerySet[FoundLink], now: datetime) -> list[list[Any]]:
    """`links` grouped by what the portal's states and the results' totals read: rows of
    [status, last_verdict, waiting, has_deadline, refused, number of links]. The notice facts
    are those of the link's sent notices, read only for notified links (False otherwise).

    Grouped by status and last verdict alone (a handful of groups, hashed in one pass), with
    one count per combination of the three notice facts. Grouping by those facts as well made
    PostgreSQL sort every link of the case: over a second at 200,000 links."""
    notified = Q(status=FoundLink.Status.NOTIFIED)
    flags = {
        "waiting": Exists(
            _sent_notice_links().filter(
                Q(notice__due_at__gt=now) | Q(notice__extended_until__gt=now)
            )
        ),
        "has_deadline": Exists(_sent_notice_links().filter(notice__due_at__isnull=False)),
        "refused": Exists(_sent_notice_links().filter(notice__outcome__in=REFUSALS)),
    }
    combinations = list(itertools.product((False, True), repeat=len(flags)))

    def where(combination: tuple[bool, ...]) -> Q:
        found = notified
        for flag, value in zip(flags.values(), combination, strict=True):
            found &= Q(flag) if value else ~Q(flag)
        return found

    rows: Any = (
        links.values("status", "last_verdict")
        .annotate(
            others=Count("pk", filter=~notified),
            **{f"c{n}": Count("pk", filter=where(c)) for n, c in enumerate(combinations)},
        )
        .order_by()
    )
    states = []
    for row in rows:
        groups = [((False,) * len(flags), row["others"])]
        groups += [(c, row[f"c{n}"]) for n, c in enumerate(combinations)]
        states += [[row["status"], row["last_verdict"], *c, n] for c, n in groups if n]
    return states


def weekly(links: QuerySet[FoundLink]) -> dict[str, dict[date, int]]:
    """Links first found, and links removed (status removed now), per local week (its
    Monday). Two queries."""
    found = links.annotate(week=TruncWeek("created_at")).values("week").annotate(n=Count("pk"))
    removed = (
        links.filter(status=FoundLink.Status.REMOVED, removed_at__isnull=False)
        .annotate(week=TruncWeek("removed_at"))
        .values("week")
        .annotate(n=Count("pk"))
    )
    result: dict[str, dict[date, int]] = {}
    for name, rows in (("found", found), ("removed", removed)):
        totals: dict[date, int] = defaultdict(int)
        for week, n in rows.values_list("week", "n").order_by():
            totals[_as_date(week)] += n
        result[name] = dict(totals)
    return result


def _as_date(value: date | datetime) -> date:
    # TruncWeek gives an aware datetime at local midnight on a DateTimeField.
    return timezone.localtime(value).date() if isinstance(value, datetime) else value


def status_totals(rows: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Links per status from (status, links) rows, every status present."""
    totals = dict.fromkeys(LINK_STATUSES, 0)
    for status, n in rows:
        totals[status] += n
    return totals


# --- the stored counts --------------------------------------------------------------------------


def recount(case_id: int) -> CaseTally | None:
    """Count the case's links and store the counts, or remove them if the case is below the
    threshold (it is counted live then). In one transaction, the tally row locked first: a
    concurrent recount of the same case waits, then replaces these rows with its own."""
    with transaction.atomic():
        case = Case.objects.filter(pk=case_id).first()
        if case is None:  # erased since the recount was asked for
            return None
        tally, _created = CaseTally.objects.select_for_update().get_or_create(case=case)
        links = FoundLink.objects.filter(case=case)
        total = links.count()
        if total < settings.TAKEDOWN_TALLY_THRESHOLD:
            tally.delete()
            PartyTally.objects.filter(case=case).delete()
            return None
        now = timezone.now()
        groups = party_groups(case)
        PartyTally.objects.filter(case=case).delete()
        for start in range(0, len(groups), PARTY_BATCH):
            PartyTally.objects.bulk_create(
                PartyTally(case=case, **row) for row in groups[start : start + PARTY_BATCH]
            )
        tally.links = total
        tally.flagged_hosts = flagged_hosts(case)
        tally.notice_links = {str(notice): n for notice, n in notice_links(case).items()}
        tally.states = link_states(links, now)
        tally.weeks = {
            name: {day.isoformat(): n for day, n in counts.items()}
            for name, counts in weekly(links.exclude(status=FoundLink.Status.EXCLUDED)).items()
        }
        tally.counted_at = now
        tally.recount_until = None
        tally.save()
        return tally


def ask_recount(case_id: int, now: datetime | None = None) -> bool:
    """Claim a recount of the case and send it once the caller's transaction commits; False
    when one is already in flight (its lease has not run out)."""
    now = now or timezone.now()
    CaseTally.objects.get_or_create(case_id=case_id)
    claimed = (
        CaseTally.objects.filter(pk=case_id)
        .filter(Q(recount_until__isnull=True) | Q(recount_until__lt=now))
        .update(recount_until=now + RECOUNT_LEASE)
    )
    if claimed:
        # By name: the web process need not have imported the tasks.
        transaction.on_commit(
            lambda: current_app.send_task("takedown.tasks.recount_case", args=[case_id]),
            robust=True,
        )
    return bool(claimed)


def after_import(case: Case) -> None:
    """A case that has grown past the threshold gets its first counts without waiting for a
    view (an index-only count of the case's links)."""
    if FoundLink.objects.filter(case=case).count() >= settings.TAKEDOWN_TALLY_THRESHOLD:
        ask_recount(case.pk)


def tally_of(case: Case, now: datetime | None = None) -> CaseTally | None:
    """The case's stored counts, or None when it is counted live (small, or not counted yet).
    Asks for a recount when they are older than TAKEDOWN_TALLY_MAX_AGE. One query, two or
    three when stale."""
    tally = CaseTally.objects.filter(case=case, counted_at__isnull=False).first()
    if tally is None or tally.counted_at is None:
        return None
    now = now or timezone.now()
    if now - tally.counted_at > timedelta(seconds=settings.TAKEDOWN_TALLY_MAX_AGE) and (
        tally.recount_until is None or tally.recount_until < now
    ):
        ask_recount(case.pk, now)
    return tally


def stored_party_groups(case: Case) -> QuerySet[PartyTally, Any]:
    """The rows of party_groups as last counted, in the same order, for paging in SQL."""
    return (
        PartyTally.objects.filter(case=case)
        .values("party", "party_role", "total", "by_status")
        .order_by("-total", "party")
    )


def stored_status_totals(tally: CaseTally) -> dict[str, int]:
    return status_totals((row[0], row[-1]) for row in tally.states)


def stored_weeks(tallies: Iterable[CaseTally]) -> dict[str, dict[date, int]]:
    """The weekly counts of several cases, summed."""
    result: dict[str, dict[date, int]] = {"found": defaultdict(int), "removed": defaultdict(int)}
    for tally in tallies:
        for name, counts in (tally.weeks or {}).items():
            for day, n in counts.items():
                result[name][date.fromisoformat(day)] += n
    return {name: dict(counts) for name, counts in result.items()}


def counted_cases() -> QuerySet[CaseTally]:
    """The tallies the pages read (those counted at least once)."""
    return CaseTally.objects.filter(counted_at__isnull=False)


def visible_states(states: Iterable[list[Any]]) -> Iterable[Mapping[str, Any]]:
    """link_states rows as mappings, without the links a caseworker excluded (the person
    does not see them)."""
    for row in states:
        if row[0] == FoundLink.Status.EXCLUDED:
            continue
        yield {
            "status": row[0],
            "last_verdict": row[1],
            **dict(zip(NOTICE_FACTS, row[2:5], strict=True)),
            "links": row[5],
        }
