"""Who is responsible for a host: DNS, RDAP/WHOIS, the operator directory and the law.

`lookup_host` asks every source independently: one that fails adds an entry to `errors` and
the others still answer, so a result is partial rather than empty or a crash. Domain answers
are cached per registered domain (DomainRecord) and network answers per IP network
(NetworkRecord) for TAKEDOWN_LOOKUP_CACHE_DAYS, shared by every case; a domain is fetched by one
worker at a time (single flight), so a cold cache costs exactly one RDAP-or-WHOIS query per
registered domain however many hosts and cases point at it.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from takedown.directory.contacts import best_contact
from takedown.directory.rules import best_by_role, load_rules, match_rules
from takedown.intake.normalize import InvalidURL, normalize_url
from takedown.models import DomainRecord, NetworkRecord, Organisation
from takedown.resolve import dns, rdap, throttle, whois
from takedown.resolve.facts import (
    REDACTED,
    ContactFact,
    DomainFacts,
    LookupFailed,
    NetworkFacts,
    Party,
)
from takedown.resolve.jurisdiction import PartyEvidence, assess

# A domain being fetched by another worker for longer than this is fetched again.
FETCH_CLAIM_SECONDS = 60


class BadTarget(ValueError):
    """The input is neither a usable URL nor a host name."""


@dataclass
class HostLookup:
    hostname: str
    registered_domain: str
    platform_suffix: str = ""
    is_ip: bool = False
    ips: list[str] = field(default_factory=list)
    cname_chain: list[str] = field(default_factory=list)
    nxdomain: bool = False
    platform: dict[str, Any] | None = None
    cdn: dict[str, Any] | None = None
    hosting: dict[str, Any] | None = None
    registrar: dict[str, Any] | None = None
    registrant: dict[str, Any] | None = None
    contacts: list[dict[str, Any]] = field(default_factory=list)
    jurisdiction: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Raw facts kept for the evidence view and for building directory entries.
    domain_facts: dict[str, Any] | None = None
    network_facts: dict[str, Any] | None = None

    @property
    def found_any_party(self) -> bool:
        return any((self.platform, self.cdn, self.hosting, self.registrar, self.registrant))

    @property
    def transient_only(self) -> bool:
        """Nothing found and every error is worth retrying."""
        return not self.found_any_party and all(e.get("transient") for e in self.errors)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("domain_facts")
        data.pop("network_facts")
        return data


def parse_target(target: str) -> tuple[str, str, str, bool]:
    """URL or host name -> (hostname, registered_domain, platform_suffix, is_ip)."""
    text = target.strip()
    candidate = text if "://" in text else f"http://{text}/"
    try:
        norm = normalize_url(candidate)
    except InvalidURL as exc:
        raise BadTarget(f"{target!r} is not a usable URL or host name: {exc.reason}") from None
    return norm.hostname, norm.registered_domain, norm.platform_suffix, norm.is_ip


def lookup_host(
    target: str,
    *,
    refresh: bool = False,
    category: str | None = None,
    owns_copyright: bool = False,
    person_country: str = "",
) -> HostLookup:
    hostname, registered_domain, platform_suffix, is_ip = parse_target(target)
    result = HostLookup(hostname, registered_domain, platform_suffix, is_ip)

    _resolve_names(result)
    network = _network(result, refresh=refresh)
    domain = None if is_ip else _domain(result, refresh=refresh)
    network_names = [n for n in (network.name, network.handle) if n] if network else []
    matches = best_by_role(
        match_rules(hostname, result.cname_chain, network_names, rules=load_rules())
    )
    organisations = Organisation.objects.in_bulk(m.organisation_id for m in matches.values())

    for role in ("platform", "cdn"):
        match = matches.get(role)
        if match:
            setattr(result, role, _rule_party(organisations[match.organisation_id], match))
    if "hosting" in matches:
        # A curated rule beats the network's registry data (e.g. an AWS range -> Amazon).
        result.hosting = _rule_party(
            organisations[matches["hosting"].organisation_id], matches["hosting"]
        )
    elif network is not None:
        result.hosting = {
            "name": network.organization or network.name,
            "network": network.name,
            "handle": network.handle,
            "country": network.country,
            "abuse_email": network.abuse_email,
            "source": network.source,
        }
    if domain is not None:
        result.registrar = _registrar(domain)
        result.registrant = _registrant(domain.registrant, domain.source)
    result.contacts = _contacts(result, domain, network, organisations, matches)
    result.jurisdiction = assess(
        _evidence(result),
        category=category,
        owns_copyright=owns_copyright,
        person_country=person_country,
    ).as_dict()
    return result


# --- sources ---------------------------------------------------------------------------------


def _resolve_names(result: HostLookup) -> None:
    if result.is_ip:
        result.ips = [result.hostname]
        return
    try:
        facts = dns.resolve_host(result.hostname)
    except LookupFailed as exc:
        _error(result, exc)
        return
    result.ips, result.cname_chain, result.nxdomain = facts.ips, facts.cname_chain, facts.nxdomain
    if facts.nxdomain:
        result.errors.append({"source": "dns", "message": "name does not resolve (NXDOMAIN)"})


def _network(result: HostLookup, *, refresh: bool) -> NetworkFacts | None:
    """RDAP facts for the network of the first public address (cached per network)."""
    for ip in result.ips:
        cached = None if refresh else _cached_network(ip)
        if cached is not None:
            return cached
        key = ""
        try:
            key = _rdap_key(rdap.server_for_ip(ip))
            if key:  # without a server, lookup_ip says so (NoRdapService)
                throttle.wait_turn(key, settings.TAKEDOWN_RDAP_INTERVAL)
            facts = rdap.lookup_ip(ip)
        except LookupFailed as exc:
            _error(result, exc)
            _maybe_block(exc, key)
            return None
        _store_network(facts)
        return facts
    return None


def _domain(result: HostLookup, *, refresh: bool) -> DomainFacts | None:
    """RDAP, or WHOIS where the TLD has no RDAP service or RDAP fails; cached per domain."""
    domain = result.registered_domain
    record, must_fetch = _claim_domain(domain, refresh=refresh)
    if not must_fetch:  # fresh in the cache, or someone else fetched it meanwhile
        result.errors.extend(record.errors)
        return _facts_from_record(record)
    errors: list[dict[str, Any]] = []
    try:
        facts = _fetch_domain(domain, errors)
    except Exception:
        # Not a source's answer but our failure (a bug, Redis down): release the claim and
        # cache nothing, rather than "no data" for a week.
        DomainRecord.objects.filter(pk=record.pk).update(claimed_at=None)
        raise
    _store_domain(record, facts, errors)
    result.errors.extend(errors)
    return facts


def _fetch_domain(domain: str, errors: list[dict[str, Any]]) -> DomainFacts | None:
    key = ""
    try:
        key = _rdap_key(rdap.server_for_domain(domain))
        if key:
            throttle.wait_turn(key, settings.TAKEDOWN_RDAP_INTERVAL)
            return rdap.lookup_domain(domain)
    except LookupFailed as exc:
        errors.append(_error_entry(exc))
        _maybe_block(exc, key)
        if not exc.transient and "not found" in exc.message:
            return None  # RDAP is authoritative: the domain is not registered
    key = ""
    try:
        key = f"whois:{whois.server_for(domain)}"
        throttle.wait_turn(key, settings.TAKEDOWN_WHOIS_INTERVAL)
        return whois.lookup_domain(domain)
    except LookupFailed as exc:
        errors.append(_error_entry(exc))
        _maybe_block(exc, key)
        return None


# --- the domain cache with single flight -----------------------------------------------------


def _claim_domain(domain: str, *, refresh: bool) -> tuple[DomainRecord, bool]:
    """The domain's cache record, and whether this caller must fetch the domain: False when
    the cache answers, after waiting for another worker's fetch if one is under way (single
    flight)."""
    # Most calls find the row: read it first, so a cache hit costs one query and, on SQLite,
    # takes no write lock (get_or_create's transaction would, for every host).
    record = DomainRecord.objects.filter(registered_domain=domain).first()
    if record is None:
        try:
            with transaction.atomic():
                record, _created = DomainRecord.objects.get_or_create(registered_domain=domain)
        except IntegrityError:
            pass  # another worker created it at the same moment: read it below
    give_up = time.monotonic() + FETCH_CLAIM_SECONDS
    while True:
        if record is None:
            record = DomainRecord.objects.get(registered_domain=domain)
        now = timezone.now()
        if not refresh and record.expires_at is not None and record.expires_at > now:
            return record, False
        stale = now - timedelta(seconds=FETCH_CLAIM_SECONDS)
        if record.claimed_at is None or record.claimed_at < stale:
            # Conditional update: of two workers reading the same row, one wins the claim.
            won = DomainRecord.objects.filter(pk=record.pk, claimed_at=record.claimed_at).update(
                claimed_at=now
            )
            if won:
                return record, True
        elif time.monotonic() > give_up:
            return record, False
        else:
            refresh = False  # the other worker's fetch is the fresh answer we wait for
            time.sleep(0.05)
        record = None  # read it again


def _store_domain(
    record: DomainRecord, facts: DomainFacts | None, errors: list[dict[str, Any]]
) -> None:
    now = timezone.now()
    if facts is None and any(e.get("transient") for e in errors):
        expires = now + timedelta(minutes=1)  # try again soon, not in a week
    else:
        expires = now + timedelta(days=settings.TAKEDOWN_LOOKUP_CACHE_DAYS)
    DomainRecord.objects.filter(pk=record.pk).update(
        claimed_at=None,
        source=facts.source if facts else "none",
        fetched_at=now,
        expires_at=expires,
        data=_facts_to_json(facts) if facts else {},
        errors=errors,
    )


def _facts_to_json(facts: DomainFacts) -> dict[str, Any]:
    return asdict(facts)


def _facts_from_record(record: DomainRecord) -> DomainFacts | None:
    data = dict(record.data or {})
    if not data:
        return None
    registrar = data.pop("registrar", None)
    registrant = data.pop("registrant", None)
    contacts = data.pop("contacts", [])
    return DomainFacts(
        **data,
        registrar=Party(**registrar) if registrar else None,
        registrant=Party(**registrant) if registrant else None,
        contacts=[ContactFact(**contact) for contact in contacts],
    )


# --- the network cache -----------------------------------------------------------------------


def _address_key(address: str) -> str:
    ip = ipaddress.ip_address(address)
    value = int(ip) if ip.version == 6 else int(ipaddress.IPv6Address(f"::ffff:{ip}"))
    return f"{value:032x}"


def _cached_network(ip: str) -> NetworkFacts | None:
    key = _address_key(ip)
    record = (
        NetworkRecord.objects.filter(
            start_key__lte=key, end_key__gte=key, expires_at__gt=timezone.now()
        )
        .order_by("-start_key")
        .first()
    )
    if record is None:
        return None
    return NetworkFacts(**{**record.data, "ip": ip})


def _store_network(facts: NetworkFacts) -> None:
    start, end = facts.start or facts.ip, facts.end or facts.ip
    try:
        start_key, end_key = _address_key(start), _address_key(end)
    except ValueError:
        start_key = end_key = _address_key(facts.ip)
    now = timezone.now()
    values = {
        "fetched_at": now,
        "expires_at": now + timedelta(days=settings.TAKEDOWN_LOOKUP_CACHE_DAYS),
        "data": asdict(facts),
    }
    # Networks have no single flight and the range no unique constraint: two workers that
    # fetched the same network at once both insert it, and update_or_create's get() would
    # then fail on every later store. Refresh every copy instead; lookups take the first.
    same = NetworkRecord.objects.filter(start_key=start_key, end_key=end_key)
    if not same.update(**values):
        NetworkRecord.objects.create(start_key=start_key, end_key=end_key, **values)


# --- shaping the result ----------------------------------------------------------------------


def _rule_party(organisation: Organisation, match: Any) -> dict[str, Any]:
    contact = best_contact(organisation, purposes=("abuse", "legal", "privacy", "general"))
    return {
        "name": organisation.name,
        "organisation_id": organisation.pk,
        "country": organisation.country,
        "abuse_email": contact.value if contact and contact.channel == "email" else "",
        "source": "rule",
        "matched": f"{match.kind} {match.pattern}",
    }


def _registrar(domain: DomainFacts) -> dict[str, Any] | None:
    party = domain.registrar
    if party is None or not (party.name or party.organization or party.iana_id):
        return None
    # Sources put the registrar's abuse contact either on the registrar or as a labelled contact.
    abuse = next((c for c in domain.contacts if c.role == "registrar_abuse"), None)
    return {
        "name": party.name or party.organization,
        "iana_id": party.iana_id,
        "abuse_email": party.email or (abuse.email if abuse else ""),
        "abuse_phone": party.phone or (abuse.phone if abuse else ""),
        "country": party.country,
        "source": party.source or domain.source,
    }


def _registrant(party: Party | None, source: str) -> dict[str, Any] | None:
    if party is None:
        return None
    return {
        "name": party.name,
        "organization": party.organization,
        "country": party.country,
        "email": party.email,
        "privacy_proxy": party.privacy_proxy,
        "source": party.source or source,
    }


def _contacts(
    result: HostLookup,
    domain: DomainFacts | None,
    network: NetworkFacts | None,
    organisations: dict[int, Organisation],
    matches: dict[str, Any],
) -> list[dict[str, Any]]:
    contacts: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()

    def add(role: str, email: str, source: str) -> None:
        if email and email != REDACTED and "@" in email and (role, email) not in seen:
            seen.add((role, email))
            contacts.append({"role": role, "email": email, "source": source})

    for role in ("platform", "cdn", "hosting"):
        match = matches.get(role)
        if match:
            contact = best_contact(
                organisations[match.organisation_id], purposes=("abuse", "legal", "privacy")
            )
            if contact and contact.channel == "email":
                add(f"{role}_abuse", contact.value, "directory")
    if network is not None:
        add("hosting_abuse", network.abuse_email, network.source)
    if domain is not None:
        for fact in domain.contacts:
            add(fact.role, fact.email, fact.source or domain.source)
        if result.registrar is not None:
            add("registrar_abuse", result.registrar["abuse_email"], domain.source)
    return contacts


def _evidence(result: HostLookup) -> list[PartyEvidence]:
    evidence = []
    for role in ("platform", "cdn", "hosting", "registrar", "registrant"):
        party = getattr(result, role)
        if party:
            name = party.get("name") or party.get("organization") or ""
            source = party.get("source", "")
            evidence.append(PartyEvidence(role, name, party.get("country", ""), source))
    return evidence


# --- errors and politeness -------------------------------------------------------------------


def _error_entry(exc: LookupFailed) -> dict[str, Any]:
    return {"source": exc.source, "message": exc.message, "transient": exc.transient}


def _error(result: HostLookup, exc: LookupFailed) -> None:
    result.errors.append(_error_entry(exc))


def _maybe_block(exc: LookupFailed, server: str) -> None:
    if exc.quota and server:
        retry_after = getattr(exc, "retry_after", None)
        throttle.block(server, float(retry_after or settings.TAKEDOWN_QUOTA_BACKOFF))


def _rdap_key(base_url: str | None) -> str:
    """The throttle key of an RDAP server: its host name ("" when the bootstrap has none)."""
    if not base_url:
        return ""
    return f"rdap:{urlsplit(base_url).hostname or ''}"
