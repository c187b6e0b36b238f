"""What the affected person can do in the portal, and what staff read of it (services).

Every action writes an event: the ones the person did are visible on their own timeline; staff
find the rest in the audit trail. Status changes of the case go through the one transition
function, like everywhere else.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from takedown import mandates
from takedown.events import event_sentence
from takedown.models import AffectedPerson, Case, DeletionRequest, Mandate, PortalMessage
from takedown.web.portal import status
from takedown.web.portal.access import PortalError
from takedown.web.portal.status import summary
from takedown.workflow import ConcurrentChange, TransitionNotAllowed, record_event, transition

log = logging.getLogger(__name__)

MESSAGE_MAX = 5000
BY_PERSON = {"by": "person"}


# --- messages to the caseworker -----------------------------------------------------------------


def send_message(case: Case, body: str) -> PortalMessage:
    body = body.strip()
    if not body:
        raise PortalError("empty")
    if len(body) > MESSAGE_MAX:
        raise PortalError("too_long")
    with transaction.atomic():
        message = PortalMessage.objects.create(case=case, body=body)
        record_event(
            case,
            "portal.message_sent",
            visible_to_person=True,
            sentence="portal.message_sent",
            data={"message": message.pk, **BY_PERSON},
        )
    return message


def answer_person(case: Case, *, actor: Any, body: str) -> PortalMessage:
    """The caseworker answers in the portal. The person gets an e-mail that there is news,
    without the news: their mailbox may be read by someone else."""
    body = body.strip()
    if not body:
        raise PortalError("empty")
    if len(body) > MESSAGE_MAX:
        raise PortalError("too_long")
    with transaction.atomic():
        message = PortalMessage.objects.create(
            case=case, body=body, author=actor, read_at=timezone.now(), read_by=actor
        )
        record_event(
            case,
            "portal.answered",
            actor=actor,
            message="The caseworker answered the person in the portal.",
            data={"message": message.pk},
        )
        person = AffectedPerson.objects.filter(case=case).first()
        if person is not None and person.email.strip():
            address, language = person.email.strip(), person.language or "en"
            transaction.on_commit(lambda: _mail_news(case.pk, address, language))
    return message


def _mail_news(case_id: int, address: str, language: str) -> None:
    from django.core.mail import EmailMessage

    with translation.override(language):
        subject = _("News in your case with %(organisation)s") % {
            "organisation": settings.TAKEDOWN_ORGANISATION
        }
        body = _(
            "There is news in your case. Open the link to your portal that we gave you to "
            "read it.\n\nFor your privacy this e-mail says nothing more.\n\n%(organisation)s"
        ) % {"organisation": settings.TAKEDOWN_ORGANISATION}
    try:
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address]).send()
    except (OSError, smtplib.SMTPException) as exc:
        # The reason only: the address is personal data. The answer is in the portal anyway.
        log.warning("news e-mail for case %s not sent: %s", case_id, type(exc).__name__)


def portal_messages(case: Case) -> QuerySet[PortalMessage]:
    """For staff screens: the person's messages on this case, oldest first (bodies decrypted
    on access). The caller has checked that the user may open the case."""
    return PortalMessage.objects.filter(case=case).order_by("created_at", "pk")


def unread_message_count(case: Case) -> int:
    return PortalMessage.objects.filter(case=case, read_at__isnull=True).count()


def mark_messages_read(case: Case, *, actor: Any) -> int:
    """Mark the case's unread messages as read by `actor`; returns how many."""
    with transaction.atomic():
        count = PortalMessage.objects.filter(case=case, read_at__isnull=True).update(
            read_at=timezone.now(), read_by=actor if getattr(actor, "pk", None) else None
        )
        if count:
            record_event(
                case,
                "portal.messages_read",
                actor=actor,
                message="Messages from the affected person were read.",
                data={"count": count},
            )
    return count


# --- the mandate --------------------------------------------------------------------------------


def store_signed_mandate(case: Case, files: list[bytes]) -> Mandate:
    """The person uploads their signed authorisation: one PDF, or photos of the signed pages
    (see takedown.mandates, whose MandateRefused says which photo is at fault)."""
    return mandates.store_signed(case, files)


def revoke_mandate(case: Case) -> list[int]:
    """The person revokes their authorisation: nothing that needs it is sent any more."""
    try:
        return mandates.revoke(case)
    except mandates.MandateRefused as refused:
        raise PortalError(refused.code) from None


# --- pausing, resuming, withdrawing ---------------------------------------------------------------

_PERSON_MOVES = {
    "pause": Case.Status.PAUSED,
    "resume": Case.Status.OPEN,
    "withdraw": Case.Status.WITHDRAWN,
}


