"""WHOIS over port 43 (RFC 3912): our own small client, python-whois only as a text parser.

`lookup_domain("example.de")` asks the registry's WHOIS server, follows at most one referral
(thin registry -> registrar), and returns a DomainFacts. Failures raise LookupFailed("whois",
...): `transient` for timeouts, refused or reset connections and quota answers (`quota` is then
also set, so the caller backs off); not transient for an unregistered domain, a TLD without a
WHOIS server, a refused address or an oversized answer.

Which server: the registry server comes from SERVERS (common TLDs) or, for any other TLD, from
whois.iana.org's `refer:` line (cached for the life of the process, including "no server").

Where to connect (endpoints are configuration, read from django.conf.settings at call time):
1. TAKEDOWN_WHOIS_SERVERS, a JSON map from a WHOIS server name ("whois.denic.de") to
   "host:port", wins for that name;
2. else TAKEDOWN_WHOIS_SERVER="host:port" receives every query: registry, IANA and
   referrals alike (a WHOIS proxy, or the sandbox server in tests);
3. else the server name itself, port 43.
The query form always follows the server *name* (DENIC "-T dn,ace x.de", JPRS "x.jp/e",
Verisign "domain x.com", everyone else "x.tld"), so redirected queries look like real ones.

Which addresses may be reached. Every address is checked before connecting:
- configured endpoints (1 and 2) and the registry servers named by SERVERS or IANA go through
  takedown.net.check_address: public addresses only, unless TAKEDOWN_ALLOW_PRIVATE_NETWORK;
- a referral target that configuration does not redirect is resolved here (with
  takedown.resolve.dns, i.e. TAKEDOWN_DNS_NAMESERVERS) and every address must be public
  (is_public), whatever TAKEDOWN_ALLOW_PRIVATE_NETWORK says: the name comes from a server's
  answer, and the private-network switch exists for our own sandbox servers, not for names
  that strangers hand us;
- a referral naming an IP address, a port or anything that is not a host name is never
  followed, configured or not: registries refer to registrars by name.
A referral that is refused or fails (timeout, quota, unknown there) does not fail the lookup:
the registry's answer stands and `fetch_record(...).referral_error` says what happened.

Limits: connect timeout, read (idle) timeout, an overall deadline for the whole lookup that also
holds against a server trickling a byte a second, and a size cap: an answer larger than
`max_bytes` fails (not transient) instead of being parsed half, because a record is a few KB
and half a record can silently miss the registrant. Bytes are decoded as UTF-8, invalid bytes
as Latin-1, so no answer can crash the decoder.

Parsing (python-whois for the registrar name, our own labelled extraction for the rest) lives in
takedown.resolve.whois_parse; its public names are importable from here too.
"""

from __future__ import annotations

import codecs
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Final

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from takedown.net import AddressNotAllowed, check_address, is_public, parse_hostport, parse_ip
from takedown.resolve.dns import resolve_host
from takedown.resolve.facts import NO_WHOIS_SERVER, NOT_REGISTERED, DomainFacts, LookupFailed
from takedown.resolve.whois_parse import (
    SOURCE,
    WhoisAnswer,
    WhoisRecord,
    focus_on_domain,
    is_host_name,
    normalise_domain,
    parse_answers,
    parse_record,
    parse_text,
)

log = logging.getLogger(__name__)

PORT: Final = 43
IANA_SERVER: Final = "whois.iana.org"

CONNECT_TIMEOUT: Final = 5.0
READ_TIMEOUT: Final = 10.0
DEADLINE: Final = 20.0
MAX_ANSWER_BYTES: Final = 1024 * 1024

