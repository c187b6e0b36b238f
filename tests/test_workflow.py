from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.db.models import F, Model
from django.utils import translation

from takedown import workflow
from takedown.models import Case, CaseEvent, FoundLink, Host, Notice
from takedown.workflow import (
    TRANSITIONS,
    ConcurrentChange,
    TransitionNotAllowed,
    transition,
    transition_many,
)
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    NoticeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_transition_moves_status_and_writes_one_event():
    notice = NoticeFactory()
    reviewer = UserFactory()

    event = transition(notice, Notice.Status.IN_REVIEW, actor=reviewer, message="Submitted.")

    notice.refresh_from_db()
    assert notice.status == "in_review"
    assert event.kind == "notice.in_review"
    assert event.case_id == notice.case_id
    assert event.notice_id == notice.pk
    assert event.actor == reviewer
    assert event.data == {"from": "draft", "to": "in_review", "id": notice.pk}
    assert CaseEvent.objects.filter(kind__startswith="notice.").count() == 1


def test_transition_sets_extra_fields_in_the_same_update():
    case = CaseFactory()

    transition(case, Case.Status.CLOSED, fields={"close_reason": "All links removed."})

    case.refresh_from_db()
    assert (case.status, case.close_reason) == ("closed", "All links removed.")


def test_transition_not_in_table_is_refused_and_changes_nothing():
    notice = NoticeFactory()

    with pytest.raises(TransitionNotAllowed) as refused:
        transition(notice, Notice.Status.SENT)
    with translation.override("de"), pytest.raises(TransitionNotAllowed) as german:
        transition(notice, Notice.Status.SENT)

    # In words, with the statuses as the pages name them: no "draft -> sent".
    assert refused.value.message == f"Notice {notice.pk} is “Draft”: it cannot be set to “Sent”."
    assert german.value.message == (
        f"Meldung {notice.pk} hat den Status „Entwurf“: Sie kann nicht auf „Verschickt“ gesetzt"
        " werden."
    )

    notice.refresh_from_db()
    assert notice.status == "draft"
    assert CaseEvent.objects.filter(notice=notice).count() == 0


def test_transition_on_stale_copy_fails_loudly_and_writes_no_event():
    link = FoundLinkFactory()
    first = FoundLink.objects.get(pk=link.pk)
    stale = FoundLink.objects.get(pk=link.pk)
    transition(first, FoundLink.Status.NOTIFIED)

    with pytest.raises(
        ConcurrentChange, match=f"Link {link.pk} was changed meanwhile: look at it again"
    ):
        transition(stale, FoundLink.Status.EXCLUDED)

    link.refresh_from_db()
    assert link.status == "notified"
    assert list(CaseEvent.objects.filter(link=link).values_list("kind", flat=True)) == [
        "foundlink.notified"
    ]


def test_transition_visible_event_is_marked_for_the_person():
    link = FoundLinkFactory()

    event = transition(
        link, FoundLink.Status.REMOVED, visible_to_person=True, message="The image was removed."
    )

    assert event.visible_to_person is True
    assert event.message == "The image was removed."


def test_transition_with_a_sentence_stores_its_key_params_and_english_text():
    link = FoundLinkFactory(host=HostFactory(hostname="img.example"))

    event = transition(
        link,
        FoundLink.Status.REMOVED,
        visible_to_person=True,
        sentence="foundlink.removed",
        params={"host": "img.example"},
    )

    event.refresh_from_db()
    assert (event.sentence, event.params, event.message) == (
        "foundlink.removed",
        {"host": "img.example"},
        "An image in your case is no longer online at img.example. "
        "Two checks in a row found it gone.",
    )


def test_transition_with_a_sentence_missing_its_params_changes_nothing():
    link = FoundLinkFactory()

    with pytest.raises(ValueError, match="cannot be rendered"):
        transition(link, FoundLink.Status.REMOVED, sentence="foundlink.removed")

    link.refresh_from_db()
    assert (link.status, CaseEvent.objects.filter(link=link).count()) == ("found", 0)


def test_transition_on_commit_runs_only_after_commit(django_capture_on_commit_callbacks):
    notice = NoticeFactory(status=Notice.Status.APPROVED)
    calls: list[int] = []

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        transition(notice, Notice.Status.QUEUED, on_commit=lambda: calls.append(notice.pk))
        assert calls == []

    assert len(callbacks) == 1
    assert calls == [notice.pk]


def test_transition_table_covers_every_status_of_every_model():
    for model, table in TRANSITIONS.items():
        statuses = {choice for choice, _ in model._meta.get_field("status").choices}
        assert set(table) == statuses, model.__name__
        for targets in table.values():
            assert targets <= statuses, model.__name__


@pytest.mark.django_db(transaction=True)
def test_transition_race_between_two_threads_has_exactly_one_winner():
    notice = NoticeFactory(status=Notice.Status.QUEUED)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def claim() -> None:
        copy = Notice.objects.get(pk=notice.pk)
        barrier.wait()
        try:
            transition(copy, Notice.Status.SENDING)
            result = "won"
        except ConcurrentChange:
            result = "lost"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["lost", "won"]
    assert CaseEvent.objects.filter(notice=notice, kind="notice.sending").count() == 1


