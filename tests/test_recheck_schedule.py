"""The recheck schedule: intervals per status, how links become due, leasing and claiming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from takedown.checks.schedule import (
    CLAIM_LEASE,
    DISPATCH_LEASE,
    INTAKE_CURSOR,
    RecheckSettings,
    claim_leased,
    feed_new_links,
    lease_due_links,
    next_check_after,
    parse_stages,
    release_hosts,
)
from takedown.dispatch import queue_recheck
from takedown.models import Counter, FoundLink, Notice
from takedown.schedule import pack
from takedown.workflow import transition
from tests.factories import CaseFactory, FoundLinkFactory, HostFactory, NoticeFactory

L = FoundLink.Status
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def conf(settings) -> RecheckSettings:
    settings.TAKEDOWN_RECHECK_PENDING_HOURS = 24
    settings.TAKEDOWN_RECHECK_CONFIRM_HOURS = 12
    settings.TAKEDOWN_RECHECK_AFTER_REMOVAL = "7:30,30:180"
    settings.TAKEDOWN_RECHECK_RETRY_MINUTES = 30
    settings.TAKEDOWN_RECHECK_INTAKE_ATTEMPTS = 3
    settings.TAKEDOWN_RECHECK_HOST_LINKS = 3
    settings.TAKEDOWN_RECHECK_DISPATCH_LINKS = 100
    settings.TAKEDOWN_RECHECK_TASK_LINKS = 4
    settings.TAKEDOWN_RECHECK_INTAKE_BATCH = 5
    settings.TAKEDOWN_RECHECK_INTAKE_SETTLE_MINUTES = 10
    return RecheckSettings.load()


def after(status: str, verdict: str, conf: RecheckSettings, **kw) -> timedelta | None:
    kw.setdefault("confirmed_removed", False)
    kw.setdefault("failures", 0)
    kw.setdefault("removed_at", None)
    due = next_check_after(status, verdict=verdict, now=NOW, conf=conf, **kw)
    return None if due is None else due - NOW


# --- intervals ---------------------------------------------------------------------------------


def test_next_check_notified_is_daily(conf: RecheckSettings) -> None:
    assert after(L.NOTIFIED, "online_same", conf) == timedelta(hours=24)
    assert after(L.REAPPEARED, "online_changed", conf) == timedelta(hours=24)


def test_next_check_first_removed_is_confirmed_soon(conf: RecheckSettings) -> None:
    assert after(L.NOTIFIED, "removed", conf) == timedelta(hours=12)
    assert after(L.FOUND, "removed", conf) == timedelta(hours=12)


@pytest.mark.parametrize(
    ("removed_ago", "expected"),
    [
        (timedelta(0), timedelta(days=7)),
        (timedelta(days=29), timedelta(days=7)),
        (timedelta(days=30), timedelta(days=30)),
        (timedelta(days=209), timedelta(days=30)),
        (timedelta(days=210), None),  # a month plus six months: no more checks
    ],
)
def test_next_check_after_removal_stages(
    conf: RecheckSettings, removed_ago: timedelta, expected: timedelta | None
) -> None:
    got = after(L.REMOVED, "removed", conf, confirmed_removed=True, removed_at=NOW - removed_ago)
    assert got == expected


def test_next_check_found_with_evidence_stops(conf: RecheckSettings) -> None:
    assert after(L.FOUND, "online_same", conf) is None
    assert after(L.EXCLUDED, "removed", conf) is None


def test_next_check_unreachable_backs_off_to_the_interval(conf: RecheckSettings) -> None:
    delays = [after(L.NOTIFIED, "unreachable", conf, failures=n) for n in range(1, 8)]
    assert delays == [
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=4),
        timedelta(hours=8),
        timedelta(hours=16),
        timedelta(hours=24),
    ]


def test_next_check_unreachable_found_gives_up_after_attempts(conf: RecheckSettings) -> None:
    assert after(L.FOUND, "unreachable", conf, failures=2) == timedelta(hours=1)
    assert after(L.FOUND, "unreachable", conf, failures=3) is None


def test_parse_stages_rejects_nonsense() -> None:
    assert parse_stages("7:30, 30:180") == (
        (timedelta(days=7), timedelta(days=30)),
        (timedelta(days=30), timedelta(days=180)),
    )
    for bad in ("7", "0:30", "x:y", "7:-1"):
        with pytest.raises(ImproperlyConfigured, match="TAKEDOWN_RECHECK_AFTER_REMOVAL"):
            parse_stages(bad)


# --- becoming due ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_feed_new_links_makes_settled_unchecked_links_due_in_batches(conf) -> None:
    case = CaseFactory()
    with time_machine.travel(NOW - timedelta(hours=1), tick=False):
        links = [FoundLinkFactory(case=case) for _ in range(7)]
    FoundLink.objects.filter(pk=links[1].pk).update(status=L.EXCLUDED)
    FoundLink.objects.filter(pk=links[2].pk).update(last_checked_at=NOW)
    closed = FoundLinkFactory(
        case=CaseFactory(status="closed"), created_at=NOW - timedelta(hours=1)
    )

    with time_machine.travel(NOW, tick=False):
        first = feed_new_links(conf=conf)
        second = feed_new_links(conf=conf)
        third = feed_new_links(conf=conf)

    due = set(FoundLink.objects.filter(next_check_at=NOW).values_list("pk", flat=True))
    assert (first, second, third) == (3, 2, 0)  # batches of 5 ids; excluded/checked skipped
    assert due == {links[i].pk for i in (0, 3, 4, 5, 6)}
    assert FoundLink.objects.get(pk=closed.pk).next_check_at is None
    assert Counter.objects.get(name=INTAKE_CURSOR).value == closed.pk


@pytest.mark.django_db
def test_feed_new_links_waits_for_young_links_and_stops_before_them(conf) -> None:
    case = CaseFactory()
    old = FoundLinkFactory(case=case, created_at=NOW - timedelta(minutes=11))
    young = FoundLinkFactory(case=case, created_at=NOW - timedelta(minutes=9))
    # An older import committed later but with a higher id must not be skipped either.
    later = FoundLinkFactory(case=case, created_at=NOW - timedelta(minutes=30))

    with time_machine.travel(NOW, tick=False):
        assert feed_new_links(conf=conf) == 1
    assert Counter.objects.get(name=INTAKE_CURSOR).value == old.pk
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert feed_new_links(conf=conf) == 2
    assert (
        FoundLink.objects.filter(pk__in=[young.pk, later.pk], next_check_at__isnull=False).count()
        == 2
    )


@pytest.mark.django_db
def test_notice_sent_makes_its_links_due(conf) -> None:
    notice = NoticeFactory(status=Notice.Status.SENDING)
    fresh = FoundLinkFactory(case=notice.case)
    checked = FoundLinkFactory(case=notice.case, last_checked_at=NOW - timedelta(days=2))
    removed = FoundLinkFactory(
        case=notice.case, status=L.REMOVED, next_check_at=NOW + timedelta(days=5)
    )
    notice.links.add(fresh, checked, removed)

    with time_machine.travel(NOW, tick=False):
        transition(notice, Notice.Status.SENT, fields={"sent_at": NOW})

    got = dict(FoundLink.objects.filter(case=notice.case).values_list("pk", "next_check_at"))
    assert got == {
        fresh.pk: NOW,
        checked.pk: NOW + timedelta(hours=24),
        removed.pk: NOW + timedelta(days=5),
    }


@pytest.mark.django_db
def test_notice_sent_leaves_leased_and_claimed_links_to_their_check(conf) -> None:
    notice = NoticeFactory(status=Notice.Status.SENDING)
    claimed, leased = (FoundLinkFactory(case=notice.case, next_check_at=NOW) for _ in range(2))
    notice.links.add(claimed, leased)
    with time_machine.travel(NOW, tick=False):
        batches, until = lease_due_links(conf=conf)
        [token] = FoundLink.objects.filter(pk__in=claim_leased([claimed.pk], until)).values_list(
            "next_check_at", flat=True
        )

    # Sent while a worker fetches `claimed` and the task for `leased` waits in the broker.
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        transition(notice, Notice.Status.SENT, fields={"sent_at": NOW})
        again, _ = lease_due_links(conf=conf)

    assert [sorted(batch) for batch in batches] == [sorted([claimed.pk, leased.pk])]
    assert NOW + CLAIM_LEASE < token < NOW + CLAIM_LEASE + timedelta(seconds=1)
    got = dict(FoundLink.objects.filter(case=notice.case).values_list("pk", "next_check_at"))
    assert got == {claimed.pk: token, leased.pk: until}
    assert again == []  # nothing is handed out a second time while its check runs
    assert claim_leased([leased.pk], until) == [leased.pk]  # the queued task still claims it


# --- leasing and claiming ------------------------------------------------------------------------


@pytest.mark.django_db
def test_lease_due_links_caps_each_host_and_packs_whole_hosts(conf) -> None:
    big, small = HostFactory(hostname="big.test"), HostFactory(hostname="small.test")
    case = CaseFactory()
    big_links = [
        FoundLinkFactory(case=case, host=big, next_check_at=NOW - timedelta(minutes=i))
        for i in range(5)
    ]
    small_links = [FoundLinkFactory(case=case, host=small, next_check_at=NOW) for _ in range(2)]
    later = FoundLinkFactory(case=case, host=small, next_check_at=NOW + timedelta(minutes=1))

    with time_machine.travel(NOW, tick=False):
        batches, until = lease_due_links(conf=conf)
        assert release_hosts(batches[0], until) == 1  # the big host's batch is recorded
        again, _ = lease_due_links(conf=conf)

    oldest_big = {link.pk for link in big_links[2:]}  # the three due longest
    assert until == NOW + DISPATCH_LEASE
    assert [set(batch) for batch in batches] == [oldest_big, {link.pk for link in small_links}]
    # The next round takes the rest of the big host: at most 3 of a host per round.
    assert [set(batch) for batch in again] == [{big_links[0].pk, big_links[1].pk}]
    assert FoundLink.objects.filter(next_check_at=until).count() == 7
    assert FoundLink.objects.get(pk=later.pk).next_check_at == NOW + timedelta(minutes=1)


def lease_round(at: datetime, conf: RecheckSettings) -> tuple[dict[int, set[int]], datetime]:
    """One dispatcher round at `at`: the links handed out, by host id."""
    with time_machine.travel(at, tick=False):
        batches, until = lease_due_links(conf=conf)
    ids = [link_id for batch in batches for link_id in batch]
    by_host: dict[int, set[int]] = {}
    for link_id, host_id in FoundLink.objects.filter(pk__in=ids).values_list("pk", "host_id"):
        by_host.setdefault(host_id, set()).add(link_id)
    return by_host, until


@pytest.mark.django_db
def test_lease_due_links_busy_host_gets_no_second_batch_until_recorded(conf, settings) -> None:
    settings.TAKEDOWN_RECHECK_HOST_LINKS = 30
    conf = RecheckSettings.load()
    big, other = HostFactory(hostname="big.test"), HostFactory(hostname="other.test")
    case = CaseFactory()
    big_links = [
        FoundLinkFactory(case=case, host=big, next_check_at=NOW - timedelta(seconds=i))
        for i in range(40)
    ]
    FoundLinkFactory.create_batch(5, case=case, host=other, next_check_at=NOW)

    first, until = lease_round(NOW, conf)
    # The worker claims the big host's batch and is still fetching it a minute later; the
    # other host's batch still waits in the broker (leased, not claimed).
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        claimed = claim_leased(sorted(first[big.pk]), until)
    second, _ = lease_round(NOW + timedelta(minutes=1), conf)
    # "Check links now" for the case meanwhile: made due, but nothing of a busy host goes out.
    with time_machine.travel(NOW + timedelta(minutes=1, seconds=10), tick=False):
        on_demand = queue_recheck(case)

    oldest = {link.pk for link in big_links[10:]}  # the 30 due longest
    assert (len(first[big.pk]), len(first[other.pk])) == (30, 5)
    assert first[big.pk] == oldest and set(claimed) == oldest
    assert second == {}
    assert on_demand[1:] == (0, 0)
    assert (
        FoundLink.objects.filter(host=big, next_check_at__lte=NOW + timedelta(minutes=2)).count()
        == 10
    )

    # The batch is recorded (the worker's release): the big host's other 10 go out, while the
    # other host, whose batch is still out, stays out of the round.
    with time_machine.travel(NOW + timedelta(minutes=1, seconds=30), tick=False):
        FoundLink.objects.filter(pk__in=claimed).update(
            next_check_at=NOW + timedelta(days=1), last_checked_at=NOW + timedelta(minutes=1)
        )
        assert release_hosts(claimed, until) == 1
    third, _ = lease_round(NOW + timedelta(minutes=2), conf)
    assert third == {big.pk: {link.pk for link in big_links[:10]}}


@pytest.mark.django_db
def test_lease_due_links_host_lease_of_dead_worker_runs_out(conf) -> None:
    host = HostFactory(hostname="dead.test")
    links = FoundLinkFactory.create_batch(4, host=host, next_check_at=NOW)

    first, until = lease_round(NOW, conf)
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        claim_leased(sorted(first[host.pk]), until)  # claimed, then the worker dies
    blocked, _ = lease_round(until + CLAIM_LEASE, conf)
    later, _ = lease_round(until + CLAIM_LEASE + timedelta(seconds=2), conf)

    assert len(first[host.pk]) == 3 and blocked == {}
    # The host lease and the claims have run out: the host goes out again, the link left
    # waiting first.
    assert list(later) == [host.pk] and len(later[host.pk]) == 3
    assert links[3].pk in later[host.pk] and links[3].pk not in first[host.pk]
    assert Counter.objects.filter(name=f"recheck.host.{host.pk}").count() == 1


@pytest.mark.django_db
def test_recheck_task_gives_the_host_back_only_when_it_claimed(conf) -> None:
    from takedown.models import Case
    from takedown.tasks import recheck_links

    running, done = HostFactory(hostname="running.test"), HostFactory(hostname="done.test")
    # A paused case: its links are recorded as "not checked" without a fetch.
    case = CaseFactory(status=Case.Status.PAUSED)
    FoundLinkFactory.create_batch(4, case=case, host=running, next_check_at=NOW)
    done_links = FoundLinkFactory.create_batch(4, case=case, host=done, next_check_at=NOW)

    first, until = lease_round(NOW, conf)
    with time_machine.travel(NOW + timedelta(seconds=10), tick=False):
        # running.test: one copy of its message claimed the batch and is still fetching
        # when a redelivered copy arrives. done.test: its task runs to the end.
        claim_leased(sorted(first[running.pk]), until)
        duplicate = recheck_links(sorted(first[running.pk]), until.isoformat())
        checked = recheck_links(sorted(first[done.pk]), until.isoformat())
    second, _ = lease_round(NOW + timedelta(minutes=1), conf)

    assert (len(first[running.pk]), len(first[done.pk])) == (3, 3)
    assert (duplicate, checked) == (0, 3)
    assert second == {done.pk: {link.pk for link in done_links} - first[done.pk]}
    assert set(
        FoundLink.objects.filter(pk__in=first[done.pk]).values_list("next_check_at", flat=True)
    ) == {NOW + timedelta(seconds=10) + conf.pending}


def test_pack_never_splits_a_group_and_keeps_the_order() -> None:
    assert pack([[1, 2, 3], [4], [5, 6], [7]], 4) == [[1, 2, 3, 4], [5, 6, 7]]
    assert pack([[1, 2, 3], [4, 5], [6, 7]], 4) == [[1, 2, 3], [4, 5, 6, 7]]
    assert pack([[1, 2, 3, 4, 5]], 2) == [[1, 2, 3, 4, 5]]
    assert pack([], 3) == []


@pytest.mark.django_db
def test_claim_leased_twice_claims_once(conf) -> None:
    until = timezone.now() + DISPATCH_LEASE
    links = [FoundLinkFactory(next_check_at=until) for _ in range(3)]
    FoundLink.objects.filter(pk=links[2].pk).update(next_check_at=until + timedelta(seconds=1))
    ids = [link.pk for link in links]

    first = claim_leased(ids, until)
    second = claim_leased(ids, until)

    assert (first, second) == ([links[0].pk, links[1].pk], [])
    assert all(
        due > timezone.now() for due in FoundLink.objects.values_list("next_check_at", flat=True)
    )
