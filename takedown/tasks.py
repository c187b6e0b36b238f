"""Celery tasks: thin. Ids in, one domain call, transient errors become retries.

What is due, and handing it to these tasks under a database lease, is takedown/dispatch.py;
`dispatch_due_work` runs it every minute from the beat schedule.
"""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from django.conf import settings

from takedown import dispatch, jobs, notifications, tallies
from takedown.checks.check import check_links
from takedown.checks.escalate import escalate_due, mark_overdue
from takedown.checks.schedule import claim_leased, release_hosts
from takedown.models import Host
from takedown.notices import send as sending
from takedown.replies.imap import poll_mailbox
from takedown.resolve.hosts import resolve_batch
from takedown.retention import erase_expired

log = logging.getLogger(__name__)

# Longer than the minute a transient domain failure is cached (resolve.lookup), so a retry
# asks the servers again instead of reading the cached failure.
RETRY_COUNTDOWNS = (90, 300, 900)


@shared_task(name="takedown.tasks.dispatch_due_work", ignore_result=True)
def dispatch_due_work() -> dict[str, int]:
    """Find due work in the database and hand it to the workers."""
    return dispatch.dispatch_due_work()


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


# --- answers from recipients --------------------------------------------------------------------


@shared_task(
    name="takedown.tasks.poll_replies",
    ignore_result=True,
    soft_time_limit=240,
    time_limit=270,
)
def poll_replies() -> dict[str, int]:
    """Store the answers waiting in the reply mailbox and move them out of it. No retries: what
    is not stored stays in the mailbox for the next minute's poll."""
    return poll_mailbox()


@shared_task(name="takedown.tasks.send_digests", ignore_result=True)
def send_digests() -> dict[str, int]:
    """Daily: the caseworkers' e-mail digests (each claimed, so a repeated run sends none)."""
    return notifications.send_digests()


# --- deadlines and escalation ------------------------------------------------------------------


@shared_task(name="takedown.tasks.escalate_overdue", ignore_result=True)
def escalate_overdue() -> dict[str, int]:
    """Daily: mark the notices whose deadline passed, then draft the reminders and ladder steps
    that are due. Both claim each notice with a conditional update, so overlapping runs are
    harmless."""
    counts = {"overdue": mark_overdue(), "drafts": escalate_due()}
    log.info("escalation: %s", counts)
    return counts


# --- background jobs started from the staff pages ----------------------------------------------


@shared_task(
    name="takedown.tasks.run_job",
    ignore_result=True,
    # Below the job's claim (TAKEDOWN_JOB_LEASE_SECONDS): a worker still running when the
    # dispatcher hands the job out again would run it twice.
    soft_time_limit=settings.TAKEDOWN_JOB_LEASE_SECONDS - 120,
    time_limit=settings.TAKEDOWN_JOB_LEASE_SECONDS - 60,
)
def run_job(job_id: int) -> str | None:
    """Claim one background job and run it (takedown/jobs.py); a copy of the message finds it
    claimed. No Celery retries: the dispatcher hands out jobs whose worker died."""
    return jobs.run_job(job_id)


# --- retention ----------------------------------------------------------------------------------


@shared_task(name="takedown.tasks.recount_case", ignore_result=True, soft_time_limit=300)
def recount_case(case_id: int) -> int | None:
    """Count a large case's links for its pages (takedown.tallies); a lost run is asked for
    again by the next view that finds the counts stale."""
    tally = tallies.recount(case_id)
    log.info("recount: case %s, %s links", case_id, tally.links if tally else "below threshold")
    return tally.links if tally else None


@shared_task(name="takedown.tasks.erase_expired", ignore_result=True)
def erase_expired_cases() -> int:
    """Daily: erase the person's data from cases whose retention period has run out. Each case
    is claimed with a conditional update, so overlapping runs erase it once."""
    erased = erase_expired()
    log.info("retention: %d case(s) erased", len(erased))
    return len(erased)
