"""Resolving hosts in batches: one query per registered domain and per network, one claim and
one record for the whole batch, and the network cache's single range per network."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection
from django.utils import timezone

from takedown.models import CaseEvent, Host, NetworkClaim, NetworkRecord
from takedown.resolve.cache import _address_key
from takedown.resolve.hosts import resolve_batch
from takedown.resolve.lookup import lookup_host, lookup_hosts
from takedown.sandbox.rdap import rdap_ip_network
from tests.factories import FoundLinkFactory, HostFactory
from tests.test_resolve_hosts import internet  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def ip_queries(rdap) -> int:
    return sum(n for (_vhost, target), n in rdap.counts.items() if target.startswith("/ip/"))


def leaky_hosts(internet, count: int = 3) -> list[Host]:  # noqa: F811
    internet["dns"].add("www.leaky-demo.com", A=["198.51.100.10"])
    names = ["img.leaky-demo.com", "cdn.leaky-demo.com", "www.leaky-demo.com"][:count]
    return [HostFactory(hostname=name, registered_domain="leaky-demo.com") for name in names]


def test_resolve_batch_hosts_of_one_domain_make_one_domain_query(internet):  # noqa: F811
    hosts = leaky_hosts(internet)

    resolutions = resolve_batch([host.pk for host in hosts])

    assert internet["rdap"].hits("/domain/leaky-demo.com") == 1
    assert [r.host.status for r in resolutions] == ["resolved"] * 3
    assert [r.data["ips"] for r in resolutions] == [
        ["198.51.100.7"],
        ["198.51.100.8"],
        ["198.51.100.10"],
    ]
    assert {r.registrar.external_key for r in resolutions} == {"iana-registrar:4242"}
    assert Host.objects.filter(status="resolved", current__isnull=False).count() == 3


def test_resolve_batch_addresses_of_one_network_make_one_network_query(internet):  # noqa: F811
    hosts = leaky_hosts(internet)

    resolve_batch([host.pk for host in hosts])

    assert ip_queries(internet["rdap"]) == 1
    assert NetworkRecord.objects.count() == 1


def test_resolve_batch_writes_claim_and_result_event_per_host(internet):  # noqa: F811
    hosts = leaky_hosts(internet, 2)

    resolutions = resolve_batch([host.pk for host in hosts])

    for host, resolution in zip(hosts, resolutions, strict=True):
        events = list(
            CaseEvent.objects.filter(host=host).order_by("pk").values_list("kind", "data")
        )
        assert events == [
            ("host.resolving", {"from": "pending", "to": "resolving", "id": host.pk}),
            (
                "host.resolved",
                {
                    "from": "resolving",
                    "to": "resolved",
                    "id": host.pk,
                    "resolution": resolution.pk,
                    "changed": [],
                },
            ),
        ]
    assert Host.objects.get(pk=hosts[0].pk).attempts == 0


def test_resolve_batch_skips_hosts_claimed_elsewhere(internet):  # noqa: F811
    hosts = leaky_hosts(internet, 2)
    Host.objects.filter(pk=hosts[1].pk).update(status="resolving")

    resolutions = resolve_batch([host.pk for host in hosts])

    assert resolutions[0].host.status == "resolved"
    assert resolutions[1] is None
    assert Host.objects.get(pk=hosts[1].pk).status == "resolving"


def test_lookup_host_smallest_cached_range_wins(internet):  # noqa: F811
    later = timezone.now() + timedelta(days=1)
    for start, end, name in [
        ("198.51.100.0", "198.51.255.255", "PROVIDER-BLOCK"),
        ("198.51.100.0", "198.51.100.255", "CUSTOMER-NET"),
    ]:
        NetworkRecord.objects.create(
            start_key=_address_key(start),
            end_key=_address_key(end),
            fetched_at=timezone.now(),
            expires_at=later,
            data={"ip": start, "source": "rdap", "name": name, "start": start, "end": end},
        )

    result = lookup_host("img.leaky-demo.com")

    assert result.hosting.network == "CUSTOMER-NET"
    assert ip_queries(internet["rdap"]) == 0


def test_network_record_range_is_unique():
    values = {"start_key": "0" * 32, "end_key": "f" * 32, "fetched_at": timezone.now()}
    NetworkRecord.objects.create(expires_at=timezone.now(), **values)

    with pytest.raises(IntegrityError):
        NetworkRecord.objects.create(expires_at=timezone.now(), **values)


def test_lookup_host_refresh_replaces_cached_network(internet):  # noqa: F811
    lookup_host("img.leaky-demo.com")
    internet["rdap"].add_ip(
        "198.51.100.0/24",
        rdap_ip_network(
            "198.51.100.0", "198.51.100.255", name="RENAMED-NET", country="NL", org="Other BV"
        ),
    )

    result = lookup_host("img.leaky-demo.com", refresh=True)

    assert result.hosting.network == "RENAMED-NET"
    assert NetworkRecord.objects.get().data["name"] == "RENAMED-NET"


@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_resolve_hosts_command_processes_share_the_batches(internet):  # noqa: F811
    hosts = leaky_hosts(internet)
    case = FoundLinkFactory(host=hosts[0]).case
    for host in hosts[1:]:
        FoundLinkFactory(case=case, host=host)
    internet["dns"].add("www.bilder-demo.de", A=["198.51.100.9"])
    FoundLinkFactory(
        case=case,
        host=HostFactory(hostname="www.bilder-demo.de", registered_domain="bilder-demo.de"),
    )
    out = StringIO()

    call_command("resolve_hosts", "--sync", "--workers", "1", "--processes", "2", stdout=out)

    assert out.getvalue().splitlines()[-1] == "done: 4 resolved"
    assert set(Host.objects.values_list("status", flat=True)) == {"resolved"}
    assert internet["rdap"].hits("/domain/leaky-demo.com") == 1
    assert internet["whois"].queries == ["-T dn,ace bilder-demo.de"]
    assert ip_queries(internet["rdap"]) == 1


@pytest.mark.django_db(transaction=True)
def test_lookup_hosts_answers_its_own_network_before_waiting_for_another_process(internet):  # noqa: F811
    """Two processes, each holding the claim on a block the other needs: each must ask about
    and cache its own block first, or both wait until the claims time out (60 s)."""
    internet["rdap"].add_ip(
        "203.0.113.0/24",
        rdap_ip_network("203.0.113.0", "203.0.113.255", name="OTHER-NET", country="NL"),
    )
    internet["dns"].add("img2.leaky-demo.com", A=["203.0.113.5"])
    # The other process holds 203.0.113.0/24 and, like us, needs 198.51.100.0/24 answered
    # before it goes on; it gives up after 10 s.
    NetworkClaim.objects.create(block="203.0.113.0/24", claimed_at=timezone.now())
    saw_ours: list[bool] = []

    def other_process() -> None:
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if NetworkRecord.objects.filter(data__name="DEMO-HOSTING-NET").exists():
                    saw_ours.append(True)
                    break
                time.sleep(0.02)
            NetworkClaim.objects.filter(block="203.0.113.0/24").update(claimed_at=None)
        finally:
            connection.close()

    thread = threading.Thread(target=other_process)
    thread.start()
    started = time.monotonic()
    results = lookup_hosts(["img.leaky-demo.com", "img2.leaky-demo.com"])
    thread.join()

    assert saw_ours == [True]
    assert time.monotonic() - started < 8
    assert [r.hosting.network for r in results] == ["DEMO-HOSTING-NET", "OTHER-NET"]
    assert ip_queries(internet["rdap"]) == 2
    assert NetworkClaim.objects.filter(claimed_at__isnull=False).count() == 0
