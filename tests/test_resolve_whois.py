"""WHOIS lookups against the sandbox WHOIS server, reached only through settings."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings

from takedown.resolve.facts import REDACTED, ContactFact, DomainFacts, LookupFailed, Party
from takedown.resolve.whois import (
    MAX_ANSWER_BYTES,
    clear_cache,
    decode,
    fetch_record,
    lookup_domain,
    referral_in,
)
from takedown.sandbox.base import free_port
from takedown.sandbox.dns import DnsServer
from takedown.sandbox.whois import (
    INVALID_UTF8,
    QUOTA_EXCEEDED,
    Delay,
    Hang,
    Huge,
    Trickle,
    WhoisServer,
)
from tests.conftest import SHARED_DATA, shared_file

WHOIS_RAW = SHARED_DATA / "whois" / "raw"

# A thin registry answer in today's Verisign layout, referring to a registrar by name.
THIN = """\
   Domain Name: EXAMPLE.COM
   Registry Domain ID: 1234567_DOMAIN_COM-VRSN
   Registrar WHOIS Server: {referral}
   Registrar URL: http://www.registrar.test
   Registrar: Example Registrar, Inc.
   Registrar IANA ID: 9999
   Registrar Abuse Contact Email: abuse@registrar.test
   Registrar Abuse Contact Phone: +1.5555550100
   Name Server: NS1.EXAMPLE.COM
>>> Last update of whois database: 2026-01-01T00:00:00Z <<<
"""

# The registrar's answer: GDPR redaction plus a privacy proxy, and a further referral that must
# not be followed (one hop only).
REGISTRAR = """\
Domain Name: example.com
Registrar WHOIS Server: whois.registry-again.test
Registrar: Example Registrar, Inc.
Registrar IANA ID: 9999
Registrar Abuse Contact Email: abuse@registrar.test
Registrar Abuse Contact Phone: +1.5555550100
Registrant Name: Redacted for Privacy
Registrant Organization: Privacy service provided by Withheld for Privacy ehf
Registrant Street: Kalkofnsvegur 2
Registrant City: Reykjavik
Registrant Country: IS
Registrant Phone: +354.4212434
Registrant Email: 0f3a9c2e@withheldforprivacy.com
Admin Email: Select Request Email Form at https://www.registrar.test/contact
Tech Email: REDACTED FOR PRIVACY
"""

# Layouts of registries that are not among the shared records (SIDN, EURid, NASK, RIPE-style).
NL = """\
Domain name: example.nl
Status:      active

Registrar:
   Voorbeeld Registrar B.V.
   Voorbeeldstraat 1
   1234AB Amsterdam
   Netherlands

Abuse Contact:
   +31.201234567
   abuse@voorbeeld-registrar.nl

Creation Date: 2000-01-01

Domain nameservers:
   ns1.example.nl

Record maintained by: NL Domain Registry
"""
EU = """\
% The WHOIS service offered by EURid and the access to the records
% in the EURid WHOIS database are provided for information purposes only.

Domain: example.eu
Script: LATIN

Registrant:
        NOT DISCLOSED!
        Visit www.eurid.eu for the web based WHOIS.

Technical:
        Organisation: Beispiel Hosting GmbH
        Language: de
        Email: tech@beispiel-hosting.de

Registrar:
        Name: Beispiel Registrar GmbH
        Website: https://www.beispiel-registrar.de

Name servers:
        ns1.example.eu
"""
PL = """\
DOMAIN NAME:           example.pl
registrant type:       organization
nameservers:           ns1.example.pl.
created:               2001.01.01 12:00:00

dnssec:                Unsigned

REGISTRAR:
Przyklad Rejestrator Sp. z o.o.
ul. Przykladowa 1
00-001 Warszawa
Polska/Poland
+48.221234567
biuro@przyklad-rejestrator.pl

WHOIS database responses: http://www.dns.pl/english/opiskomunikatow_en.html
"""
RIPE_STYLE = """\
domain:         example.si
registrar:      Primer d.o.o.
registrant:     P12345
tech-c:         P12347
source:         ARNES

