"""Who is responsible for a host: DNS, RDAP/WHOIS, the operator directory and the law.

`lookup_host` asks every source independently: one that fails adds an entry to `errors` and
the others still answer, so a result is partial rather than empty or a crash. Domain answers
and network answers come through resolve.cache (cached, each asked once however many workers
want it); the answers are then shaped into parties (facts.Party) per role, contacts and the
law that applies. `lookup_hosts` does this for a batch at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext

from takedown.directory.contacts import best_contacts
from takedown.directory.rules import best_by_role, load_rules, match_rules
from takedown.errors import NotPossible
from takedown.intake.normalize import InvalidURL, normalize_url
from takedown.models import Organisation
from takedown.net import AddressNotAllowed, check_address
from takedown.resolve import cache, dns, rdap, throttle, whois
from takedown.resolve.facts import (
    NXDOMAIN,
    QUOTA_BLOCKED,
    REDACTED,
    DnsFacts,
    DomainFacts,
    LookupFailed,
    NetworkFacts,
    Party,
)
from takedown.resolve.holder import Holder, HolderKind, classify_party
from takedown.resolve.jurisdiction import PartyEvidence, assess
from takedown.resolve.regions import region_code


class BadTarget(NotPossible):
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
    platform: Party | None = None
    cdn: Party | None = None
    hosting: Party | None = None
    registrar: Party | None = None
    registrant: Party | None = None
    contacts: list[dict[str, Any]] = field(default_factory=list)
    jurisdiction: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Last, so the JSON of earlier versions keeps its byte shape:
    # The site operator: an operator rule's organisation, or the domain holder when it is an
    # organisation and no platform or operator rule names another (resolve.holder).
    operator: Party | None = None
    # What kind of holder the registrant is: {"kind", "name", "reason"} (resolve.holder.Holder).
    holder: dict[str, str] = field(default_factory=dict)

    @property
    def found_any_party(self) -> bool:
        return any(
            (self.platform, self.operator, self.cdn, self.hosting, self.registrar, self.registrant)
        )

    @property
    def transient_only(self) -> bool:
        """Nothing found and every error is worth retrying."""
        return not self.found_any_party and all(e.get("transient") for e in self.errors)

    def as_dict(self) -> dict[str, Any]:
        """The JSON of `lookup_host --json` and HostResolution.data. Shallow: the other values
        are already plain JSON data, and asdict's deep copy was a tenth of the CPU of recording
        a batch."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for role in PARTY_ROLES:
            party = data[role]
            if party is not None:
                data[role] = party_json(role, party)
        return data


PARTY_ROLES = ("platform", "operator", "cdn", "hosting", "registrar", "registrant")
# The keys of each kind of party in that JSON, in order, with the Party field behind each: the
# e-mail and phone of a hosting network or registrar are its abuse contact.
RULE_KEYS = (
    ("name", "name"),
    ("organisation_id", "organisation_id"),
    ("country", "country"),
    ("abuse_email", "email"),
    ("source", "source"),
    ("matched", "matched"),
)
NETWORK_KEYS = (
    ("name", "name"),
    ("network", "network"),
    ("handle", "handle"),
    ("country", "country"),
    ("abuse_email", "email"),
    ("source", "source"),
)
REGISTRAR_KEYS = (
    ("name", "name"),
    ("iana_id", "iana_id"),
    ("abuse_email", "email"),
    ("abuse_phone", "phone"),
    ("country", "country"),
    ("source", "source"),
)
REGISTRANT_KEYS = (
    ("name", "name"),
    ("organization", "organization"),
    ("country", "country"),
    ("email", "email"),
    ("privacy_proxy", "privacy_proxy"),
    ("source", "source"),
)

# The domain holder as site operator.
HOLDER_KEYS = (
    ("name", "name"),
    ("country", "country"),
    ("region", "region"),
    ("email", "email"),
    ("source", "source"),
)
KEYS_OF_ROLE = {"registrar": REGISTRAR_KEYS, "registrant": REGISTRANT_KEYS, "operator": HOLDER_KEYS}


def party_json(role: str, party: Party) -> dict[str, Any]:
    # An operator rule's match has the same keys in any of the operator roles.
    keys = RULE_KEYS if party.organisation_id is not None else KEYS_OF_ROLE.get(role, NETWORK_KEYS)
    return {key: getattr(party, name) for key, name in keys}


