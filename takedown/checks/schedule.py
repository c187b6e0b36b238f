"""When a link is checked: due times in FoundLink.next_check_at, handed out by the dispatcher.

How links become due
--------------------
An import of a million links must stay as fast as it is, and the partial index on
next_check_at (rows where it is not NULL) must stay small. So intake leaves next_check_at NULL,
and links enter the schedule three ways:

- Evidence at intake: every dispatch (`feed_new_links`) walks the link table in id order from
  a cursor kept in Counter "recheck.intake_cursor" (one row, advanced with a conditional update
  so two dispatchers never feed the same range) and makes at most TAKEDOWN_RECHECK_INTAKE_BATCH
  unchecked links of open cases due, one pk-range UPDATE. The index holds only what is about to
  be checked. Ids are handed out before their transaction commits, so a long import can still
  be invisible below the id of a short import that committed first: the cursor therefore stops
  at the first link younger than TAKEDOWN_RECHECK_INTAKE_SETTLE_MINUTES (created_at is the
  start of its import), by which time every import that began earlier has committed. A link
  it still misses is fetched at the first check after its notice is sent; the first
  successful fetch is the evidence whenever it happens.
- A notice is sent (`schedule_notice_links`, an on_enter hook for Notice SENT): its links are
  checked daily while it is pending; links never fetched are due at once. A link leased or
  claimed at that moment is left to its check, which records it with the status it has then.
- After every check, `next_check_after` sets the next due time from the link's status:
  daily while a notice is pending (NOTIFIED, REAPPEARED), the next day to confirm a first
  "removed", stages after removal (weekly for a month, then monthly for six months, then
  stop), backoff for unreachable links, and nothing more for a FOUND link that was fetched
  (its evidence is recorded; it is watched again once a notice is sent).

Handing out
-----------
`lease_due_links` (the dispatcher, every minute) claims due links: FOR UPDATE SKIP LOCKED on
PostgreSQL, a conditional update per row elsewhere, moving next_check_at to the lease's end,
so a lost task only delays its links. At most TAKEDOWN_RECHECK_HOST_LINKS links of one host go
out per round, all in one task, so the per-host limits of one fetch batch hold across workers.
The worker then claims its links again with `claim_leased` (next_check_at must still be the
lease it was given), so a redelivered or duplicated message checks nothing twice.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from takedown.models import Case, Counter, FoundLink, Notice
from takedown.schedule import backoff, lease, pack
from takedown.workflow import on_enter

L = FoundLink.Status
INTAKE_CURSOR = "recheck.intake_cursor"
DISPATCH_LEASE = timedelta(minutes=10)
# Longer than the recheck task's hard time limit: a claim this old belongs to a dead worker.
CLAIM_LEASE = timedelta(minutes=15)
# claim_leased adds up to this much to CLAIM_LEASE, so that each claim's token is its own.
CLAIM_JITTER = timedelta(seconds=1)
# A host skipped in the first page of due links gets at most this many more pages of reading.
MAX_DUE_PAGES = 3


@dataclass(frozen=True)
class RecheckSettings:
    pending: timedelta
    confirm: timedelta
    after_removal: tuple[tuple[timedelta, timedelta], ...]  # (every, for how long)
    retry: timedelta
    intake_attempts: int
    per_host: int
    politeness_delay: float
    concurrency: int
    dispatch_links: int
    host_links: int
    task_links: int
    intake_batch: int
    intake_settle: timedelta

    @classmethod
    def load(cls) -> RecheckSettings:
        def get(name: str, default: Any) -> Any:
            return getattr(settings, f"TAKEDOWN_RECHECK_{name}", default)

        return cls(
            pending=timedelta(hours=float(get("PENDING_HOURS", 24))),
            confirm=timedelta(hours=float(get("CONFIRM_HOURS", 24))),
            after_removal=parse_stages(get("AFTER_REMOVAL", "7:30,30:180")),
            retry=timedelta(minutes=float(get("RETRY_MINUTES", 30))),
            intake_attempts=int(get("INTAKE_ATTEMPTS", 5)),
            per_host=int(get("PER_HOST", 2)),
            politeness_delay=float(get("POLITENESS_DELAY", 1.0)),
            concurrency=int(get("CONCURRENCY", 64)),
            dispatch_links=int(get("DISPATCH_LINKS", 5000)),
            host_links=int(get("HOST_LINKS", 30)),
            task_links=int(get("TASK_LINKS", 500)),
            intake_batch=int(get("INTAKE_BATCH", 10000)),
            intake_settle=timedelta(minutes=float(get("INTAKE_SETTLE_MINUTES", 10))),
        )


def parse_stages(text: str) -> tuple[tuple[timedelta, timedelta], ...]:
    """ "7:30,30:180" -> every 7 days for 30 days, then every 30 days for 180 days."""
    stages = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        try:
            every, _, span = part.partition(":")
            stage = (timedelta(days=float(every)), timedelta(days=float(span)))
        except ValueError:
            stage = (timedelta(0), timedelta(0))
        if stage[0] <= timedelta(0) or stage[1] <= timedelta(0):
            raise ImproperlyConfigured(
                "TAKEDOWN_RECHECK_AFTER_REMOVAL: expected 'every_days:for_days,...' with "
                f"positive numbers, got {part!r}"
            )
        stages.append(stage)
    return tuple(stages)


def regular_interval(
    status: str, removed_at: datetime | None, now: datetime, conf: RecheckSettings
) -> timedelta | None:
    """The usual gap before the next check of a link in `status`; None: no more checks."""
    if status in (L.NOTIFIED, L.REAPPEARED):
        return conf.pending
    if status == L.REMOVED:
        elapsed = now - (removed_at or now)
        end = timedelta(0)
        for every, span in conf.after_removal:
            end += span
            if elapsed < end:
                return every
        return None
    return None  # FOUND (evidence recorded, no notice yet) and EXCLUDED


def next_check_after(
    status: str,
    *,
    verdict: str,
    confirmed_removed: bool,
    failures: int,
    removed_at: datetime | None,
    now: datetime,
    conf: RecheckSettings,
) -> datetime | None:
    """When to check a link again after a check with `verdict`, now that it is in `status`
    and has `failures` consecutive unreachable checks (this one included)."""
    if status == L.EXCLUDED:
        return None
    if verdict == "removed" and not confirmed_removed:
        return now + conf.confirm
    regular = regular_interval(status, removed_at, now, conf)
    if verdict == "unreachable":
        if regular is None:
            # Without a notice there is only evidence to get, and a host that never answers
            # should not be asked forever; the notice makes the link due again.
            if status != L.FOUND or failures >= conf.intake_attempts:
                return None
            regular = conf.pending
        return now + backoff(failures, conf.retry, max(regular, conf.retry))
    return None if regular is None else now + regular


# --- entering the schedule ----------------------------------------------------------------------


def feed_new_links(now: datetime | None = None, conf: RecheckSettings | None = None) -> int:
    """Make the next unchecked links (in id order, see the module docstring) due for their
    evidence fetch. Returns how many were made due."""
    now = now or timezone.now()
    conf = conf or RecheckSettings.load()
    counter, _ = Counter.objects.get_or_create(name=INTAKE_CURSOR)
    cursor = counter.value
    young = now - conf.intake_settle
    rows = list(
        FoundLink.objects.filter(id__gt=cursor)
        .order_by("id")
        .values_list("id", "created_at")[: conf.intake_batch]
    )
    end = cursor
    for link_id, created_at in rows:
        if created_at > young:
            break
        end = link_id
    if end == cursor:
        return 0
    with transaction.atomic():
        # The conditional update is the claim on the range (cursor, end].
        if not Counter.objects.filter(name=INTAKE_CURSOR, value=cursor).update(value=end):
            return 0
        return (
            FoundLink.objects.filter(
                id__gt=cursor,
                id__lte=end,
                case__status=Case.Status.OPEN,
                next_check_at__isnull=True,
                last_checked_at__isnull=True,
            )
            .exclude(status=L.EXCLUDED)
            .update(next_check_at=now)
        )


@on_enter(Notice, Notice.Status.SENT)
def schedule_notice_links(notice: Notice, actor: Any) -> None:
    """A sent notice's links are watched daily from now on (links never fetched: at once).
    Removed links keep their own schedule; an earlier due time is never pushed back."""
    now = timezone.now()
    conf = RecheckSettings.load()
    links = FoundLink.objects.filter(
        pk__in=notice.links.filter(case=notice.case).values("pk")
    ).exclude(status__in=[L.REMOVED, L.EXCLUDED])
    for due, never_checked in ((now, True), (now + conf.pending, False)):
        # A link leased or claimed right now is being checked: moving its next_check_at would
        # take the claim from that worker and hand the link out a second time. Its check
        # re-reads the status when it records, so it reschedules the link as NOTIFIED.
        not_in_flight(links.filter(last_checked_at__isnull=never_checked), now).filter(
            Q(next_check_at__isnull=True) | Q(next_check_at__gt=due)
        ).update(next_check_at=due)


def not_in_flight(links: Any, now: datetime) -> Any:
    """`links` without those due within CLAIM_LEASE from `now`: a dispatcher's lease or a
    worker's claim looks like that, and those links are being checked already."""
    return links.exclude(next_check_at__gt=now, next_check_at__lte=now + CLAIM_LEASE + CLAIM_JITTER)


