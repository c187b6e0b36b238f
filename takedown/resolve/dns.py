"""DNS facts about a host: its addresses and the CNAME chain that leads to them.

The chain matters more than it looks: a host that is a CNAME to `d111.cloudfront.net` or
`*.fastly.net` is served by a CDN, and the CDN, not the network that owns the final address,
is who can take the file down. So every CNAME target is kept, in the order it was followed.

The resolver is TAKEDOWN_DNS_NAMESERVERS ("ip[:port],...", e.g. the sandbox's
"127.0.0.1:8053") or, when that is empty, the system's resolver. Those addresses are the
operator's own infrastructure (often 127.0.0.53 or a VPC resolver on 10.x), not a destination
chosen by untrusted input, so they are deliberately not put through `check_address`; the
addresses this module returns are, by whoever connects to them.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from takedown.net import ip_endpoint, parse_ip
from takedown.resolve.dns_wire import Reply, Unusable, decode_reply, encode_query
from takedown.resolve.facts import (
    LOOKUP_FAILED,
    NO_SERVER_ANSWERED,
    TIMED_OUT,
    DnsFacts,
    LookupFailed,
)

if TYPE_CHECKING:  # dnspython takes about 0.1 s to import: only the lookups load it
    import dns.name
    import dns.nameserver
    import dns.resolver
    import dns.rrset

log = logging.getLogger(__name__)

# dnspython retries a server that does not answer after `timeout`; a shorter attempt than the
# whole lifetime lets one lost UDP packet be retried instead of costing the lookup.
ATTEMPT_TIMEOUT = 2.0


def resolve_host(hostname: str) -> DnsFacts:
    """A and AAAA addresses of `hostname` with the CNAME chain in between.

    NXDOMAIN is an answer (`nxdomain=True`, with the chain when a CNAME dangles); SERVFAIL,
    REFUSED and timeouts raise LookupFailed("dns", ..., transient=True). An IP literal is
    returned as its own address without a query.
    """
    name, qname = _qname(hostname)
    if isinstance(qname, str):
        return DnsFacts(hostname=name, ips=[qname])
    resolver = _resolver()
    first = _ask(resolver, qname, "A")
    # A name that does not exist has no AAAA record either, and a failure decides alone.
    decided = isinstance(first, LookupFailed) or first.nxdomain
    second = None if decided else _ask(resolver, qname, "AAAA")
    return _facts(name, first, second)


def resolve_many(hostnames: Iterable[str], executor: Executor) -> dict[str, Future[DnsFacts]]:
    """resolve_host for many names at once: the A and AAAA queries of every name are in flight
    at the same time (the answers are the same as resolve_host's; only a name that does not
    exist costs its AAAA query here). Futures raise LookupFailed like resolve_host.

    All the queries go out and come back on one job of `executor` (_Exchange: a socket per
    query, one selector), not a job per query: a thread per query spent more CPU handing
    the interpreter around than the lookups did, and left the pool's threads to the RDAP and
    WHOIS queries of the same batch."""
    futures: dict[str, Future[DnsFacts]] = {}
    asks: list[tuple[str, dns.name.Name, Future[DnsFacts]]] = []
    for hostname in hostnames:
        if hostname in futures:
            continue
        done: Future[DnsFacts] = Future()
        futures[hostname] = done
        try:
            name, qname = _qname(hostname)
        except LookupFailed as exc:
            done.set_exception(exc)
            continue
        if isinstance(qname, str):
            done.set_result(DnsFacts(hostname=name, ips=[qname]))
            continue
        asks.append((name, qname, done))
    if asks:
        executor.submit(_ask_many, _resolver(), asks, executor)
    return futures


def _ask_many(
    resolver: dns.resolver.Resolver,
    asks: list[tuple[str, dns.name.Name, Future[DnsFacts]]],
    executor: Executor,
) -> None:
    exchange = _Exchange(resolver, executor)
    try:
        for name, qname, done in asks:
            a: Future[Outcome] = Future()
            aaaa: Future[Outcome] = Future()
            _when_both(a, aaaa, done, name)
            exchange.add(qname, "A", a)
            exchange.add(qname, "AAAA", aaaa)
        exchange.run()
    except Exception as exc:
        # Our failure, not the network's: every name still waiting gets an answer.
        log.exception("DNS lookups failed")
        exchange.abandon(LookupFailed("dns", LOOKUP_FAILED % {"error": type(exc).__name__}))


def _when_both(
    a: Future[Outcome], aaaa: Future[Outcome], done: Future[DnsFacts], name: str
) -> None:
    def finish(_: Future[Outcome]) -> None:
        if not (a.done() and aaaa.done()):
            return
        with _finishing:  # both callbacks may see both done: settle once
            if done.done():
                return
            try:
                done.set_result(_facts(name, a.result(), aaaa.result()))
            except Exception as exc:
                done.set_exception(exc)

    a.add_done_callback(finish)
    aaaa.add_done_callback(finish)


_finishing = threading.Lock()

# Queries in flight at once in one exchange, a socket each (a batch of 64 hosts asks 128).
MAX_IN_FLIGHT = 256


@dataclass(eq=False)
class _Query:
    qname: dns.name.Name
    rdtype: str
    answer: Future[Outcome]
    started: float = 0.0
    deadline: float = 0.0
    ident: int = 0


class _Exchange:
    """The A and AAAA queries of a batch of names, all in flight at once on one thread.

    Every query goes to the first nameserver, over UDP from a socket of its own (a fresh
    source port and a random id, as dnspython sends it), and its reply is read by
    resolve.dns_wire. A query that gets no plain answer in one attempt (a timeout, a truncated
    reply, SERVFAIL or REFUSED, a malformed reply) is asked again through dnspython (_ask) with
    what is left of the lifetime: it tries the other nameservers and TCP, and its outcome is
    worded as resolve_host words it."""

    def __init__(self, resolver: dns.resolver.Resolver, executor: Executor) -> None:
        self.resolver = resolver
        self.executor = executor
        self.server = _plain_server(resolver)
        self.queries: list[_Query] = []
        self.todo: deque[_Query] = deque()
        # In the order sent, so the first one is always the next to time out.
        self.flying: dict[socket.socket, _Query] = {}

    def add(self, qname: dns.name.Name, rdtype: str, answer: Future[Outcome]) -> None:
        query = _Query(qname, rdtype, answer)
        self.queries.append(query)
        self.todo.append(query)

    def run(self) -> None:
        if self.server is None:
            while self.todo:
                self._fall_back(self.todo.popleft(), time.monotonic())
            return
        with selectors.DefaultSelector() as selector:
            while self.todo or self.flying:
                now = time.monotonic()
                while self.todo and len(self.flying) < MAX_IN_FLIGHT:
                    self._send(self.todo.popleft(), selector, now)
                if not self.flying:
                    continue
                first = next(iter(self.flying.values()))
                for key, _events in selector.select(max(0.0, first.deadline - now)):
                    self._receive(key.fileobj, selector)  # type: ignore[arg-type]
                now = time.monotonic()
                for sock, query in list(self.flying.items()):
                    if query.deadline > now:
                        break
                    self._close(sock, selector)
                    self._fall_back(query, now)

    def abandon(self, failure: LookupFailed) -> None:
        for sock in list(self.flying):
            sock.close()
        self.flying.clear()
        for query in self.queries:
            if not query.answer.done():
                query.answer.set_result(failure)

    def _send(self, query: _Query, selector: selectors.BaseSelector, now: float) -> None:
        assert self.server is not None
        address, port = self.server
        query.started = now
        query.deadline = now + self.resolver.timeout
        query.ident = secrets.randbits(16)
        try:
            sock = socket.socket(
                socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM
            )
        except OSError:  # out of file descriptors: dnspython says what went wrong
            self._fall_back(query, now)
            return
        try:
            sock.setblocking(False)
            # Connected: the kernel drops datagrams from anyone but the server.
            sock.connect((address, port))
            sock.send(encode_query(query.ident, query.qname.labels, query.rdtype))
        except OSError:
            sock.close()
            self._fall_back(query, now)
            return
        selector.register(sock, selectors.EVENT_READ)
        self.flying[sock] = query

    def _receive(self, sock: socket.socket, selector: selectors.BaseSelector) -> None:
        query = self.flying[sock]
        try:
            wire = sock.recv(65535)
        except BlockingIOError:
            return
        except OSError:  # the server's port is closed (ICMP): dnspython tells the rest
            self._close(sock, selector)
            self._fall_back(query, time.monotonic())
            return
        try:
            reply = decode_reply(wire, query.ident, query.qname.labels, query.rdtype)
        except Unusable:
            self._close(sock, selector)
            self._fall_back(query, time.monotonic())
            return
        if reply is not None:  # else not the reply to this query: keep waiting for it
            self._close(sock, selector)
            query.answer.set_result(reply)

    def _close(self, sock: socket.socket, selector: selectors.BaseSelector) -> None:
        selector.unregister(sock)
        sock.close()
        del self.flying[sock]

    def _fall_back(self, query: _Query, now: float) -> None:
        left = self.resolver.lifetime - (now - query.started if query.started else 0.0)
        if left <= 0:
            query.answer.set_result(LookupFailed("dns", TIMED_OUT, transient=True))
            return
        job = self.executor.submit(_ask, _resolver(left), query.qname, query.rdtype)

        def settle(done: Future[Outcome]) -> None:
            error = done.exception()
            if query.answer.done():  # abandoned meanwhile (our own failure)
                return
            if error is None:
                query.answer.set_result(done.result())
            else:
                query.answer.set_result(
                    LookupFailed("dns", LOOKUP_FAILED % {"error": type(error).__name__})
                )

        job.add_done_callback(settle)


def _plain_server(resolver: dns.resolver.Resolver) -> tuple[str, int] | None:
    """The first nameserver when it is plain DNS over port 53 style UDP (an address string
    from resolv.conf or a Do53Nameserver), else None: then dnspython asks every query."""
    import dns.nameserver

    if not resolver.nameservers or resolver.edns >= 0:
        return None
    first = resolver.nameservers[0]
    if isinstance(first, str):
        return first, int(resolver.port)
    if isinstance(first, dns.nameserver.Do53Nameserver):
        return str(first.address), int(first.port)
    return None


def _qname(hostname: str) -> tuple[str, dns.name.Name | str]:
    """The normalised name and its absolute DNS name, or for an IP literal its address."""
    import dns.exception
    import dns.name

    name = hostname.strip().rstrip(".").lower()
    literal = parse_ip(name)
    if literal is not None:
        return name, str(literal)
    try:
        return name, dns.name.from_text(name)  # absolute: no search domains appended
    except (dns.exception.DNSException, UnicodeError) as exc:
        raise LookupFailed("dns", f"invalid hostname ({type(exc).__name__})") from None


# What one query came to: an answer (dns_wire.Reply, NXDOMAIN included) or a failure, returned
# rather than raised so the A and AAAA outcomes combine in resolve_host's order.
Outcome = Reply | LookupFailed


def _ask(resolver: dns.resolver.Resolver, qname: dns.name.Name, rdtype: str) -> Outcome:
    """One query through dnspython's resolver (retries, the other nameservers, TCP)."""
    import dns.exception
    import dns.resolver

    try:
        answer = resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN as exc:
        return Reply(nxdomain=True, chain=_chain_of_nxdomain(exc, qname))
    except dns.exception.Timeout:
        return LookupFailed("dns", TIMED_OUT, transient=True)
    except dns.resolver.NoNameservers:
        # Every server answered SERVFAIL or REFUSED (or a malformed reply).
        return LookupFailed("dns", NO_SERVER_ANSWERED, transient=True)
    except dns.exception.DNSException as exc:
        return LookupFailed("dns", LOOKUP_FAILED % {"error": type(exc).__name__})
    addresses = []
    if answer.rrset is not None:
        # An RRset is a set: sort so the same answer always gives the same facts.
        addresses = [
            str(address)
            for address in sorted(ipaddress.ip_address(rdata.address) for rdata in answer.rrset)
        ]
    return Reply(chain=_targets(answer.chaining_result.cnames), addresses=addresses)


