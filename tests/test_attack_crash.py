"""Real Celery workers SIGKILLed at each step of sending, then a Redis restart, on PostgreSQL:
messages received counted against notices recorded.

tests/test_notices_send.py kills a plain process at three checkpoints on whatever database the
suite runs on. Here each kill is of a whole Celery worker (solo pool: the task runs in the
worker process, so SIGKILL takes the worker, its broker connection and its unacknowledged
message with it) at every checkpoint of an attempt, on PostgreSQL, with a Redis broker of the
test's own; then that Redis is restarted without persistence, so every message in it is gone.
Recovery is what production does: recover_stuck_sending and a new round of the dispatcher
from database state, to a fresh worker. Afterwards:

- no Message-ID reached the mail server twice;
- every notice ended sent (its message received exactly once) or needs_check (received at
  most once, for a person to look at the server's log), none queued, sending or lost;
- messages received == notices recorded as sent + needs_check notices whose message arrived.

Runs where the suite runs on PostgreSQL (CI); skipped on SQLite, whose single writer lock is
not the concurrency this is about.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from config.celery import app
from takedown.models import Notice
from takedown.notices.send import due_notices, queue_notice, recover_stuck_sending
from takedown.sandbox.base import free_port
from takedown.sandbox.smtp import SmtpServer
from takedown.tasks import send_notice as send_notice_task
from tests.conftest import wait_until
from tests.test_notices_send import BOUNCE_DOMAIN, approved_notice, database_url

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("claiming", "claimed", "handing_over", "accepted", "logged")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason="runs on PostgreSQL (DATABASE_URL=postgres://...; CI)",
    ),
]

WORKER = """
import os, signal, sys
import django
django.setup()
from config.celery import app
from takedown.notices.send import send_checkpoint

STEP, NOTICE = sys.argv[1], int(sys.argv[2])

def die(sender, step, notice, **kwargs):
    if step == STEP and notice.pk == NOTICE:
        os.kill(os.getpid(), signal.SIGKILL)

send_checkpoint.connect(die, weak=False)
app.worker_main(["worker", "--pool=solo", "--without-heartbeat", "--without-mingle",
                 "--without-gossip", "--loglevel=WARNING", "-Q", sys.argv[3],
                 "-n", f"{sys.argv[3]}@%h"])
"""


class Redis:
    """A redis-server of this test's own on a free port, without persistence."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10)

    def _answers(self) -> bool:
        probe = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
        )
        return probe.stdout.strip() == "PONG"

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    if not shutil.which("redis-server"):
        if os.environ.get("CI"):
            pytest.fail("CI needs redis-server for the worker crash tests")
        pytest.skip("redis-server not installed")
    server = Redis(tmp_path)
    server.start()
    yield server
    server.stop()


def start_worker(
    redis: Redis, smtp: SmtpServer, keys: list[str], tmp: Path, step: str = "", notice: int = 0
) -> subprocess.Popen[bytes]:
    """A Celery worker process that SIGKILLs itself when `notice` reaches `step` (none by
    default); its output goes to worker-<step>.log under `tmp`."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": redis.url,
        "EMAIL_URL": f"{smtp.url}?timeout=5",
        "TAKEDOWN_FROM_EMAIL": "takedown@org.example",
        "TAKEDOWN_ORGANISATION": "Demo Takedown e.V.",
        "TAKEDOWN_BOUNCE_DOMAIN": BOUNCE_DOMAIN,
        "TAKEDOWN_FIELD_KEYS": ",".join(keys),
        "TAKEDOWN_VAR_DIR": str(tmp),
    }
    with (tmp / f"worker-{step or 'clean'}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-c", WORKER, step or "-", str(notice), queue_of(step)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def queue_of(step: str) -> str:
    # One queue per killed worker, so each gets the notice it is to die on; "celery" for the
    # worker of the recovery round, which takes what the dispatcher hands out.
    return f"kill-{step}" if step else "celery"


def log_of(tmp: Path, step: str) -> str:
    return (tmp / f"worker-{step}.log").read_text(errors="replace")[-2000:]


def enqueue(redis: Redis, notice_ids: list[int], queue: str = "celery") -> None:
    """What the dispatcher does, onto this test's broker."""
    with app.connection_for_write(redis.url) as broker:
        for notice_id in notice_ids:
            send_notice_task.apply_async((notice_id,), connection=broker, queue=queue)


