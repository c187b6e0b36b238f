"""The caseworker's workspace: the case queue, intake and the case page with its actions.

Every view looks its case up through access.get_case_for (404 for other teams' cases) and its
notices, imports and downloads through that case. Actions are POST-only and call one domain
function each; a refusal by the domain becomes a message, never a traceback.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from takedown.cases import open_case
from takedown.checks import escalate
from takedown.checks.escalate import ladder_of
from takedown.checks.references import ReferenceHashError, import_reference_hashes
from takedown.dispatch import queue_approved, queue_recheck, queue_resolution
from takedown.errors import NotPossible
from takedown.intake.store import IntakeError, import_links
from takedown.models import (
    AffectedPerson,
    Case,
    DeletionRequest,
    FoundLink,
    Import,
    Mandate,
    Notice,
)
from takedown.notices.generate import generate_notices
from takedown.notices.regimes import UnknownRegime
from takedown.notices.render import notice_pdf as render_pdf
from takedown.notices.render import render_notice
from takedown.notices.review import submit_for_review
from takedown.notices.send import mark_submitted as record_submission
from takedown.web.access import (
    PERSON_FIELDS,
    audit_case_viewed,
    audit_person_revealed,
    cases_for,
    get_case_for,
    is_caseworker,
    is_reviewer,
    staff_required,
)
from takedown.web.portal import access as portal_access
from takedown.web.portal.actions import mark_messages_read, portal_messages, unread_message_count
from takedown.web.staff import actions, selectors
from takedown.web.staff.forms import (
    CloseForm,
    ImportForm,
    LadderForm,
    MarkSubmittedForm,
    NewCaseForm,
    NoteForm,
    PortalLinkForm,
    QueueFilterForm,
    ReferenceHashesForm,
    ReplyForm,
    ResolveForm,
    ReviewedForm,
)
from takedown.workflow import CHECKED_CASE_STATUSES, record_event

CASES_PER_PAGE = 50
LINKS_PER_PAGE = 100
GROUPS_PER_PAGE = 25
HOSTS_PER_PAGE = 25
EVENTS_PER_PAGE = 100
RECENT_EVENTS = 15
REVIEW_LINKS_SHOWN = 20
MESSAGES_PER_PAGE = 25
_SAFE_SUFFIX = re.compile(r"\.[a-z0-9]{1,10}")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if not is_caseworker(request.user) and is_reviewer(request.user):
        return redirect("review:index")
    return redirect("staff:queue")


# --- the queue ----------------------------------------------------------------------------------


@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    user = request.user
    view = request.GET.get("view", "team")
    if view not in selectors.QUEUE_VIEWS:
        view = "team"
    visible = cases_for(user)
    form = QueueFilterForm(request.GET or None)
    cases = selectors.queue_view(visible, view, user)
    if form.is_valid():
        data = form.cleaned_data
        if data["status"] == "":
            cases = cases.filter(status=Case.Status.OPEN)
        elif data["status"] != "all":
            cases = cases.filter(status=data["status"])
        if data["category"]:
            cases = cases.filter(category=data["category"])
        cases = selectors.search_cases(cases, data["q"])
    else:
        cases = cases.filter(status=Case.Status.OPEN)
    cases = selectors.annotate_flags(cases.select_related("team", "assigned_to")).order_by(
        "-created_at", "-pk"
    )
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "staff/queue.html",
        {
            "form": form,
            "view": view,
            "views": [
                ("mine", _("My cases")),
                ("team", _("My teams' cases")),
                ("overdue", _("Overdue")),
                ("review", _("Awaiting review")),
                ("decision", _("Needs a decision")),
            ],
            "counts": selectors.queue_counts(visible, user),
            "page": page,
            "query": query.urlencode(),
            "filter_query": _without(request, "page", "view"),
        },
    )


def _without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


# --- new case and intake ------------------------------------------------------------------------


@staff_required
def new_case(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = NewCaseForm(request.POST if posted else None, user=request.user)
    import_form = ImportForm(
        request.POST if posted else None, request.FILES if posted else None, prefix="import"
    )
    if request.method == "POST" and form.is_valid():
        wants_import = import_form.has_input
        if not wants_import or import_form.is_valid():
            data = form.cleaned_data
            try:
                # One transaction: a case whose first import fails is not left behind.
                with transaction.atomic():
                    case = open_case(
                        category=data["category"],
                        actor=request.user,
                        person=form.person(),
                        team=data["team"],
                        assigned_to=request.user if data["assign_to_me"] else None,
                        owns_copyright=data["owns_copyright"],
                        is_minor=data["is_minor"],
                    )
                    imported = (
                        _run_import(case, import_form, request.user) if wants_import else None
                    )
            except IntakeError as exc:
                import_form.add_error(None, _("%(error)s (nothing was imported)") % {"error": exc})
            else:
                messages.success(request, _("Case %(ref)s opened.") % {"ref": case.reference})
                if imported is not None:
                    return redirect("staff:import", reference=case.reference, pk=imported.pk)
                return redirect("staff:case", reference=case.reference)
    return render(request, "staff/new_case.html", {"form": form, "import_form": import_form})


def _run_import(case: Case, form: ImportForm, actor: Any) -> Import:
    """Pasted text or an uploaded file, through the one import path (takedown.intake.store),
    exactly as `import_links` reads files: the same detection, the same report."""
    data = form.cleaned_data
    chosen = data["format"] or None
    upload = data["file"]
    with tempfile.TemporaryDirectory(prefix="takedown-import-") as folder:
        if upload is not None:
            name = Path(upload.name).name[:200]
            suffix = Path(name).suffix.lower()
            # The suffix helps format detection; the file name itself never becomes a path.
            path = Path(folder) / ("upload" + (suffix if _SAFE_SUFFIX.fullmatch(suffix) else ""))
            with path.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
        else:
            name = "pasted"
            path = Path(folder) / "pasted.txt"
            path.write_text(data["urls"], encoding="utf-8")
            chosen = chosen or "text"
        import_links(
            case,
            [path],
            format=chosen,
            dataset=data["dataset"],
            actor=actor,
            source_names=[name],
        )
    return Import.objects.filter(case=case).order_by("-pk").first()  # type: ignore[return-value]


@staff_required
def import_links_view(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    posted = request.method == "POST"
    form = ImportForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        if case.status != Case.Status.OPEN:
            form.add_error(None, _("The case is not open: links can only be added to open cases."))
        else:
            try:
                imported = _run_import(case, form, request.user)
            except IntakeError as exc:
                form.add_error(None, _("%(error)s (nothing was imported)") % {"error": exc})
            else:
                return redirect("staff:import", reference=case.reference, pk=imported.pk)
    return render(request, "staff/import.html", {"case": case, "form": form})


@staff_required
def import_report(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case = get_case_for(request.user, reference)
    imported = get_object_or_404(Import, pk=pk, case=case)
    return render(
        request,
        "staff/import_report.html",
        {"case": case, "import": imported, "r": imported.report},
    )


# --- the case page ------------------------------------------------------------------------------


@staff_required
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    audit_case_viewed(request, case)
    person = AffectedPerson.objects.filter(case=case).first()
    groups = selectors.party_groups(case)
    group_page = Paginator(groups, GROUPS_PER_PAGE).get_page(request.GET.get("gpage"))
    link_totals = {status: 0 for status in selectors.LINK_STATUSES}
    for row in groups:
        for status in selectors.LINK_STATUSES:
            link_totals[status] += row[status]
    notices = (
        case.notices.select_related("recipient", "contact")
        .annotate(link_count=Count("noticelink"))
        .order_by("-created_at", "-pk")
    )
    flagged_hosts = selectors.case_hosts(case, flagged_only=True).count()
    events = list(
        case.events.select_related("actor", "notice").order_by("-at", "-pk")[:RECENT_EVENTS]
    )
    review_links = selectors.links_to_review(case)
    review_total = review_links.count()
    return render(
        request,
        "staff/case.html",
        {
            "case": case,
            "tab": "overview",
            "person": person,
            "person_fields": _masked(person),
            "has_mandate": Mandate.objects.filter(case=case, revoked_at__isnull=True).exists(),
            "groups": selectors.with_organisations(list(group_page.object_list)),
            "group_page": group_page,
            "link_total": sum(row["total"] for row in groups),
            "link_totals": link_totals,
            "notices": notices,
            "flagged_hosts": flagged_hosts,
            "events": events,
            "imports": case.imports.order_by("-created_at")[:5],
            "resolve_form": ResolveForm(),
            "ladder_form": LadderForm(initial={"roles": ", ".join(ladder_of(case))}),
            "close_form": CloseForm(),
            # What needs a person: links a check flagged, legal steps, the person's messages.
            "review_links": list(review_links[:REVIEW_LINKS_SHOWN]) if review_total else [],
            "review_total": review_total,
            "manual_tasks": list(
                selectors.open_manual_tasks()
                .filter(case=case)
                .select_related("notice__recipient")
                .order_by("at", "pk")
            ),
            "reviewed_form": ReviewedForm(),
            "note_form": NoteForm(),
            "portal_access": selectors.live_portal_access(case),
            "portal_form": PortalLinkForm(),
            "unread_messages": unread_message_count(case),
            "open_deletions": DeletionRequest.objects.filter(
                case=case, handled_at__isnull=True
            ).count(),
            "references_form": ReferenceHashesForm(),
        },
    )


def _masked(person: AffectedPerson | None) -> list[tuple[str, bool]]:
    """(label, recorded) for each personal detail: the page shows whether it exists, not what
    it is, until revealed."""
    labels = {"name": _("Name"), "email": _("E-mail"), "phone": _("Phone"), "notes": _("Notes")}
    return [
        (labels[name], bool(person is not None and getattr(person, name))) for name in PERSON_FIELDS
    ]


@staff_required
@require_POST
def reveal_person(request: HttpRequest, reference: str) -> HttpResponse:
    """Show the affected person's details once, and log that this user saw them."""
    case = get_case_for(request.user, reference)
    person = AffectedPerson.objects.filter(case=case).first()
    shown = [name for name in PERSON_FIELDS if person is not None and getattr(person, name)]
    audit_person_revealed(request, case, shown)
    response = render(request, "staff/person.html", {"case": case, "person": person})
    response["Cache-Control"] = "no-store, private"
    return response


