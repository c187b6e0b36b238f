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

Parsing: python-whois's WhoisEntry.load supplies the registrar name; contacts, countries,
redaction and privacy proxies come from our own labelled extraction, because its `emails` is
an unlabelled list and its field names change per TLD. Three shapes are read: ICANN-style
labelled lines ("Registrar Abuse Contact Email:", "Registrant Country:"), RIPE-style objects
(domain object referring to nic-hdl/contact handles, "e-mail:", "abuse-mailbox:") and indented
or bracketed sections ("Registrant:", "Abuse Contact:", "[Holder]", ".it" blocks).
"""

from __future__ import annotations

import codecs
import logging
import re
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from takedown.net import AddressNotAllowed, check_address, is_public, parse_hostport, parse_ip
from takedown.resolve.countries import to_alpha2
from takedown.resolve.dns import resolve_host
from takedown.resolve.facts import REDACTED, ContactFact, DomainFacts, LookupFailed, Party

log = logging.getLogger(__name__)

SOURCE: Final = "whois"
PORT: Final = 43
IANA_SERVER: Final = "whois.iana.org"

CONNECT_TIMEOUT: Final = 5.0
READ_TIMEOUT: Final = 10.0
DEADLINE: Final = 20.0
MAX_ANSWER_BYTES: Final = 1024 * 1024
RAW_CAP: Final = 256 * 1024  # characters of raw text kept in DomainFacts.raw
# python-whois's regexes take time quadratic in line length (its e-mail pattern) and in text
# length (look-behind patterns): it gets the first 16 KiB, lines cut at 256 characters. The
# registrar name it is asked for sits near the top of every record.
PARSER_INPUT_CAP: Final = 16 * 1024
PARSER_LINE_CAP: Final = 256

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


@dataclass(frozen=True)
class WhoisAnswer:
    server: str  # the WHOIS server name that was asked (not the endpoint it was redirected to)
    query: str  # the query line sent, without CRLF
    text: str


@dataclass
class WhoisRecord:
    """What fetch_record got: the registry's answer, and the registrar's if a referral was
    followed. `referral` is the server the registry named ("" if none or the registry itself)."""

    domain: str  # A-label
    answers: list[WhoisAnswer]
    referral: str = ""
    referral_error: LookupFailed | None = None


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
    raw = getattr(settings, "TAKEDOWN_WHOIS_SERVERS", None) or {}
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
    everything = getattr(settings, "TAKEDOWN_WHOIS_SERVER", "") or ""
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
    reason = error.strerror or type(error).__name__
    raise LookupFailed(SOURCE, f"cannot connect to {server}: {reason}", transient=True)


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


def _ask(server: str, line: str, budget: _Budget, *, referral: bool = False) -> WhoisAnswer:
    """Send one query line to the endpoint for `server` and return the decoded answer."""
    host, port, configured = _endpoint(server)
    addresses = _addresses(server, host, strict=referral and not configured)
    sock = _connect(server, addresses, port, budget)
    try:
        data = _exchange(sock, server, line, budget)
    except TimeoutError:  # sendall on a server that stopped reading
        raise LookupFailed(SOURCE, f"sending to {server} timed out", transient=True) from None
    except OSError as exc:  # reset, broken pipe: the server went away mid-answer
        reason = exc.strerror or type(exc).__name__
        raise LookupFailed(SOURCE, f"{server} broke off: {reason}", transient=True) from None
    finally:
        sock.close()
    if not data.strip():
        raise LookupFailed(SOURCE, f"{server} sent an empty answer", transient=True)
    answer = WhoisAnswer(server=server, query=line, text=decode(data))
    _raise_for_refusal(answer)
    return answer


# --- which server -----------------------------------------------------------------------------

# A host name with a TLD that has a letter: "10.0.0.10" is an address, not a name.
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?=[a-z0-9-]*[a-z])[a-z0-9-]{2,63}$"
)
_iana_cache: dict[str, str] = {}
_iana_lock = threading.Lock()


def clear_cache() -> None:
    """Forget what IANA said about TLDs (the cache otherwise lives as long as the process)."""
    with _iana_lock:
        _iana_cache.clear()


def _registry_server(tld: str, budget: _Budget) -> str:
    if tld in SERVERS:
        return SERVERS[tld]
    with _iana_lock:
        cached = _iana_cache.get(tld)
    if cached is None:
        answer = _ask(IANA_SERVER, tld, budget)
        cached = ""
        for key in ("refer", "whois"):
            match = re.search(rf"^{key}:[ \t]*(\S+)[ \t]*$", answer.text, re.I | re.M)
            if match and _HOSTNAME.match(match.group(1).lower().rstrip(".")):
                cached = match.group(1).lower().rstrip(".")
                break
        with _iana_lock:
            _iana_cache[tld] = cached
    if not cached:
        raise LookupFailed(SOURCE, f"no WHOIS server for .{tld}")
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
    return _registry_server(name.rpartition(".")[2], budget)


def normalise_domain(domain: str) -> str:
    """Lower-case A-label form ("Bücher.de." -> "xn--bcher-kva.de"); LookupFailed if invalid."""
    import idna  # IDNA 2008 with UTS 46 mapping; a tldextract dependency

    text = (domain or "").strip().rstrip(".")
    try:
        name = idna.encode(text, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        raise LookupFailed(SOURCE, f"{domain!r} is not a valid domain name") from None
    if "." not in name or not _HOSTNAME.match(name):
        raise LookupFailed(SOURCE, f"{domain!r} is not a registrable domain name")
    return name


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
        raise LookupFailed(SOURCE, "domain not registered")


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
    match = _REFERRAL.search(_focus(text, domain))
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
    registry = _registry_server(name.rpartition(".")[2], budget)
    first = _ask(registry, query_line(registry, name), budget)
    _raise_for_unknown(first)
    record = WhoisRecord(domain=name, answers=[first])
    target = referral_in(first.text, name)
    if not target or target == registry:
        return record
    record.referral = target
    try:
        if parse_ip(target) is not None or not _HOSTNAME.match(target):
            raise LookupFailed(SOURCE, f"refused referral to {target!r}: not a host name")
        if budget.left() <= 0:
            raise LookupFailed(SOURCE, f"no time left for the referral to {target}", transient=True)
        second = _ask(target, query_line(target, name), budget, referral=True)
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


# --- parsing ----------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+", re.I)
_AT_WORD = re.compile(r"\s+(?:AT|\(at\)|\[at\])\s+")
_PHONE = re.compile(r"^\+?[\d(][\d .()/-]{5,}\d$")
_KEY_VALUE = re.compile(r"^[ \t]*([A-Za-z][^:\n]{0,60}?)[ \t.]*:(?:[ \t]+(.*?)|)[ \t]*$")
# Registry handles: one token with a digit ("GI7803022-NICAT", "P12345", "CON-66") or a dotted
# lower-case id ("ua.markmonitor"); never a name with spaces.
_HANDLE = re.compile(r"^(?:(?=\S*\d)[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*|[a-z0-9-]+\.[a-z0-9-]+)$")
_REDACTED = re.compile(
    r"redacted|not disclosed|data protected|gdpr|withheld|hidden|masked|non-?public"
    r"|statutory masking|not available|please query|contact the registrar",
    re.I,
)
_PROXY = re.compile(
    r"domains? ?by ?proxy|whoisguard|withheld for privacy|contact privacy|privacy ?guardian"
    r"|perfect privacy|whois ?privacy|privacy ?protect|privacy service|domain protection services"
    r"|identity protection|private registration|proxy protection|njalla|1337 services",
    re.I,
)
_EMPTY = frozenset({"", "n/a", "na", "none", "null", "-", "not applicable", "unknown"})

# ICANN-style labelled lines: normalised key -> (role, field).
_FLAT: Final[dict[str, tuple[str, str]]] = {
    "registrant name": ("registrant", "name"),
    "registrant organization": ("registrant", "organization"),
    "registrant organisation": ("registrant", "organization"),
    "registrant country": ("registrant", "country"),
    "registrant country code": ("registrant", "country"),
    "registrant email": ("registrant", "email"),
    "registrant e mail": ("registrant", "email"),
    "registrant phone": ("registrant", "phone"),
    "registrant street": ("registrant", "address"),
    "org country": ("registrant", "country"),  # .lu
    "admin email": ("admin", "email"),
    "admin e mail": ("admin", "email"),
    "administrative contact email": ("admin", "email"),
    "admin phone": ("admin", "phone"),
    "tech email": ("tech", "email"),
    "tech e mail": ("tech", "email"),
    "technical contact email": ("tech", "email"),
    "tech phone": ("tech", "phone"),
    "billing email": ("billing", "email"),
    "billing phone": ("billing", "phone"),
    "registrar": ("registrar", "name"),
    "registrar name": ("registrar", "name"),
    "sponsoring registrar": ("registrar", "name"),
    "registrar iana id": ("registrar", "iana_id"),
    "registrar email": ("registrar", "email"),
    "registrar e mail": ("registrar", "email"),
    "registrar customer service email": ("registrar", "email"),
    "registrar phone": ("registrar", "phone"),
    "registrar country": ("registrar", "country"),
    "registrar country code": ("registrar", "country"),
    "registrar abuse contact email": ("registrar_abuse", "email"),
    "registrar abuse contact phone": ("registrar_abuse", "phone"),
}

# Keys inside objects and sections: normalised key -> field.
_FIELD_KEYS: Final[dict[str, str]] = {
    "name": "name",
    "person": "name",
    "personname": "name",
    "person loc": "name",
    "organization": "organization",
    "organisation": "organization",
    "organization name": "organization",
    "organization loc": "organization",
    "org": "organization",
    "org name": "organization",
    "email": "email",
    "e mail": "email",
    "email address": "email",
    "abuse mailbox": "abuse_email",
    "abuse email": "abuse_email",
    "phone": "phone",
    "phone number": "phone",
    "tel": "phone",
    "telephone": "phone",
    "country": "country",
    "country code": "country",
    "country loc": "country",
    "address": "address",
    "street address": "address",
}

# Section headings ("Registrant:", "[Holder]", "** Administrative Contact:") and the first key
# of role objects -> role.
_ROLE_WORDS: Final[dict[str, str]] = {
    "registrant": "registrant",
    "registrant contact": "registrant",
    "holder": "registrant",
    "domain holder": "registrant",
    "owner": "registrant",
    "titular": "registrant",
    "organization using domain name": "registrant",
    "admin": "admin",
    "admin contact": "admin",
    "administrative contact": "admin",
    "administrative contacts": "admin",
    "administrative contact agent": "admin",
    "contacto administrativo": "admin",
    "tech": "tech",
    "technical": "tech",
    "tech contact": "tech",
    "technical contact": "tech",
    "technical contacts": "tech",
    "technical contact s": "tech",
    "technical contact zone contact": "tech",
    "zone contact": "tech",
    "contacto tecnico": "tech",
    "billing": "billing",
    "billing contact": "billing",
    "contacto de cobranza": "billing",
    "registrar": "registrar",
    "sponsoring registrar": "registrar",
    "registration service provider": "registrar",
    "abuse contact": "abuse",
    "abuse": "abuse",
}
# Headings whose block holds only an address (no name on the first line).
_ADDRESS_HEADINGS: Final = {"registrant s address": "registrant"}

# RIPE-style handle references in a domain object -> role.
_REF_KEYS: Final[dict[str, str]] = {
    "registrant": "registrant",
    "holder": "registrant",
    "holder c": "registrant",
    "owner c": "registrant",
    "admin c": "admin",
    "admin contact": "admin",
    "tech c": "tech",
    "tech contact": "tech",
    "zone c": "tech",
    "billing c": "billing",
}
_DOMAIN_KEYS: Final = frozenset({"domain", "domain name", "domainname"})
_OBJECT_STARTS: Final = frozenset({"domain", "domainname", "nsset", "keyset", "personname"})

# JPRS (.jp) "/e" output writes keys in brackets.
_JPRS = re.compile(r"^(?:[a-z]\. )?\[([A-Za-z][A-Za-z ]*)\][ \t]+(\S.*)$")
_JPRS_KEYS: Final = {
    "registrant": "registrant name",
    "organization": "registrant organization",
    "email": "registrant email",
}

_ROLE_ORDER: Final = ("registrar_abuse", "abuse", "registrant", "admin", "tech", "registrar")


@dataclass(frozen=True)
class _Fact:
    role: str
    field: str
    value: str
    group: str  # facts of one block share a group: phones attach to e-mails within it


def _key(text: str) -> str:
    """'E-mail', 'Email Address.......', 'holder-c' -> 'e mail', 'email address', 'holder c'."""
    text = text.replace("\u2019", "'").lower().replace("'", " ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _key_value(line: str) -> tuple[str, str] | None:
    match = _KEY_VALUE.match(line)
    if not match:
        return None
    return _key(match.group(1)), (match.group(2) or "").strip()


def _emails(text: str) -> list[str]:
    return [email.lower().strip(".") for email in _EMAIL.findall(_AT_WORD.sub("@", text))]


def _focus(text: str, domain: str) -> str:
    """The text from the "Domain Name: <domain>" line on, when there is one."""
    pattern = rf"^[ \t]*domain(?:[ \t]*name)?[ \t.]*:[ \t]*{re.escape(domain)}\.?[ \t]*$"
    match = re.search(pattern, text, re.I | re.M)
    return text[match.start() :] if match else text


def _comment(line: str) -> bool:
    return line.lstrip().startswith(("%", "#"))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _flat_facts(lines: list[str], tag: str) -> Iterator[_Fact]:
    for line in lines:
        if _comment(line):
            continue
        pair = _key_value(line) or _jprs_pair(line)
        if pair and pair[0] in _FLAT:
            role, name = _FLAT[pair[0]]
            yield _Fact(role, name, pair[1], f"{tag}:flat:{role}")


def _jprs_pair(line: str) -> tuple[str, str] | None:
    """JPRS "g. [Organization]   Example K.K." -> ("registrant organization", "Example K.K.")."""
    match = _JPRS.match(line)
    if not match:
        return None
    key = _JPRS_KEYS.get(_key(match.group(1)))
    return (key, match.group(2).strip()) if key else None


def _paragraphs(lines: list[str]) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """RIPE-style objects: (role named by a "% Registrar:" comment above, key-value pairs).

    Objects end at blank lines and comments, after "source:", and where a new object class
    starts without a blank line between (nic.at, NIC Costa Rica, NIC Argentina)."""
    header = ""
    pairs: list[tuple[str, str]] = []
    loose = 0  # lines without a key (ISOC-IL writes "address" without a colon)
    for line in [*lines, ""]:
        pair = None if not line.strip() or _comment(line) else _key_value(line)
        ends = pair is None and (not line.strip() or _comment(line))
        starts = pair is not None and bool(pairs) and _starts_object(pair[0], pairs)
        if (ends or starts) and pairs:
            if len(pairs) >= 2 and len(pairs) >= loose:
                yield header, pairs
            header, pairs, loose = "", [], 0
        if _comment(line):
            words = _key(line.lstrip("%# ").rstrip(":= "))
            if words:  # "% ==========" underlines keep the header above them
                header = _ROLE_WORDS.get(words, "")
        elif pair is None and line.strip():
            loose += 1
        elif pair is not None:
            pairs.append(pair)
            if pair[0] == "source":
                if len(pairs) >= 2 and len(pairs) >= loose:
                    yield header, pairs
                header, pairs, loose = "", [], 0


def _starts_object(key: str, pairs: list[tuple[str, str]]) -> bool:
    if key in _OBJECT_STARTS:
        return True
    # NIC Costa Rica / NIC Argentina start contact objects with "contact: <handle>"; AFNIC
    # writes "contact: <name>" inside an object that already has its nic-hdl.
    return key == "contact" and all(existing != "nic hdl" for existing, _ in pairs)


def _object_facts(lines: list[str], tag: str) -> Iterator[_Fact]:
    objects = list(_paragraphs(lines))
    refs: dict[str, set[str]] = {}
    handles: set[str] = set()
    for _, pairs in objects:
        keys = {key for key, _ in pairs}
        if "nic hdl" in keys or pairs[0][0] == "contact":
            handles.update(value for key, value in pairs if key in ("nic hdl", "contact"))
        elif pairs[0][0] not in _ROLE_WORDS:  # "Registrant: Name" objects (.rs) name no handles
            for key, value in pairs:
                if key in _REF_KEYS and value:
                    refs.setdefault(value, set()).add(_REF_KEYS[key])
    for index, (header, pairs) in enumerate(objects):
        group = f"{tag}:object:{index}"
        keys = {key for key, _ in pairs}
        first_key, first_value = pairs[0]
        handle = dict(pairs).get("nic hdl") or (first_value if first_key == "contact" else "")
        roles: set[str] = {header} if header else set()
        name_from_first = ""
        domain_like = first_key in _DOMAIN_KEYS or (
            first_key not in _ROLE_WORDS and keys & _REF_KEYS.keys()
        )
        if not roles and not handle and domain_like:
            yield from _domain_object_facts(pairs, handles, group)
            continue
        if not roles:
            roles.update(refs.get(handle, set()))
        if not roles and first_key in _ROLE_WORDS:
            roles.add(_ROLE_WORDS[first_key])
            if first_value not in handles and not _HANDLE.match(first_value):
                name_from_first = first_value
        for role in sorted(roles):
            if name_from_first:
                yield _Fact(role, "name", name_from_first, group)
            for key, value in pairs[1:] if name_from_first else pairs:
                field_name = _FIELD_KEYS.get(key)
                if key == "contact" and "nic hdl" in keys:
                    field_name = "name"  # AFNIC: the handle is nic-hdl, "contact" the name
                if field_name == "abuse_email":
                    abuse_role = "registrar_abuse" if role == "registrar" else "abuse"
                    yield _Fact(abuse_role, "email", value, group)
                elif field_name == "address":
                    yield _Fact(role, "country", value.rpartition(",")[2], group)
                elif field_name:
                    yield _Fact(role, field_name, value, group)


def _domain_object_facts(
    pairs: list[tuple[str, str]], handles: set[str], group: str
) -> Iterator[_Fact]:
    """The domain object itself: plain e-mail/person/descr keys describe the holder (.il, .by).

    Only plain keys: labelled ICANN lines ("Registrant Email:") are read by _flat_facts."""
    descr = [value for key, value in pairs if key == "descr" and value]
    if descr:
        yield _Fact("registrant", "name", descr[0], group)
        for value in descr[1:]:
            yield _Fact("registrant", "country", value, group)
    for key, value in pairs:
        if key in ("e mail", "email"):
            yield _Fact("registrant", "email", value, group)
        elif key == "phone":
            yield _Fact("registrant", "phone", value, group)
        elif key == "person" or (
            key == "registrant" and value not in handles and not _HANDLE.match(value)
        ):
            yield _Fact("registrant", "name", value, group)


def _heading(line: str) -> tuple[str, bool] | None:
    """(role, address_only) when the line opens a labelled section."""
    text = line.strip()
    if not text or len(text) > 60 or _comment(line):
        return None
    bracketed = text.startswith("[") and text.endswith("]")
    text = text.strip("*[] \t")
    colon = text.endswith(":")
    if not colon and ":" in text:
        return None  # "Registrar: Example Inc." is a labelled line, not a heading
    words = _key(text.rstrip(":"))
    if words in _ADDRESS_HEADINGS:
        return _ADDRESS_HEADINGS[words], True
    if words in _ROLE_WORDS and (colon or bracketed or text == text.rstrip(":")):
        return _ROLE_WORDS[words], False
    return None


@dataclass
class _Section:
    role: str
    address_only: bool
    indent: int
    lines: list[str] = field(default_factory=list)
    mode: str = ""  # "indented" (may span blank lines) or "flush" (ends at a blank line)


def _sections(lines: list[str]) -> list[_Section]:
    sections: list[_Section] = []
    current: _Section | None = None
    for raw in lines:
        line = raw.expandtabs(8)
        heading = _heading(line)
        if heading:
            current = _Section(heading[0], heading[1], _indent(line))
            sections.append(current)
            continue
        if current is None:
            continue
        if _comment(line):
            current = None
            continue
        if not line.strip():
            if current.mode == "flush":
                current = None
            continue
        indent = _indent(line)
        if not current.mode:
            current.mode = "indented" if indent > current.indent else "flush"
        elif current.mode == "indented" and indent <= current.indent:
            current = None
            continue
        pair = _key_value(line)
        if current.mode == "flush" and pair and pair[0] in _FLAT:
            current = None  # an ICANN record after an empty "Registrar:" line
            continue
        current.lines.append(line.strip())
    return sections


def _section_facts(lines: list[str], tag: str) -> Iterator[_Fact]:
    for index, section in enumerate(_sections(lines)):
        group = f"{tag}:section:{index}"
        role = section.role
        keyed: set[str] = set()
        bare: list[str] = []
        for line in section.lines:
            pair = _key_value(line)
            field_name = _FIELD_KEYS.get(pair[0]) if pair else None
            if pair and field_name:
                keyed.add(field_name)
                if field_name == "address":
                    country = to_alpha2(pair[1].rpartition(",")[2])
                    if country:
                        yield _Fact(role, "country", country, group)
                elif field_name == "abuse_email":
                    yield _Fact("abuse", "email", pair[1], group)
                else:
                    yield _Fact(role, field_name, pair[1], group)
                continue
            for email in _emails(line):
                yield _Fact(role, "email", email, group)
            if pair is None:
                bare.append(line)
        for line in bare:
            if _PHONE.match(line):
                yield _Fact(role, "phone", line, group)
        texts = [_EMAIL.sub("", line).strip() for line in bare if not _PHONE.match(line)]
        texts = [text for text in texts if text]
        if texts and not section.address_only and not keyed & {"name", "organization"}:
            yield _Fact(role, "name", texts[0], group)
        start = 0 if section.address_only else 1
        for text in reversed(texts[start:]):
            country = to_alpha2(text)
            if country:
                yield _Fact(role, "country", country, group)
                break


def _facts(text: str, domain: str, tag: str) -> list[_Fact]:
    lines = _focus(text, domain).split("\n")
    return [
        *_flat_facts(lines, tag),
        *_object_facts(lines, tag),
        *_section_facts(lines, tag),
    ]


def _parser_registrar(domain: str, text: str) -> str:
    """python-whois's registrar name, or "" when it finds none or trips over the text."""
    from whois.parser import WhoisEntry  # a large module; only the resolve worker needs it

    try:
        # Its date handling warns about odd time zones; those dates are not ours to use.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            entry = WhoisEntry.load(domain, _parser_input(text))
    except Exception as exc:  # third-party parsing of untrusted text: any failure means "no name"
        log.debug("python-whois could not parse an answer: %s", type(exc).__name__)
        return ""
    value = entry.get("registrar")
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def _parser_input(text: str) -> str:
    lines = text[:PARSER_INPUT_CAP].split("\n")
    return "\n".join(line[:PARSER_LINE_CAP] for line in lines)


