"""Caseworker actions that have no other home in the domain: acknowledging what a check, the
escalation ladder or the affected person put in front of a person.

Each claims its row with a conditional update (two caseworkers pressing the same button at
once: one wins, the other gets StaffActionError) and writes an internal CaseEvent in the same
transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from takedown.errors import NotPossible
from takedown.models import Case, CaseEvent, DeletionRequest, FoundLink, Notice
from takedown.notices.render import store_element_check
from takedown.retention import erase_on_request
from takedown.web.staff.selectors import MANUAL_TASK_DONE, open_manual_tasks
from takedown.workflow import ACTIVE_CASE_STATUSES, record_event, transition

NOTE_MAX = 5000


class StaffActionError(NotPossible):
    """The step is not possible (any more); the message says why."""


def _note(note: str, *, required: bool) -> str:
    note = (note or "").strip()
    if required and not note:
        raise StaffActionError(gettext("Write a short note of what was done."))
    if len(note) > NOTE_MAX:
        raise StaffActionError(
            ngettext(
                "The note is too long (at most %(max)d character).",
                "The note is too long (at most %(max)d characters).",
                NOTE_MAX,
            )
            % {"max": NOTE_MAX}
        )
    return note


def clear_link_review(case: Case, link_id: int, *, actor: Any, note: str = "") -> FoundLink:
    """A caseworker has looked at a link a check flagged (a changed image, a move, a
    reappearance): clear the flag. The next check that finds something sets it again."""
    note = _note(note, required=False)
    with transaction.atomic():
        cleared = FoundLink.objects.filter(pk=link_id, case=case, needs_review=True).update(
            needs_review=False
        )
        if cleared != 1:
            raise StaffActionError(gettext("This link does not need a look (any more)."))
        link = FoundLink.objects.select_related("host").get(pk=link_id)
        record_event(
            case,
            "link.reviewed",
            actor=actor,
            message=f"Link {link.pk} on {link.host.hostname} looked at"
            + (f": {note}" if note else "."),
            data={"link": link.pk, "verdict": link.last_verdict},
            link=link,
        )
    return link


def set_entry_id_note(case: Case, link_id: int, *, actor: Any, note: str) -> FoundLink:
    """State why a dataset link has no entry id (the notice shows the reason, and a dataset
    notice needs one or the other for every link). The notices still being drafted or reviewed
    are checked again."""
    note = _note(note, required=True)
    with transaction.atomic():
        updated = FoundLink.objects.filter(pk=link_id, case=case, entry_id="").update(
            entry_id_note=note
        )
        if updated != 1:
            raise StaffActionError(gettext("This link has an entry id (or is not in this case)."))
        link = FoundLink.objects.get(pk=link_id)
        record_event(
            case,
            "link.entry_id_note",
            actor=actor,
            message=f"Reason why link {link.pk} has no entry id: {note}",
            data={"link": link.pk},
            link=link,
        )
    unsent = (Notice.Status.DRAFT, Notice.Status.IN_REVIEW, Notice.Status.APPROVED)
    for notice in Notice.objects.filter(links=link, status__in=unsent):
        store_element_check(notice)
    return link


def set_entry_id_notes(case: Case, notice: Notice, *, actor: Any, note: str) -> int:
    """One reason for every link of `notice` that has neither an entry id nor a reason (a whole
    import from a dataset file without an id column). Returns how many links it covers."""
    note = _note(note, required=True)
    with transaction.atomic():
        links = FoundLink.objects.filter(
            case=case, notices=notice, entry_id="", entry_id_note=""
        ).values_list("pk", flat=True)
        ids = list(links)
        if not ids:
            raise StaffActionError(
                gettext("Every link of this notice has an entry id or a reason.")
            )
        FoundLink.objects.filter(pk__in=ids).update(entry_id_note=note)
        record_event(
            case,
            "link.entry_id_note",
            actor=actor,
            message=f"Reason why {len(ids)} links have no entry id: {note}",
            data={"links": len(ids), "notice": notice.pk},
            notice=notice,
        )
    unsent = (Notice.Status.DRAFT, Notice.Status.IN_REVIEW, Notice.Status.APPROVED)
    for other in Notice.objects.filter(case=case, links__in=ids, status__in=unsent).distinct():
        store_element_check(other)
    return len(ids)


def complete_manual_task(case: Case, event_id: int, *, actor: Any, note: str) -> CaseEvent:
    """Mark a manual legal step (court, police, lawyer) as dealt with, with what was done."""
    note = _note(note, required=True)
    with transaction.atomic():
        # The case row serialises two caseworkers completing the same task at once.
        Case.objects.select_for_update().filter(pk=case.pk).first()
        task = open_manual_tasks().filter(case=case, pk=event_id).first()
        if task is None:
            raise StaffActionError(gettext("This legal step is already marked done."))
        return record_event(
            case,
            MANUAL_TASK_DONE,
            actor=actor,
            message=f"Manual legal step done: {note}",
            data={"task": task.pk},
            notice=task.notice,
        )


def handle_deletion_request(
    case: Case, request_id: int, *, actor: Any, note: str, erase: bool = False
) -> DeletionRequest:
    """Record that the person's deletion request was dealt with (what was deleted, and what
    had to be kept, e.g. notices already sent). With `erase`, the caseworker confirms it and
    takedown.retention erases the person's data now (the retention job's path)."""
    note = _note(note, required=True)
    with transaction.atomic():
        handled = DeletionRequest.objects.filter(
            pk=request_id, case=case, handled_at__isnull=True
        ).update(handled_at=timezone.now(), handled_by=actor)
        if handled != 1:
            raise StaffActionError(gettext("This deletion request was already handled."))
        if erase:
            # A legal hold refuses (NotPossible): the whole step, the mark too, is undone.
            erase_on_request(case, actor=actor)
        request = DeletionRequest.objects.get(pk=request_id)
        record_event(
            case,
            "portal.deletion_handled",
            actor=actor,
            message=f"Deletion request handled: {note}",
            data={"request": request.pk},
        )
    return request


def reopen_case(case: Case, *, reason: str, actor: Any) -> Case:
    """Open a closed or withdrawn case again (outside the admin), with the reason in the
    timeline. Its links are checked and its notices generated again from now on."""
    reason = _note(reason, required=True)
    case = Case.objects.get(pk=case.pk)
    if case.status in ACTIVE_CASE_STATUSES:
        raise StaffActionError(
            gettext("The case is not closed or withdrawn: there is nothing to reopen.")
        )
    transition(
        case,
        Case.Status.OPEN,
        actor=actor,
        message=f"Reopened: {reason}",
        data={"reason": reason},
        fields={"closed_at": None, "close_reason": ""},
    )
    return case
