"""Who is responsible for a host: DNS, RDAP/WHOIS, the operator directory and the law.

`lookup_host` asks every source independently: one that fails adds an entry to `errors` and
the others still answer, so a result is partial rather than empty or a crash. Domain answers
are cached per registered domain (DomainRecord) and network answers per IP network
(NetworkRecord) for TAKEDOWN_LOOKUP_CACHE_DAYS, shared by every case; a domain is fetched by one
worker at a time (single flight, DomainRecord.claimed_at), and so is a network (per /24 or
/48 block: in-process futures, NetworkClaim across processes), so a cold cache costs exactly
one RDAP-or-WHOIS query per registered domain and one RDAP query per network however many
hosts and cases point at them. `lookup_hosts` does this for a batch at once.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from takedown.directory.contacts import best_contacts
from takedown.directory.rules import best_by_role, load_rules, match_rules
from takedown.intake.normalize import InvalidURL, normalize_url
from takedown.models import DomainRecord, NetworkClaim, NetworkRecord, Organisation
from takedown.net import AddressNotAllowed, check_address
from takedown.resolve import dns, rdap, throttle, whois
from takedown.resolve.bulk import update_each
from takedown.resolve.facts import (
    REDACTED,
    ContactFact,
    DnsFacts,
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
        # Shallow: the values are already plain JSON data, and asdict's deep copy of the raw
        # facts (dropped here anyway) was a tenth of the CPU of recording a batch.
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("domain_facts", "network_facts")
        }


def parse_target(target: str) -> tuple[str, str, str, bool]:
    """URL or host name -> (hostname, registered_domain, platform_suffix, is_ip)."""
    text = target.strip()
    candidate = text if "://" in text else f"http://{text}/"
    try:
        norm = normalize_url(candidate)
    except InvalidURL as exc:
        raise BadTarget(f"{target!r} is not a usable URL or host name: {exc.reason}") from None
    if norm.is_ip:
        try:
            check_address(norm.hostname.strip("[]"))
        except AddressNotAllowed:
            raise BadTarget(
                f"{target!r} is not a public address: nobody on the internet is responsible for it"
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
    pool = _executor()
    turns = _Turns()
    names = dns.resolve_many([r.hostname for r in results if not r.is_ip], pool)
    domains = _Domains(sorted({r.registered_domain for r in results if not r.is_ip}), refresh)
    domains.start(pool, turns)
    try:
        for result in results:
            _take_names(result, names.get(result.hostname))
        networks = _networks([r.ips[0] for r in results if r.ips], refresh, pool, turns)
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
    for role in ("platform", "cdn"):
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
    result.contacts = _contacts(result, domain, network, organisations, matches, contacts)


# --- the thread pool for network waits -------------------------------------------------------

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    """The process's pool for DNS, RDAP and WHOIS queries. Its jobs only talk to the network
    and never wait for other jobs, so callers on many threads can share it without deadlock,
    and no job holds a database connection."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.TAKEDOWN_LOOKUP_THREADS, thread_name_prefix="lookup"
            )
        return _pool


def _forget_pool() -> None:
    # A forked worker (Celery's prefork pool) inherits the pool object but not its threads.
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _after(delay: float, query: Callable[..., Any], *args: Any) -> Any:
    """Run `query` once its throttle turn (reserved by the caller) has come."""
    if delay > 0:
        time.sleep(delay)
    return query(*args)


class _Turns:
    """Throttle turns for one batch of lookups. Without an interval only a quota block is
    checked, once per server per batch (not once per query); with one, every query reserves
    its own slot, shared with every other worker."""

    def __init__(self) -> None:
        self._blocked: dict[str, LookupFailed | None] = {}

    def reserve(self, server: str, interval: float) -> float:
        if interval > 0:
            return throttle.reserve_turn(server, interval)
        if server not in self._blocked:
            try:
                throttle.reserve_turn(server, 0)
                self._blocked[server] = None
            except LookupFailed as exc:
                self._blocked[server] = exc
        refusal = self._blocked[server]
        if refusal is not None:
            raise LookupFailed(refusal.source, refusal.message, transient=refusal.transient)
        return 0.0

    def answered(self, exc: LookupFailed, server: str) -> None:
        """A source failed: after a quota answer the server gets nothing more for a while."""
        if exc.quota and server:
            retry_after = getattr(exc, "retry_after", None)
            throttle.block(server, float(retry_after or settings.TAKEDOWN_QUOTA_BACKOFF))
            self._blocked[server] = LookupFailed(
                server, "blocked after a quota answer", transient=True
            )


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
        result.errors.append({"source": "dns", "message": "name does not resolve (NXDOMAIN)"})


