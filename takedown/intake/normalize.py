"""Normalise found image URLs into one canonical string per resource.

The canonical form is what we deduplicate on, hash and later fetch, so it changes as little
as possible: scheme and host are lowercased, IDN hosts become punycode, default ports,
credentials and the fragment go, an empty path becomes "/". Path and query are kept byte for
byte: image CDNs serve different images for different query strings, and re-encoding would
make our URL differ from the one in the dataset we ask to be cleaned.

What a browser fetches is accepted, read as the WHATWG URL standard reads it: tabs and
newlines anywhere and controls and spaces at the ends are dropped; the slashes after "http:"
may be missing, repeated or backslashes, and a backslash before the query is a slash; a
percent-encoded host is decoded; spaces, controls and invisible characters in the path or
query are percent-encoded as the browser sends them; "%" without two hex digits stays. What
it cannot fetch is refused with a short reason (InvalidURL.reason): other schemes (a data:
URL is the image itself), hosts DNS cannot hold, URLs over MAX_URL_LENGTH. Nothing indexes
the URL itself: uniqueness and lookups go by its SHA-256, so any length up to the cap costs
the same.

Hosts:
- Internationalised names are encoded with IDNA 2008 + UTS 46 (non-transitional, like
  browsers: "faß.de" -> "xn--fa-hia.de"). Names IDNA 2008 refuses but browsers still open
  (emoji such as "i❤.ws", an underscore next to a non-ASCII label) fall back to what
  browsers do, UTS 46 mapping and Punycode without IDNA 2008's rules (unlike the IDNA 2003
  codec, it keeps "ß"); only names UTS 46 refuses are invalid. They are stored in ASCII and
  shown in both forms (`host_for_display`: "münchen.de (xn--mnchen-3ya.de)"). ASCII labels
  are checked for characters and length only (underscores and edge hyphens occur in real
  hostnames), and "xn--" labels are not decoded to check them.
- A host whose last label is a number is an IPv4 address, as in the WHATWG URL standard:
  "0x7f.1" and "2130706433" are 127.0.0.1 to every browser, so they are normalised to the
  dotted form (via inet_aton) or rejected, never stored as names.
- IPv6 literals keep their brackets in the URL and are written in compressed form; zone ids
  are refused.
- Single-label names ("localhost", "intranet") are refused: nothing on the public web.

Registered domain and platform come from the Public Suffix List snapshot bundled with
tldextract; nothing is ever downloaded. `registered_domain` is the domain bought from a
registrar (ICANN section: "foo.blogspot.com" -> "blogspot.com"), the party that answers for
the host. `platform_suffix` is the PSL private-section suffix the host sits under
("blogspot.com", "s3.amazonaws.com"), meaning the content belongs to one of the platform's
users; a host equal to such a suffix (path-style "s3.amazonaws.com/bucket/key") counts too.
Fallbacks: a host that is itself a public suffix ("co.uk") is its own registered domain; a
host under a TLD the snapshot does not know uses its last two labels.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
import socket
import threading
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from tldextract import TLDExtract

__all__ = [
    "HOST_CACHE_SIZE",
    "MAX_URL_LENGTH",
    "InvalidURL",
    "NormalizedURL",
    "host_for_display",
    "host_to_unicode",
    "normalize_url",
    "url_sha256",
]

# Real LAION rows exceed 2,048 characters (signed CDN URLs, tracking query strings). Nothing
# indexes the URL itself (uniqueness and lookups go by url_sha256), so only the cost of storing
# and rendering it bounds the length: 16 KiB is over what any image server accepts in a
# request line (nginx, Apache and CloudFront stop at 8-16 KiB), so longer ones cannot serve.
MAX_URL_LENGTH = 16_384
# Distinct hosts remembered by the host cache; a multi-million-row LAION shard has a few
# hundred thousand, and one entry costs a few hundred bytes.
HOST_CACHE_SIZE = 200_000

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Whitespace, C0/C1 controls, invisible and bidi-override characters, BOM, lone surrogates:
# percent-encoded in the path and query (as browsers send them, and so that nothing invisible
# reaches a notice), refused in the host; lone surrogates are refused anywhere.
_FORBIDDEN_CHARS = (
    "\x00-\x20\x7f-\x9f\u00a0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f"
    "\u3000\ufeff\ud800-\udfff"
)
_FORBIDDEN = re.compile(f"[{_FORBIDDEN_CHARS}]")
# The shape of nearly every dataset URL, already in canonical form: a lowercase http(s)
# scheme, a host of lowercase letters, digits, dots, hyphens and underscores with no port
# or credentials, then a path holding nothing the slow path would change (no fragment, no
# backslash, nothing it percent-encodes). Such a URL is its own canonical form as soon as
# its host is (checked through the host cache); normalize_url takes it without the parsing.
_PLAIN = re.compile(f"(https?)://([a-z0-9._-]+)(/[^#\\\\{_FORBIDDEN_CHARS}]*)")
# WHATWG's forbidden domain code points that are not printable (the rest fail the host
# check); other invisible characters go to UTS 46, which drops or refuses each.
_FORBIDDEN_IN_HOST = re.compile("[\x00-\x20\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_TAB_AND_NEWLINE = dict.fromkeys(map(ord, "\t\n\r"))
_PERCENT_HEX = re.compile("%[0-9A-Fa-f]{2}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_HOSTNAME = re.compile(r"[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})*")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
_IPV4_ANY_RADIX = re.compile(r"(?:(?:[0-9]+|0x[0-9a-f]*)\.){0,3}(?:[0-9]+|0x[0-9a-f]*)")


class InvalidURL(ValueError):
    """The input cannot be used as a web URL; `reason` is short and safe to show and log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NormalizedURL(NamedTuple):
    url: str
    # Lowercase ASCII host without port; an IPv6 address without brackets.
    hostname: str
    registered_domain: str
    # PSL private suffix the host sits under ("blogspot.com"), or "".
    platform_suffix: str
    is_ip: bool
    # Hex SHA-256 of `url` as UTF-8: a fixed-width key for unique indexes.
    url_sha256: str