def parse_target(target: str) -> tuple[str, str, str, bool]:
    """URL or host name -> (hostname, registered_domain, platform_suffix, is_ip)."""
    text = target.strip()
    candidate = text if "://" in text else f"http://{text}/"
    try:
        norm = normalize_url(candidate)
    except InvalidURL as exc:
        raise BadTarget(
            gettext("%(target)s is not a usable URL or host name: %(reason)s")
            % {"target": repr(target), "reason": exc.reason}
        ) from None
    if norm.is_ip:
        try:
            check_address(norm.hostname.strip("[]"))
        except AddressNotAllowed:
            raise BadTarget(
                gettext(
                    "%(target)s is not a public address: nobody on the internet is responsible "
                    "for it"
                )
                % {"target": repr(target)}
            ) from None
    return norm.hostname, norm.registered_domain, norm.platform_suffix, norm.is_ip


def lookup_host(
    target: str,
    *,
    refresh: bool = False,
    category: str | None = None,
    owns_copyright: bool = False,
    person_country: str = "",
) -> HostLookup:
    """Who is responsible for one URL or host name (BadTarget when it is neither)."""
    return lookup_hosts(
        [target],
        refresh=refresh,
        category=category,
        owns_copyright=owns_copyright,
        person_country=person_country,
    )[0]


def lookup_hosts(
    targets: Sequence[str | tuple[str, str, str, bool]],
    *,
    refresh: bool = False,
    category: str | None = None,
    owns_copyright: bool = False,
    person_country: str = "",
) -> list[HostLookup]:
    """lookup_host for many targets at once, results in the same order.

    The network waits overlap: every name's A and AAAA queries, every registered domain's
    RDAP-or-WHOIS query (one per domain, however many targets share it) and every network's
    RDAP query (one per network, single flight within the process) run at the same time on a
    shared thread pool, while the database work (caches, throttle turns) stays on the calling
    thread and is done for all targets together."""
    # A tuple is a target parsed before (a Host row: hostname, registered domain, platform
    # suffix, is_ip), so a batch of known hosts skips normalising each name again.
    results = [
        HostLookup(*(target if isinstance(target, tuple) else parse_target(target)))
        for target in targets
    ]
    pool = cache.executor()
    turns = _Turns()
    names = dns.resolve_many([r.hostname for r in results if not r.is_ip], pool)
    domains = _Domains(sorted({r.registered_domain for r in results if not r.is_ip}), refresh)
    domains.start(pool, turns)
    try:
        for result in results:
            _take_names(result, names.get(result.hostname))
        networks = cache.networks(
            [r.ips[0] for r in results if r.ips],
            refresh,
            query=lambda ip: _start_network(ip, pool, turns),
            failed=turns.answered,
        )
        answers = domains.finish(pool, turns)
    except BaseException:
        domains.release()
        raise

    rules = load_rules()
    all_matches = []
    for result in results:
        network = networks.get(result.ips[0]) if result.ips else None
        if isinstance(network, LookupFailed):
            _error(result, network)
            network = None
        network_names = [n for n in (network.name, network.handle) if n] if network else []
        matches = best_by_role(
            match_rules(result.hostname, result.cname_chain, network_names, rules=rules)
        )
        all_matches.append((result, network, matches))
    organisations = Organisation.objects.in_bulk(
        {m.organisation_id for _, _, matches in all_matches for m in matches.values()}
    )
    contacts = _ContactCache(organisations)
    for result, network, matches in all_matches:
        domain = None
        if not result.is_ip:
            domain, errors = answers[result.registered_domain]
            result.errors.extend(errors)
        _shape(result, network, domain, matches, organisations, contacts)
        result.jurisdiction = assess(
            _evidence(result),
            category=category,
            owns_copyright=owns_copyright,
            person_country=person_country,
        ).as_dict()
    return results


