"""Operators' figures: running totals the workers add to, and the dispatcher's heartbeat
(takedown/web/ops.py serves them, with the work due per queue, to Prometheus and /health/).

Totals are database rows (MetricTotal), not in-process counters: a worker's counter dies with
the worker and each machine would report only its own share, while Prometheus wants one
monotonic total. Each batch of work adds once (one UPDATE), so the cost does not grow with the
batch. Nothing here names a person, a URL or an organisation: figures only.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from takedown.models import Heartbeat, MetricTotal
from takedown.models.notice import Notice
from takedown.workflow import on_enter

# The totals and what they count (the Prometheus help text).
TOTALS = {
    "link_checks": "Link checks recorded (rate() gives checks per second).",
    "notices_sent": "Notices the recipient's server accepted or a caseworker submitted.",
    "notice_failures": "Notices that failed for good (refused permanently, out of attempts).",
    "resolve_cache_hits": "Registered domains answered from the lookup cache.",
    "resolve_cache_misses": "Registered domains asked about at RDAP or WHOIS.",
}
DISPATCHER = "dispatcher"


def add(name: str, amount: int = 1) -> None:
    """Add `amount` to the total `name` (one of TOTALS)."""
    if amount <= 0:
        return
    if name not in TOTALS:
        raise ValueError(f"unknown metric total {name!r}")
    if MetricTotal.objects.filter(name=name).update(value=F("value") + amount):
        return
    try:
        with transaction.atomic():
            MetricTotal.objects.create(name=name, value=amount)
    except IntegrityError:  # another worker created it first
        MetricTotal.objects.filter(name=name).update(value=F("value") + amount)


def beat(name: str = DISPATCHER, now: datetime | None = None) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"at": now or timezone.now()})


def last_beat(name: str = DISPATCHER) -> datetime | None:
    return Heartbeat.objects.filter(name=name).values_list("at", flat=True).first()


@on_enter(Notice, Notice.Status.SENT)
def _count_sent(notice: Notice, actor: object) -> None:
    add("notices_sent")


@on_enter(Notice, Notice.Status.FAILED)
def _count_failed(notice: Notice, actor: object) -> None:
    add("notice_failures")