def settled() -> bool:
    return not Notice.objects.filter(status__in=("queued", "sending")).exists()


def test_workers_killed_at_each_step_and_redis_restarted_lose_and_repeat_nothing(
    mail, field_keys, redis, tmp_path
):
    killed = {step: queue_notice_for(f"abuse-{step}@hoster.example") for step in STEPS}
    untouched = [queue_notice_for(f"abuse-{n}@other.example") for n in range(3)]

    # One worker per step, all at once (starting a worker is most of the time this takes).
    workers = {
        step: start_worker(redis, mail, field_keys, tmp_path, step, notice.pk)
        for step, notice in killed.items()
    }
    for step, notice in killed.items():
        enqueue(redis, [notice.pk], queue_of(step))
    for step, worker in workers.items():
        try:
            returncode = worker.wait(timeout=90)
        finally:
            worker.kill()
        assert returncode == -signal.SIGKILL, log_of(tmp_path, step)

    # The broker goes down and comes back empty: the messages of the dead workers are gone.
    redis.stop()
    redis.start()
    assert (
        Notice.objects.filter(pk__in=[n.pk for n in killed.values()], status="sending").count() == 4
    )

    worker = start_worker(redis, mail, field_keys, tmp_path)
    try:
        # What beat does after the claim timeout: recover, then hand out what is due.
        recovered = recover_stuck_sending(now=timezone.now() + timedelta(seconds=901))
        enqueue(redis, list(due_notices().values_list("pk", flat=True)))
        wait_until(settled, timeout=90)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()

    received = Counter(m.message["Message-ID"] for m in mail.messages)
    notices = {
        n.pk: n
        for n in Notice.objects.filter(pk__in=[n.pk for n in [*killed.values(), *untouched]])
    }
    statuses = {step: notices[notice.pk].status for step, notice in killed.items()}
    assert recovered == {"queued": 1, "needs_check": 2, "sent": 1}
    assert statuses == {
        "claiming": "sent",
        "claimed": "sent",
        "handing_over": "needs_check",
        "accepted": "needs_check",
        "logged": "sent",
    }
    assert [notices[n.pk].status for n in untouched] == ["sent"] * 3
    assert max(received.values()) == 1
    for notice in notices.values():
        wanted = {"sent": 1, "needs_check": received.get(notice.message_id, 0)}[notice.status]
        assert received.get(notice.message_id, 0) == wanted, notice.status
    sent = sum(1 for n in notices.values() if n.status == "sent")
    uncertain_arrived = sum(
        1 for n in notices.values() if n.status == "needs_check" and n.message_id in received
    )
    assert sum(received.values()) == sent + uncertain_arrived
    # "accepted": the server had said 250 before the kill; "handing_over": it had not.
    assert received.get(notices[killed["accepted"].pk].message_id) == 1
    assert received.get(notices[killed["handing_over"].pk].message_id) is None


def queue_notice_for(address: str) -> Notice:
    notice = approved_notice(to=address)
    assert queue_notice(notice) == "queued"
    return Notice.objects.get(pk=notice.pk)


@pytest.fixture
def mail(settings, smtp_server: SmtpServer) -> SmtpServer:
    settings.DEFAULT_FROM_EMAIL = "takedown@org.example"
    settings.TAKEDOWN_BOUNCE_DOMAIN = BOUNCE_DOMAIN
    return smtp_server