def url_sha256(url: str) -> str:
    """Hex SHA-256 of an already normalised URL's UTF-8 bytes."""
    return hashlib.sha256(url.encode()).hexdigest()


def normalize_url(raw: str) -> NormalizedURL:
    """Return the canonical form of `raw`, or raise InvalidURL saying why it is unusable."""
    # The fast path gives what the full parse below would (tests/test_intake_normalize.py
    # compares the two on generated URLs): the full parse changes nothing in such a URL.
    plain = _PLAIN.fullmatch(raw)
    if plain is not None and len(raw) <= MAX_URL_LENGTH:
        host = plain.group(2)
        info = _HOST_CACHE(host)
        if info.__class__ is tuple and info[0] == host:
            return NormalizedURL(
                raw, info[1], info[2], info[3], info[4], hashlib.sha256(raw.encode()).hexdigest()
            )
    return _normalize_slowly(raw)


def _normalize_slowly(raw: str) -> NormalizedURL:
    """normalize_url without the fast path: every URL can take this way."""
    # WHATWG URL parsing: leading and trailing C0 controls and spaces go, and so do tabs and
    # newlines anywhere (a URL wrapped in a CSV cell or an e-mail reaches the same image).
    text = raw.strip(_C0_AND_SPACE)
    if not text:
        raise InvalidURL("empty URL")
    encode_tail = False
    # One scan in the common case: a URL without whitespace or controls.
    if _FORBIDDEN.search(text) is not None:
        text = text.translate(_TAB_AND_NEWLINE)
        # About 0.1% of LAION URLs hold a literal space in the path (row 589 of the shared
        # sample). Browsers send it as %20 and the host serves the image, so refusing the row
        # would leave that image online. A space in the host fails the host check below.
        text = text.replace(" ", "%20")
        if _FORBIDDEN.search(text) is not None:
            if _SURROGATE.search(text):
                raise InvalidURL("URL is not valid Unicode")
            # Other controls and invisible characters in the path or query are sent
            # percent-encoded by browsers (WHATWG's percent-encode sets); in the host they are
            # an error (checked below).
            encode_tail = True

    # Nearly every input starts with a lowercase scheme: test that before anything slower.
    if text.startswith("https://"):
        scheme, rest = "https", text[8:]
    elif text.startswith("http://"):
        scheme, rest = "http", text[7:]
    else:
        scheme, rest = _split_unusual_scheme(text)
    if rest[:1] in ("/", "\\"):
        # "http:///host", "http:\\host": browsers skip any slashes before the host.
        rest = rest.lstrip("/\\")

    end = len(rest)
    # A backslash ends the host as a slash does in http(s) URLs (WHATWG).
    for delimiter in "/?#\\":
        found = rest.find(delimiter, 0, end)
        if found >= 0:
            end = found
    authority, tail = rest[:end], rest[end:]

    if "@" in authority:
        # Credentials ("user:pass@host") identify no other image, the fetcher never sends them,
        # and a password must not travel on in notices: the canonical URL drops them. The
        # dataset's spelling stays in FoundLink.original_url.
        authority = authority.rpartition("@")[2]
    if encode_tail and _FORBIDDEN_IN_HOST.search(authority):
        raise InvalidURL("whitespace or control character in host")
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise InvalidURL("invalid IPv6 address")
        host, after = authority[: close + 1], authority[close + 1 :]
        if after and after[0] != ":":
            raise InvalidURL("invalid character in host")
        port = after[1:]
    else:
        host, _, port = authority.partition(":")

    info = _HOST_CACHE(host)
    if isinstance(info, str):
        raise InvalidURL(info)
    host_for_url, hostname, registered_domain, platform_suffix, is_ip = info

    if port:  # an empty port ("host:/") means the default, as in RFC 3986
        if not (port.isascii() and port.isdigit()):
            raise InvalidURL("invalid port")
        number = int(port)
        if not 0 < number <= 65535:
            raise InvalidURL("port out of range")
        if number != _DEFAULT_PORTS[scheme]:
            host_for_url = f"{host_for_url}:{number}"

    fragment = tail.find("#")
    if fragment >= 0:
        tail = tail[:fragment]
    if "\\" in tail:
        # In the path a backslash is a slash to browsers; in the query it stays as it is.
        path, question, query = tail.partition("?")
        tail = path.replace("\\", "/") + question + query
    if encode_tail:
        tail = _FORBIDDEN.sub(_percent_encode, tail)
    if not tail or tail[0] == "?":
        tail = "/" + tail

    url = f"{scheme}://{host_for_url}{tail}"
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(f"URL longer than {MAX_URL_LENGTH} characters")
    return NormalizedURL(
        url,
        hostname,
        registered_domain,
        platform_suffix,
        is_ip,
        hashlib.sha256(url.encode()).hexdigest(),
    )


