"""The portal's pages. No account: the session holds the portal access once link and code
(or a known device) were shown. Every page re-checks that the access is still live, so a
revoked or expired link ends the visit at the next click."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from takedown import mandates, tallies
from takedown.cases import record_complaint_consent, withdraw_complaint_consent
from takedown.complaint_period import KnowledgeError, record_knowledge
from takedown.errors import NotPossible
from takedown.events import person_date
from takedown.models import PortalAccess, PortalMessage
from takedown.web.access import client_ip
from takedown.web.portal import access as portal_access
from takedown.web.portal import actions, sites, status
from takedown.web.portal.access import PortalError
from takedown.web.portal.forms import (
    CodeForm,
    ComplaintConsentForm,
    DeletionForm,
    KnowledgeForm,
    MandateForm,
    MessageForm,
    RevokeMandateForm,
    WithdrawForm,
)
from takedown.workflow import record_event

SESSION_ACCESS = "portal_access"
SESSION_VERIFIED = "portal_verified"


def _private(response: HttpResponse) -> HttpResponse:
    # The portal link carries the token in its path: never send it to another site as a
    # Referer. "same-origin", not "no-referrer": with no referrer at all, browsers send
    # "Origin: null" on form posts and Django's CSRF origin check rejects every portal form.
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_ACCESS, None)
    request.session.pop(SESSION_VERIFIED, None)


def portal_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only with a live, verified access in the session; sets request.portal_access."""

    @wraps(view)
    @never_cache
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        access = portal_access.live_access(request.session.get(SESSION_ACCESS))
        if access is None:
            _forget(request)
            return redirect("portal:start")
        if not request.session.get(SESSION_VERIFIED):
            return redirect("portal:verify")
        request.portal_access = access  # type: ignore[attr-defined]
        return _private(view(request, access, *args, **kwargs))

    return wrapped


def _posted(request: HttpRequest) -> Any:
    # Not `request.POST or None`: an empty POST must be a bound, invalid form.
    return request.POST if request.method == "POST" else None


def _render(request: HttpRequest, template: str, context: dict[str, Any], **kw: Any) -> Any:
    context = {
        "organisation": settings.TAKEDOWN_ORGANISATION,
        "leave_url": settings.TAKEDOWN_PORTAL_LEAVE_URL,
        **context,
    }
    return _private(render(request, f"portal/{template}", context, **kw))


# --- getting in -----------------------------------------------------------------------------------


@never_cache
def start(request: HttpRequest) -> HttpResponse:
    if portal_access.live_access(request.session.get(SESSION_ACCESS)) and request.session.get(
        SESSION_VERIFIED
    ):
        return redirect("portal:home")
    return _render(request, "start.html", {})