def _clean_registrar(value: str) -> str:
    value = re.sub(r"\s*\(\s*https?://[^)]*\)\s*$", "", value.strip())  # nic.at's "( url )"
    if not value or _HANDLE.match(value) or value.lower().startswith("no registrar"):
        return ""
    if value.lower() in _EMPTY or (_REDACTED.search(value) and not _PROXY.search(value)):
        return ""
    return value


def _pick(facts: list[_Fact], role: str, field_name: str) -> str:
    """First real value for role/field; "redacted" if the record only withheld it."""
    withheld = False
    for fact in facts:
        if fact.role != role or fact.field != field_name:
            continue
        value = fact.value.strip()
        if value.lower() in _EMPTY:
            continue
        if field_name == "email":
            found = _emails(value)
            if found:
                return found[0]
            withheld = True  # "Please query the RDDS service ...", "HIDDEN! ..."
            continue
        if _PROXY.search(value):
            return value
        if _REDACTED.search(value):
            withheld = True
            continue
        if field_name == "country":
            code = to_alpha2(value)
            if code:
                return code
            continue
        if field_name == "iana_id":
            if value.isdigit():
                return value
            continue
        return value
    return REDACTED if withheld else ""


def _phone_for(facts: list[_Fact], fact: _Fact) -> str:
    for other in facts:
        if other.group == fact.group and other.role == fact.role and other.field == "phone":
            value = other.value.strip()
            if value.lower() not in _EMPTY and not _REDACTED.search(value):
                return value
    return ""


