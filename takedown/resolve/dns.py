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
import threading
from collections.abc import Iterable
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any

from django.conf import settings

from takedown.net import ip_endpoint, parse_ip
from takedown.resolve.facts import DnsFacts, LookupFailed

if TYPE_CHECKING:  # dnspython takes about 0.1 s to import: only the lookups load it
    import dns.name
    import dns.nameserver
    import dns.resolver
    import dns.rrset

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
    decided = _is_nxdomain(first) or isinstance(first, LookupFailed)
    second = None if decided else _ask(resolver, qname, "AAAA")
    return _facts(name, qname, first, second)


def resolve_many(hostnames: Iterable[str], executor: Executor) -> dict[str, Future[DnsFacts]]:
    """resolve_host for many names at once: the A and AAAA queries of every name run on
    `executor` at the same time (the answers are the same as resolve_host's; only a name that
    does not exist costs its AAAA query here). Futures raise LookupFailed like resolve_host."""
    resolver = None
    futures: dict[str, Future[DnsFacts]] = {}
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
        resolver = resolver or _resolver()
        a = executor.submit(_ask, resolver, qname, "A")
        aaaa = executor.submit(_ask, resolver, qname, "AAAA")
        _when_both(a, aaaa, done, name, qname)
    return futures


def _when_both(
    a: Future[Any], aaaa: Future[Any], done: Future[DnsFacts], name: str, qname: dns.name.Name
) -> None:
    def finish(_: Future[Any]) -> None:
        if not (a.done() and aaaa.done()):
            return
        with _finishing:  # both callbacks may see both done: settle once
            if done.done():
                return
            try:
                done.set_result(_facts(name, qname, a.result(), aaaa.result()))
            except Exception as exc:
                done.set_exception(exc)

    a.add_done_callback(finish)
    aaaa.add_done_callback(finish)


_finishing = threading.Lock()


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


def _ask(resolver: dns.resolver.Resolver, qname: dns.name.Name, rdtype: str) -> Any:
    """One query: the dnspython Answer, the NXDOMAIN exception, or a LookupFailed (returned,
    not raised, so the caller can combine the A and AAAA outcomes in resolve_host's order)."""
    import dns.exception
    import dns.resolver

    try:
        return resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN as exc:
        return exc
    except dns.exception.Timeout:
        return LookupFailed("dns", "timed out", transient=True)
    except dns.resolver.NoNameservers:
        # Every server answered SERVFAIL or REFUSED (or a malformed reply).
        return LookupFailed("dns", "no server could answer", transient=True)
    except dns.exception.DNSException as exc:
        return LookupFailed("dns", f"lookup failed ({type(exc).__name__})")


def _is_nxdomain(outcome: Any) -> bool:
    import dns.resolver

    return isinstance(outcome, dns.resolver.NXDOMAIN)


def _facts(name: str, qname: dns.name.Name, *outcomes: Any) -> DnsFacts:
    """Combine the A and AAAA outcomes as asking them in turn would: the first failure or
    NXDOMAIN decides, unless addresses were seen before it."""
    facts = DnsFacts(hostname=name)
    for outcome in outcomes:
        if outcome is None:
            continue
        if _is_nxdomain(outcome):
            if facts.ips:  # the name vanished between the two queries: keep what we saw
                break
            facts.nxdomain = True
            facts.cname_chain = _chain_of_nxdomain(outcome, qname)
            return facts
        if isinstance(outcome, LookupFailed):
            raise outcome
        if not facts.cname_chain:
            facts.cname_chain = _targets(outcome.chaining_result.cnames)
        if outcome.rrset is not None:
            # An RRset is a set: sort so the same answer always gives the same facts.
            addresses = sorted(ipaddress.ip_address(rdata.address) for rdata in outcome.rrset)
            facts.ips.extend(str(address) for address in addresses)
    return facts


def _resolver() -> dns.resolver.Resolver:
    import dns.nameserver
    import dns.resolver

    configured = settings.TAKEDOWN_DNS_NAMESERVERS
    entries = configured.split(",") if isinstance(configured, str) else list(configured)
    entries = [entry.strip() for entry in entries if entry.strip()]
    resolver = dns.resolver.Resolver(configure=not entries)
    if entries:
        resolver.nameservers = [_nameserver(entry) for entry in entries]
    lifetime = float(settings.TAKEDOWN_DNS_TIMEOUT)
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