def _percent_encode(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode())


def _split_unusual_scheme(text: str) -> tuple[str, str]:
    """Handle upper-case schemes and explain every way a URL can lack an http(s) scheme."""
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme) or "." in scheme:
        # "www.example.com:8080/x" would parse as scheme "www.example.com"; it has none.
        raise InvalidURL("no scheme (expected http:// or https://)")
    scheme = scheme.lower()
    if scheme == "data":
        raise InvalidURL("data: URL: the image itself, not an address it can be removed from")
    if scheme not in _DEFAULT_PORTS:
        raise InvalidURL(f"scheme '{scheme[:20]}' not allowed (only http and https)")
    # "http:example.com/a" and "http:\\example.com" reach example.com in every browser: for
    # http(s) the slashes after the scheme are optional and may be backslashes.
    return scheme, rest


# (host as written in the URL, hostname, registered domain, platform suffix, is_ip), or the
# reason the host is unusable. Failures are cached too: the same bad host tends to repeat.
_HostInfo = tuple[str, str, str, str, bool] | str


def _host_info(host: str) -> _HostInfo:
    if host.startswith("["):
        return _ipv6_info(host)
    if "%" in host:
        # Browsers percent-decode the host before anything else ("ex%41mple.com").
        from urllib.parse import unquote

        host = unquote(host, errors="strict") if _PERCENT_HEX.search(host) else host
        if "%" in host or _FORBIDDEN_IN_HOST.search(host):
            return "invalid character in host"
    name = host.lower()
    if not name.isascii():
        encoded = _encode_idn(name)
        if encoded is None:
            return "invalid international domain name"
        name = encoded
    if name.endswith("."):
        name = name[:-1]
    if not name:
        return "empty host"
    if len(name) > 253 or not _HOSTNAME.fullmatch(name):
        return _hostname_problem(name)
    if _NUMERIC_LABEL.fullmatch(name.rpartition(".")[2]):
        return _ipv4_info(name)
    if "." not in name:
        return "host is a single label, not a public domain name"
    registered_domain, platform_suffix = _split_domain(name)
    return name, name, registered_domain, platform_suffix, False


_HOST_CACHE = functools.lru_cache(maxsize=HOST_CACHE_SIZE)(_host_info)


def _encode_idn(name: str) -> str | None:
    import idna

    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        pass
    # What browsers do (WHATWG "domain to ASCII"): UTS 46 mapping, non-transitional, then
    # Punycode per label, without IDNA 2008's stricter rules. That admits what IDNA 2003
    # admitted and 2008 refuses (emoji: "i❤.ws"), and keeps "ß" as "ß" where the IDNA 2003
    # codec would turn it into "ss" and name another domain.
    try:
        mapped = idna.uts46_remap(name, std3_rules=False, transitional=False)
        labels = [
            label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
            for label in mapped.split(".")
        ]
    except (idna.IDNAError, UnicodeError):
        return None
    return ".".join(labels)


