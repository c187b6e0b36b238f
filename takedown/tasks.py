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
from takedown.resolve.hosts import due_hosts, release_stale_claims, resolve_host
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


@shared_task(
    bind=True,
    name="takedown.tasks.resolve_hosts",
    ignore_result=True,
    max_retries=len(RETRY_COUNTDOWNS),
    soft_time_limit=300,
    time_limit=330,
)
def resolve_hosts(self, host_ids: list[int], refresh: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Resolve the hosts of one registered domain; retry the ones whose sources all failed
    transiently (the database also has them due again later, should the retries run out)."""
    retry: list[int] = []
    for host_id in host_ids:
        try:
            # The hosts share a registered domain: asking its servers again once is the refresh.
            resolution = resolve_host(host_id, refresh=refresh and host_id == host_ids[0])
        except Exception:
            # One host's bug must not strand the others of its group until the lease ends.
            log.exception("resolving host %s failed", host_id)
            continue
        failed = resolution is not None and resolution.host.status == Host.Status.FAILED
        if failed and all(error.get("transient") for error in resolution.errors):
            retry.append(host_id)
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
