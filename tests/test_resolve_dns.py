"""resolve_host against the sandbox DNS server, reached only through TAKEDOWN_DNS_NAMESERVERS."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from pytest_django.fixtures import Settings

from takedown.resolve.dns import resolve_host, resolve_many
from takedown.resolve.facts import DnsFacts, LookupFailed
from takedown.sandbox.dns import DnsServer


@pytest.fixture
def nameserver(dns_server: DnsServer, settings: Settings) -> DnsServer:
    settings.TAKEDOWN_DNS_NAMESERVERS = [dns_server.address]
    settings.TAKEDOWN_DNS_TIMEOUT = 2
    return dns_server


def test_resolve_host_cname_chain_to_cdn_then_addresses(nameserver: DnsServer) -> None:
    nameserver.add("img.shop.example", CNAME="shop.example.edgekey.net.")
    nameserver.add("shop.example.edgekey.net", CNAME="E1234.A.AkamaiEdge.net.")
    nameserver.add("e1234.a.akamaiedge.net", A=["192.0.2.10", "192.0.2.11"])

    facts = resolve_host("IMG.shop.example.")

    assert facts == DnsFacts(
        hostname="img.shop.example",
        ips=["192.0.2.10", "192.0.2.11"],
        cname_chain=["shop.example.edgekey.net", "e1234.a.akamaiedge.net"],
    )


def test_resolve_host_ipv6_addresses_follow_ipv4(nameserver: DnsServer) -> None:
    nameserver.add("dual.example", A=["192.0.2.1"], AAAA=["2001:db8::1", "2001:db8::2"])

    facts = resolve_host("dual.example")

    assert facts.ips == ["192.0.2.1", "2001:db8::1", "2001:db8::2"]
    assert facts.nxdomain is False


def test_resolve_host_ipv6_only_keeps_chain(nameserver: DnsServer) -> None:
    nameserver.add("v6.example", CNAME="v6.cdn.example.")
    nameserver.add("v6.cdn.example", AAAA=["2001:db8::6"])

    facts = resolve_host("v6.example")

    assert (facts.ips, facts.cname_chain) == (["2001:db8::6"], ["v6.cdn.example"])


def test_resolve_host_without_aaaa_is_fine(nameserver: DnsServer) -> None:
    nameserver.add("v4.example", A=["198.51.100.7"])

    assert resolve_host("v4.example").ips == ["198.51.100.7"]
    assert nameserver.count("v4.example", "AAAA") == 1


def test_resolve_host_nxdomain_is_an_answer(nameserver: DnsServer) -> None:
    facts = resolve_host("gone.example")

    assert facts == DnsFacts(hostname="gone.example", nxdomain=True)
    assert nameserver.count("gone.example", "AAAA") == 0


def test_resolve_host_dangling_cname_keeps_chain(nameserver: DnsServer) -> None:
    nameserver.add("old.example", CNAME="deleted-bucket.s3.example.")

    facts = resolve_host("old.example")

    assert facts == DnsFacts(
        hostname="old.example", cname_chain=["deleted-bucket.s3.example"], nxdomain=True
    )


def test_resolve_host_servfail_is_transient(nameserver: DnsServer) -> None:
    nameserver.add("broken.example", rcode="SERVFAIL")

    with pytest.raises(LookupFailed) as caught:
        resolve_host("broken.example")

    assert (caught.value.source, caught.value.transient) == ("dns", True)


def test_resolve_host_silent_server_times_out_within_lifetime(
    nameserver: DnsServer, settings: Settings
) -> None:
    nameserver.add("silent.example", silent=True)
    settings.TAKEDOWN_DNS_TIMEOUT = 0.4
    started = time.monotonic()

    with pytest.raises(LookupFailed) as caught:
        resolve_host("silent.example")

    assert (caught.value.message, caught.value.transient) == ("timed out", True)
    assert time.monotonic() - started < 1.5


def test_resolve_host_reads_comma_separated_nameserver_string(
    dns_server: DnsServer, settings: Settings
) -> None:
    dns_server.add("plain.example", A=["203.0.113.5"])
    settings.TAKEDOWN_DNS_NAMESERVERS = f" {dns_server.address} ,"

    assert resolve_host("plain.example").ips == ["203.0.113.5"]


def test_resolve_host_ip_literal_needs_no_query(nameserver: DnsServer) -> None:
    assert resolve_host("[2001:db8::5]") == DnsFacts(hostname="[2001:db8::5]", ips=["2001:db8::5"])
    assert resolve_host("192.0.2.9") == DnsFacts(hostname="192.0.2.9", ips=["192.0.2.9"])


def test_resolve_host_invalid_name_is_permanent(nameserver: DnsServer) -> None:
    with pytest.raises(LookupFailed) as caught:
        resolve_host("a" * 64 + ".example")

    assert caught.value.transient is False


def test_resolve_host_nameserver_must_be_an_address(settings: Settings) -> None:
    settings.TAKEDOWN_DNS_NAMESERVERS = ["dns.example:53"]

    with pytest.raises(ImproperlyConfigured):
        resolve_host("www.example")


def test_resolve_many_answers_as_resolve_host(nameserver: DnsServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    nameserver.add("img.shop.example", CNAME="shop.example.edgekey.net.")
    nameserver.add("shop.example.edgekey.net", A=["192.0.2.10"], AAAA=["2001:db8::10"])
    nameserver.add("v6.example", AAAA=["2001:db8::6"])
    nameserver.add("old.example", CNAME="deleted-bucket.s3.example.")
    names = ["img.shop.example", "v6.example", "old.example", "gone.example", "192.0.2.9"]

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = resolve_many(names, pool)
        together = {name: futures[name].result() for name in names}

    assert together == {name: resolve_host(name) for name in names}
    assert together["img.shop.example"].ips == ["192.0.2.10", "2001:db8::10"]
    assert together["old.example"].nxdomain is True


def test_resolve_many_failure_raises_from_its_future(nameserver: DnsServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    nameserver.add("broken.example", rcode="SERVFAIL")

    with ThreadPoolExecutor(max_workers=2) as pool:
        future = resolve_many(["broken.example"], pool)["broken.example"]
        with pytest.raises(LookupFailed, match="no server could answer"):
            future.result()


def test_resolve_many_truncated_answer_is_asked_again_over_tcp(nameserver: DnsServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    nameserver.add("big.example", A=["192.0.2.20", "192.0.2.21"], truncate=True)

    with ThreadPoolExecutor(max_workers=2) as pool:
        facts = resolve_many(["big.example"], pool)["big.example"].result()

    assert facts == DnsFacts(hostname="big.example", ips=["192.0.2.20", "192.0.2.21"])


def test_resolve_many_asks_the_next_nameserver_after_servfail(
    nameserver: DnsServer, settings: Settings
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    nameserver.add("shared.example", rcode="SERVFAIL")
    with DnsServer({"shared.example": {"A": ["192.0.2.30"]}}) as second:
        settings.TAKEDOWN_DNS_NAMESERVERS = [nameserver.address, second.address]
        with ThreadPoolExecutor(max_workers=2) as pool:
            facts = resolve_many(["shared.example"], pool)["shared.example"].result()

        assert facts.ips == ["192.0.2.30"]
        assert second.count("shared.example", "A") == 1


def test_resolve_many_silent_server_times_out_within_lifetime(
    nameserver: DnsServer, settings: Settings
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    nameserver.add("silent.example", silent=True)
    nameserver.add("fine.example", A=["192.0.2.40"])
    settings.TAKEDOWN_DNS_TIMEOUT = 0.4
    started = time.monotonic()

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = resolve_many(["silent.example", "fine.example"], pool)
        with pytest.raises(LookupFailed) as caught:
            futures["silent.example"].result()
        fine = futures["fine.example"].result()

    assert (caught.value.message, caught.value.transient) == ("timed out", True)
    assert time.monotonic() - started < 1.5
    assert fine.ips == ["192.0.2.40"]


def test_resolve_many_asks_each_name_once_per_type(nameserver: DnsServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    names = [f"h{n}.example" for n in range(300)]
    for n, name in enumerate(names):
        nameserver.add(name, A=[f"192.0.2.{n % 250 + 1}"])

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = resolve_many(names, pool)
        answers = {name: futures[name].result() for name in names}

    assert answers["h7.example"].ips == ["192.0.2.8"]
    assert sum(nameserver.counts.values()) == 600
