"""The caseworker's workspace: the case queue, intake and the case page with its actions.

Every view looks its case up through access.get_case_for (404 for other teams' cases) and its
notices, imports and downloads through that case. Actions are POST-only and call one domain
function each; a refusal by the domain becomes a message, never a traceback.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from takedown import complaint_period, mandates, tallies
from takedown.cases import open_case, record_complaint_consent, withdraw_complaint_consent
from takedown.checks import escalate
from takedown.checks.references import ReferenceHashError, import_reference_hashes
from takedown.dispatch import queue_approved
from takedown.errors import NotPossible
from takedown.intake.store import row_error_label
from takedown.jobs import running_jobs, start_job
from takedown.models import (
    AffectedPerson,
    Case,
    DeletionRequest,
    FoundLink,
    Host,
    Import,
    Job,
    Mandate,
    Notice,
    Organisation,
    RecipientRole,
)
from takedown.notices.delisting import offer as delisting_offer
from takedown.notices.generate import (
    notice_regime_options,
    unrouted_reason,
    use_regime,
)
from takedown.notices.offences import QUESTIONS, clean_facts
from takedown.notices.regimes import UnknownRegime, regime_name
from takedown.notices.render import (
    ACCESS_REGIMES,
    finding_label,
    render_notice,
    store_element_check,
)
from takedown.notices.render import notice_pdf as render_pdf
from takedown.notices.review import submit_for_review
from takedown.notices.send import mark_submitted as record_submission
from takedown.resolve import decisions as party_decisions
from takedown.resolve.facts import error_label
from takedown.resolve.holder import reason_label as holder_reason
from takedown.resolve.jurisdiction import reason_label
from takedown.stats import with_link_counts
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
from takedown.web.language import choose_language
from takedown.web.portal import access as portal_access
from takedown.web.portal.actions import mark_messages_read, portal_messages, unread_message_count
from takedown.web.staff import actions, exports, selectors
from takedown.web.staff.actions import StaffActionError
from takedown.web.staff.forms import (
    AuthorityForm,
    ClearDecisionForm,
    CloseForm,
    ConsentForm,
    ExcludeHostForm,
    ImportForm,
    KnowledgeForm,
    LadderForm,
    MarkSubmittedForm,
    NewCaseForm,
    NoteForm,
    PortalLinkForm,
    QueueFilterForm,
    ReferenceHashesForm,
    ReopenForm,
    ReplyForm,
    ResolveForm,
    ReviewedForm,
    SetPartyForm,
    SignedMandateForm,
)
from takedown.web.staff.jobs import job_url
from takedown.web.staff.ladder import ladder_rows
from takedown.web.staff.timeline import timeline_rows
from takedown.workflow import (
    CHECKED_CASE_STATUSES,
    OPEN_LINK_STATUSES,
    UNSENT_NOTICE_STATUSES,
    ConcurrentChange,
    TransitionNotAllowed,
    record_event,
    transition_many,
)

CASES_PER_PAGE = 50
UNNAMED_SHOWN = 20
# Links shown on the page of a notice whose letter does not list them (the download has all).
FIRST_LINKS = 100
LINKS_PER_PAGE = 100
GROUPS_PER_PAGE = 25
# A case of a million links has tens of thousands of notices (one per site operator): the case
# page lists them a page at a time (all of them: the notices CSV export).
NOTICES_PER_PAGE = 50
HOSTS_PER_PAGE = 25
EVENTS_PER_PAGE = 100
RECENT_EVENTS = 15
REVIEW_LINKS_SHOWN = 20
MESSAGES_PER_PAGE = 25
# Above this many links a notice's PDF is rendered by a worker (a job), not in the request.
RENDER_INLINE_LINKS = 200


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
            cases = selectors.open_or_waiting(cases)
        elif data["status"] != "all":
            cases = cases.filter(status=data["status"])
        if data["category"]:
            cases = cases.filter(category=data["category"])
        cases = selectors.search_cases(cases, data["q"])
    else:
        cases = selectors.open_or_waiting(cases)
    cases = selectors.annotate_flags(cases.select_related("team", "assigned_to")).order_by(
        "-created_at", "-pk"
    )
    page = Paginator(cases, CASES_PER_PAGE).get_page(request.GET.get("page"))
    complaint_period.flag_due_soon(page.object_list)
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
                    if data["learned_of_act_on"]:
                        complaint_period.record_knowledge(
                            case, act_on=data["learned_of_act_on"], actor=request.user
                        )
                    job = _start_import(case, import_form, request.user) if wants_import else None
            except complaint_period.KnowledgeError as exc:
                form.add_error("learned_of_act_on", exc.message)
            else:
                messages.success(request, _("Case %(ref)s opened.") % {"ref": case.reference})
                if job is not None:
                    return redirect(job_url(job))
                return redirect("staff:case", reference=case.reference)
    return render(request, "staff/new_case.html", {"form": form, "import_form": import_form})


def _start_import(case: Case, form: ImportForm, actor: Any) -> Job:
    """Pasted text or an uploaded file, stored encrypted for a worker that imports it through
    the one import path (takedown.intake.store), exactly as `import_links` reads files: the
    same detection, the same report. The web process never parses the upload."""
    data = form.cleaned_data
    chosen = data["format"] or None
    upload = data["file"]
    if upload is not None:
        name = Path(upload.name).name[:200]
        chunks = upload.chunks()
    else:
        name = "pasted"
        chunks = [data["urls"].encode("utf-8")]
        chosen = chosen or "text"
    return start_job(
        Job.Kind.IMPORT,
        case,
        actor=actor,
        params={"format": chosen or "", "dataset": data["dataset"], "source_name": name},
        upload=chunks,
    )


@staff_required
def import_links_view(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    posted = request.method == "POST"
    form = ImportForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        if case.status != Case.Status.OPEN:
            form.add_error(None, _("The case is not open: links can only be added to open cases."))
        else:
            return redirect(job_url(_start_import(case, form, request.user)))
    return render(request, "staff/import.html", {"case": case, "form": form})


@staff_required
def import_report(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case = get_case_for(request.user, reference)
    imported = get_object_or_404(Import, pk=pk, case=case)
    report = imported.report
    # The reasons are stored as the importer worded them (English): shown in the reader's.
    errors = [
        {**error, "reason": row_error_label(str(error.get("reason", "")))}
        for error in report.get("errors", [])
    ]
    return render(
        request,
        "staff/import_report.html",
        {"case": case, "import": imported, "r": report, "errors": errors},
    )


# --- the case page ------------------------------------------------------------------------------


@staff_required
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    audit_case_viewed(request, case)
    person = AffectedPerson.objects.filter(case=case).first()
    # A large case's counts come from its last background count (takedown.tallies).
    tally = tallies.tally_of(case)
    if tally is None:
        live = tallies.party_groups(case)
        groups: Sequence[Mapping[str, Any]] | QuerySet[Any, Any] = live
        link_totals = tallies.status_totals(
            (status, n) for row in live for status, n in row["by_status"].items()
        )
        flagged_hosts = tallies.flagged_hosts(case)
    else:
        groups = tallies.stored_party_groups(case)
        link_totals = tallies.stored_status_totals(tally)
        flagged_hosts = tally.flagged_hosts
    group_page = Paginator(groups, GROUPS_PER_PAGE).get_page(request.GET.get("gpage"))
    notice_page = Paginator(
        case.notices.select_related("recipient", "contact").order_by("-created_at", "-pk"),
        NOTICES_PER_PAGE,
    ).get_page(request.GET.get("npage"))
    notices = with_link_counts(notice_page, tally.notice_links if tally else None)
    events = timeline_rows(
        case.events.select_related("actor", "notice__recipient").order_by("-at", "-pk")[
            :RECENT_EVENTS
        ]
    )
    review_links = selectors.links_to_review(case)
    review_total = review_links.count()
    german = complaint_period.is_german(case, person_country=person.country if person else "")
    mandate = (
        Mandate.objects.filter(case=case)
        .select_related("uploaded_by")
        .order_by("-uploaded_at", "-pk")
        .first()
    )
    return render(
        request,
        "staff/case.html",
        {
            "case": case,
            "tab": "overview",
            "person": person,
            "person_fields": _masked(person),
            # A revocation revokes every live mandate: the newest one tells whether one is live.
            "has_mandate": mandate is not None and mandate.revoked_at is None,
            "mandate": mandate,
            "mandate_form": SignedMandateForm(),
            "fact_questions": [
                (question, case.legal_facts.get(question.key)) for question in QUESTIONS.values()
            ],
            "groups": selectors.with_organisations(list(group_page.object_list)),
            "group_page": group_page,
            "link_total": sum(link_totals.values()),
            "link_totals": link_totals,
            "counted_at": tally.counted_at if tally else None,
            "notices": notices,
            "notice_page": notice_page,
            "flagged_hosts": flagged_hosts,
            "events": events,
            "imports": case.imports.order_by("-created_at")[:5],
            "resolve_form": ResolveForm(),
            "ladder": ladder_rows(case),
            "delisting": delisting_offer(
                case, removed=link_totals[FoundLink.Status.REMOVED], notices=notices
            ),
            "close_form": CloseForm(),
            "reopen_form": ReopenForm(),
            "jobs": running_jobs(case),
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
            "complaint_deadline": complaint_period.deadline_of(case, german=german),
            "needs_knowledge_date": complaint_period.needs_date(case, german=german),
            "knowledge_form": KnowledgeForm(
                initial={
                    "act_on": case.learned_of_act_on,
                    "offender_on": case.learned_of_offender_on,
                }
            ),
            "consent_form": ConsentForm(),
            "today": timezone.localdate(),
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
@require_POST
def upload_mandate(request: HttpRequest, reference: str) -> HttpResponse:
    """The signed mandate as staff received it (by post, by e-mail): stored with who uploaded
    it and when; the unsigned form as generated is refused (takedown.mandates)."""
    case = get_case_for(request.user, reference)
    form = SignedMandateForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("staff:case", reference=case.reference)

    def step() -> str:
        mandates.store_signed(case, form.cleaned_data["document"], actor=request.user)
        return _("The signed mandate is stored (encrypted).")

    return _act(request, case, step)


@staff_required
@require_POST
def revoke_mandate(request: HttpRequest, reference: str) -> HttpResponse:
    """The person revoked the mandate by letter or e-mail: nothing that needs it goes out."""
    case = get_case_for(request.user, reference)

    def step() -> str:
        stopped = mandates.revoke(case, actor=request.user)
        return ngettext(
            "The mandate is revoked; %(n)d unsent notice went back to draft.",
            "The mandate is revoked; %(n)d unsent notices went back to draft.",
            len(stopped),
        ) % {"n": len(stopped)}

    return _act(request, case, step)


@staff_required
def mandate_form(request: HttpRequest, reference: str) -> HttpResponse:
    """The form for the person to sign (remembered by its hash)."""
    case = get_case_for(request.user, reference)
    response = HttpResponse(mandates.issue_form(case), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{case.reference}-mandate-form.pdf"'
    response["Cache-Control"] = "no-store, private"
    return response


@staff_required
def case_links(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    party = request.GET.get("party", "")
    status = request.GET.get("status", "")
    host = request.GET.get("host", "")[:253]
    review = request.GET.get("review") == "1"
    url = request.GET.get("url", "")[:2000]
    links = selectors.case_links(
        case, party=party, status=status, host=host, review=review, url=url
    )
    if request.GET.get("export") == "csv":
        return exports.links_csv(case, links)
    # Page through ids alone (the link_case_party index, without the rows' joins), then load
    # the page's rows: a far page skips index entries, not joined rows.
    ids = links.values_list("pk", flat=True)
    page = Paginator(ids, LINKS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        (link, selectors.first_party(link))
        for link in selectors.with_hosts(links, list(page.object_list))
    ]
    return render(
        request,
        "staff/links.html",
        {
            "case": case,
            "tab": "links",
            "page": page,
            "rows": rows,
            "has_never_reachable": any(
                link.status == FoundLink.Status.NEVER_REACHABLE for link, _ in rows
            ),
            "party": party,
            "status": status,
            "host": host,
            "url": url,
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
    decided = party_decisions.load_decisions(case)
    for host in page.object_list:
        # For the template only, beside the host it belongs to.
        host.evidence = selectors.evidence_rows(host.current)  # type: ignore[attr-defined]
        host.decisions = decided.for_host(host)  # type: ignore[attr-defined]
        host.decided_law = party_decisions.jurisdiction_with_decisions(  # type: ignore[attr-defined]
            host.current,
            host.decisions,  # type: ignore[attr-defined]
        )
        # The resolver stores its reasons in English; the page shows them in the reader's.
        law = (host.current.data or {}).get("jurisdiction", {}) if host.current else {}
        host.reasons = [reason_label(r) for r in law.get("reasons", [])]  # type: ignore[attr-defined]
        host.decision_reasons = [  # type: ignore[attr-defined]
            reason_label(r) for r in law.get("decision_reasons", [])
        ]
        # Lookup errors too; one no template knows (a server's own words) stays marked English.
        host.errors = [  # type: ignore[attr-defined]
            {
                "source": e.get("source", ""),
                "message": error_label(m),
                "english": error_label(m) == m,
            }
            for e in (host.current.errors or [] if host.current else [])
            for m in [e.get("message", "")]
        ]
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
def host_party(request: HttpRequest, reference: str, hostname: str) -> HttpResponse:
    """Decide who is responsible for one host of the case: pick from the directory (a plain
    search, server-rendered), confirm the holder, create an organisation, exclude, or clear."""
    case = get_case_for(request.user, reference)
    if not FoundLink.objects.filter(case=case, host__hostname=hostname).exists():
        raise Http404("No such host in this case")
    host = get_object_or_404(Host.objects.select_related("current"), hostname=hostname)
    back = reverse("staff:party", args=[case.reference, host.hostname])
    if request.method == "POST":
        action = request.POST.get("action")
        form: Any
        if action == "exclude":
            form = ExcludeHostForm(request.POST)
        elif action == "clear":
            form = ClearDecisionForm(request.POST)
        else:
            form = SetPartyForm(request.POST)
        if not form.is_valid():
            messages.error(request, _form_errors(form))
            return redirect(back)
        data, user = form.cleaned_data, request.user
        return _act(request, case, lambda: _decide(case, host, action, data, user), back=back)
    query = request.GET.get("q", "")
    decisions = party_decisions.load_decisions(case)
    decided = decisions.for_host(host)
    unrouted = "" if decisions.first_recipient(host) else unrouted_reason(host)
    holder = dict(((host.current.data or {}).get("holder") if host.current else None) or {})
    if holder.get("reason"):
        holder["reason"] = holder_reason(holder["reason"])  # stored in English
    return render(
        request,
        "staff/party.html",
        {
            "case": case,
            "tab": "hosts",
            "host": host,
            "evidence": selectors.evidence_rows(host.current),
            "holder": holder,
            "decisions": decided,
            "unrouted": unrouted,
            "query": query,
            "results": party_decisions.find_organisations(query),
            "set_form": SetPartyForm(initial={"role": request.GET.get("role", "site_operator")}),
            "exclude_form": ExcludeHostForm(),
        },
    )


def _decide(case: Case, host: Host, action: str | None, data: dict[str, Any], user: Any) -> str:
    whole = bool(data.get("whole_domain"))
    target = host.registered_domain if whole else host.hostname
    if action == "exclude":
        decision = party_decisions.exclude_host(
            case, target, reason=data["reason"], whole_domain=whole, actor=user
        )
        return ngettext(
            "%(count)d link taken out of the case.",
            "%(count)d links taken out of the case.",
            len(decision.excluded_links),
        ) % {"count": len(decision.excluded_links)}
    if action == "clear":
        party_decisions.clear_decisions(case, target, whole_domain=whole, actor=user)
        return _("Decision cleared: resolution decides again.")
    organisation: Organisation | None
    if data.get("holder"):
        organisation = party_decisions.holder_organisation(case, target, whole_domain=whole)
    elif data.get("new_name"):
        organisation = party_decisions.new_organisation(
            data["new_name"],
            role=data["role"],
            country=data.get("country", ""),
            region=data.get("region", ""),
            email=data.get("email", ""),
            web_form=data.get("web_form", ""),
            actor=user,
        )
    else:
        organisation = Organisation.objects.filter(pk=data["organisation"]).first()
        if organisation is None:
            raise party_decisions.DecisionRefused(_("That organisation no longer exists."))
    party_decisions.set_party(
        case, target, role=data["role"], organisation=organisation, whole_domain=whole, actor=user
    )
    return _("%(name)s is now the %(role)s for %(target)s.") % {
        "name": organisation.name,
        "role": RecipientRole(data["role"]).label.lower(),
        "target": target,
    }


@staff_required
def case_timeline(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    events = case.events.select_related("actor", "notice__recipient").order_by("-at", "-pk")
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
            "rows": timeline_rows(page.object_list),
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
        # The letter only: the data files of a notice of a million links are a pass over them.
        rendered = render_notice(notice, with_pdf=False, with_data=False)
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
            "missing": [
                finding_label(finding)
                for finding in (notice.element_check or {}).get("missing", [])
            ],
            "link_count": notice.links.count(),
            # A letter that does not list its links: the first ones here, all in the download.
            "first_links": notice.links.filter(case=case).only("url").order_by("pk")[:FIRST_LINKS]
            if rendered is not None and not rendered.links_in_letter
            else [],
            # A dataset notice names each entry: the links without an id need a reason.
            # A few shown one by one; the rest take one reason for all (a file without ids).
            "unnamed_links": list(notice.links.filter(entry_id="").order_by("pk")[:UNNAMED_SHOWN])
            if notice.recipient_role == RecipientRole.DATASET_MAINTAINER
            else [],
            # Every regime that applies, with its reasons: the caseworker may choose another.
            "regime_options": notice_regime_options(notice)
            if notice.kind == Notice.Kind.NOTICE and notice.status == Notice.Status.DRAFT
            else [],
            "can_ask_access": notice.regime in ACCESS_REGIMES
            and notice.recipient_role != RecipientRole.DPA
            and notice.status == Notice.Status.DRAFT,
            "note_form": NoteForm(),
            "submitted_form": MarkSubmittedForm(),
            "reply_form": ReplyForm(),
            "authority_form": AuthorityForm(initial={"authority": notice.recipient_id})
            if notice.kind == Notice.Kind.COMPLAINT and notice.status == Notice.Status.DRAFT
            else None,
        },
    )


@staff_required
def notice_links(request: HttpRequest, reference: str, pk: int) -> StreamingHttpResponse:
    """Every link of the notice as the attached links CSV lists it, streamed from the database."""
    _case, notice = _notice_of(request, reference, pk)
    return exports.notice_links(notice)


@staff_required
def notice_pdf(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case, notice = _notice_of(request, reference, pk)
    count = notice.links.count()
    # Above TAKEDOWN_NOTICE_LISTED_LINKS the PDF lists none: a page or two.
    if RENDER_INLINE_LINKS < count <= settings.TAKEDOWN_NOTICE_LISTED_LINKS:
        # A notice listing thousands of links takes WeasyPrint far longer than a request may.
        return redirect(
            job_url(start_job(Job.Kind.RENDER, case, notice=notice, actor=request.user))
        )
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
        messages.error(request, _not_open(case))
    else:
        try:
            messages.success(request, step())
        except TransitionNotAllowed:
            # The table's own words ("in_review -> in_review is not allowed") are for logs.
            messages.error(
                request,
                _(
                    "Nothing was done: this step is not possible any more (perhaps it was done "
                    "already). The page shows the current state."
                ),
            )
        except ConcurrentChange:
            messages.error(request, _("Someone else changed this meanwhile: nothing was done."))
        except NotPossible as refused:
            messages.error(request, refused.message)
    return redirect(back or reverse("staff:case", kwargs={"reference": case.reference}))


def _not_open(case: Case) -> str:
    return _("The case is %(status)s: reopen it first.") % {
        "status": case.get_status_display().lower()
    }


def _form_errors(form: Any) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


@staff_required
@require_POST
def resolve(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    form = ResolveForm(request.POST)
    refresh = form.is_valid() and form.cleaned_data["refresh"]

    job = start_job(Job.Kind.RESOLVE, case, actor=request.user, params={"refresh": refresh})
    return redirect(job_url(job))


@staff_required
@require_POST
def generate(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)

    if case.status != Case.Status.OPEN:
        messages.error(request, _not_open(case))
        return redirect("staff:case", reference=case.reference)
    return redirect(job_url(start_job(Job.Kind.GENERATE, case, actor=request.user)))


@staff_required
@require_POST
def submit_notice(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case, notice = _notice_of(request, reference, pk)

    def step() -> str:
        if notice.status != Notice.Status.DRAFT:
            raise StaffActionError(
                _("Notice %(id)d is not a draft (it is %(status)s): it was submitted already.")
                % {"id": notice.pk, "status": notice.get_status_display().lower()}
            )
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
    """Closing cancels the unsent notices and stops the work on the case: the first POST shows
    what it will cancel and asks; the confirmed one closes."""
    case = get_case_for(request.user, reference)
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("staff:case", reference=case.reference)
    unsent = case.notices.filter(status__in=UNSENT_NOTICE_STATUSES)
    if request.POST.get("confirm") != "1":
        return _confirm(
            request,
            case,
            title=_("Close case %(ref)s?") % {"ref": case.reference},
            consequences=[
                ngettext(
                    "%(n)d notice not sent yet will be cancelled.",
                    "%(n)d notices not sent yet will be cancelled.",
                    count,
                )
                % {"n": count}
                for count in [unsent.count()]
                if count
            ]
            + [
                _("No new notices, reminders or escalations will be made for this case."),
                _("Its links are still checked, so a reappearance reopens it."),
                _("The person sees in the portal that the case was closed."),
            ],
            action=reverse("staff:close", kwargs={"reference": case.reference}),
            fields=[("reason", form.cleaned_data["reason"])],
            button=_("Close case"),
        )
    cancelled = unsent.count()

    def step() -> str:
        escalate.close_case(case, reason=form.cleaned_data["reason"], actor=request.user)
        if not cancelled:
            return _("Case closed.")
        return ngettext(
            "Case closed; %(n)d unsent notice was cancelled.",
            "Case closed; %(n)d unsent notices were cancelled.",
            cancelled,
        ) % {"n": cancelled}

    return _act(request, case, step)


@staff_required
@require_POST
def record_knowledge(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    form = KnowledgeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("staff:case", reference=case.reference)

    def step() -> str:
        deadline = complaint_period.record_knowledge(
            case,
            act_on=form.cleaned_data["act_on"],
            offender_on=form.cleaned_data["offender_on"],
            actor=request.user,
        )
        if deadline is None:
            return _("Recorded.")
        return _("Recorded. A criminal complaint must be filed by %(date)s.") % {
            "date": deadline.last_day.isoformat()
        }

    return _act(request, case, step)


@staff_required
@require_POST
def exclude_links(request: HttpRequest, reference: str) -> HttpResponse:
    """Excluded links are no longer reported, escalated or checked: ask first, naming how many."""
    case = get_case_for(request.user, reference)
    chosen = [int(pk) for pk in request.POST.getlist("link") if pk.isdigit()]
    ids = list(
        FoundLink.objects.filter(
            case=case, pk__in=chosen, status__in=OPEN_LINK_STATUSES
        ).values_list("pk", flat=True)
    )
    back = reverse("staff:links", kwargs={"reference": case.reference})
    if not ids:
        messages.error(request, _("Choose at least one link that is still being followed."))
        return redirect(back)
    if request.POST.get("confirm") != "1":
        return _confirm(
            request,
            case,
            title=ngettext("Exclude %(n)d link?", "Exclude %(n)d links?", len(ids))
            % {"n": len(ids)},
            consequences=[
                _("They are no longer named in new notices, reminders or escalations."),
                _("They are no longer checked; notices already sent stay as they are."),
            ],
            action=reverse("staff:exclude_links", kwargs={"reference": case.reference}),
            fields=[("link", str(pk)) for pk in ids],
            button=_("Exclude"),
        )

    def step() -> str:
        moved = transition_many(
            FoundLink,
            ids,
            list(OPEN_LINK_STATUSES),
            FoundLink.Status.EXCLUDED,
            actor=request.user,
        )
        return ngettext(
            "%(n)d link excluded: it is no longer reported or checked.",
            "%(n)d links excluded: they are no longer reported or checked.",
            len(moved),
        ) % {"n": len(moved)}

    return _act(request, case, step, back=back)


@staff_required
@require_POST
def reopen(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("staff:case", reference=case.reference)

    def step() -> str:
        actions.reopen_case(case, reason=form.cleaned_data["reason"], actor=request.user)
        return _("Case reopened: its links are checked and notices can be generated again.")

    return _act(request, case, step)


@staff_required
@require_POST
def complaint_consent(request: HttpRequest, reference: str) -> HttpResponse:
    case = get_case_for(request.user, reference)
    if request.POST.get("withdraw"):

        def step() -> str:
            withdraw_complaint_consent(case, actor=request.user)
            return _("Consent withdrawn: complaints can no longer name the person.")

        return _act(request, case, step)
    form = ConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("staff:case", reference=case.reference)

    def give() -> str:
        record_complaint_consent(case, how=form.cleaned_data["how"], actor=request.user)
        return _("Consent recorded.")

    return _act(request, case, give)


@staff_required
@require_POST
def choose_authority(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case, notice = _notice_of(request, reference, pk)
    form = AuthorityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(_notice_url(case, notice))

    def step() -> str:
        escalate.choose_authority(notice, form.cleaned_data["authority"], actor=request.user)
        return _("Authority chosen.")

    return _act(request, case, step, back=_notice_url(case, notice))


def _confirm(
    request: HttpRequest,
    case: Case,
    *,
    title: str,
    consequences: list[str],
    action: str,
    fields: list[tuple[str, str]],
    button: str,
) -> HttpResponse:
    """A risky action's question: what it will do, and the same POST again with confirm=1."""
    return render(
        request,
        "staff/confirm.html",
        {
            "case": case,
            "tab": "overview",
            "title": title,
            "consequences": consequences,
            "action": action,
            "fields": fields,
            "button": button,
        },
    )


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
    if request.POST.get("confirm") != "1":
        return _confirm(
            request,
            case,
            title=_("Revoke the portal link of case %(ref)s?") % {"ref": case.reference},
            consequences=[
                _("The person can no longer open the portal with the link they have."),
                _("To let them in again, issue a new link and send it to them."),
            ],
            action=reverse("staff:portal_revoke", kwargs={"reference": case.reference}),
            fields=[],
            button=_("Revoke portal link"),
        )

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
def choose_regime(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """Another applicable regime for a draft: instead of the routed one, or beside it."""
    case, notice = _notice_of(request, reference, pk)
    beside = request.POST.get("mode") == "beside"

    def step() -> str:
        chosen = use_regime(
            notice, request.POST.get("regime", ""), actor=request.user, beside=beside
        )
        return _("Notice %(id)d now uses “%(regime)s”.") % {
            "id": chosen.pk,
            "regime": regime_name(chosen.regime),
        }

    return _act(request, case, step, needs_open=True, back=_notice_url(case, notice))


@staff_required
@require_POST
def access_request(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """Add (or drop) the Art. 15 request for access beside a GDPR erasure request."""
    case, notice = _notice_of(request, reference, pk)
    wanted = request.POST.get("access") == "1"

    def step() -> str:
        if notice.status != Notice.Status.DRAFT or notice.regime not in ACCESS_REGIMES:
            raise actions.StaffActionError(_("Only a GDPR request in draft can ask for access."))
        Notice.objects.filter(pk=notice.pk, status=Notice.Status.DRAFT).update(
            access_request=wanted
        )
        notice.access_request = wanted
        record_event(
            case,
            "notice.access_request",
            actor=request.user,
            message="Art. 15 request " + ("added." if wanted else "removed."),
            notice=notice,
        )
        store_element_check(notice)
        return (
            _("The request for access (Art. 15) is part of the notice.")
            if wanted
            else _("The request for access (Art. 15) was removed.")
        )

    return _act(request, case, step, back=_notice_url(case, notice))


@staff_required
@require_POST
def legal_facts(request: HttpRequest, reference: str) -> HttpResponse:
    """The caseworker's answers to the questions the offences' conditions need."""
    case = get_case_for(request.user, reference)
    answers: dict[str, object] = {}
    for key in QUESTIONS:
        value = request.POST.get(f"fact-{key}", "")
        if value in ("yes", "no"):
            answers[key] = value == "yes"
    facts = clean_facts(answers)
    Case.objects.filter(pk=case.pk).update(legal_facts=facts)
    record_event(
        case,
        "case.legal_facts",
        actor=request.user,
        message="Facts for the legal assessment recorded.",
        data={"facts": facts},
    )
    for notice in Notice.objects.filter(case=case, status=Notice.Status.DRAFT):
        store_element_check(notice)
    messages.success(request, _("The facts are recorded; the drafts name what they support."))
    return redirect("staff:case", reference=case.reference)


@staff_required
@require_POST
def entry_id_note(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case = get_case_for(request.user, reference)
    form = NoteForm(request.POST)
    notice = Notice.objects.filter(case=case, pk=request.POST.get("notice") or 0).first()
    target = _notice_url(case, notice) if notice else ""
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(target or reverse("staff:case", kwargs={"reference": case.reference}))

    def step() -> str:
        if notice is not None and request.POST.get("all") == "1":
            count = actions.set_entry_id_notes(
                case, notice, actor=request.user, note=form.cleaned_data["note"]
            )
            return ngettext(
                "The reason is recorded for %(n)d link; the notice shows it.",
                "The reason is recorded for %(n)d links; the notice shows it.",
                count,
            ) % {"n": count}
        actions.set_entry_id_note(case, pk, actor=request.user, note=form.cleaned_data["note"])
        return _("The reason is recorded; the notice shows it.")

    return _act(request, case, step, back=target)


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

    return redirect(job_url(start_job(Job.Kind.RECHECK, case, actor=request.user)))


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


# --- the staff member's language ----------------------------------------------------------------


@login_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The staff pages in this language for this user, from now on and at every sign-in."""
    language = request.POST.get("language", "")
    if language in dict(settings.LANGUAGES):
        choose_language(request, language)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("staff:queue")
    return redirect(back)
