"""The one place where status changes happen.

`transition()` checks the allowed-transition table, performs a conditional update (the row must
still have the status the caller read, so two workers or two browser tabs cannot both move it),
and writes the event row in the same transaction. Views, the admin, tasks and commands never
assign `status` themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext

from takedown.errors import NotPossible
from takedown.events import stored_message
from takedown.models import Case, CaseEvent, FoundLink, Host, Notice

L, N, H = FoundLink.Status, Notice.Status, Host.Status

# For each model: status -> the statuses it may move to.
TRANSITIONS: dict[type[models.Model], dict[str, frozenset[str]]] = {
    Case: {
        Case.Status.OPEN: frozenset(
            {Case.Status.PAUSED, Case.Status.WITHDRAWN, Case.Status.CLOSED}
        ),
        Case.Status.PAUSED: frozenset(
            {Case.Status.OPEN, Case.Status.WITHDRAWN, Case.Status.CLOSED}
        ),
        Case.Status.WITHDRAWN: frozenset({Case.Status.OPEN}),
        Case.Status.CLOSED: frozenset({Case.Status.OPEN}),
    },
    FoundLink: {
        L.FOUND: frozenset({L.NOTIFIED, L.REMOVED, L.NEVER_REACHABLE, L.EXCLUDED}),
        L.NOTIFIED: frozenset({L.REMOVED, L.NEVER_REACHABLE, L.EXCLUDED}),
        # Seen online at last: back to where it was (notified if a sent notice names it); or
        # removed, once reference hashes supplied later let a check confirm a removal.
        L.NEVER_REACHABLE: frozenset({L.FOUND, L.NOTIFIED, L.REMOVED, L.EXCLUDED}),
        # A reappearance after removal reopens the link.
        L.REMOVED: frozenset({L.REAPPEARED}),
        L.REAPPEARED: frozenset({L.NOTIFIED, L.REMOVED, L.EXCLUDED}),
        L.EXCLUDED: frozenset({L.FOUND}),
    },
    Notice: {
        N.DRAFT: frozenset({N.IN_REVIEW, N.CANCELLED}),
        # Rejection returns the draft with the reviewer's comment.
        N.IN_REVIEW: frozenset({N.APPROVED, N.DRAFT, N.CANCELLED}),
        # Editing an approved notice withdraws the approval.
        N.APPROVED: frozenset({N.QUEUED, N.AWAITING_MANUAL, N.DRAFT, N.CANCELLED}),
        # -> DRAFT: the mandate it needs was revoked (takedown.mandates), before or at the claim.
        N.QUEUED: frozenset({N.SENDING, N.DRAFT, N.CANCELLED}),
        # SENDING -> QUEUED is a transient failure that will be retried.
        N.SENDING: frozenset({N.SENT, N.FAILED, N.QUEUED, N.NEEDS_CHECK}),
        N.NEEDS_CHECK: frozenset({N.SENT, N.QUEUED, N.FAILED}),
        N.AWAITING_MANUAL: frozenset({N.SENT, N.DRAFT, N.CANCELLED}),
        N.SENT: frozenset({N.BOUNCED}),
        N.FAILED: frozenset({N.DRAFT, N.CANCELLED}),
        N.BOUNCED: frozenset({N.DRAFT, N.CANCELLED}),
        N.CANCELLED: frozenset(),
    },
    Host: {
        H.PENDING: frozenset({H.RESOLVING}),
        H.RESOLVING: frozenset({H.RESOLVED, H.PARTIAL, H.FAILED, H.CHANGED, H.PENDING}),
        H.RESOLVED: frozenset({H.PENDING, H.RESOLVING}),
        H.PARTIAL: frozenset({H.PENDING, H.RESOLVING}),
        H.FAILED: frozenset({H.PENDING, H.RESOLVING}),
        H.CHANGED: frozenset({H.PENDING, H.RESOLVING, H.RESOLVED}),
    },
}


# Groups of statuses the pipeline asks about, each defined once here beside the moves above.
# A link a notice still has work to do for: online, or not yet known to be gone.
OPEN_LINK_STATUSES: tuple[str, ...] = (L.FOUND, L.NOTIFIED, L.REAPPEARED)
# A notice that has not reached its recipient yet but still may (a reminder in one of these
# is cancelled when its link goes or the recipient answers).
UNSENT_NOTICE_STATUSES: tuple[str, ...] = (
    N.DRAFT,
    N.IN_REVIEW,
    N.APPROVED,
    N.QUEUED,
    N.AWAITING_MANUAL,
)
# A notice that did not and will not reach its recipient.
DEAD_NOTICE_STATUSES: tuple[str, ...] = (N.CANCELLED, N.FAILED, N.BOUNCED)
# A case the team is still pursuing: notices are generated, sent and escalated for it.
ACTIVE_CASE_STATUSES: tuple[str, ...] = (Case.Status.OPEN, Case.Status.PAUSED)
# A case whose links are rechecked; a closed one to notice a reappearance.
CHECKED_CASE_STATUSES: tuple[str, ...] = (Case.Status.OPEN, Case.Status.CLOSED)


# Side effects of entering a status, run inside the transition's transaction (so they commit or
# roll back with it). Registered by the pipeline modules, e.g. takedown.notices.clock.
_ON_ENTER: dict[tuple[type[models.Model], str], list[Callable[[Any, Any], None]]] = defaultdict(
    list
)


def on_enter(model: type[models.Model], status: str) -> Callable[[Callable], Callable]:
    """Register `hook(obj, actor)` to run whenever `model` enters `status`."""

    def register(hook: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        _ON_ENTER[(model, status)].append(hook)
        return hook

    return register


class TransitionNotAllowed(NotPossible):
    """The table does not allow this move."""


class ConcurrentChange(NotPossible):
    """The row's status changed between reading it and updating it: someone else moved it first."""


