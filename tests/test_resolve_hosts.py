"""lookup_host, resolve_hosts and the resolution service, against the local servers."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from takedown.directory.rules import clear_rule_cache
from takedown.models import DomainRecord, Host, HostResolution, OperatorRule
from takedown.models.link import store_stale_link_parties
from takedown.resolve import throttle
from takedown.resolve.facts import LookupFailed
from takedown.resolve.hosts import request_resolution, resolve_host
from takedown.resolve.lookup import lookup_host
from takedown.sandbox.rdap import rdap_domain, rdap_error, rdap_ip_network
from takedown.sandbox.whois import QUOTA_EXCEEDED
from tests.factories import FoundLinkFactory, HostFactory, NoticeFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

DE_RECORD = (
    "Domain: bilder-demo.de\r\nNserver: ns1.example.net\r\nStatus: connect\r\n"
    "Changed: 2024-01-01T00:00:00+01:00\r\n"
)


@pytest.fixture
def internet(settings, whois_server, rdap_server, dns_server, tmp_path: Path):
    """Point the product at the local servers and fill them with a small world."""
    rdap_server.add_domain(
        "leaky-demo.com",
        rdap_domain(
            "leaky-demo.com",
            registrar="Demo Registrar LLC",
            iana_id="4242",
            abuse_email="abuse@registrar-demo.com",
            abuse_phone="+1.5555550100",
            registrant_country="US",
            registrant_name="Leaky Images Inc.",
        ),
    )
    rdap_server.add_ip(
        "198.51.100.0/24",
        rdap_ip_network(
            "198.51.100.0",
            "198.51.100.255",
            name="DEMO-HOSTING-NET",
            country="DE",
            abuse_email="abuse@hoster-demo.de",
            org="Demo Hosting GmbH",
        ),
    )
    whois_server.add("bilder-demo.de", DE_RECORD)
    dns_server.add("img.leaky-demo.com", A=["198.51.100.7"])
    dns_server.add("cdn.leaky-demo.com", CNAME="edge.leaky-demo.com.")
    dns_server.add("edge.leaky-demo.com", A=["198.51.100.8"])
    dns_server.add("www.bilder-demo.de", A=["198.51.100.9"])
    bootstrap = rdap_server.write_bootstrap(tmp_path / "bootstrap", tlds=["com", "net", "org"])
    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = True
    settings.TAKEDOWN_WHOIS_SERVER = whois_server.address
    settings.TAKEDOWN_WHOIS_SERVERS = {}
    settings.TAKEDOWN_RDAP_BOOTSTRAP = str(bootstrap)
    settings.TAKEDOWN_DNS_NAMESERVERS = [dns_server.address]
    settings.TAKEDOWN_WHOIS_INTERVAL = 0
    settings.TAKEDOWN_RDAP_INTERVAL = 0
    clear_rule_cache()
    return {"whois": whois_server, "rdap": rdap_server, "dns": dns_server}


def lookup_json(target: str) -> tuple[int, dict]:
    out = StringIO()
    try:
        call_command("lookup_host", target, "--json", stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


def test_lookup_host_gtld_uses_rdap_for_domain_and_network(internet):
    code, data = lookup_json("https://img.leaky-demo.com/i/1.jpg?x=1")

    assert code == 0
    assert data["hostname"] == "img.leaky-demo.com"
    assert data["registered_domain"] == "leaky-demo.com"
    assert data["ips"] == ["198.51.100.7"]
    assert data["registrar"] == {
        "name": "Demo Registrar LLC",
        "iana_id": "4242",
        "abuse_email": "abuse@registrar-demo.com",
        "abuse_phone": "+1.5555550100",
        "country": "",
        "source": "rdap",
    }
    assert data["hosting"]["name"] == "Demo Hosting GmbH"
    assert (data["hosting"]["country"], data["hosting"]["abuse_email"]) == (
        "DE",
        "abuse@hoster-demo.de",
    )
    assert data["registrant"]["country"] == "US"
    assert {"role": "registrar_abuse", "email": "abuse@registrar-demo.com", "source": "rdap"} in (
        data["contacts"]
    )
    assert {"role": "hosting_abuse", "email": "abuse@hoster-demo.de", "source": "rdap"} in (
        data["contacts"]
    )
    assert data["jurisdiction"]["regimes"][:2] == ["gdpr", "dsa"]
    assert data["errors"] == []
    assert internet["whois"].queries == []


def test_lookup_host_cctld_without_rdap_falls_back_to_whois(internet):
    code, data = lookup_json("www.bilder-demo.de")

    assert code == 0
    assert internet["whois"].queries == ["-T dn,ace bilder-demo.de"]
    assert data["hosting"]["country"] == "DE"
    assert [e["source"] for e in data["errors"]] == []


def test_lookup_host_follows_cname_chain(internet):
    _, data = lookup_json("cdn.leaky-demo.com")

    assert data["cname_chain"] == ["edge.leaky-demo.com"]
    assert data["ips"] == ["198.51.100.8"]


def test_lookup_host_rule_beats_whois_for_platform(internet):
    amazon = OrganisationFactory(name="Amazon Web Services", country="US")
    OperatorRule.objects.create(
        match="cname_suffix", pattern="edge.leaky-demo.com", organisation=amazon, role="cdn"
    )
    clear_rule_cache()

    _, data = lookup_json("cdn.leaky-demo.com")

    assert data["cdn"]["name"] == "Amazon Web Services"
    assert data["cdn"]["source"] == "rule"
    assert data["cdn"]["matched"] == "cname_suffix edge.leaky-demo.com"


def test_lookup_host_one_failing_source_gives_partial_result(internet):
    internet["rdap"].add_domain("leaky-demo.com", rdap_error(500, "boom"))
    internet["whois"].add(
        "leaky-demo.com", "   Domain Name: LEAKY-DEMO.COM\r\n   Registrar: WHOIS Registrar\r\n"
    )

    code, data = lookup_json("img.leaky-demo.com")

    assert code == 0
    assert data["hosting"]["name"] == "Demo Hosting GmbH"
    assert data["registrar"]["name"] == "WHOIS Registrar"
    assert data["registrar"]["source"] == "whois"
    assert [(e["source"], e["transient"]) for e in data["errors"]] == [("rdap", True)]


def test_lookup_host_nothing_found_exits_1(internet):
    code, data = lookup_json("nothing-here.com")

    assert code == 1
    assert data["ips"] == []
    assert [e["source"] for e in data["errors"]] == ["dns", "rdap"]
    assert data["jurisdiction"]["needs_decision"] is True


def test_lookup_host_bad_input_exits_2(internet):
    from django.core.management import CommandError

    with pytest.raises(CommandError) as caught:
        call_command("lookup_host", "javascript:alert(1)")

    assert caught.value.returncode == 2


@pytest.mark.parametrize(
    "target", ["127.0.0.1", "http://10.0.0.1/x.jpg", "[::1]", "169.254.169.254"]
)
def test_lookup_host_private_address_is_bad_input(settings, target):
    from django.core.management import CommandError

    settings.TAKEDOWN_ALLOW_PRIVATE_NETWORK = False

    with pytest.raises(CommandError, match="is not a public address") as caught:
        call_command("lookup_host", target, "--json")

    assert caught.value.returncode == 2


def test_lookup_host_cache_answers_second_time_without_queries(internet):
    lookup_host("img.leaky-demo.com")
    hits = internet["rdap"].hits("/domain/leaky-demo.com")

    lookup_host("cdn.leaky-demo.com")
    lookup_host("img.leaky-demo.com")

    assert hits == 1
    assert internet["rdap"].hits("/domain/leaky-demo.com") == 1
    assert DomainRecord.objects.get(registered_domain="leaky-demo.com").source == "rdap"


def test_lookup_host_refresh_asks_again(internet):
    lookup_host("img.leaky-demo.com")

    lookup_host("img.leaky-demo.com", refresh=True)

    assert internet["rdap"].hits("/domain/leaky-demo.com") == 2


def test_lookup_host_quota_answer_blocks_the_server(internet, settings):
    internet["whois"].add("bilder-demo.de", QUOTA_EXCEEDED)

    _, data = lookup_json("www.bilder-demo.de")

    assert [(e["source"], e["transient"]) for e in data["errors"]] == [("whois", True)]
    with pytest.raises(LookupFailed, match="blocked after a quota answer"):
        throttle.wait_turn("whois:whois.denic.de", 0)


def test_throttle_spaces_queries_to_one_server(settings):
    import time

    started = time.monotonic()
    for _ in range(3):
        throttle.wait_turn("whois:example.test", 0.1)

    # Two intervals; Redis keeps the slots in whole milliseconds on its own clock, so this
    # process's clock may see a hair less than 0.2 s.
    assert time.monotonic() - started >= 0.195


def test_resolve_host_records_snapshot_and_organisations(internet):
    link = FoundLinkFactory(
        host=HostFactory(hostname="img.leaky-demo.com", registered_domain="leaky-demo.com")
    )

    resolution = resolve_host(link.host_id)

    host = Host.objects.get(pk=link.host_id)
    assert host.status == "resolved"
    assert host.current == resolution
    assert resolution.hosting.name == "Demo Hosting GmbH"
    assert resolution.hosting.contacts.get().value == "abuse@hoster-demo.de"
    assert resolution.registrar.external_key == "iana-registrar:4242"
    assert resolution.data["ips"] == ["198.51.100.7"]
    assert host.needs_decision is False
    # The links get the host's new party (FoundLink.party) in one pass for many hosts, later.
    assert host.link_party_stale is True
    link.refresh_from_db()
    assert (link.party, link.party_role) == (None, "")
    assert store_stale_link_parties() == 1
    link.refresh_from_db()
    # The site's operator comes before its hosting provider.
    assert (link.party, link.party_role) == (resolution.operator, "site_operator")
    assert Host.objects.get(pk=link.host_id).link_party_stale is False
    assert store_stale_link_parties() == 0
    assert resolution.operator.name == "Leaky Images Inc."


def test_resolve_host_twice_claims_once(internet):
    host = HostFactory(hostname="img.leaky-demo.com", registered_domain="leaky-demo.com")
    stale = Host.objects.get(pk=host.pk)
    resolve_host(host.pk)

    # A duplicate message for a host that is no longer due: claimed again only via transition.
    Host.objects.filter(pk=host.pk).update(status="resolving")
    assert resolve_host(stale.pk) is None
    assert HostResolution.objects.filter(host=host).count() == 1


def test_resolve_host_change_of_hosting_flags_open_notices(internet):
    link = FoundLinkFactory(
        host=HostFactory(hostname="img.leaky-demo.com", registered_domain="leaky-demo.com")
    )
    first = resolve_host(link.host_id)
    notice = NoticeFactory(case=link.case, recipient=first.hosting)
    notice.links.add(link)
    internet["rdap"].add_ip(
        "198.51.100.0/24",
        rdap_ip_network(
            "198.51.100.0",
            "198.51.100.255",
            name="OTHER-NET",
            country="NL",
            abuse_email="abuse@other.nl",
            org="Other Hosting BV",
        ),
    )
    from takedown.models import NetworkRecord

    NetworkRecord.objects.all().delete()
    request_resolution([Host.objects.get(pk=link.host_id)])

    second = resolve_host(link.host_id)

    assert second.hosting.name == "Other Hosting BV"
    assert Host.objects.get(pk=link.host_id).status == "changed"
    store_stale_link_parties()
    link.refresh_from_db()
    assert (link.party, link.party_role) == (second.operator, "site_operator")
    notice.refresh_from_db()
    assert notice.needs_reroute is True
    assert link.case.events.filter(kind="notice.reroute", notice=notice).count() == 1


def test_resolve_host_all_sources_down_is_failed_with_retry_later(internet, settings):
    settings.TAKEDOWN_DNS_NAMESERVERS = ["127.0.0.1:9"]  # nothing listens: DNS times out
    settings.TAKEDOWN_DNS_TIMEOUT = 1
    internet["rdap"].add_domain("leaky-demo.com", rdap_error(503, "down"))
    internet["whois"].add("leaky-demo.com", QUOTA_EXCEEDED)
    host = HostFactory(hostname="img.leaky-demo.com", registered_domain="leaky-demo.com")

    resolution = resolve_host(host.pk)

    host.refresh_from_db()
    assert host.status == "failed"
    assert all(error["transient"] for error in resolution.errors)
    assert host.next_resolve_at > resolution.created_at


@pytest.mark.django_db(transaction=True)
def test_resolve_hosts_command_sync_resolves_due_hosts_of_case(internet):
    link = FoundLinkFactory(
        host=HostFactory(hostname="img.leaky-demo.com", registered_domain="leaky-demo.com")
    )
    FoundLinkFactory(
        case=link.case,
        host=HostFactory(hostname="www.bilder-demo.de", registered_domain="bilder-demo.de"),
    )
    out = StringIO()

    call_command("resolve_hosts", "--case", link.case.reference, "--sync", stdout=out)

    assert out.getvalue().splitlines() == [
        "resolving 2 hosts on 2 registered domains",
        "  2/2 hosts",
        "the links of 2 hosts got their new party",
        "done: 2 resolved",
    ]
    assert set(Host.objects.values_list("status", flat=True)) == {"resolved"}
    # The run ends with every link carrying its host's party (FoundLink.party).
    assert not Host.objects.filter(link_party_stale=True).exists()
    link.refresh_from_db()
    assert link.party_role == "site_operator"


def test_throttle_block_is_not_extended_by_refused_queries(settings):
    throttle.block("whois:example.test", 0.2)

    with pytest.raises(LookupFailed) as caught:
        throttle.wait_turn("whois:example.test", 0.01)

    assert caught.value.quota is False  # a refusal of ours never restarts the block
    import time

    time.sleep(0.25)
    throttle.wait_turn("whois:example.test", 0.01)


def test_throttle_queue_full_reserves_nothing(settings):
    throttle.wait_turn("rdap:busy.test", 10)  # takes the slot; the next is 10 s away

    for _ in range(5):
        with pytest.raises(LookupFailed, match="queued"):
            throttle.wait_turn("rdap:busy.test", 10, max_wait=1)

    from takedown.models import ServerThrottle

    if settings.CELERY_BROKER_URL.startswith("redis"):
        return  # the Redis flavour is covered by the same code path in the Lua script
    slot = ServerThrottle.objects.get(server="rdap:busy.test").next_slot_at
    from django.utils import timezone

    assert (slot - timezone.now()).total_seconds() <= 10


def test_resolve_host_transient_failure_keeps_last_good_resolution(internet, settings):
    host = HostFactory(hostname="img.leaky-demo.com", registered_domain="leaky-demo.com")
    good = resolve_host(host.pk)
    settings.TAKEDOWN_DNS_NAMESERVERS = ["127.0.0.1:9"]
    settings.TAKEDOWN_DNS_TIMEOUT = 1
    internet["rdap"].add_domain("leaky-demo.com", rdap_error(503, "down"))
    DomainRecord.objects.all().delete()
    request_resolution([Host.objects.get(pk=host.pk)])

    failed = resolve_host(host.pk)

    host.refresh_from_db()
    assert host.status == "failed"
    assert host.current == good
    assert failed.hosting is None  # the failed snapshot is kept as evidence, not as current


def test_resolve_hosts_command_queues_case_hosts_with_a_lease(internet):
    from django.utils import timezone

    link = FoundLinkFactory(
        host=HostFactory(hostname="img.leaky-demo.com", registered_domain="leaky-demo.com")
    )
    out = StringIO()

    call_command("resolve_hosts", "--case", link.case.reference, stdout=out)
    call_command("resolve_hosts", "--case", link.case.reference, stdout=out)

    assert out.getvalue().splitlines() == [
        "queued 1 hosts on 1 registered domains",
        "queued 0 hosts on 0 registered domains",
    ]
    assert Host.objects.get(pk=link.host_id).next_resolve_at > timezone.now()


def test_lookup_host_json_parties_keep_their_shape_per_role(internet):
    amazon = OrganisationFactory(name="Amazon Web Services", country="US")
    OperatorRule.objects.create(
        match="cname_suffix", pattern="edge.leaky-demo.com", organisation=amazon, role="cdn"
    )
    clear_rule_cache()

    out = StringIO()
    call_command("lookup_host", "cdn.leaky-demo.com", "--json", stdout=out)
    text = out.getvalue()

    # Byte for byte: the JSON is read by scripts, and HostResolution.data by the case page.
    parties = text.split('"platform": ', 1)[1].split(', "contacts": ', 1)[0]
    assert parties == (
        'null, "cdn": {"name": "Amazon Web Services", "organisation_id": ORG, "country": "US", '
        '"abuse_email": "", "source": "rule", "matched": "cname_suffix edge.leaky-demo.com"}, '
        '"hosting": {"name": "Demo Hosting GmbH", "network": "DEMO-HOSTING-NET", '
        '"handle": "198.51.100.0 - 198.51.100.255", "country": "DE", '
        '"abuse_email": "abuse@hoster-demo.de", "source": "rdap"}, '
        '"registrar": {"name": "Demo Registrar LLC", "iana_id": "4242", '
        '"abuse_email": "abuse@registrar-demo.com", "abuse_phone": "+1.5555550100", '
        '"country": "", "source": "rdap"}, '
        '"registrant": {"name": "Leaky Images Inc.", "organization": "Leaky Images Inc.", '
        '"country": "US", "email": "", "privacy_proxy": false, "source": "rdap"}'
    ).replace("ORG", str(amazon.pk))


def lookup_many(*targets: str) -> tuple[int, object]:
    out = StringIO()
    try:
        call_command("lookup_host", *targets, "--json", stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


def test_lookup_host_several_hosts_prints_a_list_in_order(internet):
    code, data = lookup_many("www.bilder-demo.de", "img.leaky-demo.com")

    assert code == 0
    assert [item["hostname"] for item in data] == ["www.bilder-demo.de", "img.leaky-demo.com"]
    assert data[1]["hosting"]["name"] == "Demo Hosting GmbH"


def test_lookup_host_several_hosts_one_without_party_exits_1(internet):
    code, data = lookup_many("img.leaky-demo.com", "nothing-here.com")

    assert code == 1
    assert [item["hostname"] for item in data] == ["img.leaky-demo.com", "nothing-here.com"]
    assert data[1]["ips"] == []


def test_lookup_host_several_hosts_names_each_bad_one(internet):
    from django.core.management import CommandError

    with pytest.raises(CommandError) as caught:
        call_command("lookup_host", "img.leaky-demo.com", "javascript:alert(1)", "a b", "--json")

    assert caught.value.returncode == 2
    assert "'javascript:alert(1)'" in str(caught.value)
    assert "'a b'" in str(caught.value)
    assert internet["rdap"].hits("/domain/leaky-demo.com") == 0