@never_cache
@require_http_methods(["GET", "POST"])
def enter(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the e-mail. A GET only checks the token and asks for one click: mail
    scanners fetch every link in a message, and must neither use up the code e-mails of the
    link (SEND_LIMIT) nor leave "opened" in the case's record. The POST behind that button
    (CSRF-protected) opens the session and sends the code."""
    ip = client_ip(request)
    if portal_access.ip_throttled(ip):
        return _render(request, "throttled.html", {}, status=429)
    # Both methods count: a token guesser could skip the GET.
    portal_access.count_ip(ip)
    access = portal_access.access_for_token(token)
    if access is None:
        if request.method == "POST":
            _forget(request)
        return _render(request, "link_invalid.html", {}, status=404)
    # First visit: the person's language on file (for the pages and the code e-mail), until
    # they choose another.
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    language = chosen or portal_access.person_language(access.case)
    if request.method == "GET":
        with translation.override(language):
            return _render(request, "enter.html", {})
    # A fresh session key: whatever session this browser had before is not carried over.
    request.session.cycle_key()
    request.session[SESSION_ACCESS] = access.pk
    request.session[SESSION_VERIFIED] = False
    PortalAccess.objects.filter(pk=access.pk).update(last_used_at=timezone.now())
    record_event(
        access.case,
        "portal.link_opened",
        message="The affected person opened their portal link.",
        data={"access": access.pk},
    )
    device = portal_access.known_device(access, request.COOKIES.get(portal_access.DEVICE_COOKIE))
    if device is not None:
        request.session[SESSION_VERIFIED] = True
        response: HttpResponse = redirect("portal:home")
    else:
        with translation.override(language):
            result = portal_access.send_code(access)
        request.session["portal_code_state"] = "sent" if result.sent else result.reason
        response = redirect("portal:verify")
    if not chosen:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return _private(response)


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    access = portal_access.live_access(request.session.get(SESSION_ACCESS))
    if access is None:
        _forget(request)
        return redirect("portal:start")
    if request.session.get(SESSION_VERIFIED):
        return redirect("portal:home")
    form = CodeForm()
    error = ""
    state = request.session.pop("portal_code_state", "")
    if request.method == "POST" and "resend" in request.POST:
        result = portal_access.send_code(access)
        state = "sent" if result.sent else result.reason
    elif request.method == "POST":
        form = CodeForm(request.POST)
        if form.is_valid():
            check = portal_access.check_code(access, form.cleaned_data["code"], client_ip(request))
            if check.ok:
                request.session.cycle_key()
                request.session[SESSION_VERIFIED] = True
                response = redirect("portal:home")
                response.set_cookie(
                    portal_access.DEVICE_COOKIE,
                    portal_access.remember_device(access),
                    max_age=int((access.expires_at - timezone.now()).total_seconds()),
                    path=reverse("portal:start"),
                    httponly=True,
                    samesite="Lax",
                    secure=settings.SESSION_COOKIE_SECURE,
                )
                return _private(response)
            error = check.reason
            form = CodeForm()
    status_code = 429 if error == "throttled" else 200
    return _render(
        request,
        "verify.html",
        {
            "form": form,
            "error": error,
            "state": state,
            "email": portal_access.masked_email(access.case),
            "minutes": portal_access.CODE_MINUTES,
        },
        status=status_code,
    )


# CSRF-exempt on purpose: leaving must work from a page open for hours (a stale token) and must
# never show an error page instead. A forged request could only end someone's portal visit,
# which the next click on their link restores.
@csrf_exempt
@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    """Leave quickly: ends the visit at once, forgets this browser as a known device, and
    sends the browser to a neutral site (TAKEDOWN_PORTAL_LEAVE_URL). leave.js does the same
    without a visible page change and replaces the history entry; this is the no-JS path. Not
    a redirect: the portal's Content-Security-Policy (form-action 'self') stops a form's
    redirect to another site, so a blank page of ours moves on by a meta refresh."""
    request.session.flush()
    response = render(request, "portal/leave.html", {"url": settings.TAKEDOWN_PORTAL_LEAVE_URL})
    response.delete_cookie(portal_access.DEVICE_COOKIE, path=reverse("portal:start"))
    # Browsers that support it drop this site's cookies, storage and cached pages as well.
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    _forget(request)
    request.session.cycle_key()
    return redirect("portal:start")


# --- seeing the case ------------------------------------------------------------------------------


def _case_context(access: PortalAccess, request: HttpRequest) -> dict[str, Any]:
    case = access.case
    return {
        "case": case,
        "case_state": sites.case_state(case),
        "support_links": status.support_links(case, translation.get_language() or "en"),
    }


@portal_page
def home(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    case = access.case
    show = request.GET.get("show", "")
    # A large case's counts come from its last background count (takedown.tallies).
    tally = tallies.tally_of(case)
    page, rows = status.link_page(
        case, request.GET.get("page"), int(show) if show.isdigit() else None, tally
    )
    counts = status.summary(case, tally)
    return _render(
        request,
        "home.html",
        {
            **_case_context(access, request),
            "summary": [
                (status.LABELS[key], key, counts[key])
                for key in status.LABELS
                if counts[key] or key in status.ALWAYS_SHOWN
            ],
            "total": sum(counts.values()),
            "rows": rows,
            "sites": sites.group_by_site(case, rows),
            "page": page,
            "next_deadline": person_date(status.next_deadline(case)),
            "complaint_deadline": status.complaint_deadline(case)[0],
            "counted_at": tally.counted_at if tally else None,
        },
    )


@portal_page
def timeline(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    page, entries = status.timeline(access.case, request.GET.get("page"))
    return _render(
        request,
        "timeline.html",
        {
            **_case_context(access, request),
            "page": page,
            "entries": [(person_date(at), text) for at, text in entries],
        },
    )


# --- acting ---------------------------------------------------------------------------------------


@portal_page
@require_http_methods(["GET", "POST"])
def message(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    form = MessageForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        actions.send_message(access.case, form.cleaned_data["body"])
        messages.success(request, _("Your message was sent to your caseworker."))
        return redirect("portal:message")
    conversation = PortalMessage.objects.filter(case=access.case).order_by("created_at", "pk")
    return _render(
        request,
        "message.html",
        {**_case_context(access, request), "form": form, "conversation": conversation},
    )


# Room for the multipart framing and the CSRF field around the file itself.
UPLOAD_FRAMING_BYTES = 64 * 1024


class _InMemoryUpload(MemoryFileUploadHandler):
    """Keeps the upload in memory whatever its size: the signed authorisation is personal
    data and must not sit in a temporary file in clear. Its size is bounded before the body
    is read (upload_capped)."""

    def handle_raw_input(self, *args: Any, **kwargs: Any) -> None:
        super().handle_raw_input(*args, **kwargs)
        self.activated = True


def upload_capped(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuses a POST whose Content-Length exceeds TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES (plus the
    framing) before any of the body is read. CsrfViewMiddleware reads request.POST, and with it
    the whole body, before the view runs; so the view is exempt from the middleware and checks
    the token itself (csrf_protect) once the size is known to be acceptable. Goes outermost."""
    protected = csrf_protect(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.TAKEDOWN_PORTAL_UPLOAD_MAX_BYTES + UPLOAD_FRAMING_BYTES:
                request.upload_too_large = True  # type: ignore[attr-defined]
                # The response must not trigger a read of the body either (no CSRF check:
                # nothing is changed).
                return view(request, *args, **kwargs)
            request.upload_handlers = [_InMemoryUpload(request)]
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapped)


@upload_capped
@portal_page
@require_http_methods(["GET", "POST"])
def mandate(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    too_large = getattr(request, "upload_too_large", False)
    posted = request.method == "POST" and not too_large
    form = MandateForm(_posted(request) if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        try:
            actions.store_signed_mandate(access.case, form.cleaned_data["files"])
        except mandates.MandateRefused as refused:
            form.refuse(refused.code, refused.page)
        else:
            messages.success(request, _("Thank you. We received your signed authorisation."))
            return redirect("portal:mandate")
    if too_large:
        form.refuse_too_large()
    return _mandate_page(request, access, form, RevokeMandateForm(), too_large=too_large)


def _mandate_page(
    request: HttpRequest,
    access: PortalAccess,
    form: MandateForm,
    revoke_form: RevokeMandateForm,
    *,
    too_large: bool = False,
) -> HttpResponse:
    on_file = access.case.mandates.filter(revoked_at__isnull=True).exists()
    errors = form.errors or revoke_form.errors
    return _render(
        request,
        "mandate.html",
        {
            **_case_context(access, request),
            "form": form,
            "revoke_form": revoke_form,
            "on_file": on_file,
        },
        status=413 if too_large else 400 if errors else 200,
    )


@portal_page
@require_POST
def mandate_revoke(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    revoke_form = RevokeMandateForm(_posted(request))
    if revoke_form.is_valid():
        try:
            actions.revoke_mandate(access.case)
        except PortalError:
            messages.error(request, _("There is no authorisation to revoke."))
        else:
            messages.success(
                request,
                _("Your authorisation is revoked. Requests that need it are no longer sent."),
            )
        return redirect("portal:mandate")
    return _mandate_page(request, access, MandateForm(), revoke_form)


@portal_page
def mandate_pdf(request: HttpRequest, access: PortalAccess) -> HttpResponse:

    case = access.case
    # The language the person reads the portal in, which may differ from the one on file.
    pdf = mandates.issue_form(case, language=translation.get_language())
    record_event(
        case,
        "portal.mandate_downloaded",
        message="The affected person downloaded the authorisation to sign.",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{case.reference}-mandate.pdf"'
    return response


@portal_page
@require_http_methods(["GET", "POST"])
def case_status(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    case = access.case
    withdraw_form = WithdrawForm()
    error = ""
    if request.method == "POST":
        move = request.POST.get("move", "")
        if move == "withdraw":
            withdraw_form = WithdrawForm(request.POST)
        if move != "withdraw" or withdraw_form.is_valid():
            try:
                actions.change_case(case, move)
            except NotPossible:
                error = _("This is not possible right now. Please reload the page.")
            else:
                done = {
                    "pause": _("Your case is paused."),
                    "resume": _("Your case is open again."),
                    "withdraw": _("Your case was withdrawn."),
                }
                messages.success(request, done[move])
                return redirect("portal:case")
    return _render(
        request,
        "case.html",
        {
            **_case_context(access, request),
            "moves": actions.allowed_moves(case),
            "withdraw_form": withdraw_form,
            "error": error,
        },
        status=400 if error or withdraw_form.errors else 200,
    )


@portal_page
@require_http_methods(["GET", "POST"])
def rights(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    """A criminal complaint's deadline (StGB §77b), and consent to be named in a complaint to
    a data-protection authority: both asked of the person, both recorded on the case."""
    case = access.case
    move = request.POST.get("move", "") if request.method == "POST" else ""
    knowledge_form = KnowledgeForm(
        request.POST if move == "knowledge" else None,
        initial={"act_on": case.learned_of_act_on, "offender_on": case.learned_of_offender_on},
    )
    consent_form = ComplaintConsentForm(request.POST if move == "consent" else None)
    if move == "knowledge" and knowledge_form.is_valid():
        try:
            record_knowledge(
                case,
                act_on=knowledge_form.cleaned_data["act_on"],
                offender_on=knowledge_form.cleaned_data["offender_on"],
                by_person=True,
            )
        except KnowledgeError:
            knowledge_form.add_error(
                None,
                _(
                    "Please check the days: they cannot be in the future, and you cannot "
                    "have learned who shared the images before you learned of the images."
                ),
            )
        else:
            messages.success(request, _("Thank you. We noted the day."))
            return redirect("portal:rights")
    elif move == "consent" and consent_form.is_valid():
        record_complaint_consent(case, how="portal", by_person=True)
        messages.success(request, _("Thank you. We noted your agreement."))
        return redirect("portal:rights")
    elif move == "withdraw_consent" and case.complaint_consent_at is not None:
        withdraw_complaint_consent(case, by_person=True)
        messages.success(request, _("We noted that your name must not be given."))
        return redirect("portal:rights")
    deadline_text, asks_date = status.complaint_deadline(case)
    return _render(
        request,
        "rights.html",
        {
            **_case_context(access, request),
            "deadline_text": deadline_text,
            "asks_date": asks_date,
            "knowledge_form": knowledge_form,
            "consent_form": consent_form,
            "consented": case.complaint_consent_at is not None,
        },
        status=400 if knowledge_form.errors or consent_form.errors else 200,
    )


@portal_page
@require_http_methods(["GET", "POST"])
def data(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    case = access.case
    form = DeletionForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        actions.request_deletion(case)
        messages.success(
            request,
            _("We recorded your request. Your caseworker will contact you about the deletion."),
        )
        return redirect("portal:data")
    pending = case.deletion_requests.filter(handled_at__isnull=True).first()
    return _render(
        request,
        "data.html",
        {
            **_case_context(access, request),
            "form": form,
            "pending": person_date(pending.requested_at) if pending else "",
        },
        status=400 if form.errors else 200,
    )


@portal_page
def data_json(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    case = access.case
    payload = actions.export_data(case)
    record_event(
        case,
        "portal.data_downloaded",
        message="The affected person downloaded their data.",
    )
    response = HttpResponse(
        json.dumps(payload, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{case.reference}-my-data.json"'
    )
    return response


def _day(value: str | None) -> str:
    """An ISO time of the export as people read dates."""
    return person_date(datetime.fromisoformat(value)) if value else ""


@portal_page
def data_html(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    """The same data as data_json, as a page a person can read, print or save as PDF. Served
    as a download, so that it stays readable offline and leaves the portal's session behind."""
    case = access.case
    payload = actions.export_data(case)
    record_event(
        case,
        "portal.data_downloaded",
        message="The affected person downloaded their data.",
    )
    context = {
        "data": payload,
        "made": person_date(timezone.now()),
        "case_state": sites.case_state(case),
        "opened": _day(payload["case"]["opened_at"]),
        "links": [
            {
                "address": link["address"],
                "label": status.LABELS.get(link["state"], link["state"]),
                "deadline": _day(link["deadline"]),
                "removed": _day(link["removed_at"]),
            }
            for link in payload["links"]
        ],
        "requests": [
            {
                "recipient": item["recipient"],
                "sent": _day(item["sent_at"]),
                "due": _day(item["respond_by"]),
            }
            for item in payload["requests_sent"]
        ],
        "timeline": [(_day(item["at"]), item["text"]) for item in payload["timeline"]],
        "messages_sent": [(_day(item["at"]), item["text"]) for item in payload["messages"]],
        "authorisations": [_day(item["uploaded_at"]) for item in payload["signed_authorisations"]],
        "deletions": [
            (_day(item["requested_at"]), _day(item["handled_at"]))
            for item in payload["deletion_requests"]
        ],
    }
    response = render(request, "portal/my_data.html", context)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{case.reference}-my-data.html"'
    )
    return response
