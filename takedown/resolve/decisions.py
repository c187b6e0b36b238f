"""A caseworker decides where the machine cannot: who is responsible for a host in one case.

`set_party` names the party in one role for a host (or every host of a registered domain),
`exclude_host` takes a host's links out of the case, `clear_decisions` removes the decision.
Each is one transaction with a case event naming its author. A decision wins over resolution
until it is cleared: routing (notices.generate), the escalation ladder (`responsible_party`) and
the jurisdiction shown for the host (`jurisdiction_with_decisions`, the decided party's country
as an "override" fact, the highest-ranked source) all read it.

Precedence: a decision for the host itself beats one for its registered domain, role by role;
an exclusion beats everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from takedown.errors import NotPossible
from takedown.events import stored
from takedown.models import (
    Case,
    Contact,
    FoundLink,
    Host,
    HostResolution,
    Organisation,
    PartyDecision,
)
from takedown.models import RecipientRole as Role
from takedown.models.roles import KIND_OF_ROLE, kind_in_role, kinds_of
from takedown.resolve.countries import to_alpha2
from takedown.resolve.holder import HolderKind, classify_holder
from takedown.resolve.jurisdiction import PartyEvidence, assess
from takedown.resolve.regions import valid_region
from takedown.workflow import OPEN_LINK_STATUSES, record_event, transition_many

# The roles a caseworker can name (the DPA is chosen by the ladder, never per host).
DECIDABLE_ROLES = (
    Role.SITE_OPERATOR,
    Role.HOSTING,
    Role.CDN,
    Role.REGISTRAR,
    Role.DATASET_MAINTAINER,
)
# The roles that can be a link's first recipient, in the order one is chosen.
FIRST_ROLES = (Role.SITE_OPERATOR, Role.HOSTING, Role.CDN)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class DecisionRefused(NotPossible):
    """The decision cannot be recorded as asked (unknown host, organisation, bad input)."""


@dataclass
class Decisions:
    """The active decisions of one case, looked up per host."""

    hosts: dict[str, list[PartyDecision]] = field(default_factory=dict)
    domains: dict[str, list[PartyDecision]] = field(default_factory=dict)

    def for_host(self, host: Host) -> list[PartyDecision]:
        """The decisions that hold for `host`: its own, then its domain's for other roles."""
        own = self.hosts.get(host.hostname, [])
        roles = {decision.role for decision in own}
        inherited = [
            decision
            for decision in self.domains.get(host.registered_domain, [])
            if decision.role not in roles
            and not (decision.action == PartyDecision.Action.EXCLUDE and own)
        ]
        return own + inherited

    def excluded(self, host: Host) -> PartyDecision | None:
        return next(
            (d for d in self.for_host(host) if d.action == PartyDecision.Action.EXCLUDE), None
        )

    def party(self, host: Host, role: str) -> Organisation | None:
        for decision in self.for_host(host):
            if decision.action == PartyDecision.Action.SET and decision.role == role:
                return decision.organisation
        return None

    def first_recipient(self, host: Host) -> tuple[Organisation, str, bool] | None:
        """The first party to write to about the links of `host`: role by role (site operator,
        hosting provider, CDN) the decided party, else the resolved one. (organisation, role,
        whether a caseworker named it), or None."""
        for role in FIRST_ROLES:
            decided = self.party(host, role)
            if decided is not None:
                return decided, role, True
            resolved = _resolved_party(host.current, role)
            if resolved is not None:
                return resolved, role, False
        return None

    def decided(self, host: Host) -> bool:
        return bool(self.for_host(host))


def load_decisions(case: Case | int) -> Decisions:
    decisions = Decisions()
    for decision in (
        PartyDecision.objects.filter(case=case, cleared_at__isnull=True)
        .select_related("organisation")
        .order_by("created_at", "pk")
    ):
        into = decisions.domains if decision.whole_domain else decisions.hosts
        into.setdefault(decision.target, []).append(decision)
    return decisions