def test_transition_many_moves_only_rows_still_in_a_from_status():
    found = FoundLinkFactory()
    notified = FoundLinkFactory(case=found.case, status=FoundLink.Status.NOTIFIED)
    removed = FoundLinkFactory(case=found.case, status=FoundLink.Status.REMOVED)

    moved = transition_many(
        FoundLink,
        [found.pk, notified.pk, removed.pk],
        [FoundLink.Status.FOUND, FoundLink.Status.REAPPEARED],
        FoundLink.Status.NOTIFIED,
    )

    assert moved == [found.pk]
    statuses = dict(FoundLink.objects.values_list("pk", "status"))
    assert statuses == {found.pk: "notified", notified.pk: "notified", removed.pk: "removed"}
    events = CaseEvent.objects.filter(kind="foundlink.notified")
    assert [(e.link_id, e.case_id, e.data["from"]) for e in events] == [
        (found.pk, found.case_id, "found")
    ]


def test_transition_many_refuses_a_move_the_table_forbids():
    link = FoundLinkFactory(status=FoundLink.Status.REMOVED)

    with pytest.raises(
        TransitionNotAllowed, match="Nothing can be set to “Notice sent” from “Removed”"
    ):
        transition_many(FoundLink, [link.pk], [FoundLink.Status.REMOVED], FoundLink.Status.NOTIFIED)


@contextmanager
def moved_after_the_read(model: type[Model], pk: int, **changes: object) -> Iterator[None]:
    """Another connection changes row `pk` right after transition_many reads its rows and
    before it updates them: the window that FOR UPDATE closes on PostgreSQL and that is open
    where FOR UPDATE is a no-op. Same connection here, so it is not blocked by the row lock."""
    table = model._meta.db_table
    state = {"read": False, "moved": False}

    def interfere(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if state["read"] and not state["moved"]:
            state["moved"] = True
            model._default_manager.filter(pk=pk).update(**changes)
        result = execute(sql, params, many, context)
        if sql.startswith("SELECT") and table in sql:
            state["read"] = True
        return result

    with connection.execute_wrapper(interfere):
        yield
    assert state["moved"], "transition_many never got to update anything"


def test_transition_many_leaves_a_row_moved_after_the_read():
    found = [FoundLinkFactory() for _ in range(3)]
    case = found[0].case
    FoundLink.objects.filter(pk__in=[link.pk for link in found]).update(case=case)
    reappeared = FoundLinkFactory(case=case, status=FoundLink.Status.REAPPEARED)
    ids = [link.pk for link in found] + [reappeared.pk]
    excluded = found[1].pk

    with moved_after_the_read(FoundLink, excluded, status=FoundLink.Status.EXCLUDED):
        moved = transition_many(
            FoundLink,
            ids,
            [FoundLink.Status.FOUND, FoundLink.Status.REAPPEARED],
            FoundLink.Status.NOTIFIED,
        )

    assert sorted(moved) == sorted([found[0].pk, found[2].pk, reappeared.pk])
    statuses = dict(FoundLink.objects.values_list("pk", "status"))
    assert statuses == {
        found[0].pk: "notified",
        excluded: "excluded",
        found[2].pk: "notified",
        reappeared.pk: "notified",
    }
    events = CaseEvent.objects.filter(kind="foundlink.notified").order_by("link_id")
    assert [(e.link_id, e.data["from"]) for e in events] == sorted(
        [(found[0].pk, "found"), (found[2].pk, "found"), (reappeared.pk, "reappeared")]
    )


def test_transition_many_claim_lost_after_the_read_claims_nothing():
    # resolve_batch claims hosts so; another worker claiming one first must win alone.
    host = HostFactory(status=Host.Status.PENDING, attempts=0)
    other = HostFactory(status=Host.Status.FAILED, attempts=0)

    with moved_after_the_read(
        Host, host.pk, status=Host.Status.RESOLVING, attempts=F("attempts") + 1
    ):
        claimed = transition_many(
            Host,
            [host.pk, other.pk],
            [Host.Status.PENDING, Host.Status.FAILED],
            Host.Status.RESOLVING,
            fields={"attempts": F("attempts") + 1},
        )

    assert claimed == [other.pk]
    rows = dict(Host.objects.values_list("pk", "attempts"))
    assert rows == {host.pk: 1, other.pk: 1}
    assert list(CaseEvent.objects.values_list("host_id", "kind")) == [(other.pk, "host.resolving")]


def test_notice_status_groups_split_the_statuses_without_overlap():
    groups = [
        set(workflow.UNSENT_NOTICE_STATUSES),
        set(workflow.DEAD_NOTICE_STATUSES),
        {Notice.Status.SENDING, Notice.Status.SENT, Notice.Status.NEEDS_CHECK},
    ]
    assert sorted(set().union(*groups)) == sorted(Notice.Status.values)
    assert sum(len(group) for group in groups) == len(Notice.Status.values)
    # Only a new draft leads out of a dead notice: none of them is sent again as it is.
    assert [
        (status, sorted(workflow.TRANSITIONS[Notice][status] - {Notice.Status.DRAFT}))
        for status in workflow.DEAD_NOTICE_STATUSES
    ] == [("cancelled", []), ("failed", ["cancelled"]), ("bounced", ["cancelled"])]


def test_open_links_are_those_not_removed_never_reachable_or_excluded():
    S = FoundLink.Status
    assert sorted(workflow.OPEN_LINK_STATUSES) == sorted(
        set(S.values) - {S.REMOVED, S.NEVER_REACHABLE, S.EXCLUDED}
    )