def _contacts(facts: list[_Fact]) -> list[ContactFact]:
    seen: set[tuple[str, str]] = set()
    contacts: list[ContactFact] = []
    for fact in facts:
        if fact.field != "email":
            continue
        for email in _emails(fact.value)[:1]:
            if (fact.role, email) in seen:
                continue
            seen.add((fact.role, email))
            contacts.append(ContactFact(fact.role, email, SOURCE, _phone_for(facts, fact)))
    rank = {role: index for index, role in enumerate(_ROLE_ORDER)}
    return sorted(contacts, key=lambda contact: rank.get(contact.role, len(rank)))


def _registrar(facts: list[_Fact], parsed_names: list[str]) -> Party | None:
    names = [*parsed_names]
    names += [fact.value for fact in facts if fact.role == "registrar" and fact.field == "name"]
    name = next((clean for clean in map(_clean_registrar, names) if clean), "")
    party = Party(
        name=name,
        iana_id=_pick(facts, "registrar", "iana_id"),
        email=_pick(facts, "registrar_abuse", "email") or _pick(facts, "registrar", "email"),
        phone=_pick(facts, "registrar_abuse", "phone") or _pick(facts, "registrar", "phone"),
        country=_pick(facts, "registrar", "country"),
        source=SOURCE,
    )
    if party.email == REDACTED:
        party.email = ""  # a registrar's own address is never personal data withheld
    return party if (party.name or party.iana_id or party.email) else None


