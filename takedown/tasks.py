"""Celery tasks: thin. Ids in, one domain call, transient errors become retries.

The database is the source of truth. `dispatch_due_work` runs every minute from the beat
schedule and enqueues whatever the database says is due. Enqueueing moves the item's due time
forward by a lease, so a busy queue does not fill up with copies, and a lost message (a broker
restart, a killed worker) only delays the work until the lease runs out.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.utils import timezone

from takedown.models import Host
from takedown.notices import send as sending
from takedown.resolve.hosts import due_hosts, release_stale_claims, resolve_batch
from takedown.schedule import lease

log = logging.getLogger(__name__)

DISPATCH_LEASE = timedelta(minutes=10)
DISPATCH_BATCH = 2000
# Longer than the minute a transient domain failure is cached (resolve.lookup), so a retry
# asks the servers again instead of reading the cached failure.
RETRY_COUNTDOWNS = (90, 300, 900)


@shared_task(name="takedown.tasks.dispatch_due_work", ignore_result=True)
def dispatch_due_work() -> dict[str, int]:
    """Find due work in the database and hand it to the workers."""
    counts = {"released": release_stale_claims(), "domains": 0, "hosts": 0}
    for host_ids in lease_due_hosts().values():
        resolve_hosts.delay(host_ids)
        counts["domains"] += 1
        counts["hosts"] += len(host_ids)
    counts.update(dispatch_sending())
    counts.update(dispatch_rechecks())
    log.info("dispatch: %s", counts)
    return counts


def lease_due_hosts(limit: int = DISPATCH_BATCH, *, case: Any = None) -> dict[str, list[int]]:
    """Due hosts grouped by registered domain (one task per domain: one WHOIS/RDAP query),
    each moved forward by the lease with a conditional update so two dispatchers never hand
    out the same host."""
    now = timezone.now()
    rows = list(
        due_hosts(case=case, now=now).values_list("id", "registered_domain", "next_resolve_at")[
            :limit
        ]
    )
    domains = {host_id: domain for host_id, domain, _ in rows}
    leased = lease(Host, [(pk, due) for pk, _, due in rows], "next_resolve_at", DISPATCH_LEASE, now)
    grouped: dict[str, list[int]] = defaultdict(list)
    for host_id in leased:
        grouped[domains[host_id]].append(host_id)
    return grouped


def queue_resolution(*, case: Any = None, refresh: bool = False) -> tuple[int, int]:
    """Hand the due hosts (of one case, or all) to the workers, one task per registered domain;
    with `refresh` every host of the case is due again now. Returns (hosts, domains). Used by
    the case page's "resolve" action; the same as `resolve_hosts --case REF` without --sync."""
    from takedown.resolve.hosts import prepare_resolution

    prepare_resolution(case=case, refresh=refresh)
    grouped = lease_due_hosts(case=case)
    for host_ids in grouped.values():
        resolve_hosts.delay_on_commit(host_ids, refresh=refresh)
    return sum(len(ids) for ids in grouped.values()), len(grouped)


