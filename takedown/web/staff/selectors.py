"""Reading for the caseworker's screens: the queue's views and counts, a case's links grouped by
responsible party. Every function runs a fixed number of queries, however many links a case
has: pages are sliced in the database and per-row facts come from joins or subqueries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import Combinable
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy

from takedown.complaint_period import german_case
from takedown.intake.normalize import InvalidURL, normalize_url
from takedown.models import (
    Case,
    CaseEvent,
    DeletionRequest,
    FoundLink,
    Host,
    LinkCheck,
    Notice,
    Organisation,
    PortalAccess,
    PortalMessage,
    RecipientRole,
)
from takedown.models.roles import FIRST_RECIPIENT_KINDS
from takedown.stats import overdue_notices_qs
from takedown.tallies import LINK_STATUSES, needing_decision

QUEUE_VIEWS = ("mine", "team", "overdue", "review", "decision")
# Written by takedown.checks.escalate when the ladder has no notice left to send; a caseworker
# marks it done with MANUAL_TASK_DONE, whose data["task"] is the task event's id.
MANUAL_TASK = "task.manual_legal_step"
MANUAL_TASK_DONE = "task.manual_legal_step_done"


# --- the queue ----------------------------------------------------------------------------------


def overdue_notices(now: datetime | None = None) -> QuerySet[Notice]:
    """Overdue notices: the one definition the reviewer's results use too (takedown.stats)."""
    return overdue_notices_qs(now=now)


def _flagged_hosts(**filters: Any) -> QuerySet[Host, Any]:
    # A subquery of the few flagged hosts, so the (case, host) index answers each case's
    # EXISTS instead of a join walking all of a case's links.
    return Host.objects.filter(**filters).values("pk")


def open_manual_tasks() -> QuerySet[CaseEvent]:
    """Manual legal steps the escalation ladder asked for and no caseworker has marked done."""
    # The id as a number on both backends: PostgreSQL has no jsonb = bigint operator.
    task_id = Cast(KeyTextTransform("task", "data"), BigIntegerField())
    done = CaseEvent.objects.filter(kind=MANUAL_TASK_DONE).filter(Exact(task_id, OuterRef("pk")))
    return CaseEvent.objects.filter(kind=MANUAL_TASK).exclude(Exists(done))


