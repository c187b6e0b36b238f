"""Operators' side: queues per concern, /health/, /metrics, JSON logs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from config.celery import app
from config.log import JsonFormatter
from takedown import metrics
from takedown.dispatch import dispatch_due_work
from takedown.models import MetricTotal, Notice
from takedown.workflow import transition
from tests.factories import FoundLinkFactory, NoticeFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("takedown.tasks.resolve_hosts", "resolve"),
        ("takedown.tasks.send_notice", "send"),
        ("takedown.tasks.recheck_links", "check"),
        ("takedown.tasks.render_notice_pdf", "render"),
        ("takedown.tasks.dispatch_due_work", "default"),
        ("takedown.tasks.escalate_overdue", "default"),
    ],
)
def test_tasks_go_to_the_queue_of_their_concern(task, queue, settings):
    route = app.amqp.router.route({}, task)

    assert route["queue"].name == queue
    assert queue in settings.TAKEDOWN_QUEUES


def test_every_task_has_a_queue_a_worker_consumes(settings):
    app.loader.import_default_modules()
    ours = [name for name in app.tasks if name.startswith("takedown.")]

    assert len(ours) >= 5
    for name in ours:
        assert app.amqp.router.route({}, name)["queue"].name in settings.TAKEDOWN_QUEUES


def test_health_is_ok_after_a_dispatcher_run(client):
    dispatch_due_work()

    response = client.get("/health/")

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("status", "database", "broker", "cache")} == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "cache": "ok",
    }
    assert body["dispatcher"]["status"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")


def test_health_is_503_when_the_dispatcher_stopped(client):
    dispatch_due_work()

    with time_machine.travel(timezone.now() + timedelta(minutes=4), tick=False):
        response = client.get("/health/")

    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["dispatcher"]["status"] == "stale"


def test_health_is_503_when_the_dispatcher_never_ran(client):
    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json()["dispatcher"] == {"last_run": None, "status": "stale"}


def test_metrics_totals_due_work_and_cache_ratio(client):
    metrics.add("link_checks", 3)
    metrics.add("link_checks", 2)
    metrics.add("resolve_cache_hits", 3)
    metrics.add("resolve_cache_misses", 1)
    FoundLinkFactory(next_check_at=timezone.now() - timedelta(hours=1))
    FoundLinkFactory(next_check_at=timezone.now() - timedelta(minutes=1))
    FoundLinkFactory(next_check_at=timezone.now() + timedelta(hours=1))

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = set(response.content.decode().splitlines())
    assert "takedown_link_checks_total 5.0" in lines
    assert "takedown_resolve_cache_hit_ratio 0.75" in lines
    assert 'takedown_due_work{queue="check"} 2.0' in lines
    assert 'takedown_overdue_work{queue="check"} 1.0' in lines
    assert 'takedown_due_work{queue="send"} 0.0' in lines
    assert "takedown_dispatcher_last_run_seconds 0.0" in lines


def test_metrics_count_sent_and_failed_notices(client):
    sent = NoticeFactory(status=Notice.Status.SENDING)
    sent.links.add(FoundLinkFactory(case=sent.case))
    transition(sent, Notice.Status.SENT, fields={"sent_at": timezone.now()})
    failed = NoticeFactory(status=Notice.Status.SENDING)
    transition(failed, Notice.Status.FAILED)

    totals = dict(MetricTotal.objects.values_list("name", "value"))

    assert (totals["notices_sent"], totals["notice_failures"]) == (1, 1)


def test_metrics_refused_to_others_unless_they_bring_the_token(client, settings):
    settings.TAKEDOWN_METRICS_TOKEN = "s3cret-token"
    outside = {"REMOTE_ADDR": "203.0.113.9"}

    assert client.get("/metrics", **outside).status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **outside).status_code == 403
    token = {"HTTP_AUTHORIZATION": "Bearer s3cret-token"}
    assert client.get("/metrics", **token, **outside).status_code == 200
    settings.TAKEDOWN_METRICS_ALLOWED = ["203.0.113.0/24"]
    assert client.get("/metrics", **outside).status_code == 200


def test_metric_totals_refuse_unknown_names():
    with pytest.raises(ValueError, match="unknown metric total"):
        metrics.add("typo")
    metrics.add("link_checks", 0)
    assert not MetricTotal.objects.exists()


def test_json_log_lines():
    record = logging.LogRecord(
        "takedown.dispatch", logging.INFO, __file__, 1, "dispatch: %s", ({"hosts": 2},), None
    )

    line = JsonFormatter().format(record)

    entry = json.loads(line)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "takedown.dispatch"
    assert entry["message"] == "dispatch: {'hosts': 2}"
    assert entry["time"].endswith("+00:00")
    assert "\n" not in line
