"""RDAP lookups (RFC 9082/9083) for registered domains and IP networks.

Which server to ask comes from an RFC 9224 bootstrap (TAKEDOWN_RDAP_BOOTSTRAP):
- a directory holding IANA's file names dns.json, ipv4.json, ipv6.json (the sandbox layout),
- one JSON file whose services may mix TLDs and IP prefixes (a key with "/" is a prefix),
- an http(s) URL of one such file, or a URL ending in "/" under which the three IANA names sit,
- unset: IANA's own files, https://data.iana.org/rdap/.
Downloaded files are kept under TAKEDOWN_RDAP_CACHE_DIR for 24 hours. A bootstrap that cannot
be loaded means "no RDAP service known" (NoRdapService, so the caller asks WHOIS) and is
tried again on the next lookup; nothing half-loaded is ever kept.

The HTTP client is deliberately small and stdlib-only: no proxies from the environment, every
address checked with `check_address` before connecting and the socket pinned to that address
(so a second DNS answer cannot swap it), at most three redirects each checked again and only
to ports 80 and 443, one time budget per lookup (TAKEDOWN_RDAP_TIMEOUT) and a 2 MB cap on
answers.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import ipaddress
import json
import logging
import math
import os
import re
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from takedown.net import AddressNotAllowed, IPAddress, check_address, parse_ip
from takedown.resolve.countries import to_alpha2
from takedown.resolve.dns import resolve_host
from takedown.resolve.facts import (
    REDACTED,
    ContactFact,
    DomainFacts,
    LookupFailed,
    NetworkFacts,
    Party,
)

logger = logging.getLogger(__name__)

BOOTSTRAP_MAX_AGE: Final = 24 * 3600
MAX_RESPONSE_BYTES: Final = 2 * 1024 * 1024
MAX_RAW_CHARS: Final = 64 * 1024
MAX_REDIRECTS: Final = 3
REDIRECT_CODES: Final = frozenset({301, 302, 303, 307, 308})
REDIRECT_PORTS: Final = frozenset({80, 443})
RDAP_ACCEPT: Final = "application/rdap+json, application/json;q=0.9"

JSON = dict[str, Any]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RdapFailed(LookupFailed):
    """An RDAP lookup failed. `status` is the HTTP status when there was one; `retry_after`
    the seconds a 429 (or 503) answer asked us to wait, when it said."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool = False,
        status: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__("rdap", message, transient=transient, quota=status == 429)
        self.status = status
        self.retry_after = retry_after


class NoRdapService(RdapFailed):
    """The bootstrap names no RDAP server for this TLD or address, or could not be loaded:
    ask WHOIS instead."""


# --- public API ------------------------------------------------------------------------------


def lookup_domain(domain: str) -> DomainFacts:
    """Registrar (with its abuse contact), registrant and contacts of a registered domain.

    `domain` is the registered domain ("example.co.uk"), not a host name below it.
    """
    name = _ascii_domain(domain)
    base = server_for_domain(name)
    if base is None:
        raise NoRdapService(f"no RDAP service for .{name.rsplit('.', 1)[-1]}")
    data, raw, server = _query(base, f"domain/{name}", "domain")
    return domain_facts(name, data, raw=raw, server=server)


def server_for_domain(domain: str) -> str | None:
    """The RDAP base URL the bootstrap names for this domain's TLD, or None."""
    return _bootstrap("dns").server_for_domain(_ascii_domain(domain))


def server_for_ip(ip: str) -> str | None:
    """The RDAP base URL the bootstrap names for this address, or None."""
    address = parse_ip(ip)
    if address is None:
        return None
    return _bootstrap(f"ipv{address.version}").server_for_ip(address)


def lookup_ip(ip: str) -> NetworkFacts:
    """The registered network containing `ip`: name, range, country, owner and abuse e-mail."""
    address = parse_ip(ip)
    if address is None:
        raise RdapFailed("not an IP address")
    base = _bootstrap(f"ipv{address.version}").server_for_ip(address)
    if base is None:
        raise NoRdapService(f"no RDAP service for IPv{address.version} address")
    data, _raw, server = _query(base, f"ip/{address}", "network")
    return network_facts(str(address), data, server=server)


