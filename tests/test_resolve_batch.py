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

from takedown.dispatch import dispatch_due_work
from takedown.models import CaseEvent, Host, MetricTotal, NetworkClaim, NetworkRecord
from takedown.models.link import store_stale_link_parties
from takedown.resolve.cache import _address_key
from takedown.resolve.hosts import look_up_batch, record_batch, request_resolution, resolve_batch
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
    # One registered domain, asked once: one cache miss for the operators' hit ratio.
    totals = dict(MetricTotal.objects.values_list("name", "value"))
    assert (totals.get("resolve_cache_hits", 0), totals["resolve_cache_misses"]) == (0, 1)
    resolve_batch([host.pk for host in hosts])
    assert MetricTotal.objects.get(name="resolve_cache_hits").value == 1


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


def test_record_batch_leaves_a_host_released_meanwhile_to_its_next_worker(internet):  # noqa: F811
    """Looked up on one thread, recorded on another (resolve_hosts --sync): a host whose claim
    was released in between (stale) is not recorded, the others are, in one statement."""
    hosts = leaky_hosts(internet, 2)
    looked_up = look_up_batch([host.pk for host in hosts])
    assert set(Host.objects.values_list("status", flat=True)) == {"resolving"}
    Host.objects.filter(pk=hosts[1].pk).update(status="pending", claimed_at=None)

    resolutions = record_batch(looked_up)

    assert resolutions[0].host.status == "resolved"
    assert Host.objects.get(pk=hosts[0].pk).current == resolutions[0]
    assert Host.objects.get(pk=hosts[0].pk).claimed_at is None
    released = Host.objects.get(pk=hosts[1].pk)
    assert (released.status, released.current) == ("pending", None)
    assert not CaseEvent.objects.filter(host=released, kind="host.resolved").exists()


def test_record_batch_failure_puts_the_hosts_back(internet, monkeypatch):  # noqa: F811
    hosts = leaky_hosts(internet, 2)
    looked_up = look_up_batch([host.pk for host in hosts])

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("takedown.resolve.hosts.record_resolutions", broken)
    with pytest.raises(RuntimeError):
        record_batch(looked_up)

    assert set(Host.objects.values_list("status", flat=True)) == {"failed"}
    assert all(host.next_resolve_at > timezone.now() for host in Host.objects.all())


def test_request_resolution_makes_many_hosts_due_with_an_event_each(internet):  # noqa: F811
    hosts = leaky_hosts(internet, 3)
    resolve_batch([hosts[0].pk, hosts[1].pk])
    Host.objects.filter(pk=hosts[1].pk).update(status="resolving")  # a worker has it

    assert request_resolution(Host.objects.all()) == 2

    statuses = dict(Host.objects.values_list("pk", "status"))
    assert statuses == {hosts[0].pk: "pending", hosts[1].pk: "resolving", hosts[2].pk: "pending"}
    assert CaseEvent.objects.filter(host=hosts[0], kind="host.pending").count() == 1
    assert not CaseEvent.objects.filter(host=hosts[2], kind="host.pending").exists()
    assert Host.objects.get(pk=hosts[0].pk).next_resolve_at <= timezone.now()


def test_links_get_the_new_party_in_one_pass_after_the_batch(internet):  # noqa: F811
    hosts = leaky_hosts(internet, 2)
    links = [FoundLinkFactory(host=host) for host in hosts]
    other = FoundLinkFactory(host=HostFactory(hostname="www.bilder-demo.de"))

    resolve_batch([host.pk for host in hosts])

    assert set(Host.objects.filter(link_party_stale=True)) == set(hosts)
    assert store_stale_link_parties() == 2
    for link in links:
        link.refresh_from_db()
        assert link.party is not None
        assert link.party == Host.objects.get(pk=link.host_id).current.operator
    other.refresh_from_db()
    assert (other.party, other.party_role) == (None, "")
    assert not Host.objects.filter(link_party_stale=True).exists()
    # Resolved again to the same party: nothing to copy.
    request_resolution(hosts)
    resolve_batch([host.pk for host in hosts])
    assert store_stale_link_parties() == 0


def test_dispatcher_copies_the_parties_left_over(internet):  # noqa: F811
    link = FoundLinkFactory(host=leaky_hosts(internet, 1)[0])
    resolve_batch([link.host_id])

    assert dispatch_due_work()["link_parties"] == 1

    link.refresh_from_db()
    assert link.party_role == "site_operator"