def _shape(
    result: HostLookup,
    network: NetworkFacts | None,
    domain: DomainFacts | None,
    matches: dict[str, Any],
    organisations: dict[int, Organisation],
    contacts: _ContactCache,
) -> None:
    for role in ("platform", "operator", "cdn"):
        match = matches.get(role)
        if match:
            setattr(
                result, role, _rule_party(organisations[match.organisation_id], match, contacts)
            )
    if "hosting" in matches:
        # A curated rule beats the network's registry data (e.g. an AWS range -> Amazon).
        result.hosting = _rule_party(
            organisations[matches["hosting"].organisation_id], matches["hosting"], contacts
        )
    elif network is not None:
        result.hosting = Party(
            name=network.organization or network.name,
            network=network.name,
            handle=network.handle,
            country=network.country,
            email=network.abuse_email,
            source=network.source,
        )
    if domain is not None:
        result.registrar = _registrar(domain)
        result.registrant = _registrant(domain.registrant, domain.source)
        holder = classify_party(result.registrant)
        result.holder = {"kind": holder.kind.value, "name": holder.name, "reason": holder.reason}
        if holder.kind == HolderKind.ORGANISATION and not (result.platform or result.operator):
            result.operator = _holder_party(holder, result.registrant)
    result.contacts = _contacts(result, domain, network, organisations, matches, contacts)


# --- politeness ------------------------------------------------------------------------------


def _after(delay: float, query: Callable[..., Any], *args: Any) -> Any:
    """Run `query` once its throttle turn (reserved by the caller) has come."""
    if delay > 0:
        time.sleep(delay)
    return query(*args)


class _Turns:
    """Throttle turns for one batch of lookups. Without an interval only a quota block is
    checked, once per server per batch (one read of the blocked servers for the batch, not one
    per query or per server); with one, every query reserves its own slot, shared with every
    other worker."""

    def __init__(self) -> None:
        self._blocked: dict[str, LookupFailed | None] = {}
        self._is_blocked: Callable[[str], bool] | None = None

    def reserve(self, server: str, interval: float) -> float:
        if interval > 0:
            return throttle.reserve_turn(server, interval)
        if server not in self._blocked:
            if self._is_blocked is None:
                self._is_blocked = throttle.blocked_now()
            self._blocked[server] = (
                LookupFailed(server, QUOTA_BLOCKED, transient=True)
                if self._is_blocked(server)
                else None
            )
        refusal = self._blocked[server]
        if refusal is not None:
            raise LookupFailed(refusal.source, refusal.message, transient=refusal.transient)
        return 0.0

    def answered(self, exc: LookupFailed, server: str) -> None:
        """A source failed: after a quota answer the server gets nothing more for a while."""
        if exc.quota and server:
            retry_after = getattr(exc, "retry_after", None)
            throttle.block(server, float(retry_after or settings.TAKEDOWN_QUOTA_BACKOFF))
            self._blocked[server] = LookupFailed(server, QUOTA_BLOCKED, transient=True)


# --- sources ---------------------------------------------------------------------------------


def _take_names(result: HostLookup, answer: Future[DnsFacts] | None) -> None:
    if result.is_ip or answer is None:
        result.ips = [result.hostname]
        return
    try:
        facts = answer.result()
    except LookupFailed as exc:
        _error(result, exc)
        return
    result.ips, result.cname_chain, result.nxdomain = facts.ips, facts.cname_chain, facts.nxdomain
    if facts.nxdomain:
        result.errors.append({"source": "dns", "message": NXDOMAIN})


def _start_network(
    ip: str, pool: ThreadPoolExecutor, turns: _Turns
) -> tuple[str, Future[NetworkFacts]]:
    """Ask RDAP about the network of `ip` on the pool: (throttle key, future answer)."""
    key = ""
    try:
        key = _rdap_key(rdap.server_for_ip(ip))
        # Without a server lookup_ip says so (NoRdapService), on the pool like any answer.
        delay = turns.reserve(key, settings.TAKEDOWN_RDAP_INTERVAL) if key else 0.0
    except LookupFailed as exc:
        refused: Future[NetworkFacts] = Future()
        refused.set_exception(exc)
        return key, refused
    return key, pool.submit(_after, delay, rdap.lookup_ip, ip)