# Registry WHOIS servers of common TLDs (public IANA data); any other TLD asks IANA.
SERVERS: Final[dict[str, str]] = {
    "com": "whois.verisign-grs.com",
    "net": "whois.verisign-grs.com",
    "org": "whois.publicinterestregistry.org",
    "info": "whois.nic.info",
    "biz": "whois.nic.biz",
    "name": "whois.nic.name",
    "mobi": "whois.nic.mobi",
    "us": "whois.nic.us",
    "io": "whois.nic.io",
    "co": "whois.nic.co",
    "me": "whois.nic.me",
    "tv": "whois.nic.tv",
    "cc": "ccwhois.verisign-grs.com",
    "xyz": "whois.nic.xyz",
    "ai": "whois.nic.ai",
    "de": "whois.denic.de",
    "uk": "whois.nic.uk",
    "jp": "whois.jprs.jp",
    "nl": "whois.domain-registry.nl",
    "eu": "whois.eu",
    "pl": "whois.dns.pl",
    "fr": "whois.nic.fr",
    "it": "whois.nic.it",
    "ru": "whois.tcinet.ru",
    "su": "whois.tcinet.ru",
    "au": "whois.auda.org.au",
    "ca": "whois.cira.ca",
    "ch": "whois.nic.ch",
    "li": "whois.nic.li",
    "at": "whois.nic.at",
    "be": "whois.dns.be",
    "br": "whois.registro.br",
    "cn": "whois.cnnic.cn",
    "se": "whois.iis.se",
    "nu": "whois.iis.nu",
    "no": "whois.norid.no",
    "fi": "whois.fi",
    "cz": "whois.nic.cz",
    "sk": "whois.sk-nic.sk",
    "hu": "whois.nic.hu",
    "ro": "whois.rotld.ro",
    "bg": "whois.register.bg",
    "pt": "whois.dns.pt",
    "ie": "whois.weare.ie",
    "lu": "whois.dns.lu",
    "lv": "whois.nic.lv",
    "lt": "whois.domreg.lt",
    "ee": "whois.tld.ee",
    "si": "whois.register.si",
    "rs": "whois.rnids.rs",
    "ua": "whois.ua",
    "by": "whois.cctld.by",
    "kz": "whois.nic.kz",
    "il": "whois.isoc.org.il",
    "in": "whois.registry.in",
    "kr": "whois.kr",
    "tw": "whois.twnic.net.tw",
    "hk": "whois.hkirc.hk",
    "sg": "whois.sgnic.sg",
    "mx": "whois.mx",
    "ar": "whois.nic.ar",
    "cl": "whois.nic.cl",
    "pe": "kero.yachay.pe",
    "id": "whois.id",
    "kg": "whois.kg",
    "cat": "whois.nic.cat",
    "jobs": "whois.nic.jobs",
}

# Registries that want their own query syntax; "{}" is the domain in A-label form.
QUERY_FORMS: Final[dict[str, str]] = {
    "whois.denic.de": "-T dn,ace {}",  # domain data only, IDNs as ACE
    "whois.jprs.jp": "{}/e",  # English output
    "whois.verisign-grs.com": "domain {}",  # domain records only, not name servers
}


# --- the port-43 client -----------------------------------------------------------------------


@dataclass
class _Budget:
    connect_timeout: float
    read_timeout: float
    deadline: float
    max_bytes: int
    ends_at: float = field(init=False)

    def __post_init__(self) -> None:
        self.ends_at = time.monotonic() + self.deadline

    def left(self) -> float:
        return self.ends_at - time.monotonic()


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("takedown-latin-1", _latin1_fallback)


def decode(data: bytes) -> str:
    """UTF-8 where the bytes are UTF-8, Latin-1 for each invalid byte; NULs dropped (the
    database refuses them) and line ends made "\\n"."""
    text = data.decode("utf-8", "takedown-latin-1")
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


def query_line(server: str, domain: str) -> str:
    return QUERY_FORMS.get(server.lower(), "{}").format(domain)


def _overrides() -> dict[str, str]:
    raw = settings.TAKEDOWN_WHOIS_SERVERS
    if not isinstance(raw, dict):
        raise ImproperlyConfigured("TAKEDOWN_WHOIS_SERVERS must be a JSON object")
    return {str(name).lower().rstrip("."): str(address) for name, address in raw.items()}


def _configured(name: str, text: str) -> tuple[str, int]:
    try:
        return parse_hostport(text, PORT)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


def _endpoint(server: str) -> tuple[str, int, bool]:
    """(host, port, configured) for a WHOIS server name, following the settings."""
    overrides = _overrides()
    if server in overrides:
        return (*_configured("TAKEDOWN_WHOIS_SERVERS", overrides[server]), True)
    everything: str = settings.TAKEDOWN_WHOIS_SERVER
    if everything.strip():
        return (*_configured("TAKEDOWN_WHOIS_SERVER", everything), True)
    return server, PORT, False


def _addresses(server: str, host: str, *, strict: bool) -> list[str]:
    """The checked addresses for host; `strict` refuses non-public ones whatever the settings."""
    # Our own resolver (TAKEDOWN_DNS_NAMESERVERS, with its timeout), not getaddrinfo: the
    # addresses checked here are exactly the ones connected to.
    try:
        found = resolve_host(host)
    except LookupFailed as exc:
        raise LookupFailed(
            SOURCE, f"cannot resolve {server}: {exc.message}", transient=exc.transient
        ) from None
    if not found.ips:
        raise LookupFailed(SOURCE, f"cannot resolve {server}: no address")
    for address in found.ips:
        ip = parse_ip(address)
        try:
            if ip is None:
                raise AddressNotAllowed(f"{address!r} is not an IP address")
            if strict and not is_public(ip):
                raise AddressNotAllowed(f"{ip} is not a public address")
            check_address(ip)
        except AddressNotAllowed as exc:
            raise LookupFailed(SOURCE, f"refused to connect to {server}: {exc}") from None
    return found.ips


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def _connect(server: str, addresses: list[str], port: int, budget: _Budget) -> socket.socket:
    error: OSError | None = None
    for address in addresses:
        left = budget.left()
        if left <= 0:
            break
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(min(budget.connect_timeout, left))
        try:
            sock.connect((address, port))
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    if isinstance(error, TimeoutError) or error is None:
        raise LookupFailed(SOURCE, f"connecting to {server} timed out", transient=True)
    raise LookupFailed(SOURCE, f"cannot connect to {server}: {_reason(error)}", transient=True)


