"""What each notice achieved, and closing a case when nothing is left online.

A notice's outcome is what its links show, read against what the recipient said:

- complied: every link of the notice is removed (for a dataset maintainer: removed, or its
  entry gone from the newest release compared, see takedown.checks.releases);
- partly: some are;
- refused / not_responsible: none is, and the recipient said so (the reply is recorded);
- no_response: none is, the deadline passed and no reply was recorded;
- pending: otherwise (also when the recipient claims a removal the rechecks have not seen).

Outcomes are recomputed when a link is removed, reappears, is found never reachable or is
excluded (workflow hooks, run inside the transition's transaction) and when a reply is
recorded. Links excluded by a caseworker, and links never seen online, count for nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from takedown.models import Case, CaseEvent, FoundLink, Notice
from takedown.models import RecipientRole as Role
from takedown.workflow import (
    ACTIVE_CASE_STATUSES,
    OPEN_LINK_STATUSES,
    UNSENT_NOTICE_STATUSES,
    ConcurrentChange,
    on_enter,
    record_event,
    transition,
)

L, N = FoundLink.Status, Notice.Status
Outcome = Notice.Outcome
AUTO_CLOSE_REASON = "All links removed (closed automatically)."
RELEASE_COMPARED = "dataset.release_compared"


def lock_case(case_id: int) -> Case:
    """Take the case's row lock for the rest of the transaction (PostgreSQL; SQLite's
    IMMEDIATE transactions already admit one writer at a time).

    Everything that changes both a case's notices and the case itself, or decides from a
    case's notices what to draft, takes this lock FIRST, before any notice row: the escalation
    (advance, record_reply), a link's removal or reappearance (outcomes, closing, reopening),
    and closing or withdrawing a case (whose transition locks the case row first anyway). One
    order for all of them, so two of them never wait for each other in a circle."""
    return Case.objects.select_for_update().get(pk=case_id)


def dataset_gone(notice: Notice) -> set[int]:
    """Links of a maintainer notice whose entries the latest compared release no longer has.
    A comparison with part of a release (one shard) concludes nothing about absent entries."""
    events = CaseEvent.objects.filter(notice=notice, kind=RELEASE_COMPARED)
    for data in events.order_by("-at", "-pk").values_list("data", flat=True):
        if not data.get("partial"):
            return set(data.get("gone", []))
    return set()


def compute_outcome(notice: Notice) -> str:
    if notice.recipient_role == Role.SEARCH_ENGINE:
        return _search_outcome(notice)
    rows = list(
        notice.links.filter(case_id=notice.case_id)
        # Never seen online: neither a removal nor a refusal to credit the recipient with.
        .exclude(status__in=[L.EXCLUDED, L.NEVER_REACHABLE])
        .values_list("pk", "status")
    )
    done = {pk for pk, status in rows if status == L.REMOVED}
    if notice.recipient_role == Role.DATASET_MAINTAINER:
        done |= dataset_gone(notice) & {pk for pk, _ in rows}
    if rows and len(done) == len(rows):
        return Outcome.COMPLIED
    if done:
        return Outcome.PARTLY
    if notice.reply_outcome in (Outcome.REFUSED, Outcome.NOT_RESPONSIBLE):
        return notice.reply_outcome
    if notice.overdue_at is not None and not notice.reply_outcome:
        return Outcome.NO_RESPONSE
    return Outcome.PENDING


def _search_outcome(notice: Notice) -> str:
    """A search engine's results are not rechecked (the link's own status says nothing about
    them): what it answered counts, and silence past the deadline."""
    if notice.reply_outcome and notice.reply_outcome != Outcome.PENDING:
        return notice.reply_outcome
    if notice.overdue_at is not None:
        return Outcome.NO_RESPONSE
    return Outcome.PENDING


def recompute_outcome(notice: Notice, *, actor: Any = None) -> str:
    """Store the notice's outcome when it changed; tell the person about removals."""
    old, new = notice.outcome, compute_outcome(notice)
    if new == old:
        return new
    # Conditional: two recomputations racing (two links removed by two workers) write once.
    if not Notice.objects.filter(pk=notice.pk, outcome=old).update(outcome=new):
        notice.refresh_from_db(fields=["outcome"])
        return notice.outcome
    notice.outcome = new
    record_event(
        notice.case,
        "notice.outcome",
        actor=actor,
        data={"notice": notice.pk, "from": old, "to": new},
        notice=notice,
    )
    # A reminder repeats its request: the person hears about the request, not twice.
    # Only a change is stored, so "partly" is told once, however many links follow.
    if notice.kind != Notice.Kind.REMINDER and new in (Outcome.COMPLIED, Outcome.PARTLY):
        record_event(
            notice.case,
            "notice.outcome_for_person",
            actor=actor,
            visible_to_person=True,
            sentence=f"notice.outcome_for_person:{new}"
            + ("_dataset" if notice.recipient_role == Role.DATASET_MAINTAINER else ""),
            data={"notice": notice.pk, "outcome": new, "role": notice.recipient_role},
            notice=notice,
        )
    return new