def status_label(model: type[models.Model], status: str) -> str:
    """The status as the pages show it (translated), e.g. "In review" for in_review."""
    field = model._meta.get_field("status")
    assert isinstance(field, models.Field)
    return str(dict(field.flatchoices).get(status, status))


def _not_allowed(obj: Case | FoundLink | Notice | Host, to: str) -> TransitionNotAllowed:
    """What cannot be done, in words: one whole sentence per kind of row (translators need
    whole sentences, and German nouns have genders)."""
    model = type(obj)
    if model is Case:
        message = gettext("Case %(name)s is “%(status)s”: it cannot be set to “%(to)s”.")
    elif model is Notice:
        message = gettext("Notice %(name)s is “%(status)s”: it cannot be set to “%(to)s”.")
    elif model is Host:
        message = gettext("The host %(name)s is “%(status)s”: it cannot be set to “%(to)s”.")
    else:
        message = gettext("Link %(name)s is “%(status)s”: it cannot be set to “%(to)s”.")
    return TransitionNotAllowed(
        message
        % {
            "name": _name(obj),
            "status": status_label(model, obj.status),
            "to": status_label(model, to),
        }
    )


def _name(obj: Case | FoundLink | Notice | Host) -> str:
    if isinstance(obj, Case):
        return obj.reference
    if isinstance(obj, Host):
        return obj.display_name
    return str(obj.pk)


def _changed_meanwhile(obj: Case | FoundLink | Notice | Host) -> ConcurrentChange:
    model = type(obj)
    if model is Case:
        message = gettext("Case %(name)s was changed by someone else meanwhile: look at it again.")
    elif model is Notice:
        message = gettext(
            "Notice %(name)s was changed by someone else meanwhile: look at it again."
        )
    elif model is Host:
        message = gettext("The host %(name)s was changed meanwhile: look at it again.")
    else:
        message = gettext("Link %(name)s was changed meanwhile: look at it again.")
    return ConcurrentChange(message % {"name": _name(obj)})


