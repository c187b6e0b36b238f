"""A web-form notice, prepared for the caseworker who submits it by hand: each field's text to
copy and the checklist (takedown/notices/webform.py)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from takedown.models import Contact, Notice
from takedown.notices.regimes import UnknownRegime
from takedown.notices.webform import prepare_form
from takedown.web.access import get_case_for, staff_required
from takedown.web.staff.forms import MarkSubmittedForm


@staff_required
def notice_form(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case = get_case_for(request.user, reference)
    notice = get_object_or_404(
        Notice.objects.select_related("recipient", "contact", "case", "created_by"),
        pk=pk,
        case=case,
    )
    if notice.channel != Contact.Channel.WEBFORM:
        messages.info(request, _("This notice does not go by web form."))
        return redirect("staff:notice", reference=case.reference, pk=notice.pk)
    try:
        prepared = prepare_form(notice)
    except UnknownRegime:
        prepared = None
    return render(
        request,
        "staff/notice_form.html",
        {
            "case": case,
            "tab": "overview",
            "notice": notice,
            "form": prepared,
            "submitted_form": MarkSubmittedForm(),
        },
    )