role:           Primer Abuse Desk
nic-hdl:        P12347
abuse-mailbox:  abuse@primer.si
e-mail:         noc@primer.si
phone:          +386 1 234 5678
country:        Slovenia
source:         ARNES
"""


@pytest.fixture
def whois(settings: Settings, whois_server: WhoisServer) -> Iterator[WhoisServer]:
    """Every port-43 query goes to the sandbox server."""
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = True
    settings.TAKEDOWN_WHOIS_SERVER = whois_server.address
    settings.TAKEDOWN_WHOIS_SERVERS = {}
    clear_cache()
    yield whois_server
    clear_cache()


@pytest.fixture(scope="module")
def registrar_session() -> Iterator[WhoisServer]:
    with WhoisServer() as server:
        yield server


@pytest.fixture
def registrar(registrar_session: WhoisServer) -> WhoisServer:
    """A second WHOIS server, standing in for a registrar's."""
    registrar_session.reset()
    return registrar_session


@pytest.fixture
def per_name(settings: Settings, whois: WhoisServer, registrar: WhoisServer) -> None:
    """Verisign and one registrar name mapped to two servers; nothing else is configured."""
    settings.TAKEDOWN_WHOIS_SERVER = ""
    settings.TAKEDOWN_WHOIS_SERVERS = {
        "whois.verisign-grs.com": whois.address,
        "whois.registrar.test": registrar.address,
    }


def failure(domain: str, **limits: float) -> LookupFailed:
    with pytest.raises(LookupFailed) as caught:
        lookup_domain(domain, **limits)  # type: ignore[arg-type]
    return caught.value


def raw_text(name: str) -> bytes:
    return shared_file(WHOIS_RAW / name).read_bytes()


# --- query forms and server choice ------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "query"),
    [
        ("example.de", "-T dn,ace example.de"),
        ("example.jp", "example.jp/e"),
        ("example.co.jp", "example.co.jp/e"),
        ("example.com", "domain example.com"),
        ("example.net", "domain example.net"),
        ("example.fr", "example.fr"),
        ("example.org", "example.org"),
    ],
)
def test_lookup_domain_sends_registry_query_form(
    whois: WhoisServer, domain: str, query: str
) -> None:
    whois.add(domain, f"Domain Name: {domain}\nRegistrar: Example Registrar\n")

    facts = lookup_domain(domain)

    assert whois.queries == [query]
    assert facts.registrar == Party(name="Example Registrar", source="whois")


@pytest.mark.parametrize(
    ("domain", "query"),
    [
        ("Bücher.de", "-T dn,ace xn--bcher-kva.de"),
        ("straße.de", "-T dn,ace xn--strae-oqa.de"),
        ("日本語.jp", "xn--wgv71a119e.jp/e"),
        ("münchen.com.", "domain xn--mnchen-3ya.com"),
    ],
)
def test_lookup_domain_queries_idn_in_punycode(whois: WhoisServer, domain: str, query: str) -> None:
    name = query.split()[-1].removesuffix("/e")
    whois.add(name, f"Domain: {name}\n")

    facts = lookup_domain(domain)

    assert whois.queries == [query]
    assert facts.domain == name


@pytest.mark.parametrize(
    "domain", ["exa mple.de", "example.de\r\nexample.com", "de", "", "10.0.0.10"]
)
def test_lookup_domain_refuses_invalid_names_without_asking(
    whois: WhoisServer, domain: str
) -> None:
    error = failure(domain)

    assert error.transient is False
    assert "domain name" in error.message
    assert whois.queries == []


def test_lookup_domain_asks_iana_for_unlisted_tld_once(whois: WhoisServer) -> None:
    whois.add("yy", "% IANA WHOIS server\n\ndomain:       YY\nrefer:        whois.nic.yy\n")
    whois.add("one.yy", "Domain Name: one.yy\nRegistrar: First Registrar\n")
    whois.add("two.yy", "Domain Name: two.yy\nRegistrar: Second Registrar\n")

    first = lookup_domain("one.yy")
    second = lookup_domain("two.yy")

    assert whois.queries == ["yy", "one.yy", "two.yy"]
    assert (first.server, second.server) == ("whois.nic.yy", "whois.nic.yy")
    assert second.registrar == Party(name="Second Registrar", source="whois")


