"""StGB §77b: the person's own deadline for a criminal complaint (Strafantrag) in Germany.

Distributing a picture against §§22, 23 KUG (§33 KUG), §201a StGB and §184k StGB are prosecuted
only on the victim's complaint (§33(2) KUG, §205 StGB, §184k(2) StGB: unless the prosecution
finds a special public interest, which nobody can count on). The complaint must be filed within
three months (§77b(1) sentence 1). The period runs whether or not any notice is ever sent: the
case records the day the person learned of the act and warns from that day on.

The count (docs/law/germany.md):
- §77b(2): the period begins at the end of the day the person learned of the act and of the
  offender: that day is not counted, as in BGB §187(1), and the period ends at the end of the
  day of the third month with the same number (BGB §188(2), (3) by analogy: the prevailing view
  computes criminal-law periods with §§187ff BGB). periods.period_end counts exactly so.
- §77b(1) sentence 2 (since 2004) moves an end on a Saturday, Sunday or general public holiday
  to the end of the next working day itself, so BGB §193 is not needed. A "general" holiday is
  one of the place where the complaint is filed, which the product cannot know (police and
  prosecutors anywhere take it): only nationwide German holidays move the end. A state holiday
  could add a day; leaving it out can only make the stated date earlier, never too late.
- The start: the person may learn of the act before they learn who did it, and the period then
  starts only with the second. Whether and when someone "knew" the offender is argued in court
  after the fact, and a complaint against persons unknown is possible; so the product counts
  from the day the person learned of the act, the earlier date, and records the other for the
  lawyer.

Which cases: German law may apply where the person lives in Germany or a party publishing the
images (operator, platform, host) is there (§§3, 7, 9 StGB: the place of the act or of its
result; disputed for content merely reachable in Germany). Missing the period is irreversible
and a warning that proves unnecessary costs nothing, so every such case is warned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from takedown.errors import NotPossible
from takedown.models import Case, FoundLink, Notice, RecipientRole
from takedown.notices.periods import Skipped, period_end
from takedown.workflow import record_event

COUNTRY = "DE"
# §77b(1) sentence 1.
PERIOD_MONTHS = 3
# The queue flags a case this many days before its period ends.
WARN_DAYS = 14
# The complaint offences that may apply, by the case's category: §33 KUG covers any picture of
# a person distributed without consent; §201a StGB pictures of the most personal sphere or of
# helplessness (intimate and medical images); §184k StGB pictures of intimate body parts.
OFFENCES: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("§ 33 KUG", None),
    ("§ 201a StGB", frozenset({Case.Category.INTIMATE, Case.Category.MEDICAL})),
    ("§ 184k StGB", frozenset({Case.Category.INTIMATE})),
)
# Parties whose seat makes a case German: those that publish the images.
_PUBLISHING_PARTIES = ("operator", "platform", "hosting")


class KnowledgeError(NotPossible):
    """The dates given cannot be recorded; the message says why."""


@dataclass(frozen=True)
class ComplaintDeadline:
    """The §77b period of one case."""

    learned_on: dt.date  # the day of knowledge, not counted
    last_day: dt.date
    ends: dt.datetime  # the end of the last day, German time
    moved_for: tuple[Skipped, ...]
    offences: tuple[str, ...]

    def days_left(self, today: dt.date) -> int:
        return (self.last_day - today).days

    def due_soon(self, today: dt.date) -> bool:
        return 0 <= self.days_left(today) <= WARN_DAYS

    def passed(self, today: dt.date) -> bool:
        return self.days_left(today) < 0


def offences_for(category: str) -> tuple[str, ...]:
    return tuple(
        name for name, categories in OFFENCES if categories is None or category in categories
    )


def deadline_from(learned_on: dt.date, category: str) -> ComplaintDeadline:
    """The period for a person who learned of the act on `learned_on` (pure)."""
    # Noon: any moment of the day of knowledge, which is not counted.
    period = period_end(
        dt.datetime.combine(learned_on, dt.time(12)),
        PERIOD_MONTHS,
        "months",
        country=COUNTRY,
        ends_on_working_day=True,
    )
    return ComplaintDeadline(
        learned_on, period.due.date(), period.due, period.moved_for, offences_for(category)
    )


def german_case() -> ExpressionWrapper:
    """Per case row: whether German criminal law may apply (see the module docstring)."""
    publishing = Q()
    for party in _PUBLISHING_PARTIES:
        publishing |= Q(**{f"host__current__{party}__country": COUNTRY})
    return ExpressionWrapper(
        Q(person__country=COUNTRY)
        | Q(Exists(FoundLink.objects.filter(publishing, case=OuterRef("pk"))))
        | Q(
            Exists(
                Notice.objects.filter(case=OuterRef("pk"), recipient__country=COUNTRY).exclude(
                    recipient_role=RecipientRole.DPA
                )
            )
        ),
        output_field=BooleanField(),
    )


def is_german(case: Case, *, person_country: str | None = None) -> bool:
    """`person_country`, where the caller has the person at hand, spares the query for the
    commonest case: a person living in Germany."""
    if (person_country or "").upper() == COUNTRY:
        return True
    return bool(
        Case.objects.filter(pk=case.pk)
        .annotate(german=german_case())
        .values_list("german", flat=True)
        .first()
    )


def deadline_of(case: Case, *, german: bool | None = None) -> ComplaintDeadline | None:
    """The case's §77b period, or None: not a German case, or the day is not recorded yet.
    `german` saves the query where a list already annotated it (german_case)."""
    if case.learned_of_act_on is None:
        return None
    if not (is_german(case) if german is None else german):
        return None
    return deadline_from(case.learned_of_act_on, case.category)


def needs_date(case: Case, *, german: bool | None = None) -> bool:
    """A German case without the day of knowledge: the person or the caseworker is asked."""
    if case.learned_of_act_on is not None:
        return False
    return is_german(case) if german is None else german


def flag_due_soon(cases: Any, today: dt.date | None = None) -> None:
    """Set `complaint_deadline` on each case of a page annotated with german_case() as
    `german_case`: its period, where it ends within WARN_DAYS."""
    today = today or timezone.localdate()
    for case in cases:
        deadline = deadline_of(case, german=getattr(case, "german_case", False))
        case.complaint_deadline = deadline if deadline and deadline.due_soon(today) else None


def record_knowledge(
    case: Case,
    *,
    act_on: dt.date,
    offender_on: dt.date | None = None,
    actor: Any = None,
    by_person: bool = False,
) -> ComplaintDeadline | None:
    """Record when the person learned of the act (and of the offender); returns the period
    where it applies. The earlier record is replaced, and the change is in the audit trail."""
    today = timezone.localdate()
    if act_on > today or (offender_on is not None and offender_on > today):
        raise KnowledgeError(gettext("the day of knowledge cannot be in the future"))
    if offender_on is not None and offender_on < act_on:
        raise KnowledgeError(
            gettext(
                "the day the person learned of the offender cannot be before the day they "
                "learned of the images"
            )
        )
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(
            learned_of_act_on=act_on, learned_of_offender_on=offender_on
        )
        case.learned_of_act_on, case.learned_of_offender_on = act_on, offender_on
        deadline = deadline_of(case)
        record_event(
            case,
            "case.knowledge_recorded",
            actor=actor,
            visible_to_person=by_person,
            sentence="case.knowledge_recorded" if by_person else "",
            message=(
                ""
                if by_person
                else f"Learned of the act on {act_on.isoformat()}"
                + (f", of the offender on {offender_on.isoformat()}" if offender_on else "")
                + (
                    f"; criminal complaint (StGB §77b) by {deadline.last_day.isoformat()}."
                    if deadline
                    else "."
                )
            ),
            data={
                "act_on": act_on.isoformat(),
                "offender_on": offender_on.isoformat() if offender_on else None,
                "complaint_by": deadline.last_day.isoformat() if deadline else None,
            },
        )
    return deadline


def german_cases(cases: QuerySet[Case]) -> QuerySet[Case]:
    return cases.annotate(german_case=german_case())