def responsible_party(link: FoundLink, role: str, decisions: Decisions | None = None) -> Any:
    """The organisation in `role` for the link's host: a caseworker's decision, else what
    resolution found (HostResolution's fields of that role, in order of preference)."""
    decisions = decisions if decisions is not None else load_decisions(link.case_id)
    return decisions.party(link.host, role) or _resolved_party(link.host.current, role)


def _resolved_party(resolution: HostResolution | None, role: str) -> Organisation | None:
    if resolution is None:
        return None
    for kind in kinds_of(role):
        organisation = getattr(resolution, kind)
        if organisation is not None:
            return organisation
    return None


# --- recording decisions -------------------------------------------------------------------------


def _links_of(case: Case, target: str, whole_domain: bool) -> Any:
    links = FoundLink.objects.filter(case=case)
    if whole_domain:
        return links.filter(host__registered_domain=target)
    return links.filter(host__hostname=target)


def _target(case: Case, target: str, whole_domain: bool) -> str:
    target = target.strip().lower().rstrip(".")
    if not _links_of(case, target, whole_domain).exists():
        if whole_domain:
            message = gettext(
                "No link of case %(reference)s is on the registered domain %(target)s."
            )
        else:
            message = gettext("No link of case %(reference)s is on the host %(target)s.")
        raise DecisionRefused(message % {"reference": case.reference, "target": repr(target)})
    return target


def _not_decidable(role: str) -> DecisionRefused:
    return DecisionRefused(
        gettext("%(role)s is not a role a caseworker can set.") % {"role": repr(role)}
    )


def _scope(target: str, whole_domain: bool) -> str:
    return f"every host of {target}" if whole_domain else target


def _clear(case: Case, target: str, whole_domain: bool, actor: Any, roles: Iterable[str]) -> int:
    """Clear the active decisions for `target` in `roles` ("" is an exclusion's role)."""
    active = PartyDecision.objects.select_for_update().filter(
        case=case, target=target, whole_domain=whole_domain, cleared_at__isnull=True
    )
    active = active.filter(role__in=list(roles))
    cleared = 0
    for decision in active:
        if decision.action == PartyDecision.Action.EXCLUDE and decision.excluded_links:
            # Only the links this exclusion took out, and only if still excluded.
            transition_many(
                FoundLink,
                list(decision.excluded_links),
                [FoundLink.Status.EXCLUDED],
                FoundLink.Status.FOUND,
                actor=actor,
                message=f"Exclusion of {_scope(target, whole_domain)} cleared.",
            )
        cleared += PartyDecision.objects.filter(pk=decision.pk, cleared_at__isnull=True).update(
            cleared_at=timezone.now(), cleared_by=_user(actor)
        )
    return cleared


def set_party(
    case: Case,
    target: str,
    *,
    role: str,
    organisation: Organisation,
    whole_domain: bool = False,
    actor: Any = None,
    reason: str = "",
) -> PartyDecision:
    """Decide that `organisation` is the party in `role` for `target` in this case. It replaces
    an earlier decision for the same role and ends an exclusion of the same target."""
    if role not in DECIDABLE_ROLES:
        raise _not_decidable(role)
    with transaction.atomic():
        target = _target(case, target, whole_domain)
        _clear(case, target, whole_domain, actor, [role, ""])
        decision = PartyDecision.objects.create(
            case=case,
            target=target,
            whole_domain=whole_domain,
            action=PartyDecision.Action.SET,
            role=role,
            organisation=organisation,
            reason=reason,
            created_by=_user(actor),
        )
        record_event(
            case,
            "party.decided",
            actor=actor,
            message=(
                f"{organisation.name} set as {stored(Role(role).label).lower()} for"
                f" {_scope(target, whole_domain)}."
            ),
            data={
                "decision": decision.pk,
                "target": target,
                "whole_domain": whole_domain,
                "role": role,
                "organisation": organisation.pk,
            },
        )
    return decision