def domain_facts(domain: str, data: JSON, *, raw: str = "", server: str = "") -> DomainFacts:
    """Read a domain object (RFC 9083 section 5.3) as DomainFacts; pure, for stored answers too."""
    facts = DomainFacts(domain=domain, source="rdap", server=server, raw=raw[:MAX_RAW_CHARS])
    for entity in _entities(data):
        roles = _roles(entity)
        card = _card(entity)
        if "registrar" in roles and facts.registrar is None:
            facts.registrar = _party(card, iana_id=_iana_id(entity))
            for nested in _entities(entity):
                if "abuse" in _roles(nested):
                    _add_contact(facts.contacts, "registrar_abuse", _card(nested))
        if "registrant" in roles and facts.registrant is None:
            facts.registrant = _party(card)
        for role, label in _CONTACT_ROLES:
            if role in roles:
                _add_contact(facts.contacts, label, card)
    _apply_redactions(facts, data)
    return facts


def network_facts(ip: str, data: JSON, *, server: str = "") -> NetworkFacts:
    """Read an IP network object (RFC 9083 section 5.4) as NetworkFacts; pure."""
    owner = next((e for e in _entities(data) if "registrant" in _roles(e)), None)
    owner_card = _card(owner) if owner is not None else _Card()
    country = to_alpha2(_text(data.get("country")))
    if not country:
        # ARIN puts no country on the network, only in the owner's address.
        country = owner_card.country if owner_card.country != REDACTED else ""
    return NetworkFacts(
        ip=ip,
        source="rdap",
        name=_text(data.get("name")),
        handle=_text(data.get("handle")),
        organization=owner_card.organization or owner_card.fn,
        country=country,
        abuse_email=_abuse_email(data),
        start=_text(data.get("startAddress")),
        end=_text(data.get("endAddress")),
        server=server,
    )


# --- reading RDAP objects ------------------------------------------------------------------

_CONTACT_ROLES: Final = (
    ("registrant", "registrant"),
    ("administrative", "admin"),
    ("technical", "tech"),
    ("abuse", "abuse"),
)
# Names of privacy and proxy services as they appear in registrant records.
_PROXY: Final = re.compile(
    r"privacy|proxy|whoisguard|withheld|identity protect|data protected|protected by", re.I
)
# RFC 9537 redaction names ("Registrant Email", "Registrant Phone Ext", ...) we can map.
_REDACTED_FIELD: Final = re.compile(r"registrant\s+(name|organi[sz]ation|country|email|phone)\b")
_FIELD_ALIASES: Final = {"organisation": "organization"}


@dataclass
class _Card:
    """What one entity's jCard says. Values are "" when absent and REDACTED when withheld."""

    fn: str = ""
    organization: str = ""
    country: str = ""
    email: str = ""
    phone: str = ""
    state: str = ""  # the adr's region component (state, province), as written
    withheld: bool = False  # the entity says some of its data were removed


def _card(entity: JSON) -> _Card:
    card = _Card(withheld=_has_redaction_remark(entity))
    kind = ""
    for name, params, value in _vcard_properties(entity):
        if name == "fn" and not card.fn:
            card.fn = _withheld_or(_text(value))
        elif name == "org" and not card.organization:
            card.organization = _withheld_or(_first_text(value))
        elif name == "kind":
            kind = _text(value).lower()
        elif name == "email" and not card.email:
            card.email = _email(_text(value))
        elif name == "tel" and not card.phone and not _is_fax(params):
            card.phone = _withheld_or(_phone(_text(value)))
        elif name == "adr" and not card.country:
            card.country = _adr_country(params, value)
            state = _first_text(value[4]) if isinstance(value, list) and len(value) > 4 else ""
            card.state = "" if _is_redaction(state) else state
    if not card.organization and kind == "org":
        card.organization = card.fn  # an organisation's vCard names it in fn
    if card.withheld:
        for field_name in ("fn", "organization", "country", "email", "phone"):
            if not getattr(card, field_name):
                setattr(card, field_name, REDACTED)
    return card


def _vcard_properties(entity: JSON) -> Iterator[tuple[str, JSON, Any]]:
    array = entity.get("vcardArray")
    if not (isinstance(array, list) and len(array) > 1 and isinstance(array[1], list)):
        return
    for prop in array[1]:
        if isinstance(prop, list) and len(prop) >= 4 and isinstance(prop[0], str):
            params = prop[1] if isinstance(prop[1], dict) else {}
            yield prop[0].lower(), params, prop[3]


