"""RDAP lookups against the sandbox RDAP and HTTP servers, configured only through settings."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from takedown.resolve.facts import (
    REDACTED,
    ContactFact,
    DomainFacts,
    LookupFailed,
    NetworkFacts,
    Party,
)
from takedown.resolve.rdap import (
    MAX_RESPONSE_BYTES,
    Bootstrap,
    NoRdapService,
    RdapFailed,
    lookup_domain,
    lookup_ip,
    parse_bootstrap,
)
from takedown.sandbox.dns import DnsServer
from takedown.sandbox.http import Handler, HttpHost, Huge, Response, Slow, redirect, status
from takedown.sandbox.rdap import (
    BAD_JSON,
    RdapServer,
    rate_limited,
    rdap_domain,
    rdap_entity,
    rdap_ip_network,
    rdap_json,
)


@pytest.fixture
def rdap(rdap_server: RdapServer, rdap_bootstrap: Path, settings: Settings) -> RdapServer:
    """The sandbox RDAP server, reached through the IANA-layout bootstrap directory."""
    settings.TAKEDOWN_RDAP_BOOTSTRAP = str(rdap_bootstrap)
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = True
    settings.TAKEDOWN_RDAP_TIMEOUT = 3
    return rdap_server


@pytest.fixture
def cache_dir(tmp_path: Path, settings: Settings) -> Path:
    settings.TAKEDOWN_RDAP_CACHE_DIR = tmp_path / "cache"
    return tmp_path / "cache"


def bootstrap_file(services: list[Any]) -> bytes:
    return json.dumps({"version": "1.0", "services": services}).encode()


def failure(call: Any, *args: str) -> RdapFailed:
    with pytest.raises(RdapFailed) as caught:
        call(*args)
    return caught.value


# --- domains ---------------------------------------------------------------------------------


def test_lookup_domain_registrar_with_nested_abuse_contact(rdap: RdapServer) -> None:
    rdap.add_domain(
        "example.com",
        rdap_domain(
            "example.com",
            registrar="MarkMonitor Inc.",
            iana_id="292",
            abuse_email="abusecomplaints@markmonitor.example",
            abuse_phone="+1.2086851750",
        ),
    )

    facts = lookup_domain("Example.COM.")

    assert facts.registrar == Party(
        name="MarkMonitor Inc.", organization="MarkMonitor Inc.", iana_id="292", source="rdap"
    )
    assert facts.contacts == [
        ContactFact(
            role="registrar_abuse",
            email="abusecomplaints@markmonitor.example",
            source="rdap",
            phone="+1.2086851750",
        )
    ]
    assert (facts.domain, facts.source, facts.server) == ("example.com", "rdap", f"{rdap.url}/")
    assert json.loads(facts.raw)["ldhName"] == "example.com"


def test_lookup_domain_redacted_registrant_is_marked_not_guessed(rdap: RdapServer) -> None:
    rdap.add_domain("private.com", rdap_domain("private.com"))

    facts = lookup_domain("private.com")

    assert facts.registrant == Party(
        name=REDACTED,
        organization=REDACTED,
        country=REDACTED,
        email=REDACTED,
        phone=REDACTED,
        source="rdap",
    )
    assert [contact.role for contact in facts.contacts] == ["registrar_abuse"]


def test_lookup_domain_registrant_country_from_adr_cc(rdap: RdapServer) -> None:
    rdap.add_domain(
        "open.net", rdap_domain("open.net", registrant_country="pa", registrant_name="Holder SA")
    )

    facts = lookup_domain("open.net")

    assert facts.registrant == Party(
        name="Holder SA", organization="Holder SA", country="PA", source="rdap"
    )


def test_lookup_domain_registrant_country_from_adr_country_name(rdap: RdapServer) -> None:
    registrant = rdap_entity("REG-2", ["registrant"], fn="Erika Mustermann")
    registrant["vcardArray"][1] = [
        ["version", {}, "text", "4.0"],
        ["fn", {}, "text", "Erika Mustermann"],
        ["kind", {}, "text", "individual"],
        ["adr", {}, "text", ["", "", "Hauptstr. 1", "Berlin", "", "10115", "Germany"]],
    ]
    domain = rdap_domain("person.de")
    domain["entities"][1] = registrant
    rdap.add_domain("person.de", domain)

    assert lookup_domain("person.de").registrant == Party(
        name="Erika Mustermann", country="DE", source="rdap"
    )


def test_lookup_domain_rfc9537_redacted_member_marks_removed_fields(rdap: RdapServer) -> None:
    domain = rdap_domain("gone.org")
    domain["entities"] = domain["entities"][:1]  # registrant entity removed entirely
    domain["redacted"] = [
        {"name": {"type": "Registry Registrant ID"}, "method": "removal"},
        {"name": {"type": "Registrant Name"}, "method": "removal"},
        {"name": {"type": "Registrant Organization"}, "method": "removal"},
        {"name": {"description": "Registrant Email"}, "method": "removal"},
    ]
    rdap.add_domain("gone.org", domain)

    assert lookup_domain("gone.org").registrant == Party(
        name=REDACTED, organization=REDACTED, email=REDACTED, source="rdap"
    )


def test_lookup_domain_labels_registrant_admin_tech_contacts(rdap: RdapServer) -> None:
    domain = rdap_domain("shop.com", abuse_email="abuse@reg.example", abuse_phone="+1.5550100")
    domain["entities"][1:] = [
        rdap_entity(
            "R1",
            ["registrant"],
            fn="Domains By Proxy, LLC",
            email="shop.com@domainsbyproxy.example",
            tel="+1.4806242599",
            cc="US",
        ),
        rdap_entity(
            "T1", ["administrative", "technical"], fn="Hostmaster", email="hostmaster@shop.example"
        ),
    ]
    rdap.add_domain("shop.com", domain)

    facts = lookup_domain("shop.com")

    assert facts.contacts == [
        ContactFact("registrar_abuse", "abuse@reg.example", "rdap", "+1.5550100"),
        ContactFact("registrant", "shop.com@domainsbyproxy.example", "rdap", "+1.4806242599"),
        ContactFact("admin", "hostmaster@shop.example", "rdap"),
        ContactFact("tech", "hostmaster@shop.example", "rdap"),
    ]
    assert facts.registrant is not None
    assert (facts.registrant.country, facts.registrant.privacy_proxy) == ("US", True)


def test_lookup_domain_unicode_name_is_queried_as_a_label(rdap: RdapServer) -> None:
    rdap.add_domain("xn--bcher-kva.de", rdap_domain("xn--bcher-kva.de", registrant_country="DE"))

    facts = lookup_domain("Bücher.de")

    assert (facts.domain, rdap.hits("/domain/xn--bcher-kva.de")) == ("xn--bcher-kva.de", 1)


def test_lookup_domain_not_found_is_permanent(rdap: RdapServer) -> None:
    error = failure(lookup_domain, "unknown.com")

    assert (str(error), error.transient, error.status) == ("rdap: domain not found", False, 404)
    assert isinstance(error, LookupFailed)
    assert not isinstance(error, NoRdapService)


def test_lookup_domain_rate_limit_is_transient_with_retry_after(rdap: RdapServer) -> None:
    rdap.add_domain("busy.com", rate_limited(retry_after=7))

    error = failure(lookup_domain, "busy.com")

    assert (error.transient, error.quota, error.status, error.retry_after) == (True, True, 429, 7)


def test_lookup_domain_retry_after_date_in_the_past_means_now(rdap: RdapServer) -> None:
    rdap.add_domain(
        "down.com",
        rdap_json({"errorCode": 503}, 503, (("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),)),
    )

    error = failure(lookup_domain, "down.com")

    assert (error.transient, error.status, error.retry_after) == (True, 503, 0)


def test_lookup_domain_server_error_is_transient(rdap: RdapServer) -> None:
    rdap.add_domain("oops.com", status(500))

    error = failure(lookup_domain, "oops.com")

    assert (error.message, error.transient, error.retry_after) == ("server error 500", True, None)


def test_lookup_domain_bad_json_is_permanent(rdap: RdapServer) -> None:
    rdap.add_domain("broken.com", BAD_JSON)

    error = failure(lookup_domain, "broken.com")

    assert (error.message, error.transient) == ("answer is not valid JSON", False)


def test_lookup_domain_json_that_is_not_an_object_is_permanent(rdap: RdapServer) -> None:
    rdap.add_domain("list.com", Response(b"[1, 2]", "application/rdap+json"))

    error = failure(lookup_domain, "list.com")

    assert (error.message, error.transient) == ("answer is not a JSON object", False)


def test_lookup_domain_slow_server_times_out(rdap: RdapServer, settings: Settings) -> None:
    settings.TAKEDOWN_RDAP_TIMEOUT = 0.3
    rdap.add_domain("late.com", Slow(1.0, rdap_json(rdap_domain("late.com"))))
    started = time.monotonic()

    error = failure(lookup_domain, "late.com")

    assert (error.message, error.transient) == ("timed out", True)
    assert time.monotonic() - started < 0.9


@pytest.mark.parametrize("declare_length", [True, False])
def test_lookup_domain_answer_over_size_cap_is_refused(
    rdap: RdapServer, declare_length: bool
) -> None:
    rdap.add_domain("huge.com", Huge(MAX_RESPONSE_BYTES + 1, declare_length=declare_length))

    error = failure(lookup_domain, "huge.com")

    assert (error.message, error.transient) == ("answer larger than 2097152 bytes", False)


def test_lookup_domain_keeps_raw_json_capped(rdap: RdapServer) -> None:
    domain = rdap_domain("long.com")
    domain["notices"] = [{"title": "Terms", "description": ["x" * 200_000]}]
    rdap.add_domain("long.com", domain)

    facts = lookup_domain("long.com")

    assert len(facts.raw) == 64 * 1024
    assert facts.raw.startswith("{")


# --- redirects -------------------------------------------------------------------------------


def test_lookup_domain_follows_three_redirects(rdap: RdapServer) -> None:
    rdap.add_domain("a.com", redirect(f"{rdap.url}/domain/b.com"))
    rdap.add_domain("b.com", redirect("/domain/c.com", 301))
    rdap.add_domain("c.com", redirect(f"{rdap.url}/domain/d.com", 307))
    rdap.add_domain("d.com", rdap_domain("d.com", iana_id="146"))

    facts = lookup_domain("a.com")

    assert facts.registrar is not None
    assert (facts.registrar.iana_id, facts.server) == ("146", f"{rdap.url}/")


def test_lookup_domain_fourth_redirect_is_refused(rdap: RdapServer) -> None:
    for name, target in [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")]:
        rdap.add_domain(f"{name}.com", redirect(f"{rdap.url}/domain/{target}.com"))
    rdap.add_domain("e.com", rdap_domain("e.com"))

    error = failure(lookup_domain, "a.com")

    assert (error.message, error.transient) == ("more than 3 redirects", False)
    assert rdap.hits("/domain/e.com") == 0


def test_lookup_domain_redirect_to_other_scheme_is_refused(rdap: RdapServer) -> None:
    rdap.add_domain("file.com", redirect("file:///etc/passwd"))

    assert failure(lookup_domain, "file.com").message == "refused URL scheme 'file'"


def test_lookup_domain_redirect_to_another_port_is_refused(
    rdap: RdapServer, http_host: HttpHost
) -> None:
    """A redirect names any port it likes: to another server's port (here a second local
    server, as if port 25 of a public address) it is refused before connecting."""
    elsewhere = http_host.add_route("/domain/other.com", Response(b"{}", "application/json"))
    rdap.add_domain("other.com", redirect(elsewhere))

    error = failure(lookup_domain, "other.com")

    assert (error.message, error.transient) == (
        f"refused redirect to port {http_host.port} (only 80 and 443)",
        False,
    )
    assert http_host.hits("/domain/other.com") == 0


@dataclass(frozen=True)
class RedirectAfterLockdown:
    """Answers with a redirect, but first turns private addresses off, as if the redirect
    pointed from a public RDAP server to a private one: the next hop must be checked anew."""

    location: str
    settings: Settings

    def serve(self, handler: Handler) -> None:
        self.settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = False
        redirect(self.location).serve(handler)


def test_lookup_domain_redirect_hop_to_private_address_is_refused(
    rdap: RdapServer, settings: Settings
) -> None:
    rdap.add_domain("hop.com", RedirectAfterLockdown(f"{rdap.url}/domain/inner.com", settings))
    rdap.add_domain("inner.com", rdap_domain("inner.com"))

    error = failure(lookup_domain, "hop.com")

    assert error.message == "refused to connect to 127.0.0.1: not a public address"
    assert (rdap.hits("/domain/hop.com"), rdap.hits("/domain/inner.com")) == (1, 0)


# --- address checks before connecting ----------------------------------------------------------


def test_lookup_domain_loopback_server_refused_without_private_network(
    rdap: RdapServer, settings: Settings
) -> None:
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = False
    rdap.add_domain("example.com", rdap_domain("example.com"))

    error = failure(lookup_domain, "example.com")

    assert (error.message, error.transient) == (
        "refused to connect to 127.0.0.1: not a public address",
        False,
    )
    assert rdap.counts == Counter()


def test_lookup_ip_private_server_refused_without_connecting(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "private.json"
    path.write_bytes(bootstrap_file([[["0.0.0.0/0"], ["http://10.0.0.1/rdap/"]]]))
    settings.TAKEDOWN_RDAP_BOOTSTRAP = str(path)
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = False
    started = time.monotonic()

    error = failure(lookup_ip, "192.0.2.1")

    assert error.message == "refused to connect to 10.0.0.1: not a public address"
    assert time.monotonic() - started < 0.5  # no connection attempt waited for a timeout


# --- IP networks -------------------------------------------------------------------------------


def test_lookup_ip_network_with_abuse_role(rdap: RdapServer) -> None:
    rdap.add_ip(
        "192.0.2.0/24",
        rdap_ip_network(
            "192.0.2.0",
            "192.0.2.255",
            name="HETZNER-SANDBOX",
            country="DE",
            abuse_email="abuse@hetzner.example",
            org="Hetzner Online GmbH",
        ),
    )

    assert lookup_ip("192.0.2.77") == NetworkFacts(
        ip="192.0.2.77",
        source="rdap",
        name="HETZNER-SANDBOX",
        handle="192.0.2.0 - 192.0.2.255",
        organization="Hetzner Online GmbH",
        country="DE",
        abuse_email="abuse@hetzner.example",
        start="192.0.2.0",
        end="192.0.2.255",
        server=f"{rdap.url}/",
    )


def test_lookup_ip_abuse_nested_in_org_entity_and_country_from_address(
    rdap: RdapServer,
) -> None:
    # ARIN's shape: no country on the network; the abuse contact sits inside the org entity,
    # whose address is only a label with the country on its last line.
    org = rdap_entity(
        "CLOUD-1",
        ["registrant"],
        fn="Cloud Example, Inc.",
        entities=[
            rdap_entity("ABUSE-1", ["abuse"], fn="Abuse", email="abuse@cloud.example"),
            rdap_entity("NOC-1", ["technical"], fn="NOC", email="noc@cloud.example"),
        ],
    )
    org["vcardArray"][1].append(
        ["adr", {"label": "410 Terry Ave N.\nSeattle\nWA\n98109\nUnited States"}, "text", [""] * 7]
    )
    network = {
        "objectClassName": "ip network",
        "handle": "NET-198-51-100-0-1",
        "startAddress": "198.51.100.0",
        "endAddress": "198.51.100.255",
        "name": "CLOUD-NET",
        "entities": [org],
    }
    rdap.add_ip("198.51.100.0/24", network)

    facts = lookup_ip("198.51.100.9")

    assert (facts.organization, facts.abuse_email, facts.country) == (
        "Cloud Example, Inc.",
        "abuse@cloud.example",
        "US",
    )


def test_lookup_ip_v6_uses_ipv6_bootstrap(rdap: RdapServer) -> None:
    rdap.add_ip(
        "2001:db8::/32", rdap_ip_network("2001:db8::", "2001:db8:ffff:ffff::", country="NL")
    )

    facts = lookup_ip("2001:db8::1")

    assert (facts.country, facts.start, rdap.hits("/ip/2001:db8::1")) == ("NL", "2001:db8::", 1)


def test_lookup_ip_not_found_is_permanent(rdap: RdapServer) -> None:
    error = failure(lookup_ip, "203.0.113.1")

    assert (error.message, error.transient) == ("network not found", False)


def test_lookup_ip_rejects_non_addresses() -> None:
    assert failure(lookup_ip, "example.com").message == "not an IP address"


# --- bootstrap variants ----------------------------------------------------------------------


def test_lookup_domain_unknown_tld_has_no_rdap_service(rdap: RdapServer) -> None:
    with pytest.raises(NoRdapService) as caught:
        lookup_domain("example.uk")

    assert (caught.value.message, caught.value.transient) == ("no RDAP service for .uk", False)
    assert rdap.counts == Counter()


def test_lookup_single_mixed_bootstrap_file(
    rdap: RdapServer, tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "mixed.json"
    path.write_bytes(bootstrap_file([[["com", "192.0.2.0/24", "2001:db8::/32"], [f"{rdap.url}/"]]]))
    settings.TAKEDOWN_RDAP_BOOTSTRAP = str(path)
    rdap.add_domain("mixed.com", rdap_domain("mixed.com", iana_id="1"))
    rdap.add_ip("192.0.2.0/24", rdap_ip_network("192.0.2.0", "192.0.2.255", name="V4"))
    rdap.add_ip("2001:db8::/32", rdap_ip_network("2001:db8::", "2001:db8:ffff::", name="V6"))

    assert lookup_domain("mixed.com").registrar == Party(
        name="Sandbox Registrar, Inc.",
        organization="Sandbox Registrar, Inc.",
        iana_id="1",
        source="rdap",
    )
    assert (lookup_ip("192.0.2.1").name, lookup_ip("2001:db8::9").name) == ("V4", "V6")
    with pytest.raises(NoRdapService):
        lookup_ip("198.51.100.1")
    with pytest.raises(NoRdapService):
        lookup_domain("mixed.net")


def test_lookup_uses_longest_tld_and_prefix_match(
    rdap: RdapServer, tmp_path: Path, settings: Settings
) -> None:
    # The sandbox answers 400 under /wide/, so only the most specific entry can succeed.
    path = tmp_path / "nested.json"
    path.write_bytes(
        bootstrap_file(
            [
                [["uk", "0.0.0.0/0"], [f"{rdap.url}/wide/"]],
                [["co.uk", "192.0.2.0/24"], [f"{rdap.url}"]],
            ]
        )
    )
    settings.TAKEDOWN_RDAP_BOOTSTRAP = str(path)
    rdap.add_domain("example.co.uk", rdap_domain("example.co.uk", iana_id="7"))
    rdap.add_ip("192.0.2.0/24", rdap_ip_network("192.0.2.0", "192.0.2.255", name="NARROW"))

    assert lookup_domain("example.co.uk").registrar.iana_id == "7"  # type: ignore[union-attr]
    assert lookup_ip("192.0.2.8").name == "NARROW"
    assert failure(lookup_ip, "198.51.100.1").message == "unexpected HTTP status 400"


def test_parse_bootstrap_prefers_https_and_skips_asn_ranges() -> None:
    bootstrap = parse_bootstrap(
        {
            "services": [
                [["COM", "net"], ["http://rdap.example/", "https://rdap.example/v1"]],
                [["64496-64511"], ["https://asn.example/"]],
                [["2001:db8::/32"], ["https://v6.example/"]],
                ["malformed"],
            ]
        }
    )

    assert bootstrap.tlds == {"com": "https://rdap.example/v1/", "net": "https://rdap.example/v1/"}
    assert [(str(net), base) for net, base in bootstrap.networks] == [
        ("2001:db8::/32", "https://v6.example/")
    ]
    assert isinstance(bootstrap, Bootstrap)


def test_lookup_domain_missing_bootstrap_file_means_no_service(
    tmp_path: Path, settings: Settings
) -> None:
    settings.TAKEDOWN_RDAP_BOOTSTRAP = str(tmp_path / "absent.json")

    with pytest.raises(NoRdapService):
        lookup_domain("example.com")


def test_lookup_bootstrap_url_to_one_file_is_fetched_once_and_cached(
    rdap: RdapServer, http_host: HttpHost, cache_dir: Path, settings: Settings
) -> None:
    served = Response(bootstrap_file([[["com"], [f"{rdap.url}/"]]]), "application/json")
    settings.TAKEDOWN_RDAP_BOOTSTRAP = http_host.add_route("/rdap/bootstrap.json", served)
    rdap.add_domain("cached.com", rdap_domain("cached.com"))

    lookup_domain("cached.com")
    lookup_domain("cached.com")

    assert http_host.hits("/rdap/bootstrap.json") == 1
    [cached] = cache_dir.iterdir()
    assert (cached.name.endswith("-bootstrap.json"), cached.read_bytes()) == (True, served.body)


def test_lookup_bootstrap_url_directory_fetches_only_the_needed_file(
    rdap: RdapServer, http_host: HttpHost, cache_dir: Path, settings: Settings
) -> None:
    for name, keys in [("dns", ["com"]), ("ipv4", ["0.0.0.0/0"]), ("ipv6", ["::/0"])]:
        body = bootstrap_file([[keys, [f"{rdap.url}/"]]])
        http_host.add_route(f"/iana/{name}.json", Response(body, "application/json"))
    settings.TAKEDOWN_RDAP_BOOTSTRAP = http_host.url_for("/iana/")
    rdap.add_domain("dir.com", rdap_domain("dir.com"))

    lookup_domain("dir.com")

    assert http_host.counts == Counter({("127.0.0.1", "/iana/dns.json"): 1})


def test_lookup_bootstrap_fetch_failure_leaves_no_state_and_retries(
    rdap: RdapServer, http_host: HttpHost, cache_dir: Path, settings: Settings
) -> None:
    settings.TAKEDOWN_RDAP_BOOTSTRAP = http_host.url_for("/late/bootstrap.json")
    rdap.add_domain("retry.com", rdap_domain("retry.com"))

    with pytest.raises(NoRdapService) as caught:
        lookup_domain("retry.com")
    served = Response(bootstrap_file([[["com"], [f"{rdap.url}/"]]]), "application/json")
    http_host.add_route("/late/bootstrap.json", served)
    facts = lookup_domain("retry.com")

    assert caught.value.message == "RDAP bootstrap unavailable"
    assert (facts.domain, http_host.hits("/late/bootstrap.json")) == ("retry.com", 2)


def test_lookup_bootstrap_stale_cache_is_refreshed_and_used_when_refresh_fails(
    rdap: RdapServer, http_host: HttpHost, cache_dir: Path, settings: Settings
) -> None:
    served = Response(bootstrap_file([[["com"], [f"{rdap.url}/"]]]), "application/json")
    settings.TAKEDOWN_RDAP_BOOTSTRAP = http_host.add_route("/b.json", served)
    rdap.add_domain("stale.com", rdap_domain("stale.com"))
    lookup_domain("stale.com")
    [cached] = cache_dir.iterdir()
    day_ago = time.time() - 24 * 3600 - 60
    os.utime(cached, (day_ago, day_ago))
    http_host.add_route("/b.json", status(503))

    facts = lookup_domain("stale.com")

    assert (facts.domain, http_host.hits("/b.json")) == ("stale.com", 2)


def test_lookup_bootstrap_url_not_json_means_no_service(
    http_host: HttpHost, cache_dir: Path, settings: Settings
) -> None:
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = True
    settings.TAKEDOWN_RDAP_BOOTSTRAP = http_host.add_route(
        "/bad.json", Response(b"<html>", "text/html")
    )

    with pytest.raises(NoRdapService):
        lookup_domain("example.com")
    assert list(cache_dir.glob("*")) == []


def test_domain_facts_equal_for_same_answer(rdap: RdapServer) -> None:
    rdap.add_domain("same.com", rdap_domain("same.com", registrant_country="FR"))

    first, second = lookup_domain("same.com"), lookup_domain("same.com")

    assert first == second
    assert isinstance(first, DomainFacts)


def test_lookup_bootstrap_by_host_name_resolves_through_configured_dns(
    rdap: RdapServer,
    http_host: HttpHost,
    dns_server: DnsServer,
    cache_dir: Path,
    settings: Settings,
) -> None:
    dns_server.add("bootstrap.sandbox.test", A=["127.0.0.1"])
    settings.TAKEDOWN_DNS_NAMESERVERS = [dns_server.address]
    served = Response(bootstrap_file([[["com"], [f"{rdap.url}/"]]]), "application/json")
    settings.TAKEDOWN_RDAP_BOOTSTRAP = http_host.add_route(
        "/b.json", served, host="bootstrap.sandbox.test"
    )
    rdap.add_domain("named.com", rdap_domain("named.com"))

    assert lookup_domain("named.com").domain == "named.com"
    assert http_host.counts == Counter({("bootstrap.sandbox.test", "/b.json"): 1})


def test_lookup_iana_bootstrap_unreachable_means_no_service(
    dns_server: DnsServer, cache_dir: Path, settings: Settings
) -> None:
    # No internet here: the sandbox DNS answers NXDOMAIN for data.iana.org. That IANA's is
    # the default is tested with the settings (tests/test_settings.py).
    settings.TAKEDOWN_RDAP_BOOTSTRAP = "https://data.iana.org/rdap/"
    settings.TAKEDOWN_DNS_NAMESERVERS = [dns_server.address]

    with pytest.raises(NoRdapService):
        lookup_domain("example.com")
    assert dns_server.count("data.iana.org", "A") == 1
    assert list(cache_dir.glob("*")) == []


@pytest.fixture
def untrusted_tls_server(tmp_path: Path) -> Iterator[str]:
    """A TLS listener on loopback with a self-signed certificate; yields its https URL."""
    import datetime
    import ipaddress
    import socket
    import ssl
    import threading

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve_one() -> None:
        try:
            conn, _ = listener.accept()
            with conn, context.wrap_socket(conn, server_side=True):
                pass
        except OSError:
            pass  # the client rejects the certificate and hangs up: expected

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}/"
    thread.join(timeout=5)
    listener.close()


def test_lookup_domain_untrusted_tls_certificate_is_refused(
    untrusted_tls_server: str, tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "tls.json"
    path.write_bytes(bootstrap_file([[["com"], [untrusted_tls_server]]]))
    settings.TAKEDOWN_RDAP_BOOTSTRAP = str(path)
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = True

    error = failure(lookup_domain, "example.com")

    assert (error.message, error.transient) == ("TLS certificate of 127.0.0.1 is not valid", False)