def exclude_host(
    case: Case, target: str, *, reason: str, whole_domain: bool = False, actor: Any = None
) -> PartyDecision:
    """Take the open links of `target` out of this case (they are not pursued any more)."""
    if not reason.strip():
        raise DecisionRefused(gettext("An exclusion needs a reason."))
    with transaction.atomic():
        target = _target(case, target, whole_domain)
        _clear(case, target, whole_domain, actor, [""])
        links = list(
            _links_of(case, target, whole_domain)
            .filter(status__in=OPEN_LINK_STATUSES)
            .values_list("pk", flat=True)
        )
        excluded = transition_many(
            FoundLink,
            links,
            list(OPEN_LINK_STATUSES),
            FoundLink.Status.EXCLUDED,
            actor=actor,
            message=f"Excluded with {_scope(target, whole_domain)}: {reason.strip()}",
        )
        decision = PartyDecision.objects.create(
            case=case,
            target=target,
            whole_domain=whole_domain,
            action=PartyDecision.Action.EXCLUDE,
            reason=reason.strip(),
            excluded_links=sorted(excluded),
            created_by=_user(actor),
        )
        record_event(
            case,
            "party.excluded",
            actor=actor,
            message=(
                f"The links of {_scope(target, whole_domain)} were taken out of the case"
                f" ({len(excluded)}): {reason.strip()}"
            ),
            data={"decision": decision.pk, "target": target, "links": len(excluded)},
        )
    return decision


def clear_decisions(
    case: Case, target: str, *, whole_domain: bool = False, actor: Any = None
) -> int:
    """Remove every active decision for `target`: resolution decides again. Excluded links
    come back into the case."""
    with transaction.atomic():
        target = _target(case, target, whole_domain)
        cleared = _clear(case, target, whole_domain, actor, ["", *DECIDABLE_ROLES])
        if not cleared:
            if whole_domain:
                message = gettext("There is no decision for every host of %(target)s.")
            else:
                message = gettext("There is no decision for %(target)s.")
            raise DecisionRefused(message % {"target": target})
        record_event(
            case,
            "party.cleared",
            actor=actor,
            message=f"Decision for {_scope(target, whole_domain)} cleared: resolution decides.",
            data={"target": target, "whole_domain": whole_domain, "cleared": cleared},
        )
    return cleared


# --- organisations a caseworker names ---------------------------------------------------------


def new_organisation(
    name: str,
    *,
    role: str,
    country: str,
    region: str = "",
    email: str = "",
    web_form: str = "",
    actor: Any = None,
) -> Organisation:
    """A directory entry a caseworker creates for a party the directory lacks."""
    name = name.strip()
    code = to_alpha2(country or "")
    if not name:
        raise DecisionRefused(gettext("A new organisation needs a name."))
    if not code:
        raise DecisionRefused(
            gettext("%(country)s is not a country (ISO 3166-1 alpha-2, e.g. DE).")
            % {"country": repr(country)}
        )
    region = region.strip().upper()
    if region and not valid_region(code, region):
        raise DecisionRefused(
            gettext("%(region)s is not an ISO 3166-2 region of %(country)s (e.g. DE-BY).")
            % {"region": repr(region), "country": code}
        )
    if email and not _EMAIL.match(email.strip()):
        raise DecisionRefused(
            gettext("%(email)s is not an e-mail address.") % {"email": repr(email)}
        )
    if web_form and not web_form.strip().lower().startswith(("https://", "http://")):
        raise DecisionRefused(
            gettext("%(address)s is not a web address.") % {"address": repr(web_form)}
        )
    if role not in DECIDABLE_ROLES:
        raise _not_decidable(role)
    organisation = Organisation.objects.create(
        name=name[:300],
        kind=KIND_OF_ROLE[role],
        country=code,
        region=region,
        source="caseworker",
    )
    for channel, value in ((Contact.Channel.EMAIL, email), (Contact.Channel.WEBFORM, web_form)):
        if value.strip():
            Contact.objects.create(
                organisation=organisation,
                purpose=Contact.Purpose.LEGAL,
                channel=channel,
                value=value.strip(),
                preferred=True,
                source="caseworker",
                quality=Contact.Quality.OVERRIDE,
                is_override=True,
                created_by=_user(actor),
            )
    return organisation