class _Domains:
    """The registered domains of a batch: cache hits, single-flight claims, the RDAP-or-WHOIS
    queries of the claimed ones, and their answers stored back in DomainRecord."""

    def __init__(self, domains: list[str], refresh: bool) -> None:
        self.domains = domains
        self.refresh = refresh
        self.answers: dict[str, tuple[DomainFacts | None, list[dict[str, Any]]]] = {}
        self.claimed: dict[str, DomainRecord] = {}  # fetched by us, not stored yet
        self.others: list[str] = []  # being fetched by another worker
        self.errors: dict[str, list[dict[str, Any]]] = {}
        self.rdap: dict[str, tuple[str, Future[DomainFacts]]] = {}
        self.whois: dict[str, tuple[str, Future[DomainFacts]]] = {}
        self.whois_servers: dict[str, Future[str]] = {}

    def start(self, pool: ThreadPoolExecutor, turns: _Turns) -> None:
        if not self.domains:
            return
        records = self._records(self.domains)
        now = timezone.now()
        due = []
        for domain in self.domains:
            record = records[domain]
            if not self.refresh and record.expires_at is not None and record.expires_at > now:
                self.answers[domain] = (_facts_from_record(record), list(record.errors))
            else:
                due.append(record)
        won = _claim_domains(due, refresh=self.refresh)
        for record in due:
            if record.pk not in won:
                self.others.append(record.registered_domain)
                continue
            domain = record.registered_domain
            self.claimed[domain] = record
            self.errors[domain] = []
            self._start_rdap(domain, pool, turns)

    def _records(self, domains: list[str]) -> dict[str, DomainRecord]:
        records = {
            r.registered_domain: r
            for r in DomainRecord.objects.filter(registered_domain__in=domains)
        }
        missing = [domain for domain in domains if domain not in records]
        if missing:
            # Another worker may create some of them at the same moment: its row is as good.
            DomainRecord.objects.bulk_create(
                [DomainRecord(registered_domain=domain) for domain in missing],
                ignore_conflicts=True,
            )
            records.update(
                (r.registered_domain, r)
                for r in DomainRecord.objects.filter(registered_domain__in=missing)
            )
        return records

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

    def finish(
        self, pool: ThreadPoolExecutor, turns: _Turns
    ) -> dict[str, tuple[DomainFacts | None, list[dict[str, Any]]]]:
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
        self._store()
        if self.others:
            self._wait_for_others()
        return self.answers

    def _store(self) -> None:
        now = timezone.now()
        records = []
        for domain, record in self.claimed.items():
            facts, errors = self.answers[domain]
            if facts is None and any(e.get("transient") for e in errors):
                record.expires_at = now + timedelta(minutes=1)  # try again soon, not in a week
            else:
                record.expires_at = now + timedelta(days=settings.TAKEDOWN_LOOKUP_CACHE_DAYS)
            record.claimed_at = None
            record.source = facts.source if facts else "none"
            record.fetched_at = now
            record.data = _facts_to_json(facts) if facts else {}
            record.errors = errors
            records.append(record)
        update_each(
            DomainRecord,
            ["claimed_at", "source", "fetched_at", "expires_at", "data", "errors"],
            [(r.pk, None, r.source, r.fetched_at, r.expires_at, r.data, r.errors) for r in records],
        )
        self.claimed = {}

    def _wait_for_others(self) -> None:
        """Single flight: another worker fetches these; use its answer once stored. After
        FETCH_CLAIM_SECONDS, take whatever the cache holds."""
        give_up = time.monotonic() + FETCH_CLAIM_SECONDS
        waiting = list(self.others)
        while waiting:
            now = timezone.now()
            rows = DomainRecord.objects.filter(registered_domain__in=waiting)
            late = time.monotonic() > give_up
            for record in rows:
                if late or (record.expires_at is not None and record.expires_at > now):
                    self.answers[record.registered_domain] = (
                        _facts_from_record(record),
                        list(record.errors),
                    )
            waiting = [domain for domain in waiting if domain not in self.answers]
            if waiting:
                time.sleep(0.05)

    def release(self) -> None:
        """Our failure (a bug, the database): release the claims and cache nothing, rather
        than "no data" for a week."""
        for _key, job in [*self.rdap.values(), *self.whois.values()]:
            job.cancel()
        if self.claimed:
            DomainRecord.objects.filter(pk__in=[r.pk for r in self.claimed.values()]).update(
                claimed_at=None
            )