def recompute_for_links(link_ids: Iterable[int], *, actor: Any = None) -> None:
    for notice in (
        Notice.objects.filter(links__in=list(link_ids), status=N.SENT)
        .select_related("case", "recipient")
        .distinct()
    ):
        recompute_outcome(notice, actor=actor)


def cancel_unsent(notices: Iterable[Notice], *, actor: Any = None, message: str) -> int:
    """Cancel drafts and unsent notices; one that moved on meanwhile (a sender claimed it) is
    left alone rather than failing the caller's transaction."""
    cancelled = 0
    for notice in notices:
        try:
            with transaction.atomic():
                transition(notice, N.CANCELLED, actor=actor, message=message)
            cancelled += 1
        except ConcurrentChange:
            continue
    return cancelled


def close_if_done(case: Case, *, actor: Any = None) -> bool:
    """Close the case when none of its links is still open and at least one was removed."""
    case = Case.objects.get(pk=case.pk)
    if case.status not in ACTIVE_CASE_STATUSES:
        return False
    links = FoundLink.objects.filter(case=case)
    if links.filter(status__in=OPEN_LINK_STATUSES).exists():
        return False
    if not links.filter(status=L.REMOVED).exists():
        return False
    try:
        close(
            case,
            reason=AUTO_CLOSE_REASON,
            actor=actor,
            automatic=True,
        )
    except ConcurrentChange:
        return False
    return True


def close(case: Case, *, reason: str, actor: Any, automatic: bool) -> None:
    """Close the case and cancel its unsent notices, in one transaction. The reason stays
    internal (it may name other parties); the person is told who closed it."""
    with transaction.atomic():
        transition(
            case,
            Case.Status.CLOSED,
            actor=actor,
            visible_to_person=True,
            sentence=f"case.closed:{'automatic' if automatic else 'caseworker'}",
            data={"automatic": automatic},
            fields={"closed_at": timezone.now(), "close_reason": reason},
        )
        cancel_unsent(
            Notice.objects.filter(case=case, status__in=UNSENT_NOTICE_STATUSES),
            actor=actor,
            message=(
                "The case was closed: every link is removed."
                if automatic
                else "The case was closed."
            ),
        )


@on_enter(FoundLink, FoundLink.Status.REMOVED)
@on_enter(FoundLink, FoundLink.Status.NEVER_REACHABLE)
@on_enter(FoundLink, FoundLink.Status.EXCLUDED)
def link_done(link: FoundLink, actor: Any) -> None:
    lock_case(link.case_id)
    recompute_for_links([link.pk], actor=actor)
    # Follow-ups not yet sent whose every link is now done have nothing left to ask for.
    stale = [
        notice
        for notice in Notice.objects.filter(
            case_id=link.case_id, links=link, status__in=UNSENT_NOTICE_STATUSES
        )
        .exclude(kind=Notice.Kind.NOTICE)
        .distinct()
        if not notice.links.filter(status__in=OPEN_LINK_STATUSES).exists()
    ]
    cancel_unsent(stale, actor=actor, message="Nothing left to ask for: every link is done.")
    close_if_done(link.case, actor=actor)


@on_enter(FoundLink, FoundLink.Status.REAPPEARED)
def link_reappeared(link: FoundLink, actor: Any) -> None:
    case = lock_case(link.case_id)
    recompute_for_links([link.pk], actor=actor)
    # Only a closure this module made is undone; a caseworker's closure stands.
    if case.status == Case.Status.CLOSED and case.close_reason == AUTO_CLOSE_REASON:
        try:
            with transaction.atomic():
                transition(
                    case,
                    Case.Status.OPEN,
                    actor=actor,
                    visible_to_person=True,
                    sentence="case.open:automatic",
                    data={"automatic": True},
                    fields={"closed_at": None, "close_reason": ""},
                )
        except ConcurrentChange:
            return


@on_enter(Case, Case.Status.WITHDRAWN)
def _withdrawn(case: Case, actor: Any) -> None:
    # The person withdrew their consent to act for them: nothing more leaves in their name.
    # Notices already sent stay sent; a reopened case drafts afresh.
    cancel_unsent(
        Notice.objects.filter(case=case, status__in=UNSENT_NOTICE_STATUSES),
        actor=actor,
        message="The case was withdrawn.",
    )
