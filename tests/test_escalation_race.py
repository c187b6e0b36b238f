"""Two escalation runs at once on one case: each step is drafted once (issue 5)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from takedown.checks.escalate import advance
from takedown.models import Notice, Organisation
from takedown.models import RecipientRole as Role
from takedown.notices.generate import draft_follow_up
from tests.test_escalation import World

K, S, Outcome = Notice.Kind, Notice.Status, Notice.Outcome
Kind = Organisation.Kind


@pytest.fixture(autouse=True)
def organisation(settings):
    settings.TAKEDOWN_ORGANISATION = "Demo Takedown e.V."
    settings.DEFAULT_FROM_EMAIL = "takedown@org.example"


def two_refused_notices(world: World) -> tuple[Notice, Notice]:
    """The operator and the hosting provider of the same two links, both sent and both
    refused: each of them moving on would next ask the CDN about the same links."""
    operator = world.send(world.first_notice())
    hosting = draft_follow_up(
        operator,
        kind=K.ESCALATION,
        organisation=world.orgs[Kind.HOSTING],
        role=Role.HOSTING,
        links=world.links,
    )
    hosting = world.send(hosting)
    Notice.objects.filter(pk__in=[operator.pk, hosting.pk]).update(reply_outcome=Outcome.REFUSED)
    operator.refresh_from_db()
    hosting.refresh_from_db()
    return operator, hosting


def escalations(world: World) -> list[tuple[str, list[int]]]:
    return [
        (notice.recipient.name, sorted(notice.links.values_list("pk", flat=True)))
        for notice in Notice.objects.filter(case=world.case, kind=K.ESCALATION, status=S.DRAFT)
        .select_related("recipient")
        .order_by("recipient__name")
    ]


def waits_for_a_lock(thread: threading.Thread) -> bool:
    """Whether `thread` is blocked on a row lock (PostgreSQL), or at least still running after
    a second (SQLite, whose writers queue for the database's one write lock)."""
    if connection.vendor != "postgresql":
        thread.join(1.0)
        return thread.is_alive()
    deadline = time.monotonic() + 20
    while thread.is_alive() and time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE NOT l.granted AND a.datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False


def in_thread(target: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            target()
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_advance_two_notices_of_one_case_at_once_drafts_each_step_once():
    world = World()
    operator, hosting = two_refused_notices(world)
    first_in = threading.Event()
    release = threading.Event()
    drafts: dict[str, int] = {}
    errors: list[BaseException] = []

    def first() -> None:
        # The first run's drafts stay uncommitted until the second run has started: the
        # window in which the second used to read the case without seeing them.
        with transaction.atomic():
            drafts["first"] = advance(Notice.objects.get(pk=operator.pk))
            first_in.set()
            assert release.wait(30)

    def second() -> None:
        drafts["second"] = advance(Notice.objects.get(pk=hosting.pk))

    one = in_thread(first, errors)
    assert first_in.wait(30)
    two = in_thread(second, errors)
    blocked = waits_for_a_lock(two)
    release.set()
    one.join(30)
    two.join(30)

    assert errors == []
    links = sorted(link.pk for link in world.links)
    # The first asks the CDN; the second finds the CDN asked and turns to the registrar.
    assert escalations(world) == [("Edge CDN Inc", links), ("Names Registrar GmbH", links)]
    assert drafts == {"first": 1, "second": 1}
    assert blocked is True  # the second run waited for the first, it did not just lose a race


@pytest.mark.django_db
def test_advance_second_notice_of_a_case_finds_the_step_addressed():
    world = World()
    operator, hosting = two_refused_notices(world)

    assert advance(operator) == 1
    assert advance(hosting) == 1
    assert advance(hosting) == 0  # claimed once

    links = sorted(link.pk for link in world.links)
    assert escalations(world) == [("Edge CDN Inc", links), ("Names Registrar GmbH", links)]
