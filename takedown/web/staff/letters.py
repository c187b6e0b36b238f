"""Admins edit a team's letter texts per regime and language (takedown.notices.letters): the
list of regimes and languages with their state, the editor with the placeholder reference,
the element check of the text per (category, recipient role) and a preview as plain text, and
going back to the built-in template after a confirmation."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from takedown.errors import NotPossible
from takedown.models import Case, LetterTemplate, RecipientRole, Team
from takedown.notices import letters, placeholders
from takedown.notices.regimes import DEADLINE, REGIMES, Regime, regime_title
from takedown.notices.render import finding_label
from takedown.web.access import admin_required
from takedown.web.staff.forms import in_letter_language

ROLE_NAMES: dict[str, Promise] = {
    RecipientRole.SITE_OPERATOR: gettext_lazy("Site operator"),
    RecipientRole.HOSTING: gettext_lazy("Hosting provider"),
    RecipientRole.CDN: gettext_lazy("CDN"),
    RecipientRole.REGISTRAR: gettext_lazy("Registrar"),
    RecipientRole.DATASET_MAINTAINER: gettext_lazy("Dataset maintainer"),
    RecipientRole.DPA: gettext_lazy("Data-protection authority"),
}
CATEGORY_NAMES: dict[str, Promise] = {
    Case.Category.MEDICAL: gettext_lazy("Medical image"),
    Case.Category.INTIMATE: gettext_lazy("Intimate image"),
    Case.Category.PERSONAL: gettext_lazy("Personal photo"),
    Case.Category.OTHER: gettext_lazy("Other image"),
}
LANGUAGE_NAMES: dict[str, Promise] = {"en": gettext_lazy("English"), "de": gettext_lazy("German")}


class LetterForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Letter text"),
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "true"}),
        max_length=placeholders.MAX_LENGTH,
        strip=False,
        help_text=gettext_lazy(
            "Plain text; paragraphs are separated by a blank line. Placeholders in braces are "
            "filled in for each notice (see the list below). The header, the list of links and "
            "the signature are added around this text."
        ),
    )


def _team(request: HttpRequest, team_id: int | str | None = None) -> Team | None:
    teams = Team.objects.order_by("name")
    if team_id is None:
        team_id = request.GET.get("team") or None
    if team_id is None:
        return teams.first()
    try:
        return teams.get(pk=int(team_id))
    except (ValueError, Team.DoesNotExist):
        raise Http404("No such team") from None


def _regime(code: str, language: str) -> Regime:
    regime = REGIMES.get(code)
    if regime is None or language not in regime.languages:
        raise Http404("No such regime or language")
    return regime


@admin_required
def template_list(request: HttpRequest) -> HttpResponse:
    team = _team(request)
    rows = []
    if team is not None:
        for status in letters.statuses(team):
            rows.append(
                {
                    "status": status,
                    "title": regime_title(status.regime),
                    "language": LANGUAGE_NAMES[status.language],
                    "url": reverse(
                        "staff:template_edit",
                        args=[team.pk, status.regime.code, status.language],
                    ),
                }
            )
    return render(
        request,
        "staff/letter_templates.html",
        {"team": team, "teams": Team.objects.order_by("name"), "rows": rows},
    )


def _combination_rows(check: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "category": CATEGORY_NAMES.get(item["category"], item["category"]),
            "role": ROLE_NAMES.get(item["role"], item["role"]),
            "category_code": item["category"],
            "role_code": item["role"],
            # Stored in English (the audit language); shown in the page's language.
            "missing": [finding_label(label) for label in item["missing"]],
        }
        for item in check.get("combinations", [])
    ]


def _statement_reference(regime: Regime) -> list[tuple[str, str]]:
    labels = {element.key: element.label for element in regime.elements}
    labels.setdefault("deadline", DEADLINE.label)
    labels.setdefault("access_request", letters.ACCESS_LABEL)
    return [
        (f"{{{placeholders.STATEMENT}:{key}}}", _(labels.get(key, key)))
        for key in letters.statement_keys(regime)
    ]


@admin_required
def template_edit(request: HttpRequest, team: int, regime: str, language: str) -> HttpResponse:
    chosen = _team(request, team)
    assert chosen is not None  # _team raises Http404 for an unknown id
    the_regime = _regime(regime, language)
    edit_url = reverse("staff:template_edit", args=[chosen.pk, regime, language])
    versions = list(
        LetterTemplate.objects.filter(team=chosen, regime=regime, language=language)
        .select_related("created_by")
        .order_by("-number")
    )
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "use_version":
            version = get_object_or_404(
                LetterTemplate,
                pk=request.POST.get("version") or 0,
                team=chosen,
                regime=regime,
                language=language,
            )
            try:
                letters.activate(version, request.user)
            except NotPossible as refused:
                messages.error(request, refused.message)
            else:
                messages.success(
                    request,
                    _("Version %(n)s is now used for this team's notices.") % {"n": version.number},
                )
            return redirect(edit_url)
        form = LetterForm(request.POST)
        if form.is_valid():
            try:
                version = letters.save_template(
                    chosen, regime, language, form.cleaned_data["text"], request.user
                )
            except letters.TemplateRefused as refused:
                for problem in refused.problems:
                    form.add_error("text", problem.message)
            except NotPossible as refused:
                messages.error(request, refused.message)
            else:
                _report_saved(request, version, activate=action == "activate")
                return redirect(edit_url)
        return _edit_page(request, chosen, the_regime, language, form, versions, status=400)
    form = LetterForm(initial={"text": letters.starting_text(chosen, the_regime, language)})
    return _edit_page(request, chosen, the_regime, language, form, versions)


def _report_saved(request: HttpRequest, version: LetterTemplate, *, activate: bool) -> None:
    missing = sum(1 for item in version.element_check["combinations"] if item["missing"])
    if missing:
        messages.warning(
            request,
            ngettext(
                "Saved as version %(n)s, a draft: the element check finds elements missing for "
                "%(count)s combination. It cannot be used until they are added.",
                "Saved as version %(n)s, a draft: the element check finds elements missing for "
                "%(count)s combinations. It cannot be used until they are added.",
                missing,
            )
            % {"n": version.number, "count": missing},
        )
        return
    if not activate:
        messages.success(
            request,
            _(
                "Saved as version %(n)s. The element check finds nothing missing; use it when "
                "you are ready."
            )
            % {"n": version.number},
        )
        return
    try:
        letters.activate(version, request.user)
    except NotPossible as refused:
        messages.error(request, refused.message)
    else:
        messages.success(
            request,
            _(
                "Saved as version %(n)s and in use: the element check finds nothing missing, "
                "and this team's notices now use this text."
            )
            % {"n": version.number},
        )


def _edit_page(
    request: HttpRequest,
    team: Team,
    regime: Regime,
    language: str,
    form: LetterForm,
    versions: list[LetterTemplate],
    *,
    status: int = 200,
) -> HttpResponse:
    in_letter_language(form, language, "text")
    latest = versions[0] if versions else None
    active = next((v for v in versions if v.active), None)
    text = latest.text if latest else letters.STARTER[language]
    # Checked again on every visit: the built-in statements may have changed since the save.
    check = letters.recheck(latest) if latest else {}
    if active is not None and active is not latest:
        letters.recheck(active)
    rows = _combination_rows(check)
    combos = letters.combinations(regime)
    wanted = (request.GET.get("category", ""), request.GET.get("role", ""))
    if wanted not in combos:
        # The first combination with something missing, else the first.
        wanted = next(
            ((r["category_code"], r["role_code"]) for r in rows if r["missing"]), combos[0]
        )
    preview = letters.render_sample(regime, language, text, *wanted)
    return render(
        request,
        "staff/letter_template_edit.html",
        {
            "team": team,
            "regime": regime,
            "title": regime_title(regime),
            "language": language,
            "language_name": LANGUAGE_NAMES[language],
            "form": form,
            "versions": versions,
            "latest": latest,
            "active": active,
            "rows": rows,
            "preview": preview,
            "preview_missing": [finding_label(label) for label in preview.missing],
            "preview_category": CATEGORY_NAMES.get(wanted[0], wanted[0]),
            "preview_role": ROLE_NAMES.get(wanted[1], wanted[1]),
            "category_choices": _choices(CATEGORY_NAMES, [c for c, _r in combos]),
            "role_choices": _choices(ROLE_NAMES, [r for _c, r in combos]),
            "values": [(f"{{{name}}}", text) for name, text in placeholders.VALUES.items()],
            "statement_help": placeholders.STATEMENT_HELP,
            "statements": _statement_reference(regime),
        },
        status=status,
    )


def _choices(names: dict[str, Promise], codes: list[str]) -> list[tuple[str, str]]:
    seen = list(dict.fromkeys(codes))
    return [(code, str(names.get(code, code))) for code in seen]


@admin_required
def template_reset(request: HttpRequest, team: int, regime: str, language: str) -> HttpResponse:
    chosen = _team(request, team)
    assert chosen is not None
    the_regime = _regime(regime, language)
    edit_url = reverse("staff:template_edit", args=[chosen.pk, regime, language])
    if request.method == "POST" and request.POST.get("confirm") == "1":
        try:
            changed = letters.reset(chosen, regime, language, request.user)
        except NotPossible as refused:
            messages.error(request, refused.message)
        else:
            if changed:
                messages.success(
                    request,
                    _(
                        "This team's notices use the built-in template again. Saved versions "
                        "are kept."
                    ),
                )
            else:
                messages.info(request, _("This team already uses the built-in template."))
        return redirect(edit_url)
    active = LetterTemplate.objects.filter(
        team=chosen, regime=regime, language=language, active=True
    ).first()
    return render(
        request,
        "staff/letter_template_reset.html",
        {
            "team": chosen,
            "regime": the_regime,
            "title": regime_title(the_regime),
            "language_name": LANGUAGE_NAMES[language],
            "active": active,
            "edit_url": edit_url,
        },
    )