def transition(
    obj: Case | FoundLink | Notice | Host,
    to: str,
    *,
    actor: Any = None,
    message: str = "",
    sentence: str = "",
    params: Mapping[str, Any] | None = None,
    visible_to_person: bool = False,
    data: Mapping[str, Any] | None = None,
    fields: Mapping[str, Any] | None = None,
    on_commit: Callable[[], None] | None = None,
) -> CaseEvent:
    """Move `obj` from the status it was read with to `to`, or raise.

    The event says `message`, or the sentence `sentence` of takedown.events with `params`.
    `fields` are further columns updated in the same statement (e.g. sent_at); `on_commit` runs
    after the transaction commits (e.g. enqueueing a task), never for a rolled-back change.
    """
    model = type(obj)
    table = TRANSITIONS[model]
    from_status = obj.status
    if to not in table.get(from_status, frozenset()):
        raise _not_allowed(obj, to)
    extra = dict(fields or {})
    with transaction.atomic():
        changed = model._default_manager.filter(pk=obj.pk, status=from_status).update(
            status=to, **extra
        )
        if changed != 1:
            raise _changed_meanwhile(obj)
        event = CaseEvent.objects.create(
            case_id=_case_id(obj),
            actor=_actor(actor),
            kind=f"{model.__name__.lower()}.{to}",
            visible_to_person=visible_to_person,
            **_text(message, sentence, params, obj if isinstance(obj, Notice) else None),
            data={"from": from_status, "to": to, "id": obj.pk, **(data or {})},
            link=obj if isinstance(obj, FoundLink) else None,
            notice=obj if isinstance(obj, Notice) else None,
            host=obj if isinstance(obj, Host) else None,
        )
        obj.status = to
        for name, value in extra.items():
            if not hasattr(value, "resolve_expression"):
                setattr(obj, name, value)
        for hook in _ON_ENTER.get((model, to), ()):
            hook(obj, actor)
        if on_commit is not None:
            transaction.on_commit(on_commit)
    return event


def transition_many(
    model: type[models.Model],
    ids: list[int],
    from_statuses: Sequence[str],
    to: str,
    *,
    actor: Any = None,
    message: str = "",
    data: Mapping[str, Any] | None = None,
    fields: Mapping[str, Any] | None = None,
    row_data: Mapping[int, Mapping[str, Any]] | None = None,
) -> list[int]:
    """Move every row of `ids` that is still in one of `from_statuses` to `to` with a
    conditional update per status read, with an event per row moved. Rows another worker moved
    first are left alone, not an error (several notices can cover one link): callers act only
    on the ids returned, the rows moved.

    `fields` are further columns set on every row moved (values or expressions, e.g.
    F("attempts") + 1); `row_data` adds per-row entries to each row's event data."""
    check_transition(model, from_statuses, to)
    # Hosts belong to no single case: their events carry the host, like transition()'s do.
    case_column = "pk" if model is Case else None if model is Host else "case_id"
    with transaction.atomic():
        # In id order, as the checks lock their links: batches sharing rows cannot deadlock.
        rows = (
            model._default_manager.select_for_update()
            .filter(pk__in=ids, status__in=from_statuses)
            .order_by("pk")
        )
        read: list[tuple[int, str, int | None]]
        if case_column is None:
            read = [(pk, status, None) for pk, status in rows.values_list("pk", "status")]
        else:
            read = list(rows.values_list("pk", "status", case_column))
        moved = _update_still_in(model, read, to, dict(fields or {}))
        record_moves(
            model,
            [(pk, status, to, case_id) for pk, status, case_id in moved],
            actor=actor,
            message=message,
            data=data,
            row_data=row_data,
        )
    return [pk for pk, _, _ in moved]


def check_transition(model: type[models.Model], from_statuses: Sequence[str], to: str) -> None:
    """Raise TransitionNotAllowed unless the table allows `to` from each of `from_statuses`."""
    if any(to not in TRANSITIONS[model].get(status, frozenset()) for status in from_statuses):
        raise TransitionNotAllowed(
            gettext("Nothing can be set to “%(to)s” from “%(statuses)s”.")
            % {
                "to": status_label(model, to),
                "statuses": " / ".join(status_label(model, status) for status in from_statuses),
            }
        )


