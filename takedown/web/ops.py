"""The operators' endpoints: /health/ for load balancers and monitors, /metrics for Prometheus.

Neither shows anything about a case: states and counts only. /health/ is open (a load balancer
asks it without credentials); /metrics answers loopback and the addresses in
TAKEDOWN_METRICS_ALLOWED, or a request with TAKEDOWN_METRICS_TOKEN as its bearer token.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from config.celery import app as celery_app
from takedown import metrics
from takedown.models import FoundLink, MetricTotal
from takedown.notices.send import due_notices
from takedown.resolve.hosts import due_hosts
from takedown.web.access import client_ip

# The dispatcher runs every minute: three missed runs make the dispatcher unhealthy.
DISPATCHER_STALE = timedelta(minutes=3)
# Work due for longer than this is overdue: the dispatcher runs every minute and leases for
# ten, so older due work means too few workers (or none) for that queue.
OVERDUE_AFTER = timedelta(minutes=15)


def _check(probe: object) -> str:
    try:
        probe()  # type: ignore[operator]
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    with celery_app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _cache() -> None:
    cache.set("takedown:health", "1", 10)
    if cache.get("takedown:health") != "1":
        raise RuntimeError("the cache did not keep a value")


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """{"status", "database", "broker", "cache", "dispatcher": {"last_run", "status"}}: 200
    when all are ok, else 503."""
    last = metrics.last_beat()
    stale = last is None or timezone.now() - last > DISPATCHER_STALE
    body = {
        "database": _check(_database),
        "broker": _check(_broker),
        "cache": _check(_cache),
        "dispatcher": {
            "last_run": last.isoformat() if last else None,
            "status": "stale" if stale else "ok",
        },
    }
    healthy = all(body[key] == "ok" for key in ("database", "broker", "cache")) and not stale
    body = {"status": "ok" if healthy else "unhealthy", **body}
    return JsonResponse(body, status=200 if healthy else 503)


def _allowed(request: HttpRequest) -> bool:
    token = settings.TAKEDOWN_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    allowed = [ipaddress.ip_network(net) for net in settings.TAKEDOWN_METRICS_ALLOWED]
    return address.is_loopback or any(address in net for net in allowed)


@never_cache
@require_GET
def prometheus(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def due_work(now: datetime | None = None) -> dict[str, tuple[int, int]]:
    """Per queue: (due now, due for longer than OVERDUE_AFTER), by the same selectors the
    dispatcher hands work out from."""
    now = now or timezone.now()
    late = now - OVERDUE_AFTER
    links = FoundLink.objects.exclude(next_check_at=None)
    return {
        "resolve": (due_hosts(now=now).count(), due_hosts(now=late).count()),
        "send": (due_notices(now=now).count(), due_notices(now=late).count()),
        "check": (
            links.filter(next_check_at__lte=now).count(),
            links.filter(next_check_at__lte=late).count(),
        ),
    }


class TakedownCollector:
    """Collected at scrape time from the database, so every web process reports the same
    figures whichever machine did the work."""

    def collect(self) -> Iterator[Metric]:
        totals = dict(MetricTotal.objects.values_list("name", "value"))
        for name, help_text in metrics.TOTALS.items():
            yield CounterMetricFamily(f"takedown_{name}", help_text, value=totals.get(name, 0))
        hits, misses = totals.get("resolve_cache_hits", 0), totals.get("resolve_cache_misses", 0)
        yield GaugeMetricFamily(
            "takedown_resolve_cache_hit_ratio",
            "Share of registered domains answered from the lookup cache.",
            value=hits / (hits + misses) if hits + misses else 0.0,
        )
        due = GaugeMetricFamily(
            "takedown_due_work", "Work items due now, per queue.", labels=["queue"]
        )
        overdue = GaugeMetricFamily(
            "takedown_overdue_work",
            "Work items due for over 15 minutes, per queue.",
            labels=["queue"],
        )
        for queue, (now_due, late) in due_work().items():
            due.add_metric([queue], now_due)
            overdue.add_metric([queue], late)
        yield due
        yield overdue
        last = metrics.last_beat()
        yield GaugeMetricFamily(
            "takedown_dispatcher_last_run_seconds",
            "Unix time of the dispatcher's last run (0: never).",
            value=last.timestamp() if last else 0.0,
        )


def exposition() -> bytes:
    """The figures in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TakedownCollector())
    return generate_latest(registry)
