"""Recipients that accept only a web form: the text for each of the form's fields and the
checklist the caseworker follows to submit it by hand.

The form is directory data (Contact.form_fields: the fields it asks for, in its order, each
naming what goes in it). The values come from the notice as it would be sent: the same
subject, letter text, links and legal basis, so a web-form notice says what an e-mail would.
The caseworker submits and records the confirmation number (send.mark_submitted); later answers
quoting that number find the notice (replies/inbound.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext, gettext_noop

from takedown.models import AffectedPerson, Notice
from takedown.notices.render import notice_context, render_notice, shorten

# What a form field can be filled with.
SOURCES = {
    "subject": "The notice's subject",
    "description": "The letter text",
    "urls": "The links, one a line",
    "reference": "Our case reference",
    "organisation": "Our organisation",
    "name": "The signer's name",
    "email": "Our contact e-mail",
    "legal_basis": "The legal basis",
    "country": "The recipient's country",
    "deadline": "The deadline",
    # Search engines' forms (docs/law/search-engines.md).
    "person_name": "The person's name (only once a reviewer confirmed its disclosure)",
    "queries": "The searches that show the results: the person's name",
    "person_country": "The person's country of residence",
    "relation": "Our relation to the person",
    "fixed": "A value the directory gives (a choice on the form)",
    "by_hand": "Filled in by the caseworker (the directory says how)",
}
# Why a field that needs the person's name is empty.
NAME_WITHHELD = gettext_noop(
    "the person's name goes out only after a reviewer confirmed its disclosure"
)


@dataclass
class FormField:
    label: str
    source: str
    value: str
    note: str = ""  # why the value is empty or shortened


@dataclass
class PreparedForm:
    url: str
    fields: list[FormField]
    checklist: list[str]


def prepare_form(notice: Notice) -> PreparedForm:
    """The values for the notice's form and the steps to submit it. The values are the
    notice's (in its language); the labels the directory gives are the form's own; the steps
    and notes are for the caseworker, in the active language."""
    rendered = render_notice(notice, with_pdf=False, with_data=False)
    context = notice_context(notice)
    url = (notice.to_address or (notice.contact.value if notice.contact else "")).strip()
    spec = list(notice.contact.form_fields) if notice.contact is not None else []
    context = {**context, "person_country": _person_country(notice)}
    fields = [_field(item, rendered.subject, rendered.text, context) for item in spec]
    if not fields:
        # No field list in the directory: the two every form has.
        fields = [
            _field(
                {"label": gettext("Subject"), "source": "subject"},
                rendered.subject,
                rendered.text,
                context,
            ),
            _field(
                {"label": gettext("Description"), "source": "description"},
                rendered.subject,
                rendered.text,
                context,
            ),
        ]
    checklist = [
        gettext("Open the form: %(url)s") % {"url": url},
        *(gettext("Fill in “%(label)s”") % {"label": f.label} for f in fields),
        gettext(
            "Attach the notice PDF (%(file)s) and the links list, where the form takes attachments"
        )
        % {"file": f"{context['case_reference']}-notice-{notice.pk}.pdf"},
        gettext("Submit the form and keep its confirmation page"),
        gettext(
            "Record the confirmation number here (Mark as submitted): answers quoting it are "
            "matched to this notice"
        ),
    ]
    return PreparedForm(url, fields, checklist)


def _field(item: dict[str, Any], subject: str, text: str, context: dict[str, Any]) -> FormField:
    label = str(item.get("label", "")).strip() or gettext("Field")
    source = str(item.get("source", "")).strip()
    value = _value(source, subject, text, context, item)
    field = FormField(label, source, value)
    if source not in SOURCES:
        field.note = gettext("unknown source in the directory: fill in by hand")
    elif source in ("person_name", "queries") and not value:
        field.note = gettext(NAME_WITHHELD)
    elif source == "by_hand":
        # A hint of the directory seed has a translation; one written in the admin shows as is.
        hint = str(item.get("hint", "")).strip()
        field.note = gettext(hint) if hint else gettext("fill in by hand")
    limit = item.get("max_length")
    if isinstance(limit, int) and 0 < limit < len(value):
        field.value = shorten(value, limit)
        field.note = gettext(
            "shortened to the form's %(limit)d characters: attach the PDF for the rest"
        ) % {"limit": limit}
    return field


def _value(
    source: str, subject: str, text: str, context: dict[str, Any], item: dict[str, Any]
) -> str:
    if source == "fixed":
        return str(item.get("value", ""))
    regime = context["regime"]
    person = context["person"]
    values = {
        "subject": subject,
        "description": text,
        "urls": "\n".join(row["url"] for row in context["links"]),
        "reference": context["case_reference"],
        "organisation": context["organisation"],
        "name": context["signer"]["name"],
        "email": context["notifier"]["email"],
        "legal_basis": " ".join(part for part in (regime["title"], regime["citation"]) if part),
        "country": context["recipient"]["country"],
        "deadline": context["deadline"]["due"] or context["deadline"]["period"],
        "person_name": person["name"] if person else "",
        "queries": person["name"] if person else "",
        "person_country": context["person_country"],
        "relation": "Authorised representative (written power of attorney)",
    }
    return values.get(source, "")


def _person_country(notice: Notice) -> str:
    try:
        return notice.case.person.country
    except AffectedPerson.DoesNotExist:
        return ""
