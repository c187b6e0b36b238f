"""Turning a case's resolved links into draft notices: one per recipient per case.

The first notice for a host goes to the party that can remove the image soonest: the platform
or site operator when a curated rule or the directory names one, else the hosting provider,
else the CDN. The registrar and the data-protection authority are later steps of the escalation
ladder. Links that came from a dataset also go, grouped, to the dataset's maintainer.

The site operator may be the domain's holder: resolution records an organisation holding the
domain as the operator (resolve.holder) unless a platform or operator rule names another. A
private person holding it is not written to until a caseworker confirms them. A caseworker's
decision (resolve.decisions) wins over all of this until it is cleared. Links with no recipient
are reported per host with the reason, never dropped silently.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext

from takedown.directory.contacts import best_contact, best_contacts
from takedown.errors import NotPossible
from takedown.models import (
    Case,
    CaseEvent,
    Contact,
    FoundLink,
    Host,
    Notice,
    NoticeLink,
    Organisation,
)
from takedown.models import RecipientRole as Role
from takedown.models.roles import kind_in_role
from takedown.notices.hotlines import (
    by_host_country,
    cancel_unsent,
    record_hotline_steps,
    routes_to_hotline,
)
from takedown.notices.regimes import (
    Regime,
    choose_regime,
    regime_heading,
    regime_name,
    regime_options,
)
from takedown.notices.render import (
    CHECKED_ROWS,
    ROW_CHUNK,
    Prefetched,
    check_elements,
    current_mandate,
    element_check_result,
    link_rows_of,
    store_element_check,
)
from takedown.resolve.decisions import load_decisions
from takedown.resolve.holder import HolderKind
from takedown.resolve.jurisdiction import PartyEvidence, assess
from takedown.workflow import (
    DEAD_NOTICE_STATUSES,
    OPEN_LINK_STATUSES,
    new_event,
    record_event,
    transition,
)

GERMAN_SPEAKING = frozenset({"DE", "AT", "CH", "LI"})
# Which contact purposes suit a recipient role, in order of preference.
PURPOSES: dict[str, tuple[str, ...]] = {
    Role.SITE_OPERATOR: ("privacy", "legal", "abuse", "general"),
    Role.HOSTING: ("abuse", "legal", "general"),
    Role.CDN: ("abuse", "legal", "general"),
    Role.REGISTRAR: ("abuse", "legal", "general"),
    Role.DATASET_MAINTAINER: ("privacy", "legal", "general"),
    Role.DPA: ("privacy", "legal", "general"),
    Role.SEARCH_ENGINE: ("delisting", "privacy", "legal", "general"),
}


# Hosts resolved per query while planning: their resolution and up to four organisations each.
HOST_CHUNK = 2_000
# NoticeLink rows written or deleted per statement.
LINK_BATCH = 5_000
# Notices whose element check is stored per statement.
CHECK_BATCH = 500


@dataclass
class Recipient:
    organisation: Organisation
    role: str
    links: list[int] = field(default_factory=list)  # FoundLink ids, ascending
    decided: bool = False  # named by a caseworker (resolve.decisions), not by resolution
    # Ids of the case's links that reappeared: they go into a new draft even where a notice
    # under way already covers them.
    reappeared: set[int] = field(default_factory=set)


@dataclass
class GenerateReport:
    notices: list[Notice] = field(default_factory=list)
    created: int = 0
    refreshed: int = 0
    unchanged: int = 0
    unrouted_links: int = 0  # links whose host has no resolved party yet
    # Why each of those hosts has none: [{"host", "links", "reason"}], so none is dropped
    # silently.
    unrouted_hosts: list[dict[str, Any]] = field(default_factory=list)
    hotline_steps: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "refreshed": self.refreshed,
            "unchanged": self.unchanged,
            "unrouted_links": self.unrouted_links,
            "unrouted_hosts": self.unrouted_hosts,
            "hotline_steps": self.hotline_steps,
            "notices": [describe(notice) for notice in self.notices],
        }


def plan_recipients(case: Case, links: Any = None) -> tuple[list[Recipient], list[dict[str, Any]]]:
    """Group the case's open links (or `links`) by their first recipient: a caseworker's
    decision, else the resolved party. Also the hosts with none, each with its links' count and
    the reason (unrouted_reasons).

    Set-based, so a case of a million links plans in bounded memory: the links are read as
    (id, status, host, dataset) tuples and grouped by host and dataset, and the parties are
    looked up once per host (in chunks), not once per link. Recipients come in the order of
    their first link, each with its link ids in ascending order."""
    maintainers = _maintainers_by_dataset()
    decisions = load_decisions(case)
    if links is None:
        links = FoundLink.objects.filter(case=case, status__in=OPEN_LINK_STATUSES)
    by_host: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    reappeared: set[int] = set()
    rows = links.order_by("id").values_list("id", "status", "host_id", "dataset")
    for link_id, status, host_id, dataset in rows.iterator(chunk_size=LINK_BATCH):
        by_host[host_id][dataset].append(link_id)
        if status == FoundLink.Status.REAPPEARED:
            reappeared.add(link_id)
    # (organisation id, role) -> the recipient, the first link id it got, and the link ids
    # in runs per host (merged and sorted once, at the end).
    grouped: dict[tuple[int, str], Recipient] = {}
    first: dict[tuple[int, str], int] = {}
    runs: dict[tuple[int, str], list[list[int]]] = defaultdict(list)
    unrouted: list[tuple[str, int, str]] = []
    organisations: dict[int, Organisation] = {}

    def add(organisation: Organisation, role: str, ids: list[int], decided: bool) -> None:
        organisation = organisations.setdefault(organisation.pk, organisation)
        key = (organisation.pk, role)
        if key not in grouped or ids[0] < first[key]:
            # The link that came first decides how the recipient was named, as a walk over the
            # links in id order would.
            grouped[key] = Recipient(organisation, role, decided=decided)
            first[key] = ids[0]
        runs[key].append(ids)

    host_ids = list(by_host)
    for start in range(0, len(host_ids), HOST_CHUNK):
        hosts = Host.objects.filter(pk__in=host_ids[start : start + HOST_CHUNK]).select_related(
            "current__platform", "current__operator", "current__hosting", "current__cdn"
        )
        for host in hosts:
            datasets = by_host.pop(host.pk)
            every = sorted(link_id for ids in datasets.values() for link_id in ids)
            party = decisions.first_recipient(host)
            if party is None:
                unrouted.append((host.hostname, len(every), unrouted_reason(host)))
            else:
                organisation, role, decided = party
                add(organisation, role, every, decided)
            decided_maintainer = decisions.party(host, Role.DATASET_MAINTAINER)
            for dataset, ids in datasets.items():
                maintainer = (decided_maintainer or maintainers.get(dataset)) if dataset else None
                if maintainer is not None:
                    add(maintainer, Role.DATASET_MAINTAINER, ids, False)
    # A first party's key sorts before the maintainer's for the same first link, as the walk
    # added them.
    order = sorted(grouped, key=lambda key: (first[key], key[1] == Role.DATASET_MAINTAINER))
    recipients = []
    for key in order:
        recipient = grouped[key]
        recipient.links = sorted(link_id for ids in runs.pop(key) for link_id in ids)
        recipient.reappeared = reappeared
        recipients.append(recipient)
    reasons = [
        {"host": hostname, "links": count, "reason": reason}
        for hostname, count, reason in sorted(unrouted)
    ]
    return recipients, reasons


def unrouted_reason(host: Host) -> str:
    """Why no notice can be drafted for the links of `host`, in words a caseworker acts on."""
    if host.status in (Host.Status.PENDING, Host.Status.RESOLVING) and host.current is None:
        return "not resolved yet"
    if host.current is None or host.status == Host.Status.FAILED:
        return "resolution failed; set the responsible party by hand (set_party)"
    holder = (host.current.data or {}).get("holder") or {}
    kind = holder.get("kind")
    if kind == HolderKind.PERSON:
        return (
            f"the domain holder {holder.get('name', '')} looks like a private person and no"
            " hosting provider is known: confirm the holder (set_party --holder) or name the"
            " responsible party"
        )
    if kind == HolderKind.PRIVACY_SERVICE:
        return (
            "the domain holder is hidden behind a privacy service and no hosting provider is"
            " known: name the responsible party (set_party), or ask the registrar to disclose"
        )
    return "no platform, site operator, hosting provider or CDN found; set the party by hand"


def generate_notices(case: Case, *, actor: Any = None) -> GenerateReport:
    """Create drafts for new recipients and refresh the links of existing drafts. Notices that
    are already in review or further along are left alone (they are reported unchanged)."""
    recipients, unrouted = plan_recipients(case)
    report = GenerateReport(
        unrouted_links=sum(entry["links"] for entry in unrouted), unrouted_hosts=unrouted
    )
    if routes_to_hotline(case):
        # A minor's intimate images: a hotline step per host country, no notice (hotlines.py).
        report.hotline_steps = record_hotline_steps(
            case,
            by_host_country(
                (link_id, r.organisation.country) for r in recipients for link_id in r.links
            ),
            actor=actor,
        )
        cancel_unsent(case, actor=actor)
        return report
    person_country = getattr(getattr(case, "person", None), "country", "") or ""
    # Each recipient's best contact for its role, one query per role instead of per recipient.
    contacts: dict[tuple[int, str], Contact | None] = {}
    for role in {recipient.role for recipient in recipients}:
        found = best_contacts(
            {r.organisation.pk for r in recipients if r.role == role}, PURPOSES[role]
        )
        contacts |= {(org_id, role): contact for org_id, contact in found.items()}
    with transaction.atomic():
        existing = _live_notices(case)
        work = _Work()
        for recipient in recipients:
            key = (recipient.organisation.pk, recipient.role)
            notice = _draft_for(
                case,
                recipient,
                existing.get(key, []),
                actor,
                person_country,
                report,
                contacts,
                work,
            )
            if notice is not None:
                report.notices.append(notice)
        work.finish(case, actor)
        # The drafts made or refreshed, and those beside them (a regime a caseworker added,
        # use_regime), are current.
        drafted = {n.pk for n in report.notices if n.status == Notice.Status.DRAFT}
        _prune_stale_drafts(case, drafted)
    return report


def _live_notices(case: Case) -> dict[tuple[int, str], list[Notice]]:
    """The case's first notices that are not dead, by (recipient, role), newest first; the
    drafts among them locked until the transaction ends, so nothing a reviewer saw changes
    underneath (one query for the case instead of one per recipient)."""
    live: dict[tuple[int, str], list[Notice]] = defaultdict(list)
    notices = (
        Notice.objects.filter(case=case, kind=Notice.Kind.NOTICE)
        .exclude(status__in=DEAD_NOTICE_STATUSES)
        .select_related("recipient", "created_by", "parent")
        .order_by("-created_at")
    )
    list(notices.filter(status=Notice.Status.DRAFT).select_for_update().values_list("pk"))
    for notice in notices:
        notice.case = case
        live[(notice.recipient_id, notice.recipient_role)].append(notice)
    return live


def _prune_stale_drafts(case: Case, current: set[int]) -> None:
    """Drafts the plan no longer produces keep only their open links that no current draft in
    the same role covers (a caseworker named another party for them); empty ones are
    cancelled, so a removed or excluded link can never be sent in a stale draft, and a link
    never goes to two parties in one role."""
    # Requests to search engines are the delisting step's (notices.delisting), not routing's.
    stale = (
        Notice.objects.filter(case=case, kind=Notice.Kind.NOTICE, status=Notice.Status.DRAFT)
        .exclude(pk__in=current)
        .exclude(recipient_role=Role.SEARCH_ENGINE)
    )
    for notice in stale:
        covered = NoticeLink.objects.filter(
            notice_id__in=current, notice__recipient_role=notice.recipient_role
        ).values("link_id")
        NoticeLink.objects.filter(notice=notice).filter(
            ~Q(link__status__in=OPEN_LINK_STATUSES) | Q(link_id__in=covered)
        ).delete()
        if not NoticeLink.objects.filter(notice=notice).exists():
            transition(notice, Notice.Status.CANCELLED, message="No open links left.")


def _draft_for(
    case: Case,
    recipient: Recipient,
    notices: list[Notice],
    actor: Any,
    person_country: str,
    report: GenerateReport,
    contacts: dict[tuple[int, str], Contact | None],
    work: _Work,
) -> Notice | None:
    organisation, role = recipient.organisation, recipient.role
    # Links already in a notice under way (in review, approved, sent ...) are covered; what is
    # left (links imported later, links that reappeared) goes into a draft of its own.
    under_way = [n for n in notices if n.status != Notice.Status.DRAFT]
    if under_way:
        covered = set(
            NoticeLink.objects.filter(notice__in=under_way).values_list("link_id", flat=True)
        )
        recipient.links = [
            link_id
            for link_id in recipient.links
            if link_id not in covered or link_id in recipient.reappeared
        ]
        del covered
    for notice in under_way:
        report.unchanged += 1
        report.notices.append(notice)
    if not recipient.links:
        return None
    drafts = [n for n in notices if n.status == Notice.Status.DRAFT]
    # The draft routing owns; drafts whose regime a caseworker chose keep it (use_regime).
    existing = next((n for n in drafts if n.regime_chosen_by_id is None), None) or (
        drafts[0] if drafts else None
    )
    chosen = existing.regime if existing and existing.regime_chosen_by_id else None
    fields = route(
        case,
        organisation,
        role,
        person_country,
        regime_code=chosen,
        source="override" if recipient.decided else "directory",
        contacts=contacts,
    )
    for other in drafts:
        if other is not existing:
            set_links(other, recipient.links)
            work.check(other, len(recipient.links))
            report.notices.append(other)
    if existing is None:
        notice = Notice(
            case=case,
            recipient=organisation,
            recipient_role=role,
            created_by=actor if getattr(actor, "pk", None) else None,
            **fields,
        )
        report.created += 1
        work.create(notice, recipient.links)
        return notice
    notice = existing
    # Locked above and still a draft: nothing a reviewer saw can change underneath.
    Notice.objects.filter(pk=notice.pk, status=Notice.Status.DRAFT).update(
        needs_reroute=False, **fields
    )
    for name, value in fields.items():
        setattr(notice, name, value)
    report.refreshed += 1
    set_links(notice, recipient.links)
    work.check(notice, len(recipient.links))
    return notice


class _Work:
    """What generate_notices does for many notices at once: the links of new notices written
    LINK_BATCH rows per statement across notices, and the element checks of notices with few
    links run on rows read for many notices in one query (link_rows_of) and stored in one
    statement per batch. A case of a million links may have tens of thousands of recipients
    with a few links each; a query or two per notice is what would take the time."""

    def __init__(self) -> None:
        self.new: list[tuple[Notice, list[int]]] = []
        self.rows: list[NoticeLink] = []
        self.to_check: list[tuple[Notice, int]] = []

    def create(self, notice: Notice, link_ids: list[int]) -> None:
        self.new.append((notice, link_ids))
        self.check(notice, len(link_ids))

    def _add_links(self, notice: Notice, link_ids: list[int]) -> None:
        for link_id in link_ids:
            self.rows.append(NoticeLink(notice_id=notice.pk, link_id=link_id))
            if len(self.rows) >= LINK_BATCH:
                self._write()

    def _write(self) -> None:
        NoticeLink.objects.bulk_create(self.rows)
        self.rows = []

    def check(self, notice: Notice, links: int) -> None:
        self.to_check.append((notice, links))

    def finish(self, case: Case, actor: Any) -> None:
        """Create the new notices with their events and links, then check every notice (its
        links are all in place)."""
        for start in range(0, len(self.new), CHECK_BATCH):
            batch_new = self.new[start : start + CHECK_BATCH]
            Notice.objects.bulk_create([notice for notice, _ in batch_new])
            CaseEvent.objects.bulk_create(
                [
                    new_event(
                        case,
                        "notice.drafted",
                        actor=actor,
                        message=f"Draft notice to {notice.recipient.name} ({role}).",
                        data={"regime": notice.regime, "links": len(link_ids)},
                        notice=notice,
                    )
                    for notice, link_ids in batch_new
                    for role in [notice.recipient_role]
                ]
            )
            for notice, link_ids in batch_new:
                self._add_links(notice, link_ids)
        self.new = []
        if self.rows:
            self._write()
        batch: list[Notice] = []
        size = 0
        for notice, links in self.to_check:
            if links > ROW_CHUNK:
                store_element_check(notice)  # read through a cursor, on its own
                continue
            if batch and (size + links > ROW_CHUNK or len(batch) >= CHECK_BATCH):
                _check_batch(batch)
                batch, size = [], 0
            batch.append(notice)
            size += links
        if batch:
            _check_batch(batch)
        self.to_check = []


def _check_batch(notices: list[Notice]) -> None:
    found = link_rows_of(notices, CHECKED_ROWS)
    mandates = {case_id: current_mandate(case_id) for case_id in {n.case_id for n in notices}}
    for notice in notices:
        read = Prefetched(found[notice.pk], mandates[notice.case_id])
        notice.element_check = element_check_result(check_elements(notice, read))
    Notice.objects.bulk_update(notices, ["element_check"])


def set_links(notice: Notice, link_ids: list[int]) -> None:
    """Make `link_ids` the notice's links, what `notice.links.set` does, in batches of
    LINK_BATCH rows: a dataset maintainer's notice may carry a million links, and one model
    instance per row would not fit in memory."""
    wanted = set(link_ids)
    through = NoticeLink.objects.filter(notice=notice)
    present = set(through.values_list("link_id", flat=True))
    gone = sorted(present - wanted)
    for start in range(0, len(gone), LINK_BATCH):
        through.filter(link_id__in=gone[start : start + LINK_BATCH]).delete()
    wanted -= present
    del present, gone
    added = [link_id for link_id in link_ids if link_id in wanted]
    del wanted
    for start in range(0, len(added), LINK_BATCH):
        NoticeLink.objects.bulk_create(
            [
                NoticeLink(notice_id=notice.pk, link_id=link_id)
                for link_id in added[start : start + LINK_BATCH]
            ]
        )


def route(
    case: Case,
    organisation: Organisation,
    role: str,
    person_country: str,
    *,
    regime_code: str | None = None,
    source: str = "directory",
    contacts: dict[tuple[int, str], Contact | None] | None = None,
) -> dict[str, Any]:
    """Regime, language and contact for a notice to `organisation` as `role` in this case
    (`source` "override" when a caseworker named it; `contacts` the best contacts by
    (organisation, role) for the role's PURPOSES, looked up beforehand)."""
    if regime_code is None:
        regime = choose_regime(
            _jurisdiction_regimes(case, organisation, role, person_country, source),
            role=role,
            category=case.category,
            owns_copyright=case.owns_copyright,
        )
        regime_code = regime.code if regime else "generic_privacy"
    # Only the designated agent (docs/law/dmca.md); without one the element check blocks.
    purposes = ("copyright",) if regime_code == "dmca" else None
    key = (organisation.pk, role)
    if purposes is None and contacts is not None and key in contacts:
        contact = contacts[key]
    else:
        contact = best_contact(organisation, purposes=purposes or PURPOSES[role])
    return {
        "regime": regime_code,
        "language": "de" if organisation.country in GERMAN_SPEAKING else "en",
        "contact": contact,
        "channel": contact.channel if contact else Contact.Channel.EMAIL,
        "to_address": contact.value if contact else "",
    }


def _jurisdiction_regimes(
    case: Case,
    organisation: Organisation,
    role: str,
    person_country: str,
    source: str = "directory",
) -> list[str]:
    return assess(
        [
            PartyEvidence(
                kind_in_role(organisation.kind, role),
                organisation.name,
                organisation.country,
                source,
            )
        ],
        category=case.category,
        owns_copyright=case.owns_copyright,
        person_country=person_country,
    ).regimes


def notice_regime_options(notice: Notice) -> list[tuple[Regime, str]]:
    """The regimes the caseworker may choose for this notice, each with its title, citation
    and reasons in the active language (the caseworker's page)."""
    if notice.recipient_role == Role.SEARCH_ENGINE:
        # The link's situation decides (notices.delisting): there is nothing to choose.
        return []
    case = notice.case
    person_country = getattr(getattr(case, "person", None), "country", "") or ""
    options = regime_options(
        _jurisdiction_regimes(case, notice.recipient, notice.recipient_role, person_country),
        role=notice.recipient_role,
        category=case.category,
        owns_copyright=case.owns_copyright,
    )
    return [
        (regime, "{} ({}): {}".format(*regime_heading(regime), reason))
        for regime, reason in options
    ]


class RegimeChoiceError(NotPossible):
    """The regime cannot be chosen for this notice; the message says why."""


def use_regime(notice: Notice, code: str, *, actor: Any, beside: bool = False) -> Notice:
    """The caseworker's choice of regime for a first notice still in draft: instead of the one
    routing chose, or `beside` it as a second draft to the same recipient (a KUG demand beside
    a GDPR request). Generating the notices again keeps the choice."""
    if notice.kind != Notice.Kind.NOTICE or notice.status != Notice.Status.DRAFT:
        raise RegimeChoiceError(gettext("only a first notice in draft can change its legal regime"))
    if code not in {regime.code for regime, _ in notice_regime_options(notice)}:
        raise RegimeChoiceError(
            gettext("“%(regime)s” does not apply to this recipient and case")
            % {"regime": regime_name(code)}
        )
    case = notice.case
    person_country = getattr(getattr(case, "person", None), "country", "") or ""
    fields = route(case, notice.recipient, notice.recipient_role, person_country, regime_code=code)
    with transaction.atomic():
        if beside:
            if (
                Notice.objects.filter(
                    case=case,
                    recipient=notice.recipient,
                    recipient_role=notice.recipient_role,
                    kind=Notice.Kind.NOTICE,
                    regime=code,
                )
                .exclude(status__in=DEAD_NOTICE_STATUSES)
                .exists()
            ):
                raise RegimeChoiceError(
                    gettext("there is already a notice “%(regime)s” to this recipient")
                    % {"regime": regime_name(code)}
                )
            chosen = Notice.objects.create(
                case=case,
                recipient=notice.recipient,
                recipient_role=notice.recipient_role,
                created_by_id=notice.created_by_id,
                regime_chosen_by=actor,
                **fields,
            )
            chosen.links.set(notice.links.all())
        else:
            chosen = notice
            Notice.objects.filter(pk=notice.pk, status=Notice.Status.DRAFT).update(
                regime_chosen_by=actor, body_text="", **fields
            )
            notice.refresh_from_db()
        record_event(
            case,
            "notice.regime_chosen",
            actor=actor,
            message=f"{code} chosen for notice {chosen.pk} to {notice.recipient.name}"
            + (f", beside notice {notice.pk}." if beside else "."),
            data={"regime": code, "beside": notice.pk if beside else None},
            notice=chosen,
        )
    store_element_check(chosen)
    return chosen


def draft_follow_up(
    parent: Notice,
    *,
    kind: str,
    organisation: Organisation,
    role: str,
    links: list[FoundLink],
    regime_code: str | None = None,
    actor: Any = None,
) -> Notice:
    """A reminder, escalation or complaint draft that follows `parent`, through the same
    element check and four-eyes review as a first notice. It is written in the name of the
    parent's author (the signature), who may submit it but not approve it."""
    case = parent.case
    if kind == Notice.Kind.REMINDER:
        # The same address the request went to: the reminder refers to that letter.
        fields: dict[str, Any] = {
            "regime": parent.regime,
            "language": parent.language,
            "contact": parent.contact,
            "channel": parent.channel,
            "to_address": parent.to_address,
        }
    else:
        person_country = getattr(getattr(case, "person", None), "country", "") or ""
        fields = route(case, organisation, role, person_country, regime_code=regime_code)
    notice = Notice.objects.create(
        case=case,
        kind=kind,
        parent=parent,
        recipient=organisation,
        recipient_role=role,
        created_by_id=parent.created_by_id or case.assigned_to_id,
        **fields,
    )
    notice.links.set(links)
    record_event(
        case,
        f"notice.{kind}_drafted",
        actor=actor,
        message=f"Draft {kind} to {organisation.name} ({role}), following notice {parent.pk}.",
        data={"regime": fields["regime"], "links": len(links), "parent": parent.pk},
        notice=notice,
    )
    store_element_check(notice)
    return notice


def describe(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.pk,
        "case": notice.case.reference,
        "recipient": notice.recipient.name,
        "role": notice.recipient_role,
        "regime": notice.regime,
        "language": notice.language,
        "channel": notice.channel,
        "to": notice.to_address,
        "status": notice.status,
        "links": notice.links.count(),
        "missing": notice.element_check.get("missing", []),
    }


def _maintainers_by_dataset() -> dict[str, Organisation]:
    found: dict[str, Organisation] = {}
    grouped: dict[str, list[Organisation]] = defaultdict(list)
    for organisation in Organisation.objects.filter(kind=Organisation.Kind.DATASET_MAINTAINER):
        for dataset in organisation.datasets or []:
            grouped[str(dataset)].append(organisation)
    for dataset, organisations in grouped.items():
        found[dataset] = organisations[0]
    return found