def test_lookup_domain_routes_iana_answer_through_per_name_override(
    settings: Settings, whois: WhoisServer, registrar: WhoisServer
) -> None:
    settings.TAKEDOWN_WHOIS_SERVERS = {"whois.nic.ww": registrar.address}
    whois.add("ww", "domain:  WW\nwhois:   whois.nic.ww\n")
    registrar.add("example.ww", "Domain Name: example.ww\nRegistrar: Weit Weg Registrar\n")

    facts = lookup_domain("example.ww")

    assert whois.queries == ["ww"]
    assert registrar.queries == ["example.ww"]
    assert facts.registrar == Party(name="Weit Weg Registrar", source="whois")


def test_lookup_domain_fails_for_tld_without_whois_server(whois: WhoisServer) -> None:
    whois.add("zz", "% IANA WHOIS server\n\ndomain:       ZZ\nstatus:       ACTIVE\n")

    error = failure("example.zz")
    again = failure("other.zz")

    assert error.message == "no WHOIS server for .zz"
    assert error.transient is False
    assert again.message == "no WHOIS server for .zz"
    assert whois.queries == ["zz"]  # the negative answer is cached too


# --- referrals ----------------------------------------------------------------------------------


def test_lookup_domain_follows_one_referral_to_registrar(
    per_name: None, whois: WhoisServer, registrar: WhoisServer
) -> None:
    whois.add("example.com", THIN.format(referral="whois.registrar.test"))
    registrar.add("example.com", REGISTRAR)

    facts = lookup_domain("example.com")

    assert whois.queries == ["domain example.com"]
    assert registrar.queries == ["example.com"]  # plain form, and no second hop from there
    assert facts.server == "whois.verisign-grs.com"
    assert facts.registrar == Party(
        name="Example Registrar, Inc.",
        iana_id="9999",
        email="abuse@registrar.test",
        phone="+1.5555550100",
        source="whois",
    )
    # The privacy service is recognised, never taken for the holder: its country, relay
    # mailbox and phone are the holder's withheld data.
    assert facts.registrant == Party(
        name=REDACTED,
        organization="Privacy service provided by Withheld for Privacy ehf",
        country=REDACTED,
        email=REDACTED,
        phone=REDACTED,
        source="whois",
        privacy_proxy=True,
    )
    assert facts.contacts == [
        ContactFact("registrar_abuse", "abuse@registrar.test", "whois", "+1.5555550100"),
    ]
    assert facts.raw.startswith(THIN.format(referral="whois.registrar.test"))
    assert facts.raw.endswith("% Registrar answer from whois.registrar.test:\n\n" + REGISTRAR)


def test_referral_in_skips_lookalike_records_of_old_verisign_answers() -> None:
    text = decode(raw_text("google.com"))

    assert text.count("Whois Server:") == 27
    assert referral_in(text, "google.com") == "whois.markmonitor.com"


def test_fetch_record_follows_referral_named_after_domain_line(
    settings: Settings, whois: WhoisServer, registrar: WhoisServer
) -> None:
    settings.TAKEDOWN_WHOIS_SERVER = ""
    settings.TAKEDOWN_WHOIS_SERVERS = {
        "whois.verisign-grs.com": whois.address,
        "whois.markmonitor.com": registrar.address,
    }
    whois.add("google.com", raw_text("google.com"))
    registrar.add("google.com", "Domain Name: google.com\nRegistrant Organization: Google LLC\n")

    record = fetch_record("google.com")
    facts = lookup_domain("google.com")

    assert record.referral == "whois.markmonitor.com"
    assert record.referral_error is None
    assert [answer.server for answer in record.answers] == [
        "whois.verisign-grs.com",
        "whois.markmonitor.com",
    ]
    assert registrar.queries == ["google.com", "google.com"]
    assert facts.registrar == Party(name="MARKMONITOR INC.", source="whois")
    assert facts.registrant is not None
    assert facts.registrant.name == "Dns Admin"  # the registry text's own block comes first
    assert facts.registrant.organization == "Google LLC"


