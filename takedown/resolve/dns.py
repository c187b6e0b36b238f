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
from typing import TYPE_CHECKING

from django.conf import settings

from takedown.net import ip_endpoint, parse_ip
from takedown.resolve.facts import DnsFacts, LookupFailed

if TYPE_CHECKING:  # dnspython takes about 0.1 s to import: only the lookups load it
    import dns.name
    import dns.nameserver
    import dns.resolver
    import dns.rrset

DEFAULT_TIMEOUT = 5.0  # seconds for one whole lookup (all retries), see TAKEDOWN_DNS_TIMEOUT
# dnspython retries a server that does not answer after `timeout`; a shorter attempt than the
# whole lifetime lets one lost UDP packet be retried instead of costing the lookup.
ATTEMPT_TIMEOUT = 2.0


def resolve_host(hostname: str) -> DnsFacts:
    """A and AAAA addresses of `hostname` with the CNAME chain in between.

    NXDOMAIN is an answer (`nxdomain=True`, with the chain when a CNAME dangles); SERVFAIL,
    REFUSED and timeouts raise LookupFailed("dns", ..., transient=True). An IP literal is
    returned as its own address without a query.
    """
    import dns.exception
    import dns.name
    import dns.resolver

    name = hostname.strip().rstrip(".").lower()
    literal = parse_ip(name)
    if literal is not None:
        return DnsFacts(hostname=name, ips=[str(literal)])
    try:
        qname = dns.name.from_text(name)  # absolute: no search domains appended
    except (dns.exception.DNSException, UnicodeError) as exc:
        raise LookupFailed("dns", f"invalid hostname ({type(exc).__name__})") from None

    resolver = _resolver()
    facts = DnsFacts(hostname=name)
    for rdtype in ("A", "AAAA"):
        try:
            answer = resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN as exc:
            if facts.ips:  # the name vanished between the two queries: keep what we saw
                break
            facts.nxdomain = True
            facts.cname_chain = _chain_of_nxdomain(exc, qname)
            return facts
        except dns.exception.Timeout:
            raise LookupFailed("dns", "timed out", transient=True) from None
        except dns.resolver.NoNameservers:
            # Every server answered SERVFAIL or REFUSED (or a malformed reply).
            raise LookupFailed("dns", "no server could answer", transient=True) from None
        except dns.exception.DNSException as exc:
            raise LookupFailed("dns", f"lookup failed ({type(exc).__name__})") from None
        if not facts.cname_chain:
            facts.cname_chain = _targets(answer.chaining_result.cnames)
        if answer.rrset is not None:
            # An RRset is a set: sort so the same answer always gives the same facts.
            addresses = sorted(ipaddress.ip_address(rdata.address) for rdata in answer.rrset)
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
    lifetime = float(getattr(settings, "TAKEDOWN_DNS_TIMEOUT", DEFAULT_TIMEOUT))
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
