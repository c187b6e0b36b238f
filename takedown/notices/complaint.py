"""What a complaint to a data-protection authority states, names and attaches.

A complaint under GDPR Art. 77 states the facts as recorded, nothing more: when each request to
the controller was sent, each answer with its date and gist, and the deadline that ran out. It
never says the controller "has not acted" when an answer is on record. It names the complainant,
which needs the person's explicit consent recorded on the case (the authority cannot act on a
complaint about a person's data without knowing whose they are), and attaches the original
request, the recorded answers and the signed power of attorney (docs/law/gdpr.md).

render.py calls in here for the letters addressed to an authority (recipient role "dpa"); this
module reads the case and its events and leaves the letter's layout to render.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_noop

from takedown.crypto import open_text
from takedown.models import CaseEvent, Mandate, Notice, RecipientRole
from takedown.models.case import AffectedPerson

Kind, Basis = Notice.Kind, Notice.AuthorityBasis
# The languages the complaint templates are written in.
TEMPLATE_LANGUAGES = ("en", "de")
# An answer's gist in the letter: its first characters (the full text is attached).
GIST_CHARS = 300
# Where the directory has no "Complaint language" note (takedown.directory.importers).
_COUNTRY_LANGUAGE = {"DE": "de", "AT": "de", "LI": "de", "GB": "en", "IE": "en", "MT": "en"}
_LANGUAGE_NOTE = re.compile(r"^Complaint language: *([a-z]{2})\b", re.MULTILINE)
MIMETYPE_SUFFIX = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


@dataclass
class ComplaintFile:
    filename: str
    content: bytes
    mimetype: str


def is_to_authority(notice: Notice) -> bool:
    return notice.recipient_role == RecipientRole.DPA


def controller_request(notice: Notice) -> Notice | None:
    """The GDPR request the complaint is about: a complaint's parent; for a reminder of a
    complaint, the complaint's parent."""
    parent = notice.parent
    if notice.kind == Kind.REMINDER and parent is not None and parent.kind == Kind.COMPLAINT:
        parent = parent.parent
    return parent if parent is not None and parent.kind != Kind.COMPLAINT else None


def authority_language(authority: Any) -> str:
    """The language the authority takes complaints in: the directory's note, else its
    country's where we know it; "" when unknown."""
    if found := _LANGUAGE_NOTE.search(authority.notes or ""):
        return found.group(1)
    return _COUNTRY_LANGUAGE.get((authority.country or "").upper(), "")


def _complainant(notice: Notice) -> str:
    """The person's name, only with their consent to be named in a complaint."""
    if notice.case.complaint_consent_at is None:
        return ""
    person = AffectedPerson.objects.filter(case_id=notice.case_id).first()
    return person.name.strip() if person else ""


def answers(request: Notice) -> list[dict[str, Any]]:
    """Every answer recorded for the request (a reply to one of its reminders included), in the
    order received, from the audit trail; the request's own reply where no event holds one."""
    rows = []
    for event in CaseEvent.objects.filter(
        case_id=request.case_id, kind="notice.reply", data__notice=request.pk
    ).order_by("at", "pk"):
        received = parse_datetime(str(event.data.get("received_at") or "")) or event.at
        extension = parse_datetime(str(event.data.get("extension_until") or ""))
        rows.append(
            {
                "at": received,
                "outcome": str(event.data.get("outcome", "")),
                "text": open_text(str(event.data.get("text_sealed") or "")),
                "extension_until": extension,
            }
        )
    if rows and not rows[-1]["text"]:
        rows[-1]["text"] = request.reply_text
    if not rows and request.replied_at is not None:
        rows.append(
            {
                "at": request.replied_at,
                "outcome": request.reply_outcome,
                "text": request.reply_text,
                "extension_until": None,
            }
        )
    return rows


def _gist(text: str) -> str:
    """The answer's first words, without a closing full stop (the letter's sentence adds one
    after the quotation marks)."""
    text = " ".join(text.split())
    text = text if len(text) <= GIST_CHARS else text[: GIST_CHARS - 1].rstrip() + "…"
    return text.rstrip(".")


def _ground(request: Notice) -> str:
    if request.reply_outcome == Notice.Outcome.REFUSED:
        return "refused"
    if request.reply_outcome == Notice.Outcome.PARTLY:
        return "partly"
    return "ran_out" if request.overdue_at is not None else ""


def names(notice: Notice) -> list[str]:
    """The files a letter to an authority carries besides the links list."""
    request = controller_request(notice) if notice.kind != Kind.REMINDER else None
    if request is None:
        return []
    reference = notice.case.reference
    found = [f"{reference}-request-{request.pk}.txt"]
    if answers(request):
        found.append(f"{reference}-answers.txt")
    if (mandate := _mandate(notice)) is not None:
        found.append(f"{reference}-power-of-attorney.{_suffix(mandate)}")
    return found