def make_due(links: Any, now: datetime | None = None) -> int:
    """Make `links` (a FoundLink queryset) due now, except excluded ones and those being
    checked already (see not_in_flight)."""
    now = now or timezone.now()
    return not_in_flight(links.exclude(status=L.EXCLUDED), now).update(next_check_at=now)


# --- handing out ---------------------------------------------------------------------------------


def lease_due_links(
    now: datetime | None = None,
    conf: RecheckSettings | None = None,
    *,
    case: Case | None = None,
) -> tuple[list[list[int]], datetime]:
    """Claim due links for DISPATCH_LEASE and pack them into task batches (lists of link
    ids), whole hosts per batch. Returns (batches, lease end): the worker claims a batch
    with `claim_leased(ids, lease_end)`."""
    now = now or timezone.now()
    conf = conf or RecheckSettings.load()
    until = now + DISPATCH_LEASE
    per_host: dict[int, list[int]] = defaultdict(list)
    full: set[int] = set()
    remaining = conf.dispatch_links
    with transaction.atomic():
        for _ in range(MAX_DUE_PAGES):
            due = FoundLink.objects.filter(next_check_at__lte=now).exclude(host_id__in=full)
            if case is not None:
                due = due.filter(case=case)
            if connection.vendor == "postgresql":
                due = due.select_for_update(skip_locked=True, of=("self",))
            rows = list(
                due.order_by("next_check_at", "id").values_list("id", "host_id", "next_check_at")[
                    :remaining
                ]
            )
            chosen: dict[int, tuple[int, datetime]] = {}
            counts = {host_id: len(ids) for host_id, ids in per_host.items()}
            for link_id, host_id, due_at in rows:
                if counts.get(host_id, 0) >= conf.host_links:
                    full.add(host_id)  # the rest of this host waits for the next round
                    continue
                counts[host_id] = counts.get(host_id, 0) + 1
                chosen[link_id] = (host_id, due_at)
            # One conditional UPDATE: rows another dispatcher leased meanwhile (possible
            # only without skip-locked) no longer match next_check_at <= now, and those that
            # carry this lease's end afterwards are this dispatcher's.
            FoundLink.objects.filter(pk__in=list(chosen), next_check_at__lte=now).update(
                next_check_at=until
            )
            leased = list(
                FoundLink.objects.filter(pk__in=list(chosen), next_check_at=until).values_list(
                    "pk", flat=True
                )
            )
            for link_id in leased:
                per_host[chosen[link_id][0]].append(link_id)
            remaining -= len(leased)
            if remaining <= 0 or len(rows) < remaining + len(leased) or len(chosen) == len(rows):
                break  # enough, nothing more is due, or no host was held back
    # Largest hosts first, so their politeness-bound runs start early; a host is never split.
    return pack(sorted(per_host.values(), key=len, reverse=True), conf.task_links), until


def claim_leased(link_ids: list[int], lease_until: datetime) -> list[int]:
    """The worker's claim: the links of `link_ids` still under the lease the dispatcher gave
    them. Another copy of the same task (a redelivery) or a later lease finds them moved on."""
    now = timezone.now()
    # A token unique to this claim: the links that end up holding it are ours.
    jitter = random.randrange(1, CLAIM_JITTER // timedelta(microseconds=1))
    token = now + CLAIM_LEASE + timedelta(microseconds=jitter)
    with transaction.atomic():
        FoundLink.objects.filter(pk__in=link_ids, next_check_at=lease_until).update(
            next_check_at=token
        )
        return list(
            FoundLink.objects.filter(pk__in=link_ids, next_check_at=token)
            .order_by("id")
            .values_list("id", flat=True)
        )


def claim_links(
    rows: Iterable[tuple[int, datetime | None]], now: datetime | None = None
) -> list[int]:
    """Claim links read with their next_check_at (for checks on demand, whatever their due
    time): each only if nobody moved it since, with a conditional update per link."""
    now = now or timezone.now()
    with transaction.atomic():
        return lease(FoundLink, rows, "next_check_at", CLAIM_LEASE, now)