def _exchange(sock: socket.socket, server: str, line: str, budget: _Budget) -> bytes:
    sock.settimeout(max(0.001, min(budget.read_timeout, budget.left())))
    sock.sendall(line.encode("ascii") + b"\r\n")
    chunks: list[bytes] = []
    size = 0
    while True:
        left = budget.left()
        if left <= 0:
            raise LookupFailed(
                SOURCE,
                f"{server} did not finish answering within the {budget.deadline:g}s deadline",
                transient=True,
            )
        sock.settimeout(min(budget.read_timeout, left))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            if budget.left() <= 0:
                continue  # reported as the deadline above
            raise LookupFailed(
                SOURCE, f"{server} sent nothing for {budget.read_timeout:g}s", transient=True
            ) from None
        if not data:
            return b"".join(chunks)
        size += len(data)
        if size > budget.max_bytes:
            raise LookupFailed(SOURCE, f"answer from {server} exceeds {budget.max_bytes} bytes")
        chunks.append(data)


def _ask(server: str, name: str, budget: _Budget, *, referral: bool = False) -> WhoisAnswer:
    """Ask `server` about `name` (a domain, or a TLD at IANA) in the query form that server
    wants, through the endpoint configured for it, and return the decoded answer."""
    line = query_line(server, name)
    host, port, configured = _endpoint(server)
    addresses = _addresses(server, host, strict=referral and not configured)
    sock = _connect(server, addresses, port, budget)
    try:
        data = _exchange(sock, server, line, budget)
    except TimeoutError:  # sendall on a server that stopped reading
        raise LookupFailed(SOURCE, f"sending to {server} timed out", transient=True) from None
    except OSError as exc:  # reset, broken pipe: the server went away mid-answer
        raise LookupFailed(SOURCE, f"{server} broke off: {_reason(exc)}", transient=True) from None
    finally:
        sock.close()
    if not data.strip():
        raise LookupFailed(SOURCE, f"{server} sent an empty answer", transient=True)
    answer = WhoisAnswer(server=server, query=line, text=decode(data))
    _raise_for_refusal(answer)
    return answer


# --- which server -----------------------------------------------------------------------------

_iana_cache: dict[str, str] = {}
_iana_lock = threading.Lock()


def clear_cache() -> None:
    """Forget what IANA said about TLDs (the cache otherwise lives as long as the process)."""
    with _iana_lock:
        _iana_cache.clear()


def _registry_server(domain: str, budget: _Budget) -> str:
    tld = domain.rpartition(".")[2]
    if tld in SERVERS:
        return SERVERS[tld]
    with _iana_lock:
        cached = _iana_cache.get(tld)
    if cached is None:
        answer = _ask(IANA_SERVER, tld, budget)
        cached = ""
        for key in ("refer", "whois"):
            match = re.search(rf"^{key}:[ \t]*(\S+)[ \t]*$", answer.text, re.I | re.M)
            named = match.group(1).lower().rstrip(".") if match else ""
            if is_host_name(named):
                cached = named
                break
        with _iana_lock:
            _iana_cache[tld] = cached
    if not cached:
        raise LookupFailed(SOURCE, NO_WHOIS_SERVER % {"tld": tld})
    return cached


def server_for(
    domain: str,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    deadline: float = DEADLINE,
) -> str:
    """The registry WHOIS server name for a domain (may ask IANA)."""
    name = normalise_domain(domain)
    budget = _budget(connect_timeout, read_timeout, deadline)
    return _registry_server(name, budget)


def known_server_for(domain: str) -> str | None:
    """server_for without a query: the server from the table or from IANA's cached answer, or
    None when IANA would have to be asked. Raises LookupFailed when IANA named no server."""
    tld = normalise_domain(domain).rpartition(".")[2]
    if tld in SERVERS:
        return SERVERS[tld]
    with _iana_lock:
        cached = _iana_cache.get(tld)
    if cached == "":
        raise LookupFailed(SOURCE, NO_WHOIS_SERVER % {"tld": tld})
    return cached


