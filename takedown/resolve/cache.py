"""The machinery under resolve.lookup: the thread pool its network waits run on, and the caches
of domain and network answers with single flight across threads and processes.

Domain answers are cached per registered domain (DomainRecord) and network answers per IP
network (NetworkRecord) for TAKEDOWN_LOOKUP_CACHE_DAYS, shared by every case. A domain is
fetched by one worker at a time (DomainRecord.claimed_at), and so is a network (per /24 or /48
block: in-process futures, NetworkClaim across processes), so a cold cache costs exactly one
RDAP-or-WHOIS query per registered domain and one RDAP query per network however many hosts
and cases point at them. A claim older than FETCH_CLAIM_SECONDS belongs to a dead worker and is
taken over. What to ask and how to shape the answers is resolve.lookup's business.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from takedown.models import DomainRecord, NetworkClaim, NetworkRecord
from takedown.resolve.bulk import update_each
from takedown.resolve.facts import ContactFact, DomainFacts, LookupFailed, NetworkFacts, Party

# A domain being fetched by another worker for longer than this is fetched again.
FETCH_CLAIM_SECONDS = 60

# What the sources said about a registered domain (None: nothing), and their errors.
DomainAnswer = tuple[DomainFacts | None, list[dict[str, Any]]]


# --- the thread pool for network waits -------------------------------------------------------

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def executor() -> ThreadPoolExecutor:
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


# --- claims and the domain cache with single flight -----------------------------------------

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


class DomainFlight:
    """The registered domains of a batch in the cache: fresh answers read, single-flight claims
    on the others, the answers to the claimed ones stored back, and the answers to those another
    worker is fetching awaited."""

    def __init__(self, domains: list[str], *, refresh: bool) -> None:
        self.domains = domains
        self.refresh = refresh
        self.claimed: dict[str, DomainRecord] = {}  # fetched by us, not stored yet
        self.others: list[str] = []  # being fetched by another worker

    def claim(self) -> tuple[dict[str, DomainAnswer], list[str]]:
        """The cached answers, and the domains this worker won and must ask about."""
        if not self.domains:
            return {}, []
        records = self._records(self.domains)
        now = timezone.now()
        cached: dict[str, DomainAnswer] = {}
        due = []
        for domain in self.domains:
            record = records[domain]
            if not self.refresh and record.expires_at is not None and record.expires_at > now:
                cached[domain] = (_facts_from_record(record), list(record.errors))
            else:
                due.append(record)
        won = _claim_domains(due, refresh=self.refresh)
        for record in due:
            if record.pk in won:
                self.claimed[record.registered_domain] = record
            else:
                self.others.append(record.registered_domain)
        return cached, list(self.claimed)

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

    def store(self, answers: Mapping[str, DomainAnswer]) -> None:
        """Cache the answers to the claimed domains and release their claims."""
        now = timezone.now()
        records = []
        for domain, record in self.claimed.items():
            facts, errors = answers[domain]
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

    def wait_for_others(self) -> dict[str, DomainAnswer]:
        """Single flight: another worker fetches these; use its answer once stored. After
        FETCH_CLAIM_SECONDS, take whatever the cache holds."""
        answers: dict[str, DomainAnswer] = {}
        give_up = time.monotonic() + FETCH_CLAIM_SECONDS
        waiting = list(self.others)
        while waiting:
            now = timezone.now()
            rows = DomainRecord.objects.filter(registered_domain__in=waiting)
            late = time.monotonic() > give_up
            for record in rows:
                if late or (record.expires_at is not None and record.expires_at > now):
                    answers[record.registered_domain] = (
                        _facts_from_record(record),
                        list(record.errors),
                    )
            waiting = [domain for domain in waiting if domain not in answers]
            if waiting:
                time.sleep(0.05)
        return answers

    def release(self) -> None:
        """Our failure (a bug, the database): release the claims and cache nothing, rather
        than "no data" for a week."""
        if self.claimed:
            DomainRecord.objects.filter(pk__in=[r.pk for r in self.claimed.values()]).update(
                claimed_at=None
            )


def _claim_domains(records: list[DomainRecord], *, refresh: bool) -> set[int]:
    """Claim the domains no other worker is fetching, in one conditional update; the ids won.
    Without `refresh`, a domain another worker stored since we read it is not claimed (its
    answer is read in DomainFlight.wait_for_others)."""
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


def networks(
    ips: list[str],
    refresh: bool,
    query: Callable[[str], tuple[str, Future[NetworkFacts]]],
    failed: Callable[[LookupFailed, str], None],
) -> dict[str, NetworkFacts | LookupFailed]:
    """The network of each address: from the cache, from a query already in flight (in this
    process, or in another one that holds the block's NetworkClaim), or from one query per
    block of addresses. `query(ip)` starts the query about an address's network: its throttle
    key and its future answer; `failed(exc, key)` is told of every query that failed."""
    wanted = sorted(set(ips))
    if not wanted:
        return {}
    ours: dict[str, Future[NetworkFacts]] = {}  # block -> the answer others here may join
    joined: dict[str, Future[NetworkFacts]] = {}
    blocks: dict[str, list[str]] = {}
    with _flight_lock:
        # Under the lock: an answer is stored before its flight ends (see the finally below),
        # so each address is either in the cache read here or in a flight seen here.
        found: dict[str, NetworkFacts | LookupFailed] = {}
        if not refresh:
            found.update(_cached_networks(wanted))
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
                keys[block], job = query(blocks[block][0])
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
                failed(exc, keys.get(block, ""))
                found.update((ip, exc) for ip in blocks[block])
                continue
            for ip in blocks[block]:
                if _holds(facts, ip):
                    found[ip] = replace(facts, ip=ip)
                else:
                    strays.append(ip)
        # Addresses the block's network does not hold (a smaller assignment next door).
        answered: list[NetworkFacts] = []
        for ip, (key, job) in [(ip, query(ip)) for ip in strays]:
            try:
                network = job.result()
            except LookupFailed as exc:
                failed(exc, key)
                found[ip] = exc
                continue
            found[ip] = network
            answered.append(network)
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