def context(notice: Notice, fmt: Callable[[datetime], str]) -> dict[str, Any] | None:
    """The complaint's facts for the templates (`complaint`), dates written with `fmt`."""
    if not is_to_authority(notice):
        return None
    request = controller_request(notice)
    language = authority_language(notice.recipient)
    facts: dict[str, Any] = {
        "complainant": _complainant(notice),
        "authority_pending": notice.authority_basis == Basis.PENDING,
        # Noted in the letter when we cannot write in the authority's language.
        "language_note": _language_name(language)
        if language and language != notice.language and language not in TEMPLATE_LANGUAGES
        else "",
        "controller": "",
        # What happened, in order: each request sent ("request", "reminder") and each answer.
        "facts": [],
        "answered": False,
        "ground": "",
        "ran_out": "",
        "extended": False,
    }
    if request is None:
        return facts
    reminders = request.follow_ups.filter(kind=Kind.REMINDER, status=Notice.Status.SENT)
    sent = [request, *reminders.order_by("sent_at", "pk")]
    happened: list[tuple[datetime, dict[str, Any]]] = [
        (
            item.sent_at or item.created_at,
            {"kind": "request" if item.pk == request.pk else "reminder"},
        )
        for item in sent
    ]
    happened += [
        (
            row["at"],
            {
                "kind": "answer",
                "outcome": row["outcome"],
                "gist": _gist(row["text"]),
                "extension_until": fmt(row["extension_until"]) if row["extension_until"] else "",
            },
        )
        for row in answers(request)
    ]
    happened.sort(key=lambda item: item[0])
    facts.update(
        controller=request.recipient.name,
        facts=[{**fact, "date": fmt(at)} for at, fact in happened],
        answered=any(fact["kind"] == "answer" for _, fact in happened),
        ground=_ground(request),
        ran_out=fmt(request.extended_until or request.due_at) if request.due_at else "",
        extended=request.extended_until is not None,
    )
    return facts


def named_person(notice: Notice) -> dict[str, str] | None:
    """The person a letter to an authority is on behalf of, by name, once they consented."""
    name = _complainant(notice) if is_to_authority(notice) else ""
    return {"name": name} if name else None


# What missing() can find, stored in English like a regime element's label (see
# render.finding_label).
NO_AUTHORITY = gettext_noop(
    "the competent authority, chosen by the caseworker (the controller's seat is "
    "not known well enough to tell)"
)
NO_CONSENT = gettext_noop(
    "the person's consent to be named as the complainant, recorded on the case"
)
NO_NAME = gettext_noop("the complainant's name")
FINDINGS = (NO_AUTHORITY, NO_CONSENT, NO_NAME)


def missing(notice: Notice) -> list[str]:
    """What a letter to an authority lacks besides the regime's elements."""
    if not is_to_authority(notice):
        return []
    found = []
    if notice.kind == Kind.COMPLAINT and notice.authority_basis == Basis.PENDING:
        found.append(NO_AUTHORITY)
    if notice.case.complaint_consent_at is None:
        found.append(NO_CONSENT)
    elif not _complainant(notice):
        found.append(NO_NAME)
    return found


def files(notice: Notice, letter_text: Callable[[Notice], str]) -> list[ComplaintFile]:
    """The original request (its text, as `letter_text` renders it), the recorded answers and
    the signed power of attorney."""
    request = controller_request(notice) if notice.kind != Kind.REMINDER else None
    if request is None:
        return []
    wanted = names(notice)
    out = [ComplaintFile(wanted[0], letter_text(request).encode(), "text/plain")]
    if rows := answers(request):
        lines = []
        for row in rows:
            lines.append(f"{row['at'].isoformat()}  {row['outcome'] or 'answer'}")
            if row["extension_until"]:
                lines.append(f"extension until {row['extension_until'].date().isoformat()}")
            lines += [row["text"].strip(), ""]
        out.append(ComplaintFile(wanted[1], "\n".join(lines).encode(), "text/plain"))
    if (mandate := _mandate(notice)) is not None:
        out.append(ComplaintFile(wanted[-1], bytes(mandate.signed_document), mandate.content_type))
    return out


def _mandate(notice: Notice) -> Mandate | None:
    return (
        Mandate.objects.filter(case_id=notice.case_id, revoked_at__isnull=True)
        .order_by("-uploaded_at")
        .first()
    )


def _suffix(mandate: Mandate) -> str:
    return MIMETYPE_SUFFIX.get(mandate.content_type, "bin")


def _language_name(code: str) -> str:
    try:
        return str(translation.get_language_info(code)["name"])
    except KeyError:
        return code
