"""Turning a case's resolved links into draft notices: one per recipient per case.

The first notice for a host goes to the party that can remove the image soonest: the platform
or site operator when a curated rule or the directory names one, else the hosting provider,
else the CDN. The registrar and the data-protection authority are later steps of the escalation
ladder. Links that came from a dataset also go, grouped, to the dataset's maintainer.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from takedown.directory.contacts import best_contact
from takedown.models import Case, Contact, FoundLink, HostResolution, Notice, Organisation
from takedown.models import RecipientRole as Role
from takedown.notices.regimes import choose_regime
from takedown.notices.render import check_elements
from takedown.resolve.jurisdiction import PartyEvidence, assess
from takedown.workflow import record_event

OPEN_LINK_STATUSES = [
    FoundLink.Status.FOUND,
    FoundLink.Status.NOTIFIED,
    FoundLink.Status.REAPPEARED,
]
GERMAN_SPEAKING = frozenset({"DE", "AT", "CH", "LI"})
# Which contact purposes suit a recipient role, in order of preference.
PURPOSES = {
    Role.SITE_OPERATOR: ("privacy", "legal", "abuse", "general"),
    Role.HOSTING: ("abuse", "legal", "general"),
    Role.CDN: ("abuse", "legal", "general"),
    Role.REGISTRAR: ("abuse", "legal", "general"),
    Role.DATASET_MAINTAINER: ("privacy", "legal", "general"),
    Role.DPA: ("privacy", "legal", "general"),
}
# The party kind the jurisdiction rules reason about, per recipient role.
JURISDICTION_ROLE = {
    Role.HOSTING: "hosting",
    Role.CDN: "cdn",
    Role.REGISTRAR: "registrar",
    Role.DATASET_MAINTAINER: "dataset_maintainer",
}


@dataclass
class Recipient:
    organisation: Organisation
    role: str
    links: list[FoundLink] = field(default_factory=list)


@dataclass
class GenerateReport:
    notices: list[Notice] = field(default_factory=list)
    created: int = 0
    refreshed: int = 0
    unchanged: int = 0
    unrouted_links: int = 0  # links whose host has no resolved party yet

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "refreshed": self.refreshed,
            "unchanged": self.unchanged,
            "unrouted_links": self.unrouted_links,
            "notices": [describe(notice) for notice in self.notices],
        }


def plan_recipients(case: Case) -> tuple[list[Recipient], int]:
    """Group the case's open links by their first recipient; count the links with none."""
    grouped: dict[tuple[int, str], Recipient] = {}
    unrouted = 0
    maintainers = _maintainers_by_dataset()
    links = (
        FoundLink.objects.filter(case=case, status__in=OPEN_LINK_STATUSES)
        .select_related("host__current__platform", "host__current__hosting", "host__current__cdn")
        .order_by("id")
    )
    for link in links:
        party = _first_party(link.host.current)
        if party is None:
            unrouted += 1
        else:
            organisation, role = party
            grouped.setdefault((organisation.pk, role), Recipient(organisation, role)).links.append(
                link
            )
        maintainer = maintainers.get(link.dataset) if link.dataset else None
        if maintainer is not None:
            key = (maintainer.pk, Role.DATASET_MAINTAINER)
            grouped.setdefault(key, Recipient(maintainer, Role.DATASET_MAINTAINER)).links.append(
                link
            )
    return list(grouped.values()), unrouted


def generate_notices(case: Case, *, actor: Any = None) -> GenerateReport:
    """Create drafts for new recipients and refresh the links of existing drafts. Notices that
    are already in review or further along are left alone (they are reported unchanged)."""
    recipients, unrouted = plan_recipients(case)
    report = GenerateReport(unrouted_links=unrouted)
    person_country = getattr(getattr(case, "person", None), "country", "") or ""
    with transaction.atomic():
        for recipient in recipients:
            notice = _draft_for(case, recipient, actor, person_country, report)
            if notice is not None:
                report.notices.append(notice)
    return report


def _draft_for(
    case: Case, recipient: Recipient, actor: Any, person_country: str, report: GenerateReport
) -> Notice | None:
    organisation, role = recipient.organisation, recipient.role
    existing = (
        Notice.objects.filter(
            case=case, recipient=organisation, recipient_role=role, kind=Notice.Kind.NOTICE
        )
        .exclude(status=Notice.Status.CANCELLED)
        .order_by("-created_at")
        .first()
    )
    if existing is not None and existing.status != Notice.Status.DRAFT:
        report.unchanged += 1
        report.notices.append(existing)
        return None
    regimes = assess(
        [
            PartyEvidence(
                _jurisdiction_role(organisation, role),
                organisation.name,
                organisation.country,
                "directory",
            )
        ],
        category=case.category,
        owns_copyright=case.owns_copyright,
        person_country=person_country,
    ).regimes
    regime = choose_regime(
        regimes, role=role, category=case.category, owns_copyright=case.owns_copyright
    )
    purposes = ("copyright", "legal", "abuse") if regime and regime.code == "dmca" else None
    contact = best_contact(organisation, purposes=purposes or PURPOSES[role])
    fields = {
        "regime": regime.code if regime else "generic_privacy",
        "language": "de" if organisation.country in GERMAN_SPEAKING else "en",
        "contact": contact,
        "channel": contact.channel if contact else Contact.Channel.EMAIL,
        "to_address": contact.value if contact else "",
    }
    if existing is None:
        notice = Notice.objects.create(
            case=case,
            recipient=organisation,
            recipient_role=role,
            created_by=actor if getattr(actor, "pk", None) else None,
            **fields,
        )
        report.created += 1
        record_event(
            case,
            "notice.drafted",
            actor=actor,
            message=f"Draft notice to {organisation.name} ({role}).",
            data={"regime": fields["regime"], "links": len(recipient.links)},
            notice=notice,
        )
    else:
        notice = existing
        Notice.objects.filter(pk=notice.pk).update(**fields)
        for name, value in fields.items():
            setattr(notice, name, value)
        report.refreshed += 1
    notice.links.set(recipient.links)
    missing = check_elements(notice)
    notice.element_check = {"missing": missing, "complete": not missing}
    Notice.objects.filter(pk=notice.pk).update(element_check=notice.element_check)
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


def _first_party(resolution: HostResolution | None) -> tuple[Organisation, str] | None:
    if resolution is None:
        return None
    for organisation, role in (
        (resolution.platform, Role.SITE_OPERATOR),
        (resolution.operator, Role.SITE_OPERATOR),
        (resolution.hosting, Role.HOSTING),
        (resolution.cdn, Role.CDN),
    ):
        if organisation is not None:
            return organisation, role
    return None


def _jurisdiction_role(organisation: Organisation, role: str) -> str:
    if role == Role.SITE_OPERATOR:
        return "platform" if organisation.kind == Organisation.Kind.PLATFORM else "operator"
    return JURISDICTION_ROLE[role]


def _maintainers_by_dataset() -> dict[str, Organisation]:
    found: dict[str, Organisation] = {}
    grouped: dict[str, list[Organisation]] = defaultdict(list)
    for organisation in Organisation.objects.filter(kind=Organisation.Kind.DATASET_MAINTAINER):
        for dataset in organisation.datasets or []:
            grouped[str(dataset)].append(organisation)
    for dataset, organisations in grouped.items():
        found[dataset] = organisations[0]
    return found
