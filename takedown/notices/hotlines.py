"""Minors: intimate images of a person who was a minor go to a hotline, never into an ordinary
notice (docs/law/minors.md). Such material may be child sexual abuse material: a letter that
describes it, or that passes its URLs to a site operator, spreads it further and may warn the
offender. The hotlines of the INHOPE network (NCMEC for US platforms) work with the police and
the hosts; which one is configured per country in settings.TAKEDOWN_HOTLINES.

`generate_notices` drafts nothing for such a case; it records one manual step per host country
instead, naming the hotline(s), for a caseworker to report through the hotline's own form.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction

from takedown.models import Case, Notice
from takedown.workflow import record_event, transition

MANUAL_TASK = "task.manual_legal_step"


def routes_to_hotline(case: Case) -> bool:
    return case.is_minor and case.category == Case.Category.INTIMATE


def hotlines_for(country: str) -> list[dict[str, str]]:
    """The hotlines for content hosted in `country`; the catch-all ("*") where none is set."""
    table: dict[str, list[dict[str, str]]] = settings.TAKEDOWN_HOTLINES
    return list(table.get(country.upper()) or table.get("*") or [])


def record_hotline_steps(
    case: Case, links_by_country: dict[str, list[int]], *, actor: Any = None
) -> list[dict[str, Any]]:
    """One manual step per host country not yet recorded; returns the steps (new and old)."""
    steps = []
    with transaction.atomic():
        for country, links in sorted(links_by_country.items()):
            hotlines = hotlines_for(country)
            step = {"country": country, "hotlines": hotlines, "links": list(links)}
            steps.append(step)
            if case.events.filter(kind=MANUAL_TASK, data__hotline_country=country).exists():
                continue
            names = "; ".join(f"{h['name']} ({h['url']})" for h in hotlines) or "none configured"
            record_event(
                case,
                MANUAL_TASK,
                actor=actor,
                message=(
                    f"The person was a minor: report the {len(links)} link(s) hosted in"
                    f" {country or 'an unknown country'} to the hotline, not in a notice: {names}."
                    " Give the URLs only; describe nothing."
                ),
                data={"hotline_country": country, "hotlines": hotlines, "links": step["links"]},
            )
    return steps


def by_host_country(links: Iterable[tuple[int, str]]) -> dict[str, list[int]]:
    """Link ids grouped by the country of their host's first recipient."""
    grouped: dict[str, list[int]] = {}
    for link_id, country in links:
        grouped.setdefault(country.upper(), []).append(link_id)
    return grouped


def cancel_unsent(case: Case, *, actor: Any = None) -> list[int]:
    """Notices drafted before the case was marked as a minor's never go out."""
    unsent = (
        Notice.Status.DRAFT,
        Notice.Status.IN_REVIEW,
        Notice.Status.APPROVED,
        Notice.Status.QUEUED,
        Notice.Status.AWAITING_MANUAL,
    )
    cancelled = []
    for notice in Notice.objects.filter(case=case, status__in=unsent):
        transition(
            notice,
            Notice.Status.CANCELLED,
            actor=actor,
            message="The person was a minor: the images go to a hotline, not into a notice.",
        )
        cancelled.append(notice.pk)
    return cancelled