@functools.lru_cache(maxsize=4096)
def host_to_unicode(hostname: str) -> str:
    """The Unicode form of a stored ASCII host ("xn--mnchen-3ya.de" -> "münchen.de"), or the
    host itself when it has no "xn--" label or the label does not decode. Decoded with IDNA
    2008 first, then the IDNA 2003 codec for the names only it encoded (emoji)."""
    if "xn--" not in hostname:
        return hostname
    import idna

    try:
        return idna.decode(hostname)
    except (idna.IDNAError, UnicodeError):
        pass
    try:
        return hostname.encode("ascii").decode("idna")
    except UnicodeError:
        return hostname


def host_for_display(hostname: str) -> str:
    """A host as people read it, with the stored ASCII form beside it when they differ:
    "münchen.de (xn--mnchen-3ya.de)". A reader recognises the first; the second is what DNS,
    WHOIS and the notice's URLs use, and what a look-alike domain cannot fake."""
    readable = host_to_unicode(hostname)
    return hostname if readable == hostname else f"{readable} ({hostname})"


def _hostname_problem(name: str) -> str:
    if len(name) > 253:
        return "host longer than 253 characters"
    labels = name.split(".")
    if "" in labels:
        return "empty label in host"
    if any(len(label) > 63 for label in labels):
        return "host label longer than 63 characters"
    return "invalid character in host"


def _ipv4_info(name: str) -> _HostInfo:
    if not _IPV4_ANY_RADIX.fullmatch(name):
        # WHATWG: a name whose last label is a number must be an IPv4 address.
        return "invalid IPv4 address"
    try:
        dotted = socket.inet_ntoa(socket.inet_aton(name))
    except OSError:
        return "invalid IPv4 address"
    return dotted, dotted, dotted, "", True


def _ipv6_info(host: str) -> _HostInfo:
    inner = host[1:-1]
    if not host.endswith("]") or "%" in inner:
        return "invalid IPv6 address"
    try:
        address = _ipv6_text(ipaddress.IPv6Address(inner))
    except ValueError:
        return "invalid IPv6 address"
    return f"[{address}]", address, address, "", True


def _ipv6_text(address: ipaddress.IPv6Address) -> str:
    """The WHATWG serialisation: Python's compressed form, except that an embedded IPv4
    address ("::ffff:192.0.2.1") is written in hex pieces too ("::ffff:c000:201")."""
    text = address.compressed
    if "." not in text:
        return text
    number = int(address)
    pieces = [(number >> (112 - 16 * index)) & 0xFFFF for index in range(8)]
    start, length, run_start = -1, 1, -1
    for index, piece in enumerate([*pieces, 1]):
        if piece == 0 and run_start < 0:
            run_start = index
        elif piece != 0 and run_start >= 0:
            if index - run_start > length:
                start, length = run_start, index - run_start
            run_start = -1
    if start < 0:
        return ":".join(f"{piece:x}" for piece in pieces)
    head = ":".join(f"{piece:x}" for piece in pieces[:start])
    tail = ":".join(f"{piece:x}" for piece in pieces[start + length :])
    return f"{head}::{tail}"


def _split_domain(name: str) -> tuple[str, str]:
    """(registered domain under the ICANN suffix, PSL private suffix or "") for a host name."""
    result = _extractor().extract_str(name)
    labels = name.split(".")
    if result.is_private:
        # top_domain_under_registry_suffix is "" when the host *is* the private suffix
        # ("s3.amazonaws.com"), so count the labels ourselves.
        keep = result.registry_suffix.count(".") + 2 if result.registry_suffix else 2
        return ".".join(labels[-keep:]), result.suffix
    if result.domain and result.suffix:
        return f"{result.domain}.{result.suffix}", ""
    if result.suffix:
        return name, ""  # the host is itself a public suffix
    return ".".join(labels[-2:]), ""  # TLD unknown to the snapshot


_EXTRACTOR_LOCK = threading.Lock()
_EXTRACTOR: TLDExtract | None = None


def _extractor() -> TLDExtract:
    """One extractor for the process, built and warmed once: TLDExtract parses its suffix
    list lazily on first use, and 32 resolver threads would otherwise each parse it."""
    global _EXTRACTOR
    if _EXTRACTOR is None:
        with _EXTRACTOR_LOCK:
            if _EXTRACTOR is None:
                # tldextract pulls in requests; import it only when a host is first looked up.
                import tldextract

                # No suffix_list_urls and no cache_dir: the bundled snapshot, never a download.
                extractor = tldextract.TLDExtract(
                    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
                )
                extractor.extract_str("warm.example.com")
                _EXTRACTOR = extractor
    return _EXTRACTOR
