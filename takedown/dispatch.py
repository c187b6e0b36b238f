"""Handing work to the Celery workers: lease in the database, then enqueue.

The database is the source of truth. `dispatch_due_work` (the task in takedown/tasks.py, every
minute from the beat schedule) enqueues whatever the database says is due. Enqueueing moves the
item's due time forward by a lease, so a busy queue does not fill up with copies, and a lost
message (a broker restart, a killed worker) only delays the work until the lease runs out.

Each kind of work has one hand-out function here, used by the dispatcher and by the on-demand
paths alike (the staff case page, the management commands without --sync), so a click and the
minute's dispatch lease the same way. Tasks are enqueued once the caller's transaction commits.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from takedown import metrics
from takedown.checks.schedule import feed_new_links, lease_due_links, make_due
from takedown.models import FoundLink, Host, Job, Notice
from takedown.models.link import store_stale_link_parties
from takedown.notices import send as sending
from takedown.resolve.hosts import due_hosts, prepare_resolution, release_stale_claims
from takedown.schedule import lease
from takedown.workflow import ConcurrentChange

log = logging.getLogger(__name__)

DISPATCH_LEASE = timedelta(minutes=10)
DISPATCH_BATCH = 2000


def dispatch_due_work() -> dict[str, int]:
    """Find due work in the database and hand it to the workers."""
    counts = {"released": release_stale_claims(), "domains": 0, "hosts": 0}
    hosts, domains = hand_out_hosts()
    counts.update(hosts=hosts, domains=domains, link_parties=store_stale_link_parties())
    recovered = sending.recover_stuck_sending()
    counts.update(notices_recovered=sum(recovered.values()), notices=hand_out_notices())
    fed = feed_new_links()
    links, recheck_tasks = hand_out_rechecks()
    counts.update(links_fed=fed, links=links, recheck_tasks=recheck_tasks)
    counts["reply_polls"] = hand_out_reply_poll()
    counts.update(jobs=hand_out_jobs())
    metrics.beat(metrics.DISPATCHER)
    log.info("dispatch: %s", counts)
    return counts


# --- resolving hosts ---------------------------------------------------------------------------


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


def hand_out_hosts(*, case: Any = None, refresh: bool = False) -> tuple[int, int]:
    """Lease the due hosts (of one case, or all) and queue one resolve task per registered
    domain. Returns (hosts, domains)."""
    grouped = lease_due_hosts(case=case)
    for host_ids in grouped.values():
        _enqueue("resolve_hosts", host_ids, refresh=refresh)
    return sum(len(ids) for ids in grouped.values()), len(grouped)


def queue_resolution(*, case: Any = None, refresh: bool = False) -> tuple[int, int]:
    """Hand the due hosts (of one case, or all) to the workers, one task per registered domain;
    with `refresh` every host of the case is due again now. Returns (hosts, domains). Used by
    the case page's "resolve" action; the same as `resolve_hosts --case REF` without --sync."""
    prepare_resolution(case=case, refresh=refresh)
    return hand_out_hosts(case=case, refresh=refresh)


# --- sending notices ---------------------------------------------------------------------------


@dataclass
class ApprovedQueued:
    """What queue_approved did."""

    queued: list[Notice] = field(default_factory=list)  # for the workers (e-mail)
    manual: list[Notice] = field(default_factory=list)  # a task for the caseworker
    refused: list[tuple[Notice, str]] = field(default_factory=list)  # SendError: why not
    # Moved by someone else between reading and queueing (queued by another click, edited
    # back to a draft, withdrawn): theirs to handle, not an error of this run.
    changed: list[Notice] = field(default_factory=list)
    recovered: dict[str, int] = field(default_factory=dict)  # from dead workers, by new status
    handed_out: int = 0