def holder_organisation(case: Case, target: str, *, whole_domain: bool = False) -> Organisation:
    """The domain holder of `target` as a site-operator organisation: a caseworker confirms a
    holder the machine would not write to (a private person). Found again, not duplicated."""
    target = _target(case, target, whole_domain)
    host = _links_of(case, target, whole_domain).select_related("host__current").first().host
    resolution: HostResolution | None = host.current
    registrant = (resolution.data.get("registrant") if resolution else None) or {}
    holder = classify_holder(
        registrant.get("name", ""),
        registrant.get("organization", ""),
        privacy_proxy=bool(registrant.get("privacy_proxy")),
    )
    # holder.reason is the stored English record; the refusal words the kind itself.
    if holder.kind == HolderKind.PRIVACY_SERVICE:
        raise DecisionRefused(
            gettext(
                "%(target)s: the domain's holder is hidden behind a privacy service or withheld "
                "by the registry"
            )
            % {"target": target}
        )
    if holder.kind not in (HolderKind.ORGANISATION, HolderKind.PERSON):
        raise DecisionRefused(
            gettext("%(target)s: the registry names no holder of the domain") % {"target": target}
        )
    country = to_alpha2(registrant.get("country", ""))
    key = f"holder:{holder.name}:{country}".lower()[:200]
    organisation, _ = Organisation.objects.get_or_create(
        external_key=key,
        defaults={
            "name": holder.name[:300],
            "kind": Organisation.Kind.OPERATOR,
            "country": country,
            "source": registrant.get("source", "") or "registry",
        },
    )
    email = registrant.get("email", "")
    if email and _EMAIL.match(email):
        Contact.objects.get_or_create(
            organisation=organisation,
            purpose=Contact.Purpose.GENERAL,
            channel=Contact.Channel.EMAIL,
            value=email,
            defaults={
                "source": registrant.get("source", "") or "registry",
                "quality": Contact.Quality.WHOIS,
            },
        )
    return organisation


def find_organisations(query: str, *, limit: int = 20) -> list[Organisation]:
    """The directory picker: organisations whose name, website or key contains `query`."""
    query = query.strip()
    if len(query) < 2:
        return []
    return list(
        Organisation.objects.filter(
            Q(name__icontains=query) | Q(website__icontains=query) | Q(external_key=query)
        )
        .exclude(kind__in=(Organisation.Kind.DPA, Organisation.Kind.SEARCH_ENGINE))
        .order_by("name", "pk")[:limit]
    )


# --- what a decision changes in the law ---------------------------------------------------------


def jurisdiction_with_decisions(
    resolution: HostResolution | None, decided: list[PartyDecision], *, person_country: str = ""
) -> dict[str, Any] | None:
    """The host's jurisdiction with the decided parties as "override" facts beside what the
    sources said (None when nothing is decided: the resolution's own assessment stands)."""
    parties = [d for d in decided if d.action == PartyDecision.Action.SET and d.organisation]
    if not parties:
        return None
    by_party = ((resolution.data if resolution else {}) or {}).get("jurisdiction", {})
    evidence = [
        PartyEvidence(p["role"], p.get("name", ""), p.get("country", ""), p["source"])
        for p in by_party.get("by_party", [])
    ]
    for decision in parties:
        organisation = decision.organisation
        assert organisation is not None
        evidence.append(
            PartyEvidence(
                kind_in_role(organisation.kind, decision.role),
                organisation.name,
                organisation.country,
                "override",
            )
        )
    return assess(evidence, person_country=person_country).as_dict()


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None