def _adr_country(params: JSON, value: Any) -> str:
    # The gTLD profile puts the country only in the `cc` parameter with an empty country-name
    # component; other registries fill the component or only a `label` with the whole address.
    cc = to_alpha2(_text(params.get("cc")))
    if cc:
        return cc
    candidates = []
    if isinstance(value, list) and value:
        candidates.append(_first_text(value[-1]))
    label = _text(params.get("label"))
    if label:
        candidates.append(label.strip().splitlines()[-1])
    for candidate in candidates:
        candidate = candidate.strip()
        if not candidate:
            continue
        if _is_redaction(candidate):
            return REDACTED
        code = to_alpha2(candidate)
        if code:
            return code
    return ""


def _party(card: _Card, *, iana_id: str = "") -> Party:
    proxy = any(
        value != REDACTED and _PROXY.search(value) for value in (card.fn, card.organization)
    )
    return Party(
        name=card.fn,
        organization=card.organization,
        country=card.country,
        email=card.email,
        phone=card.phone,
        iana_id=iana_id,
        source="rdap",
        privacy_proxy=proxy,
        state=card.state,
    )


def _add_contact(contacts: list[ContactFact], role: str, card: _Card) -> None:
    email = "" if card.email == REDACTED else card.email
    phone = "" if card.phone == REDACTED else card.phone
    if email or phone:
        contacts.append(ContactFact(role=role, email=email, source="rdap", phone=phone))


def _apply_redactions(facts: DomainFacts, data: JSON) -> None:
    """RFC 9537: the `redacted` member lists fields the server removed or emptied."""
    fields: set[str] = set()
    for item in _list(data.get("redacted")):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, dict):
            continue
        text = _text(name.get("type")) or _text(name.get("description"))
        match = _REDACTED_FIELD.match(text.lower().strip())
        if match:
            fields.add(_FIELD_ALIASES.get(match.group(1), match.group(1)))
    if not fields:
        return
    if facts.registrant is None:  # removed entirely ("removal" method)
        facts.registrant = Party(source="rdap")
    for field_name in fields:
        if not getattr(facts.registrant, field_name):
            setattr(facts.registrant, field_name, REDACTED)


def _abuse_email(data: JSON) -> str:
    # Breadth first: the network's own abuse entity wins over one nested in the owner's
    # (ARIN nests it in the org entity, RIPE and APNIC list it beside the owner).
    level = _entities(data)
    for _depth in range(4):
        for entity in level:
            if "abuse" in _roles(entity):
                email = _card(entity).email
                if email and email != REDACTED:
                    return email
        level = [nested for entity in level for nested in _entities(entity)]
    return ""


def _iana_id(entity: JSON) -> str:
    for public_id in _list(entity.get("publicIds")):
        if (
            isinstance(public_id, dict)
            and _text(public_id.get("type")).lower() == "iana registrar id"
        ):
            return _text(public_id.get("identifier"))
    return ""


def _entities(obj: JSON) -> list[JSON]:
    entities = obj.get("entities")
    return [e for e in entities if isinstance(e, dict)] if isinstance(entities, list) else []


def _roles(entity: JSON) -> set[str]:
    roles = entity.get("roles")
    return {r.lower() for r in roles if isinstance(r, str)} if isinstance(roles, list) else set()


def _has_redaction_remark(entity: JSON) -> bool:
    for remark in _list(entity.get("remarks")):
        if not isinstance(remark, dict):
            continue
        texts = [_text(remark.get("title")), _text(remark.get("type"))]
        description = remark.get("description")
        if isinstance(description, list):
            texts.extend(_text(line) for line in description)
        if any(_is_redaction(text) for text in texts):
            return True
    return False


def _is_redaction(text: str) -> bool:
    return "redacted" in text.lower()


def _withheld_or(text: str) -> str:
    return REDACTED if _is_redaction(text) else text.strip()


def _email(text: str) -> str:
    text = text.strip().removeprefix("mailto:")
    if not text:
        return ""
    # ICANN's profile fills withheld addresses with a sentence or a web form URL.
    if re.fullmatch(r"[^@\s]+@[^@\s]+", text):
        return text
    return REDACTED


def _phone(text: str) -> str:
    return text.strip().removeprefix("tel:").replace(";ext=", " ext. ")