class _Domains:
    """The registered domains of a batch: the cache's answers, and the RDAP-or-WHOIS queries of
    the domains this worker claimed (single flight, resolve.cache.DomainFlight)."""

    def __init__(self, domains: list[str], refresh: bool) -> None:
        self.flight = cache.DomainFlight(domains, refresh=refresh)
        self.answers: dict[str, cache.DomainAnswer] = {}
        self.errors: dict[str, list[dict[str, Any]]] = {}
        self.rdap: dict[str, tuple[str, Future[DomainFacts]]] = {}
        self.whois: dict[str, tuple[str, Future[DomainFacts]]] = {}
        self.whois_servers: dict[str, Future[str]] = {}

    def start(self, pool: ThreadPoolExecutor, turns: _Turns) -> None:
        self.answers, claimed = self.flight.claim()
        for domain in claimed:
            self.errors[domain] = []
            self._start_rdap(domain, pool, turns)

    def _start_rdap(self, domain: str, pool: ThreadPoolExecutor, turns: _Turns) -> None:
        key = ""
        try:
            key = _rdap_key(rdap.server_for_domain(domain))
            if key:
                delay = turns.reserve(key, settings.TAKEDOWN_RDAP_INTERVAL)
                self.rdap[domain] = (key, pool.submit(_after, delay, rdap.lookup_domain, domain))
                return
        except LookupFailed as exc:
            if not self._rdap_failed(domain, exc, key, turns):
                return
        self._start_whois(domain, pool, turns)

    def _rdap_failed(self, domain: str, exc: LookupFailed, key: str, turns: _Turns) -> bool:
        """Note an RDAP failure; True when WHOIS should be asked instead."""
        self.errors[domain].append(_error_entry(exc))
        turns.answered(exc, key)
        if not exc.transient and "not found" in exc.message:
            self.answers[domain] = (None, self.errors[domain])  # RDAP is authoritative
            return False
        return True

    def _start_whois(self, domain: str, pool: ThreadPoolExecutor, turns: _Turns) -> None:
        try:
            server = whois.known_server_for(domain)
        except LookupFailed as exc:
            self._whois_failed(domain, exc, "", turns)
            return
        if server is None:  # IANA must say which server: ask it on the pool, go on in finish()
            self.whois_servers[domain] = pool.submit(whois.server_for, domain)
            return
        self._submit_whois(domain, server, pool, turns)

    def _submit_whois(
        self, domain: str, server: str, pool: ThreadPoolExecutor, turns: _Turns
    ) -> None:
        key = f"whois:{server}"
        try:
            delay = turns.reserve(key, settings.TAKEDOWN_WHOIS_INTERVAL)
        except LookupFailed as exc:
            self._whois_failed(domain, exc, key, turns)
            return
        self.whois[domain] = (key, pool.submit(_after, delay, whois.lookup_domain, domain))

    def _whois_failed(self, domain: str, exc: LookupFailed, key: str, turns: _Turns) -> None:
        self.errors[domain].append(_error_entry(exc))
        turns.answered(exc, key)
        self.answers[domain] = (None, self.errors[domain])

    def finish(self, pool: ThreadPoolExecutor, turns: _Turns) -> dict[str, cache.DomainAnswer]:
        """Wait for the queries (falling back from RDAP to WHOIS), store the answers, and wait
        for the domains another worker is fetching."""
        for domain, (key, job) in self.rdap.items():
            try:
                self.answers[domain] = (job.result(), self.errors[domain])
            except LookupFailed as exc:
                if self._rdap_failed(domain, exc, key, turns):
                    self._start_whois(domain, pool, turns)
        for domain, server_job in self.whois_servers.items():
            try:
                server = server_job.result()
            except LookupFailed as exc:
                self._whois_failed(domain, exc, "", turns)
                continue
            self._submit_whois(domain, server, pool, turns)
        for domain, (key, job) in self.whois.items():
            try:
                self.answers[domain] = (job.result(), self.errors[domain])
            except LookupFailed as exc:
                self._whois_failed(domain, exc, key, turns)
        self.flight.store(self.answers)
        self.answers.update(self.flight.wait_for_others())
        return self.answers

    def release(self) -> None:
        """Our failure (a bug, the database): release the claims and cache nothing, rather
        than "no data" for a week."""
        for _key, job in [*self.rdap.values(), *self.whois.values()]:
            job.cancel()
        self.flight.release()


# --- shaping the result ----------------------------------------------------------------------


