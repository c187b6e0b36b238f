"""The search-engine step on the case page: why it is offered, and the button that prepares the
requests (takedown/notices/delisting.py; as `manage.py prepare_delisting REF`)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from takedown.errors import NotPossible
from takedown.notices.delisting import prepare_delisting
from takedown.web.access import get_case_for, staff_required


@staff_required
@require_POST
def prepare(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    try:
        report = prepare_delisting(case, actor=request.user)
    except NotPossible as refused:
        messages.error(request, refused.message)
    else:
        if report.created or report.extended:
            messages.success(
                request,
                ngettext(
                    "%(count)d request to search engines prepared: review it in the notices.",
                    "%(count)d requests to search engines prepared: review them in the notices.",
                    report.created + report.extended,
                )
                % {"count": report.created + report.extended},
            )
        else:
            messages.info(
                request,
                _("Nothing new to ask the search engines: every link concerned is requested."),
            )
        for skipped in report.skipped:
            messages.warning(
                request,
                _("%(engine)s: the directory has no web form for these links.")
                % {"engine": skipped["engine"]},
            )
    return redirect(reverse("staff:case", kwargs={"reference": case.reference}) + "#delisting")