def _is_fax(params: JSON) -> bool:
    kinds = params.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds if isinstance(kinds, list) else []
    return any(isinstance(kind, str) and kind.lower() == "fax" for kind in kinds)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _first_text(value: Any) -> str:
    if isinstance(value, list):
        return next((v.strip() for v in value if isinstance(v, str) and v.strip()), "")
    return _text(value)


# --- querying a server ---------------------------------------------------------------------


def _query(base: str, path: str, what: str) -> tuple[JSON, str, str]:
    """GET base+path; (the JSON object, its text, the base URL that answered)."""
    url = base + path
    reply = _get(url, RDAP_ACCEPT, _deadline())
    if reply.status == 404:
        raise RdapFailed(f"{what} not found", status=404)
    if reply.status != 200:
        raise _status_error(reply)
    data = _json_object(reply.body)
    # After a redirect the answering server's base is the final URL minus "domain/<name>".
    cut = reply.url.rfind("/" + path.split("/", 1)[0] + "/")
    server = reply.url[: cut + 1] if cut >= 0 else reply.url
    return data, reply.body.decode("utf-8", "replace")[:MAX_RAW_CHARS], server


def _status_error(reply: _Reply) -> RdapFailed:
    retry_after = _retry_after(reply.headers.get("Retry-After"))
    if reply.status == 429:
        return RdapFailed("rate limited", transient=True, status=429, retry_after=retry_after)
    if reply.status >= 500:
        return RdapFailed(
            f"server error {reply.status}",
            transient=True,
            status=reply.status,
            retry_after=retry_after,
        )
    if reply.status in REDIRECT_CODES:
        return RdapFailed(f"more than {MAX_REDIRECTS} redirects", status=reply.status)
    return RdapFailed(f"unexpected HTTP status {reply.status}", status=reply.status)


def _json_object(body: bytes) -> JSON:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise RdapFailed("answer is not valid JSON") from None
    if not isinstance(data, dict):
        raise RdapFailed("answer is not a JSON object")
    return data


def _retry_after(value: str | None) -> int | None:
    value = (value or "").strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0, math.ceil((when - datetime.now(UTC)).total_seconds()))


def _ascii_domain(domain: str) -> str:
    name = domain.strip().rstrip(".").lower()
    try:
        # Python's codec implements IDNA 2003; RDAP servers expect the A-label.
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise RdapFailed("invalid domain name") from None
    if "." not in ascii_name or not re.fullmatch(r"[a-z0-9.-]+", ascii_name):
        raise RdapFailed("invalid domain name")
    return ascii_name


# --- HTTP: pinned, checked, capped ---------------------------------------------------------


@dataclass
class _Reply:
    url: str  # after redirects
    status: int
    headers: http.client.HTTPMessage
    body: bytes  # read only for 200 answers


def _deadline() -> float:
    timeout = float(settings.TAKEDOWN_RDAP_TIMEOUT)
    return time.monotonic() + timeout


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise RdapFailed("timed out", transient=True)
    return left


def _get(url: str, accept: str, deadline: float) -> _Reply:
    """GET `url`, following at most MAX_REDIRECTS redirects, each to a checked address and
    to port 80 or 443 (or back to the server the bootstrap named)."""
    reply = _get_once(url, accept, deadline)
    for _hop in range(MAX_REDIRECTS):
        if reply.status not in REDIRECT_CODES:
            break
        location = reply.headers.get("Location", "").strip()
        if not location:
            raise RdapFailed(f"redirect {reply.status} without a Location")
        target = urljoin(reply.url, location)
        _check_redirect_port(target, url)
        reply = _get_once(target, accept, deadline)
    return reply


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None  # _get_once refuses the URL itself
    return parts.scheme, (parts.hostname or "").lower(), port


def _check_redirect_port(target: str, first: str) -> None:
    """Any RDAP server may answer with a redirect, so a redirect could make us talk to any
    port of any public address (a mail or database server, with our request as its input).
    As the fetcher does, only the web ports are allowed; the one exception is the port of
    the server the bootstrap named, which is configuration, not the answer of a stranger."""
    origin = _origin(target)
    if origin is None or origin[2] in REDIRECT_PORTS or origin == _origin(first):
        return
    raise RdapFailed(f"refused redirect to port {origin[2]} (only 80 and 443)")