class _ContactCache:
    """best_contact per organisation and purposes for a batch of lookups: one query per set of
    purposes for all the batch's organisations, not one per organisation."""

    def __init__(self, org_ids: Iterable[int]) -> None:
        self._org_ids = list(org_ids)
        self._best: dict[tuple[str, ...], dict[int, Any]] = {}

    def best(self, organisation: Organisation, purposes: tuple[str, ...]) -> Any:
        # Every organisation asked about is one of the batch's (the rules' matches).
        if purposes not in self._best:
            self._best[purposes] = best_contacts(self._org_ids, purposes)
        return self._best[purposes][organisation.pk]


def _rule_party(organisation: Organisation, match: Any, contacts: _ContactCache) -> Party:
    contact = contacts.best(organisation, ("abuse", "legal", "privacy", "general"))
    return Party(
        name=organisation.name,
        organisation_id=organisation.pk,
        country=organisation.country,
        email=contact.value if contact and contact.channel == "email" else "",
        source="rule",
        matched=f"{match.kind} {match.pattern}",
    )


def _registrar(domain: DomainFacts) -> Party | None:
    party = domain.registrar
    if party is None or not (party.name or party.organization or party.iana_id):
        return None
    # Sources put the registrar's abuse contact either on the registrar or as a labelled contact.
    abuse = next((c for c in domain.contacts if c.role == "registrar_abuse"), None)
    return Party(
        name=party.name or party.organization,
        iana_id=party.iana_id,
        email=party.email or (abuse.email if abuse else ""),
        phone=party.phone or (abuse.phone if abuse else ""),
        country=party.country,
        source=party.source or domain.source,
    )


def _holder_party(holder: Holder, registrant: Party | None) -> Party:
    """The domain holder as the site's operator: its country counts for jurisdiction, its
    e-mail (unless withheld) is a way to reach it."""
    registrant = registrant or Party()
    country = "" if registrant.country == REDACTED else registrant.country
    return Party(
        name=holder.name,
        country=country,
        region=registrant.region or region_code(country, registrant.state),
        email="" if registrant.email == REDACTED else registrant.email,
        source=registrant.source,
    )


def _registrant(party: Party | None, source: str) -> Party | None:
    if party is None:
        return None
    return replace(party, source=party.source or source)


def _contacts(
    result: HostLookup,
    domain: DomainFacts | None,
    network: NetworkFacts | None,
    organisations: dict[int, Organisation],
    matches: dict[str, Any],
    directory: _ContactCache,
) -> list[dict[str, Any]]:
    contacts: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()

    def add(role: str, email: str, source: str) -> None:
        if email and email != REDACTED and "@" in email and (role, email) not in seen:
            seen.add((role, email))
            contacts.append({"role": role, "email": email, "source": source})

    for role in ("platform", "operator", "cdn", "hosting"):
        match = matches.get(role)
        if match:
            organisation = organisations[match.organisation_id]
            contact = directory.best(organisation, ("abuse", "legal", "privacy"))
            if contact and contact.channel == "email":
                add(f"{role}_abuse", contact.value, "directory")
    if network is not None:
        add("hosting_abuse", network.abuse_email, network.source)
    if domain is not None:
        for fact in domain.contacts:
            add(fact.role, fact.email, fact.source or domain.source)
        if result.registrar is not None:
            add("registrar_abuse", result.registrar.email, domain.source)
    return contacts


def _evidence(result: HostLookup) -> list[PartyEvidence]:
    evidence = []
    for role in PARTY_ROLES:
        party = getattr(result, role)
        if role == "registrant" and result.operator and not result.operator.organisation_id:
            continue  # the holder already counts, as the operator (the controller)
        if party is not None:
            name = party.name or party.organization
            evidence.append(PartyEvidence(role, name, party.country, party.source))
    return evidence


# --- errors and politeness -------------------------------------------------------------------


def _error_entry(exc: LookupFailed) -> dict[str, Any]:
    return {"source": exc.source, "message": exc.message, "transient": exc.transient}


def _error(result: HostLookup, exc: LookupFailed) -> None:
    result.errors.append(_error_entry(exc))


def _rdap_key(base_url: str | None) -> str:
    """The throttle key of an RDAP server: its host name ("" when the bootstrap has none)."""
    if not base_url:
        return ""
    return f"rdap:{urlsplit(base_url).hostname or ''}"