def paused_by_person(case: Case) -> bool:
    """Whether the case's latest pause was the person's own. A pause by staff, or one whose
    event does not say who (older events, code that did not tell), is not."""
    data = (
        case.events.filter(kind="case.paused").order_by("-at", "-pk").values_list("data", flat=True)
    ).first()
    return isinstance(data, dict) and data.get("by") == BY_PERSON["by"]


def allowed_moves(case: Case) -> list[str]:
    """What the person may do with their case now. Reopening a withdrawn or closed case is
    for the caseworker, who talks to the person first; so is resuming a case staff paused
    (they paused it for a reason, e.g. a pending legal question)."""
    if case.status == Case.Status.OPEN:
        return ["pause", "withdraw"]
    if case.status == Case.Status.PAUSED:
        return ["resume", "withdraw"] if paused_by_person(case) else ["withdraw"]
    return []


def change_case(case: Case, move: str) -> None:
    if move not in _PERSON_MOVES or move not in allowed_moves(case):
        raise PortalError("not_allowed")
    to = _PERSON_MOVES[move]
    try:
        transition(
            case,
            to,
            visible_to_person=True,
            sentence=f"case.{to}:person",
            data=BY_PERSON,
        )
    except (TransitionNotAllowed, ConcurrentChange):
        raise PortalError("changed") from None


# --- the person's data ----------------------------------------------------------------------------


def request_deletion(case: Case) -> DeletionRequest:
    """Record the wish; an open request is not repeated. A caseworker acts on it, because
    notices already sent and legal records may have to be kept."""
    with transaction.atomic():
        Case.objects.select_for_update().filter(pk=case.pk).first()
        existing = DeletionRequest.objects.filter(case=case, handled_at__isnull=True).first()
        if existing is not None:
            return existing
        request = DeletionRequest.objects.create(case=case)
        record_event(
            case,
            "portal.deletion_requested",
            visible_to_person=True,
            sentence="portal.deletion_requested",
            data={"request": request.pk, **BY_PERSON},
        )
    return request


def export_data(case: Case) -> dict[str, Any]:
    """The case as the person may see it, as JSON-ready data (GDPR Art. 15 and 20): their own
    details, the links with full addresses and states, the requests sent and to whom, their
    timeline and messages. Not the caseworker's notes, not reviewers' comments, not the texts
    of notices, not other cases."""
    try:
        person: AffectedPerson | None = case.person
    except AffectedPerson.DoesNotExist:
        person = None
    links = []
    page_number: int | None = 1
    while page_number:
        page, rows = status.link_page(case, page_number)
        urls = dict(case.links.filter(pk__in=[row.pk for row in rows]).values_list("pk", "url"))
        links += [
            {
                "address": urls[row.pk],
                "host": row.host,
                "state": row.state,
                "deadline": row.deadline.isoformat() if row.deadline else None,
                "removed_at": row.removed_at.isoformat() if row.removed_at else None,
            }
            for row in rows
        ]
        page_number = page.next_page_number() if page.has_next() else None
    notices = [
        {
            "recipient": name,
            "sent_at": sent_at.isoformat() if sent_at else None,
            "respond_by": when.isoformat() if (when := extended or due) else None,
        }
        for name, sent_at, due, extended in case.notices.filter(status="sent")
        .order_by("sent_at", "pk")
        .values_list("recipient__name", "sent_at", "due_at", "extended_until")
    ]
    events = case.events.filter(visible_to_person=True).select_related("notice__recipient")
    return {
        "case": {
            "reference": case.reference,
            "status": case.status,
            "opened_at": case.created_at.isoformat(),
        },
        "you": {
            "name": person.name if person else "",
            "email": person.email if person else "",
            "phone": person.phone if person else "",
            "country": person.country if person else "",
            "region": person.region if person else "",
            "language": person.language if person else "",
            # What the person told us for a criminal complaint (StGB §77b) and whether they
            # agreed to be named in a complaint to a data-protection authority.
            "learned_of_images_on": _iso(case.learned_of_act_on),
            "learned_who_shared_them_on": _iso(case.learned_of_offender_on),
            "agreed_to_be_named_in_complaints_at": _iso(case.complaint_consent_at),
        },
        "summary": summary(case),
        "links": links,
        "requests_sent": notices,
        "timeline": [
            {"at": event.at.isoformat(), "text": event_sentence(event)}
            for event in events.order_by("at", "pk")
        ],
        "messages": [
            {
                "at": message.created_at.isoformat(),
                "from": "caseworker" if message.author_id else "you",
                "text": message.body,
            }
            for message in portal_messages(case)
        ],
        "signed_authorisations": [
            {"uploaded_at": at.isoformat()}
            for at in case.mandates.filter(revoked_at__isnull=True).values_list(
                "uploaded_at", flat=True
            )
        ],
        "deletion_requests": [
            {
                "requested_at": request.requested_at.isoformat(),
                "handled_at": request.handled_at.isoformat() if request.handled_at else None,
            }
            for request in case.deletion_requests.all()
        ],
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