# --- the domain cache with single flight -----------------------------------------------------

_stamp_lock = threading.Lock()
_last_stamp: datetime | None = None


def _claim_stamp() -> datetime:
    """Now, but later than any stamp this process gave out before: the claim update below
    recognises its own rows by it."""
    global _last_stamp
    with _stamp_lock:
        now = timezone.now()
        if _last_stamp is not None and now <= _last_stamp:
            now = _last_stamp + timedelta(microseconds=1)
        _last_stamp = now
        return now


def _claim_domains(records: list[DomainRecord], *, refresh: bool) -> set[int]:
    """Claim the domains no other worker is fetching, in one conditional update; the ids won.
    Without `refresh`, a domain another worker stored since we read it is not claimed (its
    answer is read in _wait_for_others)."""
    if not records:
        return set()
    stamp = _claim_stamp()
    stale = stamp - timedelta(seconds=FETCH_CLAIM_SECONDS)
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale)
    if not refresh:
        free &= Q(expires_at__isnull=True) | Q(expires_at__lte=stamp)
    ids = [record.pk for record in records]
    DomainRecord.objects.filter(free, pk__in=ids).update(claimed_at=stamp)
    return set(
        DomainRecord.objects.filter(pk__in=ids, claimed_at=stamp).values_list("pk", flat=True)
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


# --- the network cache with single flight ----------------------------------------------------

# Networks in flight in this process, by the block an address lies in: a lookup for another
# address of the block waits for that answer, and asks itself only when the network the answer
# names does not hold its address.
_flight_lock = threading.Lock()
_in_flight: dict[str, Future[NetworkFacts]] = {}


def _block(ip: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) of an address: smaller than almost any allocation an RIR
    registers, so addresses that share one share their network in the common case."""
    address = ipaddress.ip_address(ip)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _networks(
    ips: list[str], refresh: bool, pool: ThreadPoolExecutor, turns: _Turns
) -> dict[str, NetworkFacts | LookupFailed]:
    """The network of each address: from the cache, from a query already in flight (in this
    process, or in another one that holds the block's NetworkClaim), or from one query per
    block of addresses."""
    wanted = sorted(set(ips))
    if not wanted:
        return {}
    ours: dict[str, Future[NetworkFacts]] = {}  # block -> the answer others here may join
    joined: dict[str, Future[NetworkFacts]] = {}
    blocks: dict[str, list[str]] = {}
    with _flight_lock:
        # Under the lock: an answer is stored before its flight ends (see the finally below),
        # so each address is either in the cache read here or in a flight seen here.
        found: dict[str, NetworkFacts | LookupFailed] = (
            {} if refresh else dict(_cached_networks(wanted))
        )
        for ip in wanted:
            if ip not in found:
                blocks.setdefault(_block(ip), []).append(ip)
        for block in blocks:
            answer = _in_flight.get(block)
            if answer is None:
                answer = _in_flight[block] = Future()
                ours[block] = answer
            else:
                joined[block] = answer
    keys: dict[str, str] = {}  # block -> throttle key of our query
    won: set[str] = set()

    def ask(asking: set[str]) -> None:
        """Query these blocks, cache the answers and release their claims at once, so another
        process waiting for one of them goes on now rather than after all our other waits."""
        for block in asking:
            if not ours[block].done():
                keys[block], job = _start_network(blocks[block][0], pool, turns)
                _pass_on(job, ours[block])
        answers = []
        for block in asking:
            try:
                facts = ours[block].result()
            except LookupFailed:
                continue  # reported with the others below
            if block in keys:  # asked here, not found in the cache after all
                answers.append(facts)
        _store_networks(answers)
        NetworkClaim.objects.filter(block__in=asking).update(claimed_at=None)
        won.difference_update(asking)

    try:
        won = _claim_blocks(list(ours))
        if won and not refresh:
            # A process that stored its answer after our read has released its claim since.
            late = _cached_networks([blocks[block][0] for block in won])
            for block in list(won):
                if blocks[block][0] in late:
                    ours[block].set_result(late[blocks[block][0]])
        # Our own blocks first: two processes each waiting for a block the other holds, before
        # asking about their own, would both wait until the claims time out.
        ask(set(won))
        waits = {block: blocks[block][0] for block in ours if block not in keys}
        waits = {block: ip for block, ip in waits.items() if not ours[block].done()}
        waited, claimed = _wait_for_blocks(waits)
        won |= claimed  # the other process gave up or failed: ask ourselves
        for block, facts in waited.items():
            if facts is not None:
                ours[block].set_result(facts)
        ask(set(claimed))
        strays: list[str] = []
        for block, job in [*ours.items(), *joined.items()]:
            try:
                facts = job.result()
            except LookupFailed as exc:
                turns.answered(exc, keys.get(block, ""))
                found.update((ip, exc) for ip in blocks[block])
                continue
            for ip in blocks[block]:
                if _holds(facts, ip):
                    found[ip] = replace(facts, ip=ip)
                else:
                    strays.append(ip)
        # Addresses the block's network does not hold (a smaller assignment next door).
        answered: list[NetworkFacts] = []
        for ip, (key, job) in [(ip, _start_network(ip, pool, turns)) for ip in strays]:
            try:
                network = job.result()
                found[ip] = network
                answered.append(network)
            except LookupFailed as exc:
                turns.answered(exc, key)
                found[ip] = exc
        _store_networks(answered)
    finally:
        if won:
            NetworkClaim.objects.filter(block__in=won).update(claimed_at=None)
        with _flight_lock:
            for block, answer in ours.items():
                if not answer.done():  # our own failure: let whoever joined us go on
                    answer.set_exception(LookupFailed("rdap", "lookup abandoned", transient=True))
                if _in_flight.get(block) is answer:
                    del _in_flight[block]
    return found


def _claim_blocks(blocks: list[str]) -> set[str]:
    """Claim these blocks for this process in one conditional update; the blocks won."""
    if not blocks:
        return set()
    NetworkClaim.objects.bulk_create(
        [NetworkClaim(block=block) for block in blocks], ignore_conflicts=True
    )
    stamp = _claim_stamp()
    free = Q(claimed_at__isnull=True) | Q(
        claimed_at__lt=stamp - timedelta(seconds=FETCH_CLAIM_SECONDS)
    )
    NetworkClaim.objects.filter(free, block__in=blocks).update(claimed_at=stamp)
    return set(
        NetworkClaim.objects.filter(block__in=blocks, claimed_at=stamp).values_list(
            "block", flat=True
        )
    )


def _wait_for_blocks(
    leaders: dict[str, str],
) -> tuple[dict[str, NetworkFacts | None], set[str]]:
    """Blocks another process is asking about: its answer for each block's first address once
    cached, or None when its claim ends without one (or after FETCH_CLAIM_SECONDS), and the
    blocks whose claim passed to us meanwhile (the caller asks about those and releases them)."""
    results: dict[str, NetworkFacts | None] = {}
    claimed: set[str] = set()
    give_up = time.monotonic() + FETCH_CLAIM_SECONDS
    while len(results) < len(leaders):
        time.sleep(0.05)
        waiting = {block: ip for block, ip in leaders.items() if block not in results}
        late = time.monotonic() > give_up
        if late:
            claimed |= set(waiting)
        else:
            # Claim first, then read: an answer stored before its claim was released is seen.
            claimed |= _claim_blocks(list(waiting))
        cached = _cached_networks(list(waiting.values()))
        for block, ip in waiting.items():
            facts = cached.get(ip)
            if isinstance(facts, NetworkFacts):
                results[block] = facts
            elif block in claimed:
                results[block] = None
    return results, claimed


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


def _pass_on(source: Future[Any], target: Future[Any]) -> None:
    def settle(done: Future[Any]) -> None:
        error = done.exception()
        if error is not None:
            target.set_exception(error)
        else:
            target.set_result(done.result())

    source.add_done_callback(settle)


def _address_key(address: str) -> str:
    ip = ipaddress.ip_address(address)
    value = int(ip) if ip.version == 6 else int(ipaddress.IPv6Address(f"::ffff:{ip}"))
    return f"{value:032x}"


def _range_keys(facts: NetworkFacts) -> tuple[str, str]:
    try:
        return _address_key(facts.start or facts.ip), _address_key(facts.end or facts.ip)
    except ValueError:
        key = _address_key(facts.ip)
        return key, key


def _holds(facts: NetworkFacts, ip: str) -> bool:
    start, end = _range_keys(facts)
    return start <= _address_key(ip) <= end


# SQLite nests an OR chain in its parser: keep each query well below its depth limit.
CACHE_QUERY_CHUNK = 200


def _cached_networks(ips: list[str]) -> dict[str, NetworkFacts]:
    """Cached networks holding these addresses: for each, the smallest range that holds it, so
    a customer's sub-allocation cached next to its provider's block wins over the block."""
    keys = {ip: _address_key(ip) for ip in ips}
    distinct = sorted(set(keys.values()))
    now = timezone.now()
    table = connection.ops.quote_name(NetworkRecord._meta.db_table)
    rows: list[NetworkRecord] = []
    for offset in range(0, len(distinct), CACHE_QUERY_CHUNK):
        chunk = distinct[offset : offset + CACHE_QUERY_CHUNK]
        # Written out rather than OR-ed Q objects: the ORM spent more time compiling that
        # query than the database answering it. Only placeholders vary; values are parameters.
        holds = " OR ".join(["(start_key <= %s AND end_key >= %s)"] * len(chunk))
        sql = f"SELECT * FROM {table} WHERE expires_at > %s AND ({holds})"  # noqa: S608
        params: list[Any] = [connection.ops.adapt_datetimefield_value(now)]
        for key in chunk:
            params += [key, key]
        rows += NetworkRecord.objects.raw(sql, params)
    found: dict[str, NetworkFacts] = {}
    for ip, key in keys.items():
        holding = [row for row in rows if row.start_key <= key <= row.end_key]
        if holding:
            best = min(holding, key=lambda row: int(row.end_key, 16) - int(row.start_key, 16))
            found[ip] = NetworkFacts(**{**best.data, "ip": ip})
    return found


def _store_networks(answers: list[NetworkFacts]) -> None:
    """Cache each network under its range (unique): a network fetched again, by a refresh or by
    another process at the same time, replaces the cached copy."""
    now = timezone.now()
    expires = now + timedelta(days=settings.TAKEDOWN_LOOKUP_CACHE_DAYS)
    by_range = {_range_keys(facts): facts for facts in answers}
    if not by_range:
        return
    NetworkRecord.objects.bulk_create(
        [
            NetworkRecord(
                start_key=start, end_key=end, fetched_at=now, expires_at=expires, data=asdict(f)
            )
            for (start, end), f in by_range.items()
        ],
        update_conflicts=True,
        unique_fields=["start_key", "end_key"],
        update_fields=["fetched_at", "expires_at", "data"],
    )


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


def _rule_party(organisation: Organisation, match: Any, contacts: _ContactCache) -> dict[str, Any]:
    contact = contacts.best(organisation, ("abuse", "legal", "privacy", "general"))
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
    cache: _ContactCache,
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
            organisation = organisations[match.organisation_id]
            contact = cache.best(organisation, ("abuse", "legal", "privacy"))
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


def _rdap_key(base_url: str | None) -> str:
    """The throttle key of an RDAP server: its host name ("" when the bootstrap has none)."""
    if not base_url:
        return ""
    return f"rdap:{urlsplit(base_url).hostname or ''}"
