"""Rechecks through the dispatcher and a real Celery worker, and the recheck_links command.

Two dispatchers run at the same moment against one database and a worker with two threads
checks what they hand out: every due link must be fetched exactly once in the round.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from celery.signals import after_task_publish, task_postrun
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from config.celery import app
from takedown.models import FoundLink, LinkCheck
from takedown.sandbox.http import HttpHost, image
from takedown.sandbox.http import status as status_route
from takedown.tasks import dispatch_due_work
from tests.conftest import celery_worker, wait_until
from tests.factories import CaseFactory, FoundLinkFactory, HostFactory
from tests.test_recheck import sandbox  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

HOSTS = ["a.test", "b.test", "c.test", "d.test"]


@pytest.fixture(scope="module")
def worker(django_db_blocker) -> Iterator[None]:
    with celery_worker(django_db_blocker):
        yield


@pytest.fixture
def due_links(sandbox: HttpHost, dns_server, settings) -> list[FoundLink]:  # noqa: F811
    settings.TAKEDOWN_RECHECK_TASK_LINKS = 3  # several tasks, so both worker threads work
    for name in HOSTS[2:]:
        dns_server.add(name, A=["127.0.0.1"])
    case = CaseFactory()
    links = []
    for i in range(12):
        name = HOSTS[i % 4]
        sandbox.add_route(f"/p{i}.jpg", image(i % 4 + 1), host=name)
        links.append(
            FoundLinkFactory(
                case=case,
                # next_resolve_at=None: the dispatcher must not start resolving these hosts.
                host=HostFactory(hostname=name, registered_domain=name, next_resolve_at=None),
                url=f"http://{name}:{sandbox.port}/p{i}.jpg",
                status=FoundLink.Status.NOTIFIED,
                next_check_at=timezone.now() - timedelta(minutes=1),
            )
        )
    return links


@dataclass
class RecheckTasks:
    published: int = 0
    finished: list[tuple[str, int]] = field(default_factory=list)  # (state, links claimed)

    def all_done(self) -> bool:
        """Every recheck message sent has run, and nothing is left in the broker's queue or
        the worker: only then are the LinkCheck rows final."""
        from celery.worker import state

        with app.connection_for_write() as conn:
            # Not passive: Redis reports an empty queue as missing.
            queued = conn.default_channel.queue_declare("check").message_count
        return (
            len(self.finished) == self.published
            and not queued
            and not state.active_requests
            and not state.reserved_requests
        )


@contextmanager
def recheck_tasks() -> Iterator[RecheckTasks]:
    """Counts the recheck messages sent and the tasks the in-process worker finishes."""
    tasks = RecheckTasks()
    lock = threading.Lock()
    name = "takedown.tasks.recheck_links"

    def sent(sender: Any = None, **_: Any) -> None:
        if sender == name:
            with lock:
                tasks.published += 1

    def ran(sender: Any = None, state: str = "", retval: Any = None, **_: Any) -> None:
        if sender is not None and sender.name == name:
            with lock:
                tasks.finished.append((state, retval))

    after_task_publish.connect(sent, weak=False)
    task_postrun.connect(ran, weak=False)
    try:
        yield tasks
    finally:
        after_task_publish.disconnect(sent)
        task_postrun.disconnect(ran)


def test_two_dispatchers_and_two_workers_check_each_link_once(
    sandbox: HttpHost,  # noqa: F811
    due_links: list[FoundLink],
    worker: None,
) -> None:
    counts: list[dict[str, int]] = []
    start = threading.Barrier(2)

    def dispatcher() -> None:
        try:
            start.wait()
            counts.append(dispatch_due_work())
        finally:
            connection.close()

    with recheck_tasks() as tasks:
        threads = [threading.Thread(target=dispatcher) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # A second check of a link, if any, is among the LinkCheck rows once all is done.
        wait_until(tasks.all_done)

    assert len(counts) == 2
    assert sum(c["links"] for c in counts) == 12
    assert tasks.published == sum(c["recheck_tasks"] for c in counts)
    # Each task's claim: together exactly the 12 links, each claimed by one task only.
    assert sorted(state for state, _ in tasks.finished) == ["SUCCESS"] * tasks.published
    assert sum(claimed for _, claimed in tasks.finished) == 12
    per_link = LinkCheck.objects.values("link").annotate(n=Count("id")).values_list("n", flat=True)
    assert sorted(per_link) == [1] * 12
    assert all(sandbox.hits(f"/p{i}.jpg", HOSTS[i % 4]) == 1 for i in range(12))
    now = timezone.now()
    for link in FoundLink.objects.all():
        assert link.last_verdict == "online_same"
        assert timedelta(hours=23) < link.next_check_at - now <= timedelta(hours=24)
    assert dispatch_due_work()["links"] == 0


# --- the command ---------------------------------------------------------------------------------


def test_recheck_links_sync_json_prints_each_verdict(
    sandbox: HttpHost,  # noqa: F811
    due_links: list[FoundLink],
    capsys,
) -> None:
    sandbox.add_route("/p0.jpg", status_route(404), host="a.test")
    FoundLink.objects.filter(pk=due_links[11].pk).update(next_check_at=None)

    call_command("recheck_links", "--sync", "--json")

    printed = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in printed] == [link.pk for link in due_links[:11]]
    first = printed[0]
    check = LinkCheck.objects.get(link_id=due_links[0].pk)
    assert first == {
        "id": due_links[0].pk,
        "url": due_links[0].url,
        "verdict": "removed",
        "status": "notified",
        "reason": "the server answered 404 (not yet confirmed: 1 of 2 consecutive checks)",
        "next_check_at": (check.checked_at + timedelta(hours=24)).isoformat(),
        "check": check.pk,
    }
    assert {row["verdict"] for row in printed[1:]} == {"online_same"}
    assert LinkCheck.objects.count() == 11


def test_recheck_links_case_checks_every_link_of_the_case(
    sandbox: HttpHost,  # noqa: F811
    due_links: list[FoundLink],
    capsys,
) -> None:
    FoundLink.objects.update(next_check_at=None)
    other = FoundLinkFactory(
        case=CaseFactory(), host=due_links[0].host, next_check_at=timezone.now()
    )

    call_command("recheck_links", "--case", due_links[0].case.reference, "--sync")

    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "checked 12 links: 12 online_same"
    assert lines[0].startswith(
        f"link {due_links[0].pk}: online_same (notified) first successful fetch: recorded as "
        "evidence; next: "
    )
    assert not LinkCheck.objects.filter(link=other).exists()


def test_recheck_links_queues_without_sync(
    sandbox: HttpHost,  # noqa: F811
    due_links: list[FoundLink],
    capsys,
) -> None:
    app.conf.task_always_eager = True  # no worker here: run what is queued right away
    try:
        call_command("recheck_links", "--json")
    finally:
        app.conf.task_always_eager = False

    assert json.loads(capsys.readouterr().out) == {"queued": 12, "tasks": 4}
    assert LinkCheck.objects.count() == 12


def test_recheck_links_unknown_case_exits_2(capsys) -> None:
    with pytest.raises(CommandError) as error:
        call_command("recheck_links", "--case", "TD-NOPE")
    assert (error.value.returncode, str(error.value)) == (2, "no case 'TD-NOPE'")