def _registrant(facts: list[_Fact]) -> Party | None:
    party = Party(
        name=_pick(facts, "registrant", "name"),
        organization=_pick(facts, "registrant", "organization"),
        country=_pick(facts, "registrant", "country"),
        email=_pick(facts, "registrant", "email"),
        phone=_pick(facts, "registrant", "phone"),
        source=SOURCE,
    )
    party.privacy_proxy = any(
        _PROXY.search(fact.value) for fact in facts if fact.role == "registrant"
    )
    filled = (party.name, party.organization, party.country, party.email, party.phone)
    return party if any(filled) or party.privacy_proxy else None


def parse_answers(domain: str, answers: list[WhoisAnswer]) -> DomainFacts:
    """DomainFacts from WHOIS answers, registry first: the first real value of a field wins,
    so a registrar's answer fills what a thin or redacting registry left out."""
    facts: list[_Fact] = []
    parsed_names: list[str] = []
    for index, answer in enumerate(answers):
        facts += _facts(answer.text, domain, f"answer{index}")
        parsed_names.append(_parser_registrar(domain, _focus(answer.text, domain)))
    raw = answers[0].text if answers else ""
    for answer in answers[1:]:
        raw += f"\n\n% Registrar answer from {answer.server}:\n\n{answer.text}"
    return DomainFacts(
        domain=domain,
        source=SOURCE,
        server=answers[0].server if answers else "",
        registrar=_registrar(facts, parsed_names),
        registrant=_registrant(facts),
        contacts=_contacts(facts),
        raw=raw[:RAW_CAP],
    )


def parse_record(record: WhoisRecord) -> DomainFacts:
    return parse_answers(record.domain, record.answers)


def parse_text(domain: str, text: str, server: str = "") -> DomainFacts:
    """DomainFacts from one stored answer (no network)."""
    return parse_answers(normalise_domain(domain), [WhoisAnswer(server, domain, text)])


__all__ = [
    "IANA_SERVER",
    "QUERY_FORMS",
    "SERVERS",
    "WhoisAnswer",
    "WhoisRecord",
    "clear_cache",
    "decode",
    "fetch_record",
    "lookup_domain",
    "normalise_domain",
    "parse_answers",
    "parse_record",
    "parse_text",
    "query_line",
    "referral_in",
    "server_for",
]
