"""A team's own letter texts: saving versions, the element check of the text itself,
activating a version and going back to the built-in template.

The check of a text runs the notice's own element check (render.element_gaps) on sample data,
once for every (case category, recipient role) the regime covers: the statements and pieces
come from the built-in template files exactly as for a real notice, the team's text places
them, and the layout adds header, links and signature. A text that leaves out a required
statement for one combination (the research-exception paragraph a dataset maintainer must get,
the Art. 9 argument of a medical case) is reported for that combination. Only a complete
version can be activated, and the check runs again at activation, so a version saved before a
change to the built-in statements cannot go live without passing against the current ones.

Because a notice drafted from the active text states the same sentences the check looked for,
the notice's own element check (render.check_elements) still passes on it; it runs on every
notice as before, so a text that somehow went wrong is caught per notice at review as well.

What a reviewer approved is what is sent: a notice's unedited body follows its team's active
text, so activating another version or resetting returns the team's approved notices of that
regime and language that are not sent yet (approved, queued, awaiting manual submission) to
draft, in the same transaction, locking their rows first; a sender's claim (queued -> sending)
is a conditional update on the same rows, so each such notice is either withdrawn or already
being sent. A notice in review is left in review: the reviewer sees the new text, and the
review page's digest refuses an approval of a text the reviewer did not see. A notice with an
edited body is not touched: its text does not come from the template. Left open: a notice
claimed for sending just before the change is rendered just after it, with the new text.

Races: a save numbers its version under a lock on the team's row, so two admins saving at
once get versions n and n+1. Activation deactivates the others and activates one in a single
transaction; the partial unique constraint on LetterTemplate leaves at most one active version
even if two activations interleave.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from takedown.errors import NotPossible
from takedown.models import Case, LetterTemplate, Notice, RecipientRole, Team
from takedown.models.roles import CONTROLLER_ROLES
from takedown.notices import placeholders
from takedown.notices.regimes import (
    DEADLINE,
    REGIMES,
    Regime,
    deadline_basis,
    get_regime,
    regime_heading,
)
from takedown.notices.render import (
    ACCESS_REGIMES,
    ALWAYS_STATED,
    DATA_ELEMENTS,
    LABELS,
    compose_body,
    element_gaps,
    finding_label,
    letter_pieces,
    message_text,
    period_words,
    store_element_check,
)
from takedown.workflow import record_event, transition

# What a new text starts from: the built-in body template in the placeholder language.
STARTER = {
    "en": "Dear Sir or Madam,\n\n{intro}\n\n{request}\n\n{statements}\n\n{closing}\n",
    "de": "Sehr geehrte Damen und Herren,\n\n{intro}\n\n{request}\n\n{statements}\n\n{closing}\n",
}
# The sample case the check and the preview render; invented names, no one's data.
SAMPLE = {
    "en": {"recipient": "Example Hosting Ltd", "person": "Alex Example", "signer": "Sam Sample"},
    "de": {
        "recipient": "Beispiel Hosting GmbH",
        "person": "Erika Mustermann",
        "signer": "Max Muster",
    },
}
ACCESS_LABEL = gettext_noop("the access request (GDPR Art. 15), where the caseworker adds one")


class TemplateRefused(NotPossible):
    """The text breaks the placeholder rules; `problems` names each offending token."""

    def __init__(self, problems: list[placeholders.Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Combination:
    category: str
    role: str
    missing: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"category": self.category, "role": self.role, "missing": self.missing}


def statement_keys(regime: Regime) -> list[str]:
    """The element keys a text may place with {statement:…}."""
    keys = [e.key for e in regime.elements if e.key not in DATA_ELEMENTS]
    keys += [key for key in ALWAYS_STATED if key not in keys]
    if regime.code in ACCESS_REGIMES:
        keys.append("access_request")
    return keys


def combinations(regime: Regime) -> list[tuple[str, str]]:
    """Every (case category, recipient role) a notice under this regime can have."""
    categories = (
        sorted(regime.categories) if regime.categories is not None else list(Case.Category.values)
    )
    return [(category, role) for role in regime.roles for category in categories]


def sample_context(regime: Regime, lang: str, category: str, role: str) -> dict[str, Any]:
    """notice_context's keys with invented values: a first notice of a case in `category` to
    a recipient in `role`, with everything a complete notice has on file (a mandate, the
    person's consent where a letter names them, an access request where the regime has one)."""
    labels = LABELS[lang]
    sample = SAMPLE[lang]
    now = timezone.now()
    for_dpa = role == RecipientRole.DPA
    for_dataset = role == RecipientRole.DATASET_MAINTAINER
    law = labels["laws"].get(regime.code, "")
    title, citation = regime_heading(regime, lang)
    if for_dpa:
        title, citation = labels["complaint"][0], labels["complaint"][1].format(law=law)
    links = []
    for number in (1, 2):
        url = f"https://images.example/gallery/sample-{number}.jpg"
        links.append(
            {
                "url": url,
                "host": "",
                "first_seen": now - timedelta(days=number),
                "entry_id": f"sample-{number}" if for_dataset else "",
                "dataset": "sample-dataset" if for_dataset else "",
                "caption": "",
                "entry_note": "",
                "url_sha256": hashlib.sha256(url.encode()).hexdigest(),
                "reference": {},
            }
        )
    person = {"name": sample["person"]} if regime.discloses_person or for_dpa else None
    date = _date(now, lang)
    due = _date(regime.due_at(now), lang)
    reference = "TD-0000-0000"
    return {
        "lang": lang,
        "labels": labels,
        "kind": Notice.Kind.COMPLAINT if for_dpa else Notice.Kind.NOTICE,
        "case_reference": reference,
        "category": category,
        "special_category": category in ("medical", "intimate"),
        "minor": False,
        "child_data": False,
        "offences": [],
        "complaint_offences": [],
        "access_request": regime.code in ACCESS_REGIMES and role in CONTROLLER_ROLES,
        "owns_copyright": True,
        "date": date,
        "regime": {
            "code": regime.code,
            "title": title,
            "citation": citation,
            "law": law,
            "deadline_basis": deadline_basis(regime, lang),
        },
        "role": role,
        "role_label": labels["roles"].get(role, role),
        "recipient": {"name": sample["recipient"], "country": "", "trusted_flagger": False},
        "organisation": settings.TAKEDOWN_ORGANISATION.strip(),
        "notifier": {"email": settings.DEFAULT_FROM_EMAIL.strip()},
        "signer": {"name": sample["signer"]},
        "person": person,
        "links": links,
        "link_count": len(links),
        "links_without_url": 0,
        "unnamed_entries": 0,
        "foreign_links": 0,
        "attachment_names": [f"{reference}-links.csv"],
        "links_in_letter": True,
        "links_statement": "",
        "complaint": {
            "complainant": sample["person"],
            "authority_pending": False,
            "language_note": "",
            "controller": sample["recipient"],
            "facts": [],
            "answered": False,
            "ground": "",
            "ran_out": "",
            "extended": False,
        }
        if for_dpa
        else None,
        "datasets": ["sample-dataset"] if for_dataset else [],
        "entry_notes": [],
        "reference_hashes": False,
        "is_dataset": for_dataset,
        "deadline": {"period": period_words(regime, lang), "due": due},
        "mandate": {"on_file": True, "date": date},
        "parent": None,
    }


def _date(value: Any, lang: str) -> str:
    with translation.override(lang):
        return formats.date_format(timezone.localtime(value), LABELS[lang]["date_format"])


@dataclass(frozen=True)
class Sample:
    """One combination rendered with a text: the letter as plain text and what it lacks."""

    category: str
    role: str
    text: str
    missing: list[str]


def render_sample(regime: Regime, lang: str, text: str, category: str, role: str) -> Sample:
    context = sample_context(regime, lang, category, role)
    with translation.override(lang):
        statements, pieces = letter_pieces(lang, regime, role, context["kind"], category, context)
        body = compose_body(lang, regime, role, context, statements, pieces, text)
        context = {**context, "body": body}
        letter = message_text(context)
    missing = element_gaps(regime, category, role, context, statements, body, letter, agent=True)
    # Stated in every notice though not every regime requires it (render.ALWAYS_STATED), and
    # the access request wherever a caseworker can add one: a text must place them too.
    words = " ".join(body.split())
    for key, label in (("deadline", DEADLINE.label), ("access_request", ACCESS_LABEL)):
        statement = " ".join(statements.get(key, "").split())
        if statement and statement not in words and label not in missing:
            missing.append(label)
    return Sample(category, role, letter, missing)


def check_template(regime: Regime, lang: str, text: str) -> list[Combination]:
    """The element check of a text for every combination the regime covers."""
    return [
        Combination(category, role, render_sample(regime, lang, text, category, role).missing)
        for category, role in combinations(regime)
    ]


def _check_data(found: list[Combination]) -> dict[str, Any]:
    return {
        "combinations": [c.as_dict() for c in found],
        "complete": all(not c.missing for c in found),
    }


def _key(team: Team, regime: str, lang: str) -> dict[str, Any]:
    return {"team": team, "regime": regime, "language": lang}


def _regime_for(code: str, lang: str) -> Regime:
    regime = get_regime(code)
    if lang not in regime.languages:
        raise NotPossible(_("This regime has no letters in that language."))
    return regime


def save_template(team: Team, regime_code: str, lang: str, text: str, actor: Any) -> LetterTemplate:
    """Store `text` as the next version (inactive), with its element check. Raises
    TemplateRefused for text that breaks the placeholder rules; nothing is stored then."""
    regime = _regime_for(regime_code, lang)
    text = text.replace("\r\n", "\n").strip() + "\n"
    found = placeholders.problems(text, statement_keys(regime))
    if found:
        raise TemplateRefused(found)
    check = _check_data(check_template(regime, lang, text))
    with transaction.atomic():
        # Numbering under the team's row lock: concurrent saves get consecutive numbers.
        list(Team.objects.select_for_update().filter(pk=team.pk).values_list("pk", flat=True))
        key = _key(team, regime.code, lang)
        last = LetterTemplate.objects.filter(**key).aggregate(n=Max("number"))["n"] or 0
        version = LetterTemplate.objects.create(
            **key,
            number=last + 1,
            text=text,
            element_check=check,
            complete=check["complete"],
            created_by=actor,
        )
        record_event(
            None,
            "letter_template.saved",
            actor=actor,
            message=f"Letter text v{version.number} saved",
            data=_event_data(version),
        )
    return version


def _event_data(version: LetterTemplate) -> dict[str, Any]:
    return {
        "team": version.team_id,
        "regime": version.regime,
        "language": version.language,
        "version": version.number,
        "complete": version.complete,
    }


def recheck(version: LetterTemplate) -> dict[str, Any]:
    """Run the element check of a saved version again, against today's built-in statements
    (a new release may word or require them differently), and store the result."""
    regime = _regime_for(version.regime, version.language)
    check = _check_data(check_template(regime, version.language, version.text))
    if check != version.element_check:
        LetterTemplate.objects.filter(pk=version.pk).update(
            element_check=check, complete=check["complete"]
        )
        version.element_check, version.complete = check, check["complete"]
    return check


def activate(version: LetterTemplate, actor: Any) -> LetterTemplate:
    """Make `version` the one its team's notices use. The element check runs again first
    (against today's built-in statements); NotPossible if anything is missing."""
    regime = _regime_for(version.regime, version.language)
    check = recheck(version)
    if not check["complete"]:
        raise NotPossible(
            _("This version lacks required elements and cannot be used: %(list)s")
            % {"list": _missing_summary(check)}
        )
    with transaction.atomic():
        key = _key(version.team, version.regime, version.language)
        LetterTemplate.objects.filter(**key, active=True).exclude(pk=version.pk).update(
            active=False
        )
        changed = LetterTemplate.objects.filter(pk=version.pk, complete=True).update(
            active=True, activated_at=timezone.now()
        )
        if changed != 1:
            raise NotPossible(_("This version changed meanwhile; look at it again."))
        version.refresh_from_db()
        withdrawn = _withdraw_approvals(version.team, regime, version.language, actor)
        record_event(
            None,
            "letter_template.activated",
            actor=actor,
            message=f"Letter text v{version.number} activated",
            data={**_event_data(version), "withdrawn": withdrawn},
        )
    _recheck(withdrawn)
    return version


def _missing_summary(check: dict[str, Any]) -> str:
    """The findings of every combination, once each, in the active language."""
    labels: list[str] = []
    for combination in check["combinations"]:
        labels += [label for label in combination["missing"] if label not in labels]
    return ", ".join(finding_label(label) for label in labels)


def reset(team: Team, regime_code: str, lang: str, actor: Any) -> int:
    """Back to the built-in template: no version stays active (the history is kept).
    Returns how many versions were deactivated (0: the built-in one was in use already)."""
    regime = _regime_for(regime_code, lang)
    with transaction.atomic():
        changed = LetterTemplate.objects.filter(
            **_key(team, regime.code, lang), active=True
        ).update(active=False)
        withdrawn: list[int] = []
        if changed:
            withdrawn = _withdraw_approvals(team, regime, lang, actor)
            record_event(
                None,
                "letter_template.reset",
                actor=actor,
                message="Letter text reset to the built-in template",
                data={
                    "team": team.pk,
                    "regime": regime.code,
                    "language": lang,
                    "withdrawn": withdrawn,
                },
            )
    _recheck(withdrawn)
    return changed


# Approved but not sent: their text would change without a reviewer seeing it.
APPROVED_UNSENT = (
    Notice.Status.APPROVED,
    Notice.Status.QUEUED,
    Notice.Status.AWAITING_MANUAL,
)


def _withdraw_approvals(team: Team, regime: Regime, lang: str, actor: Any) -> list[int]:
    """Return the team's approved, unsent, unedited notices whose body this text gives to
    draft (see the module docstring). Call inside the transaction that changes the text."""
    notices = Notice.objects.select_for_update().filter(
        case__team=team,
        regime=regime.code,
        status__in=APPROVED_UNSENT,
        body_text="",
    )
    notices = notices.exclude(kind=Notice.Kind.MESSAGE)
    # render.language_for: a language the regime has no letters in is written in English.
    if lang == "en":
        notices = notices.exclude(language__in=[code for code in regime.languages if code != "en"])
    else:
        notices = notices.filter(language=lang)
    withdrawn = []
    for notice in notices:
        transition(
            notice,
            Notice.Status.DRAFT,
            actor=actor,
            message="The team's letter text changed: the approval was withdrawn.",
            fields={
                "approved_by": None,
                "approved_at": None,
                "next_attempt_at": None,
                # A confirmation covered the text the reviewer saw, not this one.
                "discloses_person": False,
                "disclosure_confirmed_by": None,
            },
        )
        withdrawn.append(notice.pk)
    return withdrawn


def _recheck(pks: list[int]) -> None:
    for notice in Notice.objects.filter(pk__in=pks).select_related("case"):
        store_element_check(notice)


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    regime: Regime
    language: str
    active: LetterTemplate | None
    latest: LetterTemplate | None

    @property
    def customised(self) -> bool:
        return self.active is not None

    @property
    def pending(self) -> LetterTemplate | None:
        """A saved version newer than the active one (a draft not in use)."""
        if self.latest is None or self.latest == self.active:
            return None
        if self.active is not None and self.latest.number < self.active.number:
            return None
        return self.latest


def statuses(team: Team) -> list[Status]:
    """Every regime and language with the team's active and latest version (two queries'
    worth of rows: the versions of one team are few)."""
    active: dict[tuple[str, str], LetterTemplate] = {}
    latest: dict[tuple[str, str], LetterTemplate] = {}
    for version in LetterTemplate.objects.filter(team=team).order_by("number"):
        key = (version.regime, version.language)
        latest[key] = version
        if version.active:
            active[key] = version
    return [
        Status(regime, lang, active.get((code, lang)), latest.get((code, lang)))
        for code, regime in REGIMES.items()
        for lang in regime.languages
    ]


def starting_text(team: Team, regime: Regime, lang: str) -> str:
    """What the editor shows: the latest saved version, else the built-in body."""
    latest = (
        LetterTemplate.objects.filter(**_key(team, regime.code, lang))
        .order_by("-number")
        .values_list("text", flat=True)
        .first()
    )
    return latest or STARTER[lang]