def _facts(name: str, *outcomes: Outcome | None) -> DnsFacts:
    """Combine the A and AAAA outcomes as asking them in turn would: the first failure or
    NXDOMAIN decides, unless addresses were seen before it."""
    facts = DnsFacts(hostname=name)
    for outcome in outcomes:
        if outcome is None:
            continue
        if isinstance(outcome, LookupFailed):
            raise outcome
        if outcome.nxdomain:
            if facts.ips:  # the name vanished between the two queries: keep what we saw
                break
            facts.nxdomain = True
            facts.cname_chain = list(outcome.chain)
            return facts
        if not facts.cname_chain:
            facts.cname_chain = list(outcome.chain)
        facts.ips.extend(outcome.addresses)
    return facts


def _resolver(lifetime: float | None = None) -> dns.resolver.Resolver:
    import dns.nameserver
    import dns.resolver

    configured = settings.TAKEDOWN_DNS_NAMESERVERS
    entries = configured.split(",") if isinstance(configured, str) else list(configured)
    entries = [entry.strip() for entry in entries if entry.strip()]
    resolver = dns.resolver.Resolver(configure=not entries)
    if entries:
        resolver.nameservers = [_nameserver(entry) for entry in entries]
    lifetime = float(settings.TAKEDOWN_DNS_TIMEOUT) if lifetime is None else lifetime
    resolver.lifetime = lifetime
    resolver.timeout = min(ATTEMPT_TIMEOUT, lifetime)
    return resolver


def _nameserver(entry: str) -> dns.nameserver.Do53Nameserver:
    import dns.nameserver

    address, port = ip_endpoint(entry, 53, "TAKEDOWN_DNS_NAMESERVERS")
    return dns.nameserver.Do53Nameserver(str(address), port)


def _targets(cnames: list[dns.rrset.RRset]) -> list[str]:
    return [rrset[0].target.to_text(omit_final_dot=True).lower() for rrset in cnames]


def _chain_of_nxdomain(exc: dns.resolver.NXDOMAIN, qname: dns.name.Name) -> list[str]:
    # A CNAME into a name that no longer exists is the trace of a deleted CDN or bucket
    # resource: worth showing, so read the chain out of the NXDOMAIN response.
    import dns.exception

    try:
        return _targets(exc.response(qname).resolve_chaining().cnames)
    except (dns.exception.DNSException, KeyError, AttributeError):
        return []
