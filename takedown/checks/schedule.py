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

The fetcher's per-host limits hold within one process only, so a host is also leased as a
whole: a round hands out links only of hosts it wins a host lease for (a Counter row
"recheck.host.<id>", inserted only if absent), and the worker gives the lease back with
`release_hosts` once its batch is recorded. Until then no later round, and no check on demand
(`queue_recheck`, `recheck_links --case`, which lease through here too), sends a second batch
to that host. A lease whose worker died runs out after DISPATCH_LEASE + CLAIM_LEASE. (A window
on next_check_at cannot tell a lease from a link that is simply due in a few minutes: a big
host with staggered due times would never look idle.)
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from takedown.models import Case, Counter, FoundLink, Notice
from takedown.schedule import backoff, lease, pack
from takedown.workflow import OPEN_LINK_STATUSES, on_enter

L = FoundLink.Status
INTAKE_CURSOR = "recheck.intake_cursor"
DISPATCH_LEASE = timedelta(minutes=10)
# Longer than the recheck task's hard time limit: a claim this old belongs to a dead worker.
CLAIM_LEASE = timedelta(minutes=15)
# claim_leased adds up to this much to CLAIM_LEASE, so that each claim's token is its own.
CLAIM_JITTER = timedelta(seconds=1)
# A host skipped in the first page of due links gets at most this many more pages of reading.
MAX_DUE_PAGES = 3
# Counter rows named HOST_LEASE + host id are host leases; the value is when the lease runs
# out, in whole seconds since HOST_LEASE_EPOCH (Counter.value is a 32-bit positive integer).
HOST_LEASE = "recheck.host."
HOST_LEASE_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


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
        return cls(
            pending=timedelta(hours=float(settings.TAKEDOWN_RECHECK_PENDING_HOURS)),
            confirm=timedelta(hours=float(settings.TAKEDOWN_RECHECK_CONFIRM_HOURS)),
            after_removal=parse_stages(settings.TAKEDOWN_RECHECK_AFTER_REMOVAL),
            retry=timedelta(minutes=float(settings.TAKEDOWN_RECHECK_RETRY_MINUTES)),
            intake_attempts=int(settings.TAKEDOWN_RECHECK_INTAKE_ATTEMPTS),
            per_host=int(settings.TAKEDOWN_RECHECK_PER_HOST),
            politeness_delay=float(settings.TAKEDOWN_RECHECK_POLITENESS_DELAY),
            concurrency=int(settings.TAKEDOWN_RECHECK_CONCURRENCY),
            dispatch_links=int(settings.TAKEDOWN_RECHECK_DISPATCH_LINKS),
            host_links=int(settings.TAKEDOWN_RECHECK_HOST_LINKS),
            task_links=int(settings.TAKEDOWN_RECHECK_TASK_LINKS),
            intake_batch=int(settings.TAKEDOWN_RECHECK_INTAKE_BATCH),
            intake_settle=timedelta(minutes=float(settings.TAKEDOWN_RECHECK_INTAKE_SETTLE_MINUTES)),
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
    # FOUND (evidence recorded, no notice yet), EXCLUDED, and NEVER_REACHABLE: a dead address
    # (a large share of any dataset) is not asked again and again; a check on demand still can.
    return None


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
    if verdict == "removed" and not confirmed_removed and status != L.NEVER_REACHABLE:
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
    ).filter(status__in=OPEN_LINK_STATUSES)
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
    ids), whole hosts per batch, leaving out hosts whose earlier batch is still out (see the
    module docstring). Returns (batches, lease end): the worker claims a batch with
    `claim_leased(ids, lease_end)` and hands the hosts back with `release_hosts`."""
    now = now or timezone.now()
    conf = conf or RecheckSettings.load()
    until = now + DISPATCH_LEASE
    host_until = host_lease_value(until)
    per_host: dict[int, list[int]] = defaultdict(list)
    full: set[int] = set()
    ours: set[int] = set()
    remaining = conf.dispatch_links
    with transaction.atomic():
        busy = hosts_leased(now)
        for _ in range(MAX_DUE_PAGES):
            due = FoundLink.objects.filter(next_check_at__lte=now).exclude(host_id__in=full | busy)
            if case is not None:
                due = due.filter(case=case)
            if connection.vendor == "postgresql":
                due = due.select_for_update(skip_locked=True, of=("self",))
            rows = list(
                due.order_by("next_check_at", "id").values_list("id", "host_id", "next_check_at")[
                    :remaining
                ]
            )
            new_hosts = {host_id for _, host_id, _ in rows} - ours
            won = claim_hosts(new_hosts, now, host_until)
            ours |= won
            busy |= new_hosts - won  # another round won them meanwhile
            chosen: dict[int, tuple[int, datetime | None]] = {}
            counts = {host_id: len(ids) for host_id, ids in per_host.items()}
            for link_id, host_id, due_at in rows:
                if host_id not in ours:
                    continue
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
        # A host won whose links all went elsewhere has nothing out: don't block it.
        idle = ours - set(per_host)
        if idle:
            Counter.objects.filter(name__in=host_lease_names(idle), value=host_until).delete()
    # Largest hosts first, so their politeness-bound runs start early; a host is never split.
    return pack(sorted(per_host.values(), key=len, reverse=True), conf.task_links), until


def host_lease_value(lease_until: datetime) -> int:
    """The end of the host leases taken with a link lease ending at `lease_until` (as stored):
    long enough for the batch to wait out its lease and then run under its claim."""
    end = lease_until + CLAIM_LEASE + CLAIM_JITTER - HOST_LEASE_EPOCH
    return int(end.total_seconds()) + 1


def host_lease_names(host_ids: Iterable[int]) -> list[str]:
    return [f"{HOST_LEASE}{host_id}" for host_id in host_ids]


def hosts_leased(now: datetime) -> set[int]:
    """Hosts with a batch out now. Drops the leases that ran out (their worker died)."""
    leases = Counter.objects.filter(name__startswith=HOST_LEASE)
    leases.filter(value__lte=int((now - HOST_LEASE_EPOCH).total_seconds())).delete()
    return {int(name.removeprefix(HOST_LEASE)) for name in leases.values_list("name", flat=True)}


def claim_hosts(host_ids: set[int], now: datetime, value: int) -> set[int]:
    """Take the host lease of each of `host_ids` that nobody holds: an insert that does nothing
    when the row exists, so of two rounds at once only one gets a host. Returns the hosts won."""
    if not host_ids:
        return set()
    names = host_lease_names(sorted(host_ids))
    Counter.objects.filter(
        name__in=names, value__lte=int((now - HOST_LEASE_EPOCH).total_seconds())
    ).delete()
    quote = connection.ops.quote_name
    table, name_col, value_col = quote(Counter._meta.db_table), quote("name"), quote("value")
    won: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            # Only quoted identifiers and placeholders go into the text.
            sql = f"INSERT INTO {table} ({name_col}, {value_col}) VALUES {values} "  # noqa: S608
            sql += f"ON CONFLICT ({name_col}) DO NOTHING RETURNING {name_col}"
            cursor.execute(sql, [param for name in chunk for param in (name, value)])
            won.update(int(name.removeprefix(HOST_LEASE)) for (name,) in cursor.fetchall())
    return won


def release_hosts(link_ids: list[int], lease_until: datetime) -> int:
    """Give back the host leases of the hosts of `link_ids`, taken with the link lease ending
    at `lease_until`, once their checks are recorded: the rest of those hosts can go out in the
    next round. A lease another round took since (after this one ran out) stays. Returns how
    many were given back."""
    hosts = FoundLink.objects.filter(pk__in=link_ids).values_list("host_id", flat=True).distinct()
    deleted, _ = Counter.objects.filter(
        name__in=host_lease_names(set(hosts)), value=host_lease_value(lease_until)
    ).delete()
    return deleted


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