@pytest.mark.parametrize(
    ("referral", "message"),
    [
        ("10.0.0.1", "refused referral to '10.0.0.1': not a host name"),
        (
            "whois.example.test:4343",
            "refused referral to 'whois.example.test:4343': not a host name",
        ),
    ],
)
def test_fetch_record_never_follows_referral_to_address_or_port(
    per_name: None, whois: WhoisServer, registrar: WhoisServer, referral: str, message: str
) -> None:
    whois.add("example.com", THIN.format(referral=referral))

    record = fetch_record("example.com")
    facts = lookup_domain("example.com")

    assert record.referral == referral
    assert record.referral_error is not None
    assert record.referral_error.message == message
    assert record.referral_error.transient is False
    assert [answer.server for answer in record.answers] == ["whois.verisign-grs.com"]
    assert whois.queries == ["domain example.com", "domain example.com"]
    assert registrar.queries == []
    assert facts.registrar is not None
    assert facts.registrar.email == "abuse@registrar.test"  # the registry's answer still counts


@pytest.mark.parametrize("address", ["10.0.0.1", "127.0.0.1", "169.254.169.254"])
def test_fetch_record_refuses_referral_resolving_to_private_address(
    settings: Settings, per_name: None, whois: WhoisServer, dns_server: DnsServer, address: str
) -> None:
    # The private network is allowed (the sandbox lives on 127.0.0.1), yet a name handed to us
    # by a server's answer must resolve to public addresses only.
    assert settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK is True
    settings.TAKEDOWN_DNS_NAMESERVERS = [dns_server.address]
    dns_server.add("whois.inside.test", A=[address])
    whois.add("example.com", THIN.format(referral="whois.inside.test"))

    record = fetch_record("example.com")

    assert record.referral == "whois.inside.test"
    assert record.referral_error is not None
    assert record.referral_error.message == (
        f"refused to connect to whois.inside.test: {address} is not a public address"
    )
    assert record.referral_error.transient is False
    assert dns_server.count("whois.inside.test") == 1
    assert whois.queries == ["domain example.com"]


def test_fetch_record_follows_referral_that_configuration_maps(
    settings: Settings, whois: WhoisServer, registrar: WhoisServer
) -> None:
    settings.TAKEDOWN_WHOIS_SERVER = ""
    settings.TAKEDOWN_WHOIS_SERVERS = {
        "whois.verisign-grs.com": whois.address,
        "whois.inside.test": registrar.address,
    }
    whois.add("example.com", THIN.format(referral="whois.inside.test"))
    registrar.add("example.com", REGISTRAR)

    record = fetch_record("example.com")

    assert record.referral_error is None
    assert registrar.queries == ["example.com"]


def test_fetch_record_sends_referral_to_catch_all_server(whois: WhoisServer) -> None:
    whois.add("example.com", THIN.format(referral="whois.markmonitor.com"))

    record = fetch_record("example.com")

    assert record.referral_error is None
    assert [answer.server for answer in record.answers] == [
        "whois.verisign-grs.com",
        "whois.markmonitor.com",
    ]
    assert whois.queries == ["domain example.com", "example.com"]


def test_fetch_record_ignores_referral_to_registry_itself(whois: WhoisServer) -> None:
    whois.add("example.ie", "Domain Name: example.ie\nRegistrar WHOIS Server: whois.weare.ie\n")

    record = fetch_record("example.ie")

    assert (record.referral, record.referral_error) == ("", None)
    assert whois.queries == ["example.ie"]


def test_fetch_record_keeps_registry_answer_when_registrar_hits_quota(
    per_name: None, whois: WhoisServer, registrar: WhoisServer
) -> None:
    whois.add("example.com", THIN.format(referral="whois.registrar.test"))
    registrar.add("example.com", "Your connection limit exceeded. Please slow down.\n")

    record = fetch_record("example.com")

    assert record.referral_error is not None
    assert record.referral_error.quota is True
    assert len(record.answers) == 1


# --- failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        QUOTA_EXCEEDED,
        "Quota exceeded\n",
        "%% You have exceeded the maximum allowable number of WHOIS queries.\n",
        "Your connection limit exceeded. Please slow down and try again later.\n",
        "WHOIS LIMIT EXCEEDED - SEE WWW.PIR.ORG/WHOIS FOR DETAILS\n",
        "Too many requests from your IP address\n",
    ],
)
def test_lookup_domain_reports_quota_as_transient(whois: WhoisServer, answer: str | bytes) -> None:
    whois.add("example.de", answer)

    error = failure("example.de")

    assert (error.transient, error.quota) == (True, True)
    assert error.message == "whois.denic.de refused: query quota exceeded"