@shared_task(
    bind=True,
    name="takedown.tasks.resolve_hosts",
    ignore_result=True,
    max_retries=len(RETRY_COUNTDOWNS),
    soft_time_limit=300,
    time_limit=330,
)
def resolve_hosts(self, host_ids: list[int], refresh: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Resolve the hosts of one registered domain together; retry the ones whose sources all
    failed transiently (the database also has them due again later, should the retries run
    out)."""
    try:
        resolutions = resolve_batch(host_ids, refresh=refresh)
    except Exception:
        # A bug or the database: the batch's hosts are back as failed with a retry time.
        log.exception("resolving hosts %s failed", host_ids)
        return
    retry = [
        resolution.host.pk
        for resolution in resolutions
        if resolution is not None
        and resolution.host.status == Host.Status.FAILED
        and all(error.get("transient") for error in resolution.errors)
    ]
    if retry and self.request.retries < len(RETRY_COUNTDOWNS):
        raise self.retry(args=[retry], countdown=RETRY_COUNTDOWNS[self.request.retries])


# --- sending notices ---------------------------------------------------------------------------


def dispatch_sending() -> dict[str, int]:
    """Conclude notices whose worker died while sending (from the sent log), then hand out the
    queued notices that are due, each leased so the next dispatch does not hand it out again."""
    recovered = sending.recover_stuck_sending()
    notice_ids = sending.lease_due_notices(DISPATCH_LEASE)
    for notice_id in notice_ids:
        send_notice.delay(notice_id)
    return {"notices_recovered": sum(recovered.values()), "notices": len(notice_ids)}


@shared_task(
    name="takedown.tasks.send_notice",
    ignore_result=True,
    # Below TAKEDOWN_SEND_CLAIM_TIMEOUT: a claim that old belongs to a worker that is gone.
    soft_time_limit=240,
    time_limit=270,
)
def send_notice(notice_id: int) -> str:
    """Claim and send one notice. No Celery retries: a transient failure puts the notice back
    in the queue with next_attempt_at in the database, where the dispatcher finds it."""
    return sending.send_notice(notice_id).outcome


# --- rechecking links --------------------------------------------------------------------------


def dispatch_rechecks() -> dict[str, int]:
    """Make newly imported links due for their evidence fetch, then lease the due links and
    hand them out in batches of whole hosts (see takedown.checks.schedule)."""
    from takedown.checks.schedule import feed_new_links

    fed = feed_new_links()
    links, tasks = hand_out_rechecks()
    return {"links_fed": fed, "links": links, "recheck_tasks": tasks}


def hand_out_rechecks(case: Any = None) -> tuple[int, int]:
    """Lease the due links (of one case, or all) within the per-host limits and queue one
    recheck task per batch, once the caller's transaction commits. Returns (links, tasks)."""
    from takedown.checks.schedule import lease_due_links

    batches, lease_until = lease_due_links(case=case)
    for batch in batches:
        recheck_links.delay_on_commit(batch, lease_until.isoformat())
    return sum(map(len, batches)), len(batches)


def queue_recheck(case: Any) -> tuple[int, int, int]:
    """Every link of the case due now (as `recheck_links --case REF`), and the first round
    handed to the workers within the per-host limits; the dispatcher hands out the rest.
    Returns (links made due, links queued, tasks). Used by the case page's "check links now"."""
    from takedown.checks.schedule import make_due
    from takedown.models import FoundLink

    due = make_due(FoundLink.objects.filter(case=case))
    return due, *hand_out_rechecks(case)


@shared_task(
    name="takedown.tasks.recheck_links",
    ignore_result=True,
    # Below schedule.CLAIM_LEASE (15 min): a claim that old belongs to a worker that is gone.
    soft_time_limit=600,
    time_limit=660,
)
def recheck_links(link_ids: list[int], lease_until: str) -> int:
    """Claim the leased links (a copy of this message finds them claimed) and check them.
    No Celery retries: unreachable links are rescheduled in the database with backoff."""
    from datetime import datetime

    from takedown.checks.check import check_links
    from takedown.checks.schedule import claim_leased, release_hosts

    until = datetime.fromisoformat(lease_until)
    claimed = claim_leased(link_ids, until)
    if claimed:
        try:
            check_links(claimed)
        finally:
            # Only the copy that claimed gives the hosts back: a duplicate message must not
            # free a host whose batch is still being fetched.
            release_hosts(claimed, until)
    return len(claimed)


# --- deadlines and escalation ------------------------------------------------------------------


@shared_task(name="takedown.tasks.escalate_overdue", ignore_result=True)
def escalate_overdue() -> dict[str, int]:
    """Daily: mark the notices whose deadline passed, then draft the reminders and ladder steps
    that are due. Both claim each notice with a conditional update, so overlapping runs are
    harmless."""
    from takedown.checks.escalate import escalate_due, mark_overdue

    counts = {"overdue": mark_overdue(), "drafts": escalate_due()}
    log.info("escalation: %s", counts)
    return counts
