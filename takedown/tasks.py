"""Celery tasks: thin. Ids in, one domain call, transient errors become retries.

The database is the source of truth. `dispatch_due_work` runs every minute from the beat
schedule and enqueues whatever the database says is due, so a lost message, a broker restart or
a crashed worker delays work by at most a dispatch interval and never loses it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from takedown.models import Host

log = logging.getLogger(__name__)

# A host claimed for resolving longer ago than this belongs to a worker that died.
RESOLVE_CLAIM_TIMEOUT = timedelta(minutes=15)


@shared_task(name="takedown.tasks.dispatch_due_work", ignore_result=True)
def dispatch_due_work() -> dict[str, int]:
    """Find due work in the database and hand it to the workers."""
    counts = {"hosts": len(due_host_ids())}
    log.info("dispatch: %s", counts)
    return counts


def due_host_ids(limit: int = 1000) -> list[int]:
    """Hosts of open cases that are waiting to be resolved (the resolution issue enqueues them)."""
    now = timezone.now()
    return list(
        Host.objects.filter(
            next_resolve_at__lte=now,
            status__in=[Host.Status.PENDING],
            links__case__status="open",
        )
        .values_list("id", flat=True)
        .distinct()[:limit]
    )