@pytest.mark.parametrize(
    ("domain", "answer"),
    [
        ("nowhere.com", None),  # the sandbox's Verisign-style 'No match for "NOWHERE.COM".'
        ("nowhere.de", "Domain: nowhere.de\nStatus: free\n"),
        (
            "nowhere.jp",
            "[ JPRS database provides information on network administration. ]\nNo match!!\n",
        ),
        ("nowhere.fr", "%%\n%% This is the AFNIC Whois server.\n%%\n\n%% NOT FOUND\n"),
        ("nowhere.nl", "nowhere.nl is free\n"),
        (
            "nowhere.eu",
            "% The WHOIS service offered by EURid\n\nDomain: nowhere.eu\nStatus: AVAILABLE\n",
        ),
        ("nowhere.at", "% Copyright (c)2019 by NIC.AT (1)\n\n% nothing found\n"),
        ("nowhere.ru", "% TCI Whois Service\n\nNo entries found for the selected source(s).\n"),
        ("nowhere.ai", "The queried object does not exist: nowhere.ai\n"),
    ],
)
def test_lookup_domain_reports_unregistered_domain(
    whois: WhoisServer, domain: str, answer: str | None
) -> None:
    if answer is not None:
        whois.add(domain, answer)

    error = failure(domain)

    assert error.message == "domain not registered"
    assert (error.transient, error.quota) == (False, False)


def test_lookup_domain_times_out_on_silent_server(whois: WhoisServer) -> None:
    whois.add("silent.de", Hang())

    started = time.monotonic()
    error = failure("silent.de", read_timeout=0.5, deadline=5)

    assert time.monotonic() - started < 1.5
    assert error.message == "whois.denic.de sent nothing for 0.5s"
    assert error.transient is True


def test_lookup_domain_deadline_holds_against_trickling_server(whois: WhoisServer) -> None:
    whois.add("slow.de", Trickle(interval=0.05, chunk=b"%"))

    started = time.monotonic()
    error = failure("slow.de", read_timeout=0.5, deadline=1.0)
    elapsed = time.monotonic() - started

    assert 0.9 < elapsed < 2.0
    assert error.message == "whois.denic.de did not finish answering within the 1s deadline"
    assert error.transient is True


def test_lookup_domain_deadline_covers_iana_and_registry(whois: WhoisServer) -> None:
    whois.add("vv", Delay(0.3, "refer: whois.nic.vv\n"))
    whois.add("example.vv", Hang())

    started = time.monotonic()
    error = failure("example.vv", read_timeout=5, deadline=0.5)

    assert time.monotonic() - started < 1.0  # the deadline, not the 5 s read timeout
    assert error.message == "whois.nic.vv did not finish answering within the 0.5s deadline"
    assert whois.queries == ["vv", "example.vv"]


def test_lookup_domain_refuses_oversized_answer(whois: WhoisServer) -> None:
    whois.add("big.com", Huge(size=10 * 1024 * 1024))

    started = time.monotonic()
    error = failure("big.com")

    assert time.monotonic() - started < 3
    assert error.message == f"answer from whois.verisign-grs.com exceeds {MAX_ANSWER_BYTES} bytes"
    assert error.transient is False


def test_lookup_domain_size_cap_is_a_keyword(whois: WhoisServer) -> None:
    whois.add("example.de", "Domain: example.de\n" + "% padding\n" * 200)

    error = failure("example.de", max_bytes=1000)

    assert error.message == "answer from whois.denic.de exceeds 1000 bytes"


def test_lookup_domain_reports_refused_connection_as_transient(settings: Settings) -> None:
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = True
    settings.TAKEDOWN_WHOIS_SERVER = f"127.0.0.1:{free_port()}"
    settings.TAKEDOWN_WHOIS_SERVERS = {}

    error = failure("example.de")

    assert error.message == "cannot connect to whois.denic.de: Connection refused"
    assert error.transient is True