def record_moves(
    model: type[models.Model],
    moves: Sequence[tuple[int, str, str, int | None]],
    *,
    actor: Any = None,
    message: str = "",
    data: Mapping[str, Any] | None = None,
    row_data: Mapping[int, Mapping[str, Any]] | None = None,
) -> None:
    """The status-change events of rows a caller moved in bulk (transition_many, or one
    conditional UPDATE of its own after check_transition): one per (pk, from, to, case id),
    in one INSERT."""
    refs = {FoundLink: "link", Notice: "notice", Host: "host"}
    row_data = row_data or {}
    CaseEvent.objects.bulk_create(
        CaseEvent(
            case_id=case_id,
            actor=_actor(actor),
            kind=f"{model.__name__.lower()}.{to}",
            message=message,
            data={"from": status, "to": to, "id": pk, **(data or {}), **row_data.get(pk, {})},
            **({f"{refs[model]}_id": pk} if model in refs else {}),
        )
        for pk, status, to, case_id in moves
    )


class _Changed(Exception):
    """Some rows of a group left their status between the read and the update."""


def _update_still_in(
    model: type[models.Model],
    read: list[tuple[int, str, int | None]],
    to: str,
    fields: dict[str, Any],
) -> list[tuple[int, str, int | None]]:
    """Update the rows of `read` that still have the status read with them; returns those.

    Where FOR UPDATE is a no-op (SQLite), a row can be moved by another connection between
    the read and the update, so each update repeats the status as a condition. One statement
    per status moves a whole group; if it moves fewer rows than were read, it is undone and
    the group moved row by row, which tells which rows were still ours."""
    manager = model._default_manager
    groups: dict[str, list[int]] = defaultdict(list)
    for pk, status, _ in read:
        groups[status].append(pk)
    kept: set[int] = set()
    for status, pks in groups.items():
        try:
            with transaction.atomic():
                count = manager.filter(pk__in=pks, status=status).update(status=to, **fields)
                if count != len(pks):
                    raise _Changed  # rolls this group's update back to its savepoint
            kept.update(pks)
        except _Changed:
            kept.update(
                pk for pk in pks if manager.filter(pk=pk, status=status).update(status=to, **fields)
            )
    return [row for row in read if row[0] in kept]


def _actor(actor: Any) -> Any:
    """Only a saved user is recorded: commands and tasks pass None."""
    return actor if getattr(actor, "pk", None) else None


def record_event(
    case: Case | None,
    kind: str,
    *,
    actor: Any = None,
    message: str = "",
    sentence: str = "",
    params: Mapping[str, Any] | None = None,
    visible_to_person: bool = False,
    data: Mapping[str, Any] | None = None,
    **refs: Any,
) -> CaseEvent:
    """An event that is not a status change: an import, a reveal of personal details, a reply.
    It says `message`, or the sentence `sentence` of takedown.events with `params`."""
    event = new_event(
        case,
        kind,
        actor=actor,
        message=message,
        sentence=sentence,
        params=params,
        visible_to_person=visible_to_person,
        data=data,
        **refs,
    )
    event.save(force_insert=True)
    return event


def new_event(
    case: Case | None,
    kind: str,
    *,
    actor: Any = None,
    message: str = "",
    sentence: str = "",
    params: Mapping[str, Any] | None = None,
    visible_to_person: bool = False,
    data: Mapping[str, Any] | None = None,
    **refs: Any,
) -> CaseEvent:
    """record_event's row, not yet saved: many are written in one statement (bulk_create)."""
    return CaseEvent(
        case=case,
        actor=_actor(actor),
        kind=kind,
        at=timezone.now(),
        visible_to_person=visible_to_person,
        **_text(message, sentence, params, refs.get("notice")),
        data=dict(data or {}),
        **refs,
    )


def _text(
    message: str, sentence: str, params: Mapping[str, Any] | None, notice: Notice | None
) -> dict[str, Any]:
    """The event's text columns: a sentence of the table is stored with its English rendering,
    so the audit trail reads the same sentence the portal shows."""
    if not sentence:
        return {"message": message, "sentence": "", "params": {}}
    if message:
        raise ValueError("an event says its message or its sentence, not both")
    params = dict(params or {})
    return {
        "message": stored_message(sentence, params, notice),
        "sentence": sentence,
        "params": params,
    }


def _case_id(obj: models.Model) -> int | None:
    if isinstance(obj, Case):
        return obj.pk
    return getattr(obj, "case_id", None)
