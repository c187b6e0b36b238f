"""Opening cases and giving them human references."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from takedown.errors import NotPossible
from takedown.models import AffectedPerson, Case, Counter, Notice, RecipientRole
from takedown.notices.render import store_element_check
from takedown.workflow import UNSENT_NOTICE_STATUSES, record_event


def next_reference(year: int | None = None) -> str:
    """TD-2026-0042: a per-year counter, incremented with a conditional update so two
    caseworkers opening cases at the same moment never get the same number."""
    year = year or timezone.localdate().year
    name = f"case-reference-{year}"
    with transaction.atomic():
        Counter.objects.get_or_create(name=name)
        Counter.objects.filter(name=name).update(value=F("value") + 1)
        value = Counter.objects.get(name=name).value
    return f"{settings.TAKEDOWN_CASE_PREFIX}-{year}-{value:04d}"


def open_case(
    *,
    category: str = Case.Category.OTHER,
    actor: Any = None,
    reference: str | None = None,
    person: dict[str, str] | None = None,
    **options: Any,
) -> Case:
    """Create a case (with its affected person, possibly without details yet) and log it."""
    with transaction.atomic():
        case = Case.objects.create(
            reference=reference or next_reference(), category=category, **options
        )
        AffectedPerson.objects.create(case=case, **(person or {}))
        record_event(
            case,
            "case.opened",
            actor=actor,
            visible_to_person=True,
            sentence="case.opened",
            data={"category": category},
        )
    return case


class ConsentError(NotPossible):
    """Consent cannot be recorded as asked; the message says why."""


def record_complaint_consent(
    case: Case, *, how: str, actor: Any = None, given_at: Any = None, by_person: bool = False
) -> None:
    """Record the person's explicit consent to be named as the complainant in a complaint to a
    data-protection authority (GDPR Art. 77: an authority cannot act on a complaint about a
    person's data without knowing whose they are). `how` says how it was given."""
    how = (how or "").strip()
    if not how:
        raise ConsentError(
            gettext("say how the person gave their consent (e.g. 'signed form', 'phone')")
        )
    given_at = given_at or timezone.now()
    if given_at > timezone.now():
        raise ConsentError(gettext("consent cannot be given in the future"))
    recorder = None if by_person else actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(
            complaint_consent_at=given_at,
            complaint_consent_how=how[:200],
            complaint_consent_recorded_by=recorder,
        )
        case.complaint_consent_at, case.complaint_consent_how = given_at, how[:200]
        case.complaint_consent_recorded_by = recorder
        record_event(
            case,
            "case.complaint_consent",
            actor=actor,
            visible_to_person=True,
            sentence="case.complaint_consent:given",
            data={"how": how[:200], "given_at": given_at.isoformat(), "by_person": by_person},
        )
    _recheck_complaints(case)


def withdraw_complaint_consent(case: Case, *, actor: Any = None, by_person: bool = False) -> None:
    """The person no longer wants to be named: complaints not yet sent cannot be approved."""
    if case.complaint_consent_at is None:
        raise ConsentError(gettext("no consent is recorded on this case"))
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(
            complaint_consent_at=None, complaint_consent_how="", complaint_consent_recorded_by=None
        )
        case.complaint_consent_at, case.complaint_consent_how = None, ""
        case.complaint_consent_recorded_by = None
        record_event(
            case,
            "case.complaint_consent",
            actor=actor,
            visible_to_person=True,
            sentence="case.complaint_consent:withdrawn",
            data={"withdrawn": True, "by_person": by_person},
        )
    _recheck_complaints(case)


def _recheck_complaints(case: Case) -> None:
    """Unsent letters to authorities name the person only with consent: their element check
    follows the consent at once (approval runs it again in any case)."""
    for notice in Notice.objects.filter(
        case=case, recipient_role=RecipientRole.DPA, status__in=UNSENT_NOTICE_STATUSES
    ):
        store_element_check(notice)
