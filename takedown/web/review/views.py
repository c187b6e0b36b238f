"""The reviewer's dashboard: the approval queue, one notice with its preview, approve or reject,
and the organisation's results.

Every view needs the reviewer permission (`reviewer_required`) and finds notices only among
the cases the reviewer may see (`access.cases_for`: their teams', all for admins): another
team's notice is a 404, like one that does not exist. The rules of four-eyes review live in
takedown.notices.review; the views only turn its refusals into messages.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from takedown import stats
from takedown.csvsafe import csv_bytes
from takedown.errors import NotPossible
from takedown.models import (
    Case,
    CaseEvent,
    FoundLink,
    Host,
    LinkCheck,
    Notice,
    NoticeLink,
    Team,
    Verdict,
)
from takedown.notices.regimes import REGIMES, Regime, UnknownRegime, get_regime, regime_title
from takedown.notices.render import (
    RenderedNotice,
    check_elements,
    finding_label,
    render_notice,
)
from takedown.notices.render import notice_pdf as render_pdf
from takedown.notices.review import approve, reject
from takedown.web.access import cases_for, is_admin, reviewer_required
from takedown.web.review import charts
from takedown.web.staff import exports
from takedown.web.staff.selectors import PARTY_LABELS, evidence_rows
from takedown.workflow import ConcurrentChange

QUEUE_LIMIT = 200
RESULT_WEEKS = 12
CHART_ROWS = 15


def _notices_for(user: Any) -> QuerySet[Notice]:
    return Notice.objects.filter(case__in=cases_for(user).values("pk"))


@dataclass(frozen=True)
class QueueRow:
    notice: Notice
    regime: Regime | None
    missing: list[str]
    own: bool  # the reviewer wrote or submitted it: four eyes forbid approving

    @property
    def regime_title(self) -> str:
        """The regime's title in the reader's language; the code of one that does not exist."""
        return regime_title(self.regime) if self.regime else self.notice.regime

    @property
    def needs_disclosure(self) -> bool:
        return bool(self.regime and self.regime.discloses_person)

    @property
    def disclosure_confirmed(self) -> bool:
        return self.notice.disclosure_confirmed_by_id is not None


def _regime(code: str) -> Regime | None:
    try:
        return get_regime(code)
    except UnknownRegime:
        return None


def _row(notice: Notice, user: Any) -> QueueRow:
    own = user.pk in {notice.created_by_id, getattr(notice, "submitted_by", None)}
    missing = [finding_label(m) for m in (notice.element_check or {}).get("missing", [])]
    return QueueRow(notice, _regime(notice.regime), missing, own)


def _in_review(user: Any) -> QuerySet[Notice]:
    submission = CaseEvent.objects.filter(notice=OuterRef("pk"), kind="notice.in_review").order_by(
        "-at", "-pk"
    )
    return (
        _notices_for(user)
        .filter(status=Notice.Status.IN_REVIEW)
        .select_related("case", "recipient", "created_by", "disclosure_confirmed_by")
        .annotate(
            submitted_by=Subquery(submission.values("actor_id")[:1]),
            submitted_at=Subquery(submission.values("at")[:1]),
        )
        # Oldest submission first: the queue is worked in the order notices arrived.
        .order_by("submitted_at", "pk")
    )


@reviewer_required
def queue(request: HttpRequest) -> HttpResponse:
    notices = _in_review(request.user)
    total = notices.count()
    rows = [_row(notice, request.user) for notice in stats.with_link_counts(notices[:QUEUE_LIMIT])]
    return render(
        request,
        "review/queue.html",
        {"rows": rows, "total": total, "limit": QUEUE_LIMIT, "shown": len(rows)},
    )


def _get_notice(request: HttpRequest, pk: int) -> Notice:
    notices = _notices_for(request.user).select_related(
        "case", "recipient", "created_by", "approved_by", "disclosure_confirmed_by", "contact"
    )
    return get_object_or_404(notices, pk=pk)


def seen_digest(rendered: RenderedNotice, notice: Notice) -> str:
    """What the reviewer was shown: the approve form carries it, and approving checks it
    against the notice as it renders now. So no approval without the notice page (the queue
    has no approve button, and a crafted POST lacks the digest), and none of a text that
    changed after the reviewer read it (a caseworker's edit, a re-generation).

    A notice of more links than its letter lists (TAKEDOWN_NOTICE_LISTED_LINKS) states only
    their number: its set of links is taken in as well (count, sum, least and greatest id, one
    pass over the (notice, link) index), so links swapped or rerouted after the reviewer read
    the page withdraw the approval even where the number stays the same."""
    digest = hashlib.sha256()
    parts = [rendered.subject, rendered.text]
    if not rendered.links_in_letter:
        facts = NoticeLink.objects.filter(notice=notice).aggregate(
            n=Count("link_id"), total=Sum("link_id"), low=Min("link_id"), high=Max("link_id")
        )
        parts.append(repr(sorted(facts.items())))
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


PARTY_ROLES = ("platform", "operator", "cdn", "hosting", "registrar")


def _parties(resolution: Any) -> list[dict[str, Any]]:
    """Who the resolution made responsible for each role (the directory's organisation), with
    which source said so where the stored lookup result records it."""
    if resolution is None:
        return []
    said = {row["role"]: row for row in evidence_rows(resolution)}
    rows = []
    for role in PARTY_ROLES:
        organisation = getattr(resolution, role)
        found = said.pop(role, None)
        if organisation is None and found is None:
            continue
        rows.append(
            {
                "role": role,
                "who": organisation.name if organisation else found["who"],  # type: ignore[index]
                "country": (organisation.country if organisation else "")
                or (found or {}).get("country", ""),
                "source": (found or {}).get("source", ""),
                "privacy_proxy": bool((found or {}).get("privacy_proxy")),
            }
        )
    # The registrant (and any role without an organisation) as the sources named it.
    rows.extend(said.values())
    for row in rows:
        row["label"] = PARTY_LABELS.get(row["role"], row["role"])
    return rows


EVIDENCE_HOSTS = 20
EVIDENCE_LINKS = 100


def _evidence(notice: Notice) -> dict[str, Any]:
    """The facts behind the notice, read-only: the hosts its links are on with what the
    resolution found (addresses, CNAME chain, which source named which party), and each
    link's latest check. Nothing about the affected person: no name, contact or notes."""
    links = notice.links.filter(case=notice.case)
    hosts = list(
        Host.objects.filter(pk__in=links.values("host"))
        .select_related(
            "current__platform",
            "current__operator",
            "current__hosting",
            "current__cdn",
            "current__registrar",
        )
        .order_by("hostname")[:EVIDENCE_HOSTS]
    )
    for host in hosts:
        host.evidence = _parties(host.current)  # type: ignore[attr-defined]
    latest = LinkCheck.objects.filter(link=OuterRef("pk")).order_by("-checked_at", "-pk")
    checked = (
        links.annotate(
            check_verdict=Subquery(latest.values("verdict")[:1]),
            check_status=Subquery(latest.values("status_code")[:1]),
            check_at=Subquery(latest.values("checked_at")[:1]),
            check_reason=Subquery(latest.values("reason")[:1]),
        )
        .only("pk", "url", "status")
        .order_by("pk")[:EVIDENCE_LINKS]
    )
    verdicts = dict(Verdict.choices)
    statuses = dict(FoundLink.Status.choices)
    rows = [
        {
            "url": link.url,
            "status": statuses.get(link.status, link.status),
            "verdict": verdicts.get(link.check_verdict, "") if link.check_verdict else "",
            "status_code": link.check_status,
            "at": link.check_at,
            "reason": link.check_reason or "",
        }
        for link in checked
    ]
    return {"hosts": hosts, "checks": rows}


@reviewer_required
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _get_notice(request, pk)
    submission = (
        CaseEvent.objects.filter(notice=notice, kind="notice.in_review").order_by("-at").first()
    )
    # What the queue annotates (_in_review), for this one notice.
    notice.submitted_by = submission.actor_id if submission else None  # type: ignore[attr-defined]
    rendered, error = None, ""
    try:
        # The letter only: the data files of a notice of a million links are a pass over them.
        rendered = render_notice(notice, with_pdf=False, with_data=False)
        missing = [finding_label(finding) for finding in check_elements(notice)]
    except UnknownRegime:
        error = _("This notice names a legal regime that does not exist: it cannot be rendered.")
        missing = []
    row = QueueRow(notice, _regime(notice.regime), missing, _row(notice, request.user).own)
    return render(
        request,
        "review/notice.html",
        {
            "row": row,
            "notice": notice,
            "rendered": rendered,
            "render_error": error,
            "submission": submission,
            "links": notice.links.filter(case=notice.case).only("url").order_by("pk")[:100],
            "link_count": notice.links.count(),
            "seen": seen_digest(rendered, notice) if rendered else "",
            "evidence": _evidence(notice),
            "evidence_hosts": EVIDENCE_HOSTS,
        },
    )


@reviewer_required
def notice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _get_notice(request, pk)
    try:
        pdf = render_pdf(notice)
    except UnknownRegime:
        messages.error(request, _("This notice cannot be rendered: its legal regime is unknown."))
        return redirect("review:notice", pk=notice.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"{notice.case.reference}-notice-{notice.pk}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The notice can name the affected person: no copy in the browser's or a proxy's cache.
    response["Cache-Control"] = "no-store, private"
    return response


@reviewer_required
def notice_links(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Every link of the notice, as its attached links CSV lists them (URLs, dates, entry ids
    and hashes of the URLs: nothing about the affected person)."""
    return exports.notice_links(_get_notice(request, pk))


def _back(request: HttpRequest, notice: Notice) -> HttpResponseRedirect:
    # Back to the queue after a decision, or to the notice when the decision was refused.
    return redirect(reverse("review:notice", args=[notice.pk]))


@require_POST
@reviewer_required
def approve_notice(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _get_notice(request, pk)
    try:
        current = seen_digest(render_notice(notice, with_pdf=False, with_data=False), notice)
    except UnknownRegime:
        current = ""
    seen = request.POST.get("seen", "")
    if not current or not hmac.compare_digest(seen, current):
        messages.error(
            request,
            _(
                "Not approved: the text of this notice was not shown to you as it is now. "
                "Read it below, then decide."
            ),
        )
        return _back(request, notice)
    try:
        with transaction.atomic():
            approve(notice, request.user, confirm_disclosure=bool(request.POST.get("confirm")))
    except ConcurrentChange:
        messages.error(request, _("Someone else changed this notice meanwhile: look again."))
        return _back(request, notice)
    except NotPossible as refused:
        messages.error(request, _("Not approved: %(reason)s.") % {"reason": refused.message})
        return _back(request, notice)
    messages.success(
        request,
        _("Notice %(id)s to %(recipient)s approved.")
        % {"id": notice.pk, "recipient": notice.recipient.name},
    )
    return redirect("review:index")


@require_POST
@reviewer_required
def reject_notice(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _get_notice(request, pk)
    if notice.status != Notice.Status.IN_REVIEW:
        messages.error(request, _("Not returned: the notice is no longer in review."))
        return _back(request, notice)
    try:
        reject(notice, request.user, request.POST.get("comment", ""))
    except ConcurrentChange:
        messages.error(request, _("Someone else changed this notice meanwhile: look again."))
        return _back(request, notice)
    except NotPossible as refused:
        messages.error(request, _("Not returned: %(reason)s.") % {"reason": refused.message})
        return _back(request, notice)
    messages.success(
        request, _("Notice %(id)s returned to its author with your comment.") % {"id": notice.pk}
    )
    return redirect("review:index")


def _days(value: Any) -> float:
    return value.total_seconds() / 86400


def duration(value: Any) -> str:
    """A time to removal in words a reader takes in at a glance: hours below two days."""
    if value is None:
        return "\u2013"  # an en dash: no figure
    hours = value.total_seconds() / 3600
    if hours < 48:
        return _("%(n).1f h") % {"n": hours}
    return _("%(n).1f days") % {"n": hours / 24}


def _median_chart(rows: list[stats.Median], title: str) -> Any:
    shown = rows[:CHART_ROWS]
    return charts.bar_chart(
        [(row.label, _days(row.median), duration(row.median)) for row in shown],
        title=title,
        unit=_("median time from the notice to the removal, in hours or days"),
    )


PERIODS = (4, 12, 26, 52)  # weeks a reviewer can look back; "" is all time


@dataclass(frozen=True)
class ResultFilter:
    """The results page's choices, read from its query string; unknown values are ignored."""

    weeks: int | None
    team: Team | None
    regime: str
    country: str

    @property
    def active(self) -> bool:
        return bool(self.weeks or self.team or self.regime or self.country)

    def query(self) -> str:
        return urlencode(
            {
                key: value
                for key, value in (
                    ("weeks", self.weeks or ""),
                    ("team", self.team.pk if self.team else ""),
                    ("regime", self.regime),
                    ("country", self.country),
                )
                if value
            }
        )


def _teams_for(user: Any) -> QuerySet[Team]:
    teams = Team.objects.all() if is_admin(user) else Team.objects.filter(members=user)
    return teams.order_by("name")


def _result_filter(request: HttpRequest, countries: list[str]) -> ResultFilter:
    weeks = request.GET.get("weeks", "")
    team = request.GET.get("team", "")
    regime = request.GET.get("regime", "")
    country = request.GET.get("country", "")
    return ResultFilter(
        weeks=int(weeks) if weeks.isdigit() and int(weeks) in PERIODS else None,
        team=_teams_for(request.user).filter(pk=team).first() if team.isdigit() else None,
        regime=regime if _regime(regime) else "",
        country=country if country in countries else "",
    )


def _filtered_cases(user: Any, chosen: ResultFilter, now: Any) -> QuerySet[Case]:
    """The cases the figures count (see "How these figures are counted" on the page)."""
    cases = cases_for(user)
    if chosen.weeks:
        cases = cases.filter(created_at__gte=now - timedelta(weeks=chosen.weeks))
    if chosen.team:
        cases = cases.filter(team=chosen.team)
    if chosen.regime or chosen.country:
        sent = Notice.objects.filter(case=OuterRef("pk"), status=Notice.Status.SENT)
        if chosen.regime:
            sent = sent.filter(regime=chosen.regime)
        if chosen.country:
            sent = sent.filter(recipient__country=chosen.country)
        cases = cases.filter(Exists(sent))
    return cases


def _narrowed(data: stats.Results, chosen: ResultFilter) -> stats.Results:
    """Within the chosen cases, the notice-level tables keep only the rows of the chosen
    regime and country, so that a row never shows another regime's or country's figures."""
    if not (chosen.regime or chosen.country):
        return data
    removal = data.removal
    board = data.scoreboard
    by_recipient = removal.by_recipient
    by_country = removal.by_country
    by_regime = removal.by_regime
    overdue = data.overdue
    if chosen.country:
        board = [row for row in board if row.country == chosen.country]
        in_country = {str(row.organisation_id) for row in board}
        by_recipient = [row for row in by_recipient if row.key in in_country]
        by_country = [row for row in by_country if row.key == chosen.country]
    if chosen.regime:
        by_regime = [row for row in by_regime if row.key == chosen.regime]
        overdue = [row for row in overdue if row.regime == chosen.regime]
    return replace(
        data,
        removal=replace(
            removal, by_recipient=by_recipient, by_country=by_country, by_regime=by_regime
        ),
        scoreboard=board,
        overdue=overdue,
    )


def _results_data(request: HttpRequest) -> tuple[stats.Results, ResultFilter, dict[str, Any]]:
    visible = cases_for(request.user)
    countries = sorted(
        {
            country
            for country in Notice.objects.filter(
                case__in=visible.values("pk"), status=Notice.Status.SENT
            )
            .values_list("recipient__country", flat=True)
            .distinct()
            .order_by()
            if country
        }
    )
    chosen = _result_filter(request, countries)
    now = timezone.now()
    data = stats.results(
        _filtered_cases(request.user, chosen, now), weeks=chosen.weeks or RESULT_WEEKS, now=now
    )
    choices = {
        "periods": PERIODS,
        "teams": _teams_for(request.user),
        "regimes": sorted(
            ({"code": code, "title": regime_title(regime)} for code, regime in REGIMES.items()),
            key=lambda regime: regime["title"],
        ),
        "countries": countries,
    }
    return _narrowed(data, chosen), chosen, choices


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else ""


@reviewer_required
def results_csv(request: HttpRequest) -> HttpResponse:
    """Every figure of the results page as one long table: what, which row, which figure, the
    value and its unit. One shape for all of them, so a spreadsheet can filter and pivot."""
    data, chosen, _choices = _results_data(request)
    rows: list[list[str]] = []

    def add(table: str, label: str, figure: str, value: Any, unit: str) -> None:
        rows.append([table, label, figure, "" if value is None else str(value), unit])

    for key in (
        "found",
        "removed",
        "still_online",
        "never_reachable",
        "not_seen_online",
        "excluded",
    ):
        add("totals", "", key, data.totals[key], "links")
    for week in data.weeks:
        start = week.start.isoformat()
        add("weeks", start, "found", week.found, "links")
        add("weeks", start, "removed", week.removed, "links")
        add("weeks", start, "not_removed", week.not_removed, "links")
    add(
        "median_time_to_removal",
        "all",
        "median",
        f"{_days(data.removal.overall):.2f}" if data.removal.overall else None,
        "days",
    )
    for table, medians in (
        ("median_by_recipient", data.removal.by_recipient),
        ("median_by_country", data.removal.by_country),
        ("median_by_regime", data.removal.by_regime),
    ):
        for median in medians:
            add(table, median.label, "median", f"{_days(median.median):.2f}", "days")
            add(table, median.label, "removals", median.links, "links")
    for row in data.scoreboard:
        for figure in ("sent", "settled", "complied", "partly", "ignored", "refused", "pending"):
            add("scoreboard", row.organisation, figure, getattr(row, figure), "notices")
        for figure in ("complied", "ignored"):
            share = getattr(row, f"{figure}_share")
            add(
                "scoreboard",
                row.organisation,
                f"{figure}_share",
                None if share is None else f"{share:.4f}",
                "share of settled",
            )
    for late in data.overdue:
        add(
            "overdue",
            f"notice {late.notice_id}",
            "overdue_for",
            f"{_days(late.overdue_for):.2f}",
            "days",
        )
    body = csv_bytes(["table", "row", "figure", "value", "unit"], rows)
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    suffix = f"-{slugify(chosen.query())}" if chosen.active else ""
    response["Content-Disposition"] = f'attachment; filename="takedown-results{suffix}.csv"'
    return response


@reviewer_required
def results(request: HttpRequest) -> HttpResponse:
    data, chosen, choices = _results_data(request)
    labels = [week.start.strftime("%d %b") for week in data.weeks]
    weekly = charts.column_chart(
        labels,
        [
            charts.Series(_("found"), [w.found for w in data.weeks], charts.ACCENT),
            charts.Series(_("removed"), [w.removed for w in data.weeks], charts.OK),
        ],
        line=charts.Series(_("not removed"), [w.not_removed for w in data.weeks], charts.WARN),
        title=_("Links per week"),
        unit=_("links"),
    )
    removal = data.removal
    board = [
        {
            "row": row,
            "median": duration(row.median_removal),
            "refused_share": _share(row.refused, row.sent),
            "pending_share": _share(row.pending, row.sent),
            "bar": charts.share_bar(
                [
                    (row.complied / row.settled, charts.OK, _("complied"), row.complied),
                    (row.partly / row.settled, charts.ACCENT, _("partly"), row.partly),
                    (row.ignored / row.settled, charts.WARN, _("ignored"), row.ignored),
                ],
                total=row.settled,
            )
            if row.settled
            else None,
        }
        for row in data.scoreboard
    ]
    query = chosen.query()
    return render(
        request,
        "review/results.html",
        {
            "data": data,
            "chosen": chosen,
            "choices": choices,
            "csv_url": reverse("review:results_csv") + (f"?{query}" if query else ""),
            "all_cases": is_admin(request.user),
            "weekly_chart": weekly,
            "overall": duration(removal.overall),
            "medians": [
                (
                    _("By recipient"),
                    _median_chart(removal.by_recipient, _("Median time to removal by recipient")),
                    [(r, duration(r.median)) for r in removal.by_recipient],
                ),
                (
                    _("By country of the recipient"),
                    _median_chart(removal.by_country, _("Median time to removal by country")),
                    [(r, duration(r.median)) for r in removal.by_country],
                ),
                (
                    _("By legal regime"),
                    _median_chart(removal.by_regime, _("Median time to removal by regime")),
                    [(r, duration(r.median)) for r in removal.by_regime],
                ),
            ],
            "board": board,
            "overdue": [(row, duration(row.overdue_for)) for row in data.overdue],
        },
    )