# --- answers that are not records -------------------------------------------------------------

_QUOTA = re.compile(
    r"access control limit"  # DENIC 55000000002
    r"|quota exceeded|exceeded (?:your|the) (?:query |request |access )?(?:quota|limit)"
    r"|exceeded the (?:maximum )?(?:allowable |allowed )?number of"
    r"|(?:connection|query|request|rate|whois) limit (?:has been )?exceeded"
    r"|too many (?:requests|queries|connections)",
    re.I,
)
_NOT_FOUND = re.compile(
    r"^[ \t%#>*]*(?:no match\b|not found\b|no entries found|no data found|no such domain"
    r"|no matching (?:record|objects?)|domain (?:name )?not found|nothing found"
    r"|(?:the queried )?object does not exist|no information available about domain"
    r"|domain (?:name )?(?:is )?not registered|this domain name has not been registered"
    r"|status:[ \t]*(?:free|available)[ \t]*$|\S+\.\S+ is free[ \t]*$)",
    re.I | re.M,
)


def _raise_for_refusal(answer: WhoisAnswer) -> None:
    if _QUOTA.search(answer.text):
        raise LookupFailed(
            SOURCE, f"{answer.server} refused: query quota exceeded", transient=True, quota=True
        )


def _raise_for_unknown(answer: WhoisAnswer) -> None:
    if _NOT_FOUND.search(answer.text):
        raise LookupFailed(SOURCE, NOT_REGISTERED)


# --- the lookup -------------------------------------------------------------------------------

_REFERRAL = re.compile(
    r"^[ \t]*(?:registrar whois server|whois server|referralserver)[ \t]*:[ \t]*(\S+)[ \t]*$",
    re.I | re.M,
)


def _budget(
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    deadline: float = DEADLINE,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> _Budget:
    return _Budget(connect_timeout, read_timeout, deadline, int(max_bytes))


def referral_in(text: str, domain: str) -> str:
    """The registrar WHOIS server a registry answer names for `domain`, as written ("" if none).

    Old Verisign answers list look-alike name-server records first, each with its own "Whois
    Server:"; the one that counts follows the "Domain Name: <domain>" line."""
    match = _REFERRAL.search(focus_on_domain(text, domain))
    if not match:
        return ""
    value = match.group(1).lower()
    for prefix in ("whois://", "rwhois://", "http://", "https://"):
        value = value.removeprefix(prefix)
    return value.rstrip("/").rstrip(".")


def fetch_record(
    domain: str,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    deadline: float = DEADLINE,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> WhoisRecord:
    """The raw answers for a domain: registry, then at most one registrar referral."""
    budget = _budget(connect_timeout, read_timeout, deadline, max_bytes)
    name = normalise_domain(domain)
    registry = _registry_server(name, budget)
    first = _ask(registry, name, budget)
    _raise_for_unknown(first)
    record = WhoisRecord(domain=name, answers=[first])
    target = referral_in(first.text, name)
    if not target or target == registry:
        return record
    record.referral = target
    try:
        if parse_ip(target) is not None or not is_host_name(target):
            raise LookupFailed(SOURCE, f"refused referral to {target!r}: not a host name")
        if budget.left() <= 0:
            raise LookupFailed(SOURCE, f"no time left for the referral to {target}", transient=True)
        second = _ask(target, name, budget, referral=True)
        _raise_for_unknown(second)
    except LookupFailed as exc:
        # The registry's answer stands on its own; the registrar's would only add detail.
        log.info("whois referral from %s to %s not used: %s", registry, target, exc.message)
        record.referral_error = exc
    else:
        record.answers.append(second)
    return record


def lookup_domain(
    domain: str,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    deadline: float = DEADLINE,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> DomainFacts:
    """WHOIS facts for a registered domain (registry answer plus one registrar referral).

    Raises LookupFailed: not registered, no WHOIS server for the TLD, refused address, oversized
    answer (not transient); timeout, deadline, refused or broken connection, quota (transient).
    Malformed TAKEDOWN_WHOIS_SERVER(S) settings raise ImproperlyConfigured.
    """
    record = fetch_record(
        domain,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        deadline=deadline,
        max_bytes=max_bytes,
    )
    return parse_record(record)


__all__ = [
    "IANA_SERVER",
    "QUERY_FORMS",
    "SERVERS",
    "WhoisAnswer",
    "WhoisRecord",
    "clear_cache",
    "decode",
    "fetch_record",
    "known_server_for",
    "lookup_domain",
    "normalise_domain",
    "parse_answers",
    "parse_record",
    "parse_text",
    "query_line",
    "referral_in",
    "server_for",
]