def _get_once(url: str, accept: str, deadline: float) -> _Reply:
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise RdapFailed(f"refused URL scheme {parts.scheme!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RdapFailed("invalid port in URL") from None
    addresses = _allowed_addresses(host)
    sock = _connect(host, port, addresses, tls=parts.scheme == "https", deadline=deadline)
    # Plain HTTPConnection for both schemes: the socket is already connected (and wrapped in
    # TLS) to the checked address, so it must never connect() on its own.
    connection = http.client.HTTPConnection(host, port)
    connection.sock = sock
    default_port = 443 if parts.scheme == "https" else 80
    host_header = f"[{host}]" if ":" in host else host
    if port != default_port:
        host_header += f":{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    response: http.client.HTTPResponse | None = None
    try:
        connection.request(
            "GET",
            target,
            headers={
                "Host": host_header,
                "Accept": accept,
                "User-Agent": settings.TAKEDOWN_USER_AGENT,
                "Connection": "close",
            },
        )
        sock.settimeout(_remaining(deadline))
        response = connection.getresponse()
        body = _read_capped(response, sock, deadline) if response.status == 200 else b""
        return _Reply(url, response.status, response.headers, body)
    except TimeoutError:
        raise RdapFailed("timed out", transient=True) from None
    except (OSError, http.client.HTTPException) as exc:
        raise RdapFailed(f"connection failed ({type(exc).__name__})", transient=True) from None
    finally:
        # The response holds its own reference to the socket: close both.
        if response is not None:
            response.close()
        connection.close()
        sock.close()


def _allowed_addresses(host: str) -> list[IPAddress]:
    literal = parse_ip(host)
    if literal is not None:
        candidates = [literal]
    else:
        try:
            facts = resolve_host(host)
        except LookupFailed as exc:
            message = f"cannot resolve {host}: {exc.message}"
            raise RdapFailed(message, transient=exc.transient) from None
        if facts.nxdomain:
            raise RdapFailed(f"server name {host} does not exist")
        candidates = [ip for ip in map(parse_ip, facts.ips) if ip is not None]
    allowed = []
    for address in candidates:
        try:
            allowed.append(check_address(address))
        except AddressNotAllowed:
            continue
    if not allowed:
        raise RdapFailed(f"refused to connect to {host}: not a public address")
    return allowed


def _connect(
    host: str, port: int, addresses: list[IPAddress], *, tls: bool, deadline: float
) -> socket.socket:
    error: OSError | None = None
    for address in addresses:
        try:
            sock = socket.create_connection((str(address), port), timeout=_remaining(deadline))
        except OSError as exc:
            error = exc
            continue
        if not tls:
            return sock
        try:
            return _tls_context().wrap_socket(sock, server_hostname=host)
        except ssl.SSLCertVerificationError:
            sock.close()
            raise RdapFailed(f"TLS certificate of {host} is not valid") from None
        except OSError as exc:
            sock.close()
            error = exc
    if isinstance(error, TimeoutError):
        raise RdapFailed("timed out", transient=True)
    raise RdapFailed(f"cannot connect to {host} ({type(error).__name__})", transient=True) from None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # One context for the process: loading the CA store costs milliseconds.
    return ssl.create_default_context()


def _read_capped(response: http.client.HTTPResponse, sock: socket.socket, deadline: float) -> bytes:
    declared = response.getheader("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise RdapFailed(f"answer larger than {MAX_RESPONSE_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        # read1 takes what one recv gives, so a server trickling bytes meets the deadline.
        sock.settimeout(_remaining(deadline))
        chunk = response.read1(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise RdapFailed(f"answer larger than {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)


# --- bootstrap -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bootstrap:
    """Base URLs by TLD and by IP prefix, read from RFC 9224 files."""

    tlds: dict[str, str]
    networks: tuple[tuple[Network, str], ...]

    def server_for_domain(self, domain: str) -> str | None:
        labels = domain.lower().rstrip(".").split(".")
        for start in range(len(labels)):  # longest match first
            base = self.tlds.get(".".join(labels[start:]))
            if base is not None:
                return base
        return None

    def server_for_ip(self, address: IPAddress) -> str | None:
        matches = [(net, base) for net, base in self.networks if address in net]
        if not matches:
            return None
        return max(matches, key=lambda match: match[0].prefixlen)[1]


def parse_bootstrap(data: Any) -> Bootstrap:
    """An RFC 9224 document as a Bootstrap; RdapFailed when it is not one."""
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, list):
        raise RdapFailed("bootstrap file has no services list")
    tlds: dict[str, str] = {}
    networks: list[tuple[Network, str]] = []
    for service in services:
        if not (isinstance(service, list) and len(service) >= 2):
            continue
        keys, urls = service[0], service[1]
        base = _preferred_url(urls)
        if base is None or not isinstance(keys, list):
            continue
        for key in keys:
            if not isinstance(key, str):
                continue
            if "/" in key:
                try:
                    networks.append((ipaddress.ip_network(key.strip(), strict=False), base))
                except ValueError:
                    continue
            elif key.strip(". ") and not re.fullmatch(r"[\d\s-]+", key):  # skip ASN ranges
                tlds[key.strip(". ").lower()] = base
    return Bootstrap(tlds, tuple(networks))


def _preferred_url(urls: Any) -> str | None:
    # RFC 9224 section 3: prefer https when a service lists several base URLs.
    if not isinstance(urls, list):
        return None
    candidates = [u.strip() for u in urls if isinstance(u, str) and u.strip()]
    if not candidates:
        return None
    base = next((u for u in candidates if u.lower().startswith("https:")), candidates[0])
    return base if base.endswith("/") else base + "/"


# (file source, kind) -> the bootstrap and when it was read. A read in the last second serves
# again: a batch asks for the server of every domain and address, and looking at the file
# each time (two stat calls) was a tenth of the CPU of the batch's lookups. (A URL's cached
# copy is still looked at each time: its age decides when it is fetched again.)
_recent: dict[tuple[str, str], tuple[Bootstrap, float]] = {}
RECHECK_SECONDS: Final = 1.0


def _bootstrap(kind: str) -> Bootstrap:
    """The bootstrap that covers `kind` ("dns", "ipv4" or "ipv6")."""
    source = settings.TAKEDOWN_RDAP_BOOTSTRAP.strip()
    if source.lower().startswith(("http://", "https://")):
        url = source + f"{kind}.json" if source.endswith("/") else source
        return _bootstrap_from_url(url)
    now = time.monotonic()
    recent = _recent.get((source, kind))
    if recent is not None and now - recent[1] < RECHECK_SECONDS:
        return recent[0]
    path = Path(source).expanduser()
    bootstrap = _bootstrap_from_file(path / f"{kind}.json" if path.is_dir() else path)
    if len(_recent) > 32:
        _recent.clear()
    _recent[(source, kind)] = (bootstrap, now)
    return bootstrap


_parsed: dict[Path, tuple[tuple[int, int], Bootstrap]] = {}
_parsed_lock = threading.Lock()


def _bootstrap_from_file(path: Path) -> Bootstrap:
    try:
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size)
        with _parsed_lock:
            cached = _parsed.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        bootstrap = parse_bootstrap(json.loads(path.read_bytes()))
    except (OSError, ValueError, RdapFailed) as exc:
        logger.warning("RDAP bootstrap %s unusable: %s", path, exc)
        raise NoRdapService("RDAP bootstrap unusable") from None
    with _parsed_lock:
        if len(_parsed) > 32:
            _parsed.clear()
        _parsed[path] = (key, bootstrap)
    return bootstrap


def _bootstrap_from_url(url: str) -> Bootstrap:
    cache_dir = Path(settings.TAKEDOWN_RDAP_CACHE_DIR)
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    cached = cache_dir / f"{digest}-{url.rsplit('/', 1)[-1] or 'bootstrap.json'}"
    try:
        fresh = time.time() - cached.stat().st_mtime < BOOTSTRAP_MAX_AGE
    except OSError:
        fresh = False
    if fresh:
        return _bootstrap_from_file(cached)
    try:
        reply = _get(url, "application/json", _deadline())
        if reply.status != 200:
            raise _status_error(reply)
        bootstrap = parse_bootstrap(_json_object(reply.body))
    except RdapFailed as exc:
        logger.warning("RDAP bootstrap %s not fetched: %s", url, exc.message)
        if cached.exists():  # stale but better than nothing; the next lookup tries again
            return _bootstrap_from_file(cached)
        raise NoRdapService("RDAP bootstrap unavailable") from None
    _write_atomically(cached, reply.body)
    return bootstrap


def _write_atomically(path: Path, body: bytes) -> None:
    # A reader in another worker must see the old file or the new one, never half of one.
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        os.replace(tmp, path)
    except OSError as exc:
        logger.warning("RDAP bootstrap cache %s not written: %s", path, exc)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
