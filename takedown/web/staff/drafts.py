"""Editing a notice's text on its page (takedown.notices.review.edit): every save runs the
element check again and the page shows what is missing."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from takedown.errors import NotPossible
from takedown.models import Notice
from takedown.notices.regimes import UnknownRegime
from takedown.notices.render import DUE_PLACEHOLDER, finding_label, template_body
from takedown.notices.review import edit
from takedown.web.access import get_case_for, staff_required
from takedown.web.staff.forms import in_letter_language
from takedown.workflow import ConcurrentChange

EDITABLE = (Notice.Status.DRAFT, Notice.Status.IN_REVIEW, Notice.Status.APPROVED)


class DraftForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=300, required=False)
    body_text = forms.CharField(
        label=gettext_lazy("Text"),
        widget=forms.Textarea(attrs={"rows": 24}),
        max_length=200_000,
        help_text=gettext_lazy(
            "The letter without its list of links. [due date] stands for the date by which "
            "the recipient must act; it is filled in when the notice is sent."
        ),
    )


def _missing(notice: Notice) -> list[str]:
    # Stored in English (the audit language); shown in the page's.
    return [finding_label(label) for label in (notice.element_check or {}).get("missing", [])]


@staff_required
def edit_notice(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case = get_case_for(request.user, reference)
    notice = get_object_or_404(Notice.objects.select_related("recipient", "case"), pk=pk, case=case)
    page = {"case": case, "tab": "overview", "notice": notice}
    if notice.status not in EDITABLE:
        messages.error(request, _("This notice can no longer be edited: it is on its way."))
        return redirect("staff:notice", reference=case.reference, pk=notice.pk)
    if request.method == "POST":
        form = DraftForm(request.POST)
        if form.is_valid():
            try:
                edit(
                    notice,
                    request.user,
                    subject=form.cleaned_data["subject"],
                    body_text=form.cleaned_data["body_text"],
                )
            except (NotPossible, ConcurrentChange) as refused:
                messages.error(request, getattr(refused, "message", str(refused)))
            else:
                notice.refresh_from_db()
                missing = _missing(notice)
                if missing:
                    messages.warning(
                        request,
                        ngettext(
                            "Saved. The element check finds %(n)d element missing: %(list)s.",
                            "Saved. The element check finds %(n)d elements missing: %(list)s.",
                            len(missing),
                        )
                        % {"n": len(missing), "list": ", ".join(missing)},
                    )
                else:
                    messages.success(request, _("Saved. The element check finds nothing missing."))
                return redirect("staff:edit_notice", reference=case.reference, pk=notice.pk)
    else:
        try:
            body = notice.body_text or template_body(notice)
        except UnknownRegime:
            messages.error(request, _("This notice names an unknown legal regime."))
            return redirect("staff:notice", reference=case.reference, pk=notice.pk)
        form = DraftForm(initial={"subject": notice.subject, "body_text": body})
    return render(
        request,
        "staff/notice_edit.html",
        {
            **page,
            "form": in_letter_language(form, notice.language, "subject", "body_text"),
            "missing": _missing(notice),
            "placeholder": DUE_PLACEHOLDER,
        },
    )