def _count_per_case(queryset: QuerySet) -> Coalesce:
    counted = (
        queryset.filter(case=OuterRef("pk"))
        .order_by()
        .values("case")
        .annotate(n=Count("*"))  # an index-only count where the filter allows it
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _links_to_review() -> Exists:
    return Exists(FoundLink.objects.filter(case=OuterRef("pk"), needs_review=True))


def _manual_task_open() -> Exists:
    return Exists(open_manual_tasks().filter(case=OuterRef("pk")))


def annotate_flags(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Per case: the reasons it needs a caseworker, and its number of links (subqueries per
    row of the page, so the page's query count does not grow with its rows)."""
    return cases.annotate(
        # StGB §77b: the view flags the page's German cases near their complaint deadline.
        german_case=german_case(),
        link_count=_count_per_case(FoundLink.objects.all()),
        unread_messages=_count_per_case(PortalMessage.objects.filter(read_at__isnull=True)),
        deletion_requested=Exists(
            DeletionRequest.objects.filter(case=OuterRef("pk"), handled_at__isnull=True)
        ),
        links_to_review=_links_to_review(),
        manual_step=_manual_task_open(),
        is_overdue=Exists(overdue_notices().filter(case=OuterRef("pk"))),
        in_review=Exists(
            Notice.objects.filter(case=OuterRef("pk"), status=Notice.Status.IN_REVIEW)
        ),
        manual_pending=Exists(
            Notice.objects.filter(case=OuterRef("pk"), status=Notice.Status.AWAITING_MANUAL)
        ),
        needs_reroute=Exists(Notice.objects.filter(case=OuterRef("pk"), needs_reroute=True)),
        unresolved_jurisdiction=Exists(
            FoundLink.objects.filter(
                case=OuterRef("pk"), host__in=_flagged_hosts(needs_decision=True)
            )
        ),
        changed_host=Exists(
            FoundLink.objects.filter(
                case=OuterRef("pk"), host__in=_flagged_hosts(status=Host.Status.CHANGED)
            )
        ),
    )


def person_waiting() -> Q:
    """The person asked for something nobody has handled yet: a deletion request, or a portal
    message nobody read. Such a case stays in the queue whatever its status."""
    return Q(
        Exists(DeletionRequest.objects.filter(case=OuterRef("pk"), handled_at__isnull=True))
    ) | Q(Exists(PortalMessage.objects.filter(case=OuterRef("pk"), read_at__isnull=True)))


def open_or_waiting(cases: QuerySet[Case]) -> QuerySet[Case]:
    """The queue's default: open cases, and closed, paused or withdrawn ones the person is
    still waiting on."""
    return cases.filter(Q(status=Case.Status.OPEN) | person_waiting())


def queue_view(cases: QuerySet[Case], view: str, user: Any) -> QuerySet[Case]:
    """One tab of the queue: `cases` are already limited to what the user may see."""
    if view == "mine":
        return cases.filter(assigned_to=user)
    if view == "overdue":
        return cases.filter(Exists(overdue_notices().filter(case=OuterRef("pk"))))
    if view == "review":
        return cases.filter(
            Exists(Notice.objects.filter(case=OuterRef("pk"), status=Notice.Status.IN_REVIEW))
        )
    if view == "decision":
        return cases.filter(
            Exists(
                Notice.objects.filter(
                    Q(status=Notice.Status.AWAITING_MANUAL) | Q(needs_reroute=True),
                    case=OuterRef("pk"),
                )
            )
            | Exists(
                FoundLink.objects.filter(
                    case=OuterRef("pk"),
                    host__in=Host.objects.filter(
                        Q(needs_decision=True) | Q(status=Host.Status.CHANGED)
                    ).values("pk"),
                )
            )
            | _links_to_review()
            | _manual_task_open()
        )
    return cases  # "team": every case of the user's teams


def queue_counts(cases: QuerySet[Case], user: Any) -> dict[str, int]:
    """Open cases per tab (one count query per tab)."""
    open_cases = cases.filter(status=Case.Status.OPEN)
    counts = {}
    for view in QUEUE_VIEWS:
        counts[view] = queue_view(open_cases, view, user).count()
    return counts


def search_cases(cases: QuerySet[Case], query: str) -> QuerySet[Case]:
    """By reference (or part of it), by exact image URL (normalised, matched on its hash), by
    part of a host name, or by a fragment of an image URL (a path, a file name)."""
    query = query.strip()
    if not query:
        return cases
    matches: Q | Combinable = Q(reference__iexact=query) | Q(reference__icontains=query)
    if "://" in query:
        try:
            normalized = normalize_url(query)
        except InvalidURL:
            normalized = None
        if normalized is not None:
            matches |= Exists(
                FoundLink.objects.filter(case=OuterRef("pk"), url_sha256=normalized.url_sha256)
            )
    elif " " not in query and len(query) >= MIN_FRAGMENT:
        name = query.lower().rstrip(".")
        hosts = Host.objects.filter(Q(hostname__contains=name) | Q(registered_domain=name)).values(
            "pk"
        )
        matches |= Exists(FoundLink.objects.filter(case=OuterRef("pk"), host__in=hosts))
        # A fragment of a URL: a scan of the visible cases' links (the cases filter first).
        matches |= Exists(FoundLink.objects.filter(case=OuterRef("pk"), url__contains=query))
    return cases.filter(matches)


# Shorter search terms match too much of every URL to mean anything.
MIN_FRAGMENT = 3


# --- a case's links by responsible party -------------------------------------------------------


@dataclass
class PartyGroup:
    party_id: int | None
    organisation: Organisation | None
    role: str
    total: int
    by_status: dict[str, int]

    @property
    def role_label(self) -> str:
        return str(RecipientRole(self.role).label) if self.role else ""


def with_organisations(rows: list[Mapping[str, Any]]) -> list[PartyGroup]:
    """The rows of one page of party groups (tallies.party_groups, live or stored), with their
    organisations (one query)."""
    organisations = Organisation.objects.in_bulk([row["party"] for row in rows if row["party"]])
    return [
        PartyGroup(
            party_id=row["party"],
            organisation=organisations.get(row["party"]),
            role=row["party_role"],
            total=row["total"],
            by_status=row["by_status"],
        )
        for row in rows
    ]


def case_links(
    case: Case,
    *,
    party: str = "",
    status: str = "",
    host: str = "",
    review: bool = False,
    url: str = "",
) -> QuerySet:
    """The links of a case for the links table, ordered by party (none last), host and id:
    the order of the link_case_party index. Without select_related: `with_hosts` loads a
    page's hosts and parties."""
    links = FoundLink.objects.filter(case=case).order_by(
        F("party").asc(nulls_last=True), "host", "pk"
    )
    if party == "none":
        links = links.filter(party__isnull=True)
    elif party.isdigit() and len(party) < 19:  # a bigint; longer is no organisation's id
        links = links.filter(party=int(party))
    if status in LINK_STATUSES:
        links = links.filter(status=status)
    if host:
        links = links.filter(host__hostname__icontains=host.strip().lower())
    if review:
        links = links.filter(needs_review=True)
    if url.strip():
        links = links.filter(url__contains=url.strip())
    return links


def with_hosts(links: QuerySet[FoundLink], ids: list[int]) -> list[FoundLink]:
    """The links `ids` (one page of case_links) in that order, with their hosts and the
    parties of their current resolutions (one query)."""
    found = links.filter(pk__in=ids).select_related(
        "host", *(f"host__current__{kind}" for kind in FIRST_RECIPIENT_KINDS)
    )
    by_id = {link.pk: link for link in found}
    return [by_id[pk] for pk in ids if pk in by_id]


def first_party(link: FoundLink) -> Organisation | None:
    """The first recipient of the link's host's current resolution, in the order of
    models.roles.party_of (which the stored FoundLink.party follows too)."""
    current = link.host.current
    if current is None:
        return None
    return next(
        (getattr(current, kind) for kind in FIRST_RECIPIENT_KINDS if getattr(current, kind)),
        None,
    )


def case_hosts(case: Case, *, flagged_only: bool = False) -> QuerySet[Host]:
    """The hosts a case links to, with their current resolution and the case's link count."""
    # COUNT(*), not of the id: the (case, host) index alone answers it, without reading rows.
    link_count = (
        FoundLink.objects.filter(case=case, host=OuterRef("pk"))
        .order_by()
        .values("host")
        .annotate(n=Count("*"))
        .values("n")
    )
    hosts = (
        Host.objects.filter(pk__in=FoundLink.objects.filter(case=case).values("host"))
        .annotate(case_links=Subquery(link_count, output_field=IntegerField()))
        .select_related(
            "current__platform",
            "current__operator",
            "current__hosting",
            "current__cdn",
            "current__registrar",
        )
        .order_by("-needs_decision", "hostname")
    )
    if flagged_only:
        hosts = hosts.filter(needing_decision(case))
    return hosts


EVIDENCE_ROLES = ("platform", "operator", "cdn", "hosting", "registrar", "registrant")
# The parties' roles as the pages name them, in the reader's language.
PARTY_LABELS = {
    "platform": gettext_lazy("Platform"),
    "operator": gettext_lazy("Site operator"),
    "cdn": gettext_lazy("CDN"),
    "hosting": gettext_lazy("Hosting provider"),
    "registrar": gettext_lazy("Registrar"),
    "registrant": gettext_lazy("Registrant"),
}


def evidence_rows(resolution: Any) -> list[dict[str, Any]]:
    """Which source said what about each party of a host (from the stored lookup result)."""
    if resolution is None:
        return []
    rows = []
    for role in EVIDENCE_ROLES:
        party = (resolution.data or {}).get(role)
        if not isinstance(party, dict):
            continue
        rows.append(
            {
                "role": role,
                "label": PARTY_LABELS[role],
                "who": party.get("organization") or party.get("name") or "",
                "country": party.get("country") or "",
                "source": party.get("source") or "",
                "privacy_proxy": bool(party.get("privacy_proxy")),
            }
        )
    return rows


# --- what needs a person: flagged links, legal steps, the portal -------------------------------


def links_to_review(case: Case) -> QuerySet[FoundLink]:
    """The case's links a check flagged for a human look, each with its latest check (verdict,
    reason, time, final URL) as annotations: one query for a page of them."""
    latest = LinkCheck.objects.filter(link=OuterRef("pk")).order_by("-checked_at", "-pk")
    return (
        FoundLink.objects.filter(case=case, needs_review=True)
        .select_related("host")
        .annotate(
            check_verdict=Subquery(latest.values("verdict")[:1]),
            check_reason=Subquery(latest.values("reason")[:1]),
            check_at=Subquery(latest.values("checked_at")[:1]),
            check_final_url=Subquery(latest.values("final_url")[:1]),
        )
        .order_by("-last_checked_at", "pk")
    )


def live_portal_access(case: Case, now: datetime | None = None) -> PortalAccess | None:
    """The case's working portal link (issuing one revokes the others), or None."""
    now = now or timezone.now()
    return (
        PortalAccess.objects.filter(case=case, revoked_at__isnull=True, expires_at__gt=now)
        .order_by("-expires_at")
        .first()
    )
