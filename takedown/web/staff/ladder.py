"""The escalation ladder on the case page: an ordered list of named steps, each moved up or
down, removed, or added back, one button at a time (no codes typed by hand). Each change is
saved through escalate.set_ladder, which validates the whole ladder."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from takedown.checks import escalate
from takedown.checks.escalate import LADDER_STEPS, MANUAL, ladder_of
from takedown.errors import NotPossible
from takedown.models import Case, RecipientRole
from takedown.web.access import get_case_for, staff_required

STEP_NAMES: dict[str, Promise] = {
    RecipientRole.SITE_OPERATOR: gettext_lazy("Site operator"),
    RecipientRole.HOSTING: gettext_lazy("Hosting provider"),
    RecipientRole.CDN: gettext_lazy("CDN"),
    RecipientRole.REGISTRAR: gettext_lazy("Registrar"),
    RecipientRole.DPA: gettext_lazy("Complaint to the data-protection authority"),
    MANUAL: gettext_lazy("Manual legal step (court, police, lawyer)"),
}
OPS = ("up", "down", "remove", "add")


def step_name(step: str) -> str:
    return str(STEP_NAMES.get(step, step))


def ladder_rows(case: Case) -> dict[str, list[tuple[str, str]]]:
    """The ladder's steps with their names, and the steps that could be added."""
    steps = ladder_of(case)
    return {
        "steps": [(step, step_name(step)) for step in steps],
        "addable": [(step, step_name(step)) for step in LADDER_STEPS if step not in steps],
    }


def changed_ladder(steps: list[str], op: str, step: str) -> list[str]:
    """The ladder after one button: pure, so the page and its tests agree on the order."""
    steps = list(steps)
    if op == "add":
        if step in steps or step not in LADDER_STEPS:
            return steps
        # The manual legal step ends the ladder: a new step goes before it.
        at = steps.index(MANUAL) if MANUAL in steps and step != MANUAL else len(steps)
        steps.insert(at, step)
        return steps
    if step not in steps:
        return steps
    index = steps.index(step)
    if op == "remove":
        del steps[index]
    elif op == "up" and index > 0:
        steps[index - 1], steps[index] = steps[index], steps[index - 1]
    elif op == "down" and index < len(steps) - 1:
        steps[index + 1], steps[index] = steps[index], steps[index + 1]
    return steps


@staff_required
@require_POST
def ladder_step(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    op, step = request.POST.get("op", ""), request.POST.get("step", "")
    if op in OPS:
        new = changed_ladder(ladder_of(case), op, step)
        try:
            escalate.set_ladder(case, new, actor=request.user)
        except NotPossible as refused:
            messages.error(request, refused.message)
        else:
            messages.success(
                request,
                _("Escalation ladder saved: %(steps)s.")
                % {"steps": " → ".join(step_name(s) for s in new)},
            )
    return redirect(f"{case_url(case)}?ladder=1#ladder")


def case_url(case: Case) -> str:
    return reverse("staff:case", kwargs={"reference": case.reference})