@staff_required
@require_POST
def download_mandate(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    mandate = Mandate.objects.filter(case=case, revoked_at__isnull=True).order_by("-pk").first()
    if mandate is None:
        messages.error(request, _("This case has no signed mandate."))
        return redirect("staff:case", reference=case.reference)
    audit_person_revealed(request, case, ["mandate"])
    extension = "pdf" if mandate.content_type == "application/pdf" else "bin"
    response = HttpResponse(bytes(mandate.signed_document), content_type=mandate.content_type)
    response["Content-Disposition"] = f'attachment; filename="{case.reference}-mandate.{extension}"'
    response["Cache-Control"] = "no-store, private"
    return response


@staff_required
def case_links(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    party = request.GET.get("party", "")
    status = request.GET.get("status", "")
    host = request.GET.get("host", "")[:253]
    review = request.GET.get("review") == "1"
    links = selectors.case_links(case, party=party, status=status, host=host, review=review)
    page = Paginator(links, LINKS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(link, selectors.first_party(link)) for link in page.object_list]
    return render(
        request,
        "staff/links.html",
        {
            "case": case,
            "tab": "links",
            "page": page,
            "rows": rows,
            "party": party,
            "status": status,
            "host": host,
            "review": review,
            "statuses": FoundLink.Status.choices,
            "query": _without(request, "page"),
        },
    )


@staff_required
def case_hosts(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    flagged = request.GET.get("flagged") == "1"
    hosts = selectors.case_hosts(case, flagged_only=flagged)
    page = Paginator(hosts, HOSTS_PER_PAGE).get_page(request.GET.get("page"))
    for host in page.object_list:
        # For the template only, beside the host it belongs to.
        host.evidence = selectors.evidence_rows(host.current)  # type: ignore[attr-defined]
    return render(
        request,
        "staff/hosts.html",
        {
            "case": case,
            "tab": "hosts",
            "page": page,
            "flagged": flagged,
            "query": _without(request, "page"),
        },
    )


@staff_required
def case_timeline(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    events = case.events.select_related("actor", "notice").order_by("-at", "-pk")
    if request.GET.get("access") != "1":
        events = events.exclude(kind__in=["case.viewed", "person.revealed"])
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "staff/timeline.html",
        {
            "case": case,
            "tab": "timeline",
            "page": page,
            "access": request.GET.get("access") == "1",
            "query": _without(request, "page"),
        },
    )


# --- notices ------------------------------------------------------------------------------------


def _notice_of(request: HttpRequest, reference: str, pk: int) -> tuple[Case, Notice]:
    case = get_case_for(request.user, reference)
    notice = get_object_or_404(
        Notice.objects.select_related("recipient", "contact", "case"), pk=pk, case=case
    )
    return case, notice


@staff_required
def notice_detail(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case, notice = _notice_of(request, reference, pk)
    rendered, error = None, ""
    try:
        rendered = render_notice(notice, with_pdf=False)
    except UnknownRegime:
        error = _("This notice names an unknown legal regime; generate the notices again.")
    return render(
        request,
        "staff/notice.html",
        {
            "case": case,
            "tab": "overview",
            "notice": notice,
            "rendered": rendered,
            "render_error": error,
            "missing": (notice.element_check or {}).get("missing", []),
            "link_count": notice.links.count(),
            "submitted_form": MarkSubmittedForm(),
            "reply_form": ReplyForm(),
        },
    )


@staff_required
def notice_pdf(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case, notice = _notice_of(request, reference, pk)
    try:
        pdf = render_pdf(notice)
    except UnknownRegime:
        messages.error(request, _("This notice names an unknown legal regime."))
        return redirect("staff:notice", reference=case.reference, pk=notice.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{case.reference}-notice-{notice.pk}.pdf"'
    response["Cache-Control"] = "no-store, private"
    return response


# --- actions ------------------------------------------------------------------------------------


def _act(
    request: HttpRequest,
    case: Case,
    step: Callable[[], str],
    *,
    back: str = "",
    needs_open: bool = False,
) -> HttpResponse:
    """Run one domain step; its result or refusal becomes a message; back to the case page."""
    if needs_open and case.status != Case.Status.OPEN:
        messages.error(
            request,
            _("The case is %(status)s: reopen it first.")
            % {"status": case.get_status_display().lower()},
        )
    else:
        try:
            messages.success(request, step())
        except NotPossible as refused:
            messages.error(request, refused.message)
    return redirect(back or reverse("staff:case", kwargs={"reference": case.reference}))


def _form_errors(form: Any) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@staff_required
@require_POST
def resolve(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    form = ResolveForm(request.POST)
    refresh = form.is_valid() and form.cleaned_data["refresh"]

    def step() -> str:
        hosts, domains = queue_resolution(case=case, refresh=refresh)
        record_event(
            case,
            "case.resolve_requested",
            actor=request.user,
            message=f"Resolution queued for {hosts} hosts.",
            data={"hosts": hosts, "domains": domains, "refresh": refresh},
        )
        if not hosts:
            return _("No host of this case is due for resolution.")
        return ngettext(
            "%(hosts)d host on %(domains)d registered domains queued for resolution.",
            "%(hosts)d hosts on %(domains)d registered domains queued for resolution.",
            hosts,
        ) % {"hosts": hosts, "domains": domains}

    return _act(request, case, step)


@staff_required
@require_POST
def generate(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)

    def step() -> str:
        report = generate_notices(case, actor=request.user)
        return _(
            "Notices: %(created)d new, %(refreshed)d refreshed, %(unchanged)d unchanged; "
            "%(unrouted)d links have no responsible party yet."
        ) % {
            "created": report.created,
            "refreshed": report.refreshed,
            "unchanged": report.unchanged,
            "unrouted": report.unrouted_links,
        }

    return _act(request, case, step, needs_open=True)


@staff_required
@require_POST
def submit_notice(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case, notice = _notice_of(request, reference, pk)

    def step() -> str:
        submit_for_review(notice, request.user)
        return _("Notice %(id)d submitted for review.") % {"id": notice.pk}

    return _act(request, case, step, needs_open=True, back=_notice_url(case, notice))


@staff_required
@require_POST
def send_approved(request: HttpRequest, reference: str) -> HttpResponse:
    """Queue the case's approved notices: e-mail ones go to the workers, the others become a
    manual-submission task (as `send_notices --case REF`)."""
    case = get_case_for(request.user, reference)

    def step() -> str:
        done = queue_approved(case=case, actor=request.user)
        text = _("%(queued)d notices queued for sending, %(manual)d to submit by hand.") % {
            "queued": len(done.queued),
            "manual": len(done.manual),
        }
        return " ".join([text, *(problem for _notice, problem in done.refused)])

    return _act(request, case, step, needs_open=True)


@staff_required
@require_POST
def mark_submitted(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case, notice = _notice_of(request, reference, pk)
    form = MarkSubmittedForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(_notice_url(case, notice))

    def step() -> str:
        record_submission(notice, request.user, form.cleaned_data["confirmation"])
        return _("Notice %(id)d recorded as submitted.") % {"id": notice.pk}

    return _act(request, case, step, back=_notice_url(case, notice))


@staff_required
@require_POST
def record_reply(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case, notice = _notice_of(request, reference, pk)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(_notice_url(case, notice))
    data = form.cleaned_data

    def step() -> str:
        escalate.record_reply(
            notice,
            outcome=data["outcome"],
            text=data["text"],
            actor=request.user,
            extension_until=data["extension_until"],
        )
        return _("Reply recorded.")

    return _act(request, case, step, back=_notice_url(case, notice))


@staff_required
@require_POST
def change_ladder(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    form = LadderForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("staff:case", reference=case.reference)

    def step() -> str:
        escalate.set_ladder(case, form.cleaned_data["roles"], actor=request.user)
        return _("Escalation ladder saved.")

    return _act(request, case, step)


@staff_required
@require_POST
def close(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("staff:case", reference=case.reference)

    def step() -> str:
        escalate.close_case(case, reason=form.cleaned_data["reason"], actor=request.user)
        return _("Case closed.")

    return _act(request, case, step)


def _notice_url(case: Case, notice: Notice) -> str:
    return reverse("staff:notice", kwargs={"reference": case.reference, "pk": notice.pk})


# --- the affected person's portal ---------------------------------------------------------------


@staff_required
@require_POST
def issue_portal_link(request: HttpRequest, reference: str) -> HttpResponse:
    """A new portal link, shown in this one response only: the token is stored as its hash,
    so it cannot be shown again (and is never put in a message, the session or a log)."""
    case = get_case_for(request.user, reference)
    form = PortalLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("staff:case", reference=case.reference)
    try:
        url = portal_access.issue_portal_link(
            case, actor=request.user, days=form.cleaned_data["days"]
        )
    except NotPossible as refused:  # no e-mail address on file, days out of range
        messages.error(request, refused.message)
        return redirect("staff:case", reference=case.reference)
    response = render(
        request,
        "staff/portal_link.html",
        {
            "case": case,
            "tab": "overview",
            "url": url,
            "access": selectors.live_portal_access(case),
        },
    )
    response["Cache-Control"] = "no-store, private"
    return response


@staff_required
@require_POST
def revoke_portal_links(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)

    def step() -> str:
        revoked = portal_access.revoke_portal_links(case, actor=request.user)
        if not revoked:
            return _("The case had no portal link to revoke.")
        return ngettext(
            "%(n)d portal link revoked: it no longer opens the portal.",
            "%(n)d portal links revoked: they no longer open the portal.",
            revoked,
        ) % {"n": revoked}

    return _act(request, case, step)


@staff_required
def case_messages(request: HttpRequest, reference: str) -> HttpResponse:
    """The person's messages from the portal (newest first) and their deletion requests."""
    case = get_case_for(request.user, reference)
    # The messages are the person's own words: opening them is access to personal data.
    audit_case_viewed(request, case)
    page = Paginator(portal_messages(case).select_related("read_by").reverse(), MESSAGES_PER_PAGE)
    return render(
        request,
        "staff/messages.html",
        {
            "case": case,
            "tab": "messages",
            "page": page.get_page(request.GET.get("page")),
            "unread": unread_message_count(case),
            "deletions": list(case.deletion_requests.select_related("handled_by")),
            "note_form": NoteForm(),
        },
    )


def _messages_url(case: Case) -> str:
    return reverse("staff:messages", kwargs={"reference": case.reference})


@staff_required
@require_POST
def messages_read(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)

    def step() -> str:
        count = mark_messages_read(case, actor=request.user)
        return ngettext(
            "%(n)d message marked as read.", "%(n)d messages marked as read.", count
        ) % {"n": count}

    return _act(request, case, step, back=_messages_url(case))


@staff_required
@require_POST
def deletion_handled(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case = get_case_for(request.user, reference)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(_messages_url(case))

    def step() -> str:
        erase = request.POST.get("erase") == "1"
        actions.handle_deletion_request(
            case, pk, actor=request.user, note=form.cleaned_data["note"], erase=erase
        )
        if erase:
            return _("The person's data was erased and the deletion request marked as handled.")
        return _("Deletion request marked as handled.")

    return _act(request, case, step, back=_messages_url(case))


# --- what a check or the ladder put in front of a person -----------------------------------------


@staff_required
@require_POST
def link_reviewed(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case = get_case_for(request.user, reference)
    form = ReviewedForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""

    def step() -> str:
        actions.clear_link_review(case, pk, actor=request.user, note=note)
        return _("Link %(id)d marked as looked at.") % {"id": pk}

    return _act(request, case, step)


@staff_required
@require_POST
def task_done(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case = get_case_for(request.user, reference)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("staff:case", reference=case.reference)

    def step() -> str:
        actions.complete_manual_task(case, pk, actor=request.user, note=form.cleaned_data["note"])
        return _("Legal step marked as done.")

    return _act(request, case, step)


@staff_required
@require_POST
def recheck(request: HttpRequest, reference: str) -> HttpResponse:
    """Check every link of the case now (as `recheck_links --case REF`), in the workers."""
    case = get_case_for(request.user, reference)
    if case.status not in CHECKED_CASE_STATUSES:
        # Paused and withdrawn cases are not checked: the person asked us to stop.
        messages.error(
            request,
            _("The case is %(status)s: its links are not checked.")
            % {"status": case.get_status_display().lower()},
        )
        return redirect("staff:case", reference=case.reference)

    def step() -> str:
        due, queued, tasks = queue_recheck(case)
        record_event(
            case,
            "case.recheck_requested",
            actor=request.user,
            message=f"Check of {due} links requested.",
            data={"due": due, "queued": queued, "tasks": tasks},
        )
        if not due:
            return _("No link of this case can be checked (none, or all excluded).")
        return _(
            "%(due)d links will be checked: %(queued)d handed to the workers now, the rest "
            "within minutes (at most a few per host at a time)."
        ) % {"due": due, "queued": queued}

    return _act(request, case, step)


@staff_required
@require_POST
def reference_hashes(request: HttpRequest, reference: str) -> HttpResponse:
    """Reference hashes from a CSV (url,sha256,phash,pdq): the same code as the
    `reference_hashes` command, all rows or none."""
    case = get_case_for(request.user, reference)
    form = ReferenceHashesForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("staff:case", reference=case.reference)
    upload = form.cleaned_data["file"]
    with tempfile.TemporaryDirectory(prefix="takedown-hashes-") as folder:
        # A fixed name: the uploaded file's name never becomes a path.
        path = Path(folder) / "hashes.csv"
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        try:
            report = import_reference_hashes(case, path, actor=request.user)
        except ReferenceHashError as exc:
            rows = "; ".join(f"row {e['row']}: {e['reason']}" for e in exc.errors[:10])
            more = len(exc.errors) - 10
            messages.error(
                request,
                _("Nothing was stored: %(error)s.") % {"error": exc}
                + (f" {rows}" if rows else "")
                + (_(" (and %(n)d more)") % {"n": more} if more > 0 else ""),
            )
            return redirect("staff:case", reference=case.reference)
    messages.success(
        request,
        ngettext(
            "Reference hashes stored for %(n)d link.",
            "Reference hashes stored for %(n)d links.",
            report.updated,
        )
        % {"n": report.updated},
    )
    return redirect("staff:case", reference=case.reference)