def test_lookup_domain_reports_empty_answer_as_transient(whois: WhoisServer) -> None:
    whois.add("empty.de", b"")

    error = failure("empty.de")

    assert error.message == "whois.denic.de sent an empty answer"
    assert error.transient is True


def test_lookup_domain_checks_configured_address(settings: Settings, whois: WhoisServer) -> None:
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = False
    whois.add("example.de", "Domain: example.de\n")

    error = failure("example.de")

    assert (
        error.message == "refused to connect to whois.denic.de: 127.0.0.1 is not a public address"
    )
    assert error.transient is False
    assert whois.queries == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("TAKEDOWN_WHOIS_SERVER", "127.0.0.1:port"), ("TAKEDOWN_WHOIS_SERVERS", ["whois.denic.de"])],
)
def test_lookup_domain_rejects_malformed_settings(
    settings: Settings, whois: WhoisServer, name: str, value: object
) -> None:
    setattr(settings, name, value)

    with pytest.raises(ImproperlyConfigured, match=name):
        lookup_domain("example.de")


# --- decoding and the parser ----------------------------------------------------------------


def test_decode_keeps_utf8_and_reads_invalid_bytes_as_latin1() -> None:
    assert decode(b"Registrant Name: J\xc3\xbcrgen \xe9\x00\r\nx\r") == (
        "Registrant Name: Jürgen é\nx\n"
    )


def test_lookup_domain_survives_invalid_utf8(whois: WhoisServer) -> None:
    whois.add("cafe.de", INVALID_UTF8)

    facts = lookup_domain("cafe.de")

    assert facts.raw == "Domain Name: café.example\nRegistrant Name: Müller ÿþ\n"
    assert facts.registrant == Party(name="Müller ÿþ", source="whois")


def test_lookup_domain_survives_parser_warnings(whois: WhoisServer) -> None:
    # dateutil warns about the unknown zone; pytest turns warnings into errors, and the
    # registrar name of a .it record only comes from python-whois's parser.
    whois.add(
        "esempio.it",
        "Domain:             esempio.it\n"
        "Status:             ok\n"
        "Created:            2019-01-01 10:00:00 XYZT\n\n"
        "Registrar\n"
        "  Organization:     Esempio Registrar S.r.l.\n"
        "  Name:             ESEMPIO-REG\n",
    )

    facts = lookup_domain("esempio.it")

    assert facts.registrar == Party(name="Esempio Registrar S.r.l.", source="whois")


# --- labelled extraction on real records ----------------------------------------------------

# TLDs of the shared records that SERVERS does not list: IANA names their servers.
IANA_REFERRALS = {
    "lat": "whois.nic.lat",
    "do": "whois.nic.do",
    "hn": "whois.nic.hn",
    "ve": "whois.nic.ve",
    "cr": "whois.nic.cr",
    "sa": "whois.nic.net.sa",
    "tr": "whois.trabis.gov.tr",
}


def add_iana_referrals(server: WhoisServer) -> None:
    for tld, name in IANA_REFERRALS.items():
        server.add(tld, f"domain:       {tld.upper()}\nrefer:        {name}\n")


