"""What each source says about a host, in one shape for every source.

DNS, RDAP and WHOIS modules return these; takedown.resolve.lookup combines them with the
operator rules and the directory into the lookup_host result. Every fact carries its source so
the case page can show which source said what.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.translation import gettext_noop

from takedown.stored_text import StoredText

REDACTED = "redacted"


# The common lookup errors. A message is stored in English (a resolution's errors, the logs);
# pages show it through `error_label`, and one no template knows (a server's own words) as is.
TIMED_OUT = gettext_noop("timed out")
NO_SERVER_ANSWERED = gettext_noop("no server could answer")
LOOKUP_FAILED = gettext_noop("lookup failed (%(error)s)")
NXDOMAIN = gettext_noop("name does not resolve (NXDOMAIN)")
QUOTA_BLOCKED = gettext_noop("blocked after a quota answer")
QUEUED_TOO_LONG = gettext_noop("more than %(seconds)ss of queries queued")
NOT_REGISTERED = gettext_noop("domain not registered")
NO_WHOIS_SERVER = gettext_noop("no WHOIS server for .%(tld)s")
ERRORS = StoredText(
    {
        TIMED_OUT: {},
        NO_SERVER_ANSWERED: {},
        LOOKUP_FAILED: {},
        NXDOMAIN: {},
        QUOTA_BLOCKED: {},
        QUEUED_TOO_LONG: {},
        NOT_REGISTERED: {},
        NO_WHOIS_SERVER: {},
    }
)


def error_label(message: str) -> str:
    """A stored lookup error's message in the active language."""
    return ERRORS(message)


class LookupFailed(Exception):
    """A source could not answer. `transient` errors are worth retrying later (timeouts,
    connection resets, 429/5xx, quota messages); others (unknown domain, no server for the TLD,
    refused address) are not."""

    def __init__(self, source: str, message: str, *, transient: bool = False, quota: bool = False):
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message
        self.transient = transient
        self.quota = quota


@dataclass
class Party:
    """A registrar, registrant, hosting network or platform as one source described it.

    Fields a record withheld (GDPR redaction, privacy proxies) are the string "redacted", never
    guessed; fields the record does not have at all are "".
    """

    name: str = ""
    organization: str = ""
    country: str = ""  # ISO 3166-1 alpha-2, "redacted" or ""
    email: str = ""
    phone: str = ""
    iana_id: str = ""
    source: str = ""  # "rdap", "whois", "rule", "directory", "override"
    privacy_proxy: bool = False
    state: str = ""  # state or province as the source wrote it (mapped by resolve.regions)
    region: str = ""  # ISO 3166-2, e.g. DE-BY, when known
    # Set by resolve.lookup on the parties it names, not by the sources:
    handle: str = ""  # the registry's handle of a hosting network
    network: str = ""  # a hosting network's own name, its holder's being `name`
    organisation_id: int | None = None  # the directory organisation an operator rule matched
    matched: str = ""  # that rule: "<kind> <pattern>"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ContactFact:
    role: str  # "registrar_abuse", "registrant", "admin", "tech", "abuse", "hosting_abuse", ...
    email: str
    source: str
    phone: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DomainFacts:
    """RDAP or WHOIS answer for one registered domain."""

    domain: str
    source: str  # "rdap" or "whois"
    server: str = ""  # the RDAP base URL or WHOIS server that answered
    registrar: Party | None = None
    registrant: Party | None = None
    contacts: list[ContactFact] = field(default_factory=list)
    raw: str = ""  # the raw text (WHOIS) or JSON (RDAP), capped, for the evidence view
    # Which parser produced each field ("registrant.email" -> "generic", "python-whois:WhoisDe")
    parsers: dict[str, str] = field(default_factory=dict)


@dataclass
class NetworkFacts:
    """RDAP (or WHOIS) answer for the IP network that serves a host."""

    ip: str
    source: str
    name: str = ""
    handle: str = ""
    organization: str = ""
    country: str = ""
    abuse_email: str = ""
    start: str = ""
    end: str = ""
    server: str = ""


@dataclass
class DnsFacts:
    hostname: str
    ips: list[str] = field(default_factory=list)
    cname_chain: list[str] = field(default_factory=list)  # targets in order, without dots
    nxdomain: bool = False