def queue_approved(*, case: Any = None, actor: Any = None, hand_out: bool = True) -> ApprovedQueued:
    """Queue the approved notices (of one case, or all): e-mail ones for sending, the others as
    a manual-submission task. Conclude notices a dead worker left in SENDING, then, with
    `hand_out`, give the due queued notices to the workers (without it the caller sends them
    itself: `send_notices --sync`). Used by the case page's "send" action and `send_notices`.

    A notice that someone else moves meanwhile is skipped, not an error: the rest of the case
    is still queued and handed out.
    """
    done = ApprovedQueued()
    approved = Notice.objects.filter(status=Notice.Status.APPROVED)
    if case is not None:
        approved = approved.filter(case=case)
    for notice in approved.select_related("case", "contact").order_by("pk"):
        try:
            status = sending.queue_notice(notice, actor=actor)
        except sending.SendError as exc:
            done.refused.append((notice, str(exc)))
        except ConcurrentChange:
            done.changed.append(notice)
        else:
            (done.manual if status == Notice.Status.AWAITING_MANUAL else done.queued).append(notice)
    done.recovered = sending.recover_stuck_sending()
    if hand_out:
        done.handed_out = hand_out_notices(case=case)
    return done


def hand_out_notices(*, case: Any = None) -> int:
    """Lease the due queued notices (of one case, or all) so the next dispatch does not hand
    them out again, and queue one send task each. Returns how many."""
    notice_ids = sending.lease_due_notices(DISPATCH_LEASE, case=case)
    for notice_id in notice_ids:
        _enqueue("send_notice", notice_id)
    return len(notice_ids)


# --- answers from recipients --------------------------------------------------------------------


def hand_out_reply_poll() -> int:
    """One poll of the reply mailbox per dispatch, when one is configured. Two polls that
    overlap store each message once (takedown/replies/inbound.py), so no lease is needed."""
    if not settings.TAKEDOWN_IMAP_URL:
        return 0
    _enqueue("poll_replies")
    return 1


# --- rechecking links --------------------------------------------------------------------------


def hand_out_rechecks(case: Any = None) -> tuple[int, int]:
    """Lease the due links (of one case, or all) within the per-host limits and queue one
    recheck task per batch, once the caller's transaction commits. Returns (links, tasks)."""
    batches, lease_until = lease_due_links(case=case)
    for batch in batches:
        _enqueue("recheck_links", batch, lease_until.isoformat())
    return sum(map(len, batches)), len(batches)


def queue_recheck(case: Any) -> tuple[int, int, int]:
    """Every link of the case due now (as `recheck_links --case REF`), and the first round
    handed to the workers within the per-host limits; the dispatcher hands out the rest.
    Returns (links made due, links queued, tasks). Used by the case page's "check links now"."""
    due = make_due(FoundLink.objects.filter(case=case))
    return due, *hand_out_rechecks(case)


# --- background jobs started from the staff pages (takedown/jobs.py) ----------------------------


def enqueue_job(job_id: int) -> None:
    """Send a recorded job to the workers once the caller's transaction commits. By name
    through send_task: the web process that records jobs need not have imported the tasks."""
    transaction.on_commit(
        lambda: current_app.send_task("takedown.tasks.run_job", args=[job_id]), robust=True
    )


def hand_out_jobs(now: Any = None) -> int:
    """Jobs whose message was lost (still queued past its lease) or whose worker died (running
    past its claim) go back to QUEUED, conditionally on the lease read, and are sent again.
    Returns how many."""
    now = now or timezone.now()
    lease_for = timedelta(seconds=settings.TAKEDOWN_JOB_LEASE_SECONDS)
    stale = Job.objects.filter(
        status__in=[Job.Status.QUEUED, Job.Status.RUNNING], lease_until__lt=now
    ).values_list("pk", "lease_until")[:DISPATCH_BATCH]
    handed = 0
    for pk, lease_until in stale:
        if Job.objects.filter(
            pk=pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING], lease_until=lease_until
        ).update(status=Job.Status.QUEUED, lease_until=now + lease_for):
            enqueue_job(pk)
            handed += 1
    return handed


def _enqueue(task: str, *args: Any, **kwargs: Any) -> None:
    """Send a task of takedown/tasks.py once the caller's transaction commits. By name, so the
    import runs one way only: tasks.py calls into this module (the dispatcher task)."""
    current_app.tasks[f"takedown.tasks.{task}"].delay_on_commit(*args, **kwargs)