SHARED_FACTS: dict[str, tuple[Party | None, Party | None, list[ContactFact]]] = {
    "google.ai": (
        Party(
            name="MarkMonitor Inc.",
            iana_id="292",
            email="abusecomplaints@markmonitor.com",
            phone="+1.2083895740",
            source="whois",
        ),
        Party(
            name="Domain Administrator",
            organization="Google LLC",
            country="US",
            email="dns-admin@google.com",
            phone="+1.6502530000",
            source="whois",
        ),
        [
            ContactFact(
                "registrar_abuse", "abusecomplaints@markmonitor.com", "whois", "+1.2083895740"
            ),
            ContactFact("registrant", "dns-admin@google.com", "whois", "+1.6502530000"),
            ContactFact("admin", "dns-admin@google.com", "whois", "+1.6502530000"),
            ContactFact("tech", "dns-admin@google.com", "whois", "+1.6502530000"),
        ],
    ),
    # GDPR redaction at a registry: name, e-mail and phone withheld, organisation and country not.
    "brainly.lat": (
        Party(name="Instra Corporation Pty Ltd.", iana_id="1376", source="whois"),
        Party(
            name=REDACTED,
            organization="Brainly Sp. z o.o.",
            country="PL",
            email=REDACTED,
            phone=REDACTED,
            source="whois",
        ),
        [],
    ),
    "seal.jobs": (
        Party(
            name="GoDaddy.com, LLC",
            iana_id="146",
            email="email@godaddy.com",
            phone="480-624-2505",
            source="whois",
        ),
        Party(
            name=REDACTED,
            organization="Seal Jobs NV",
            country="BE",
            email=REDACTED,
            phone=REDACTED,
            source="whois",
        ),
        [ContactFact("registrar_abuse", "email@godaddy.com", "whois", "480-624-2505")],
    ),
    "google.do": (
        Party(
            name="Registrar NIC .DO (midominio.do)",
            country="DO",
            email="info@nic.do",
            phone="8095350111",
            source="whois",
        ),
        Party(
            name="GOOGLE LLC",
            organization="GOOGLE LLC",
            country=REDACTED,
            email=REDACTED,
            phone=REDACTED,
            source="whois",
        ),
        [ContactFact("registrar", "info@nic.do", "whois", "8095350111")],
    ),
    # Privacy proxies.
    "cyberciti.biz": (
        Party(
            name="GoDaddy.com, LLC",
            iana_id="146",
            email="abuse@godaddy.com",
            phone="+1.4806242505",
            source="whois",
        ),
        Party(
            name=REDACTED,
            organization="Domains By Proxy, LLC",
            country=REDACTED,
            email=REDACTED,
            phone=REDACTED,
            source="whois",
            privacy_proxy=True,
        ),
        # The proxy's relay mailboxes are no one to write to.
        [ContactFact("registrar_abuse", "abuse@godaddy.com", "whois", "+1.4806242505")],
    ),
    "digg.com": (
        Party(name="GODADDY.COM, INC.", source="whois"),
        Party(
            name=REDACTED,
            organization="Domains by Proxy, Inc.",
            source="whois",
            privacy_proxy=True,
        ),
        [],
    ),
    # Old Verisign answer behind look-alike records (python-whois alone names CRONON AG).
    "microsoft.com": (
        Party(name="TUCOWS INC.", email="dbms-support@verisign.com", source="whois"),
        None,
        [
            ContactFact("admin", "domains@microsoft.com", "whois", "+1.4258828080"),
            ContactFact("tech", "msnhst@microsoft.com", "whois", "+1.4258828080"),
            ContactFact("registrar", "dbms-support@verisign.com", "whois"),
        ],
    ),
    # RIPE-style objects joined by handles (AFNIC), by "% Registrar:" headers (.ua), without
    # blank lines between objects (nic.at).
    "google.fr": (
        Party(
            name="MARKMONITOR Inc.",
            country="US",
            email="registry.admin@markmonitor.com",
            phone="+1.2083895740",
            source="whois",
        ),
        Party(
            name="Google Ireland Holdings Unlimited Company",
            country="IE",
            email="dns-admin@google.com",
            phone="+353.14361000",
            source="whois",
        ),
        [
            ContactFact("registrant", "dns-admin@google.com", "whois", "+353.14361000"),
            ContactFact("admin", "dns-admin@google.com", "whois", "+353.14361000"),
            ContactFact("tech", "ccops@markmonitor.com", "whois", "+1.2083895740"),
            ContactFact("registrar", "registry.admin@markmonitor.com", "whois", "+1.2083895740"),
        ],
    ),
    "google.com.ua": (
        Party(
            name="MarkMonitor Inc.",
            country="US",
            email="abusecomplaints@markmonitor.com",
            source="whois",
        ),
        Party(
            name="DNS Admin",
            organization="Google Inc.",
            country="US",
            email="dns-admin@google.com",
            phone="+1.6502530000",
            source="whois",
        ),
        [
            ContactFact("registrar_abuse", "abusecomplaints@markmonitor.com", "whois"),
            ContactFact("registrant", "dns-admin@google.com", "whois", "+1.6502530000"),
            ContactFact("admin", "dns-admin@google.com", "whois", "+1.6502530000"),
        ],
    ),
    "google.at": (
        Party(name="MarkMonitor Inc.", source="whois"),
        Party(
            name="DNS Admin",
            organization="Google Inc.",
            country="US",  # "United States"
            email="dns-admin@google.com",
            phone="+16502530000",
            source="whois",
        ),
        [
            ContactFact("registrant", "dns-admin@google.com", "whois", "+16502530000"),
            ContactFact("tech", "dns-admin@google.com", "whois", "+16506234000"),
        ],
    ),
    # Indented and flush sections.
    "abv.bg": (
        None,
        Party(name="Darik Net EAD", country="BG", source="whois"),  # "BULGARIA"
        [
            ContactFact("admin", "noc@netinfo.bg", "whois", "+359 2 960 3162"),
            ContactFact("tech", "milen@netinfo.bg", "whois", "+359 2 9603100"),
            ContactFact("tech", "biser@netinfo.bg", "whois", "+359 2 9603100"),
        ],
    ),
    "google.com.tr": (
        None,
        Party(name="Google LLC", country="US", email="dns-admin@google.com", source="whois"),
        [ContactFact("registrant", "dns-admin@google.com", "whois")],
    ),
    "www.gov.uk": (None, Party(name="UK Cabinet Office", country="GB", source="whois"), []),
    "yahoo.co.jp": (None, Party(organization="LY Corporation", source="whois"), []),
}


