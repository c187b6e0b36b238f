"""Opening cases and giving them human references."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from takedown.models import AffectedPerson, Case, Counter
from takedown.workflow import record_event


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