@pytest.mark.parametrize("name", sorted(SHARED_FACTS))
def test_lookup_domain_extracts_labelled_facts_from_real_record(
    whois: WhoisServer, name: str
) -> None:
    add_iana_referrals(whois)
    whois.add(name, raw_text(name))
    registrar, registrant, contacts = SHARED_FACTS[name]

    facts = lookup_domain(name)

    assert (facts.registrar, facts.registrant, facts.contacts) == (registrar, registrant, contacts)


def test_lookup_domain_replays_every_shared_record(whois: WhoisServer) -> None:
    raw = shared_file(WHOIS_RAW)
    assert whois.load_dir(raw) == 44
    add_iana_referrals(whois)

    for path in sorted(raw.iterdir()):
        facts = lookup_domain(path.name)  # no quota or not-found mistaken in a real record

        assert isinstance(facts, DomainFacts)
        assert facts.domain == path.name
        assert facts.raw.startswith(decode(path.read_bytes()))


@pytest.mark.parametrize(
    ("domain", "text", "registrar", "registrant", "contacts"),
    [
        (
            "example.nl",
            NL,
            Party(name="Voorbeeld Registrar B.V.", country="NL", source="whois"),
            None,
            [ContactFact("abuse", "abuse@voorbeeld-registrar.nl", "whois", "+31.201234567")],
        ),
        (
            "example.eu",
            EU,
            Party(name="Beispiel Registrar GmbH", source="whois"),
            Party(name=REDACTED, source="whois"),  # "NOT DISCLOSED!"
            [ContactFact("tech", "tech@beispiel-hosting.de", "whois")],
        ),
        (
            "example.pl",
            PL,
            Party(
                name="Przyklad Rejestrator Sp. z o.o.",
                country="PL",
                email="biuro@przyklad-rejestrator.pl",
                phone="+48.221234567",
                source="whois",
            ),
            None,
            [ContactFact("registrar", "biuro@przyklad-rejestrator.pl", "whois", "+48.221234567")],
        ),
        (
            "example.si",
            RIPE_STYLE,
            Party(name="Primer d.o.o.", source="whois"),
            None,
            [
                ContactFact("abuse", "abuse@primer.si", "whois"),
                ContactFact("tech", "noc@primer.si", "whois", "+386 1 234 5678"),
            ],
        ),
    ],
)
def test_lookup_domain_extracts_abuse_and_registrar_blocks(
    whois: WhoisServer,
    domain: str,
    text: str,
    registrar: Party | None,
    registrant: Party | None,
    contacts: list[ContactFact],
) -> None:
    whois.add(domain, text)

    facts = lookup_domain(domain)

    assert (facts.registrar, facts.registrant, facts.contacts) == (registrar, registrant, contacts)
