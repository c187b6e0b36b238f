"""A large case's stored counts (takedown.tallies) read back exactly what the pages count live.

A recount runs the live queries, so every writer of links (import, resolution, notices,
checks, exclusions, raw SQL) is covered by construction; what can go wrong is the stored form:
the party rows and their order, the JSON of states and weeks, the portal's filtering of
excluded links, the results' sum of stored and live cases. `assert_counts_match` recounts and
compares each of those with the live count, and the tests run it after each kind of write."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from takedown import stats, tallies
from takedown.intake.store import import_links
from takedown.models import (
    Case,
    CaseTally,
    FoundLink,
    Host,
    HostResolution,
    Notice,
    NoticeLink,
    PartyTally,
)
from takedown.web.portal import status
from takedown.workflow import transition_many
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
)
from tests.test_web_staff import caseworker, resolved_host

pytestmark = pytest.mark.django_db

L = FoundLink.Status


@pytest.fixture(autouse=True)
def every_case_is_large(settings):
    settings.TAKEDOWN_TALLY_THRESHOLD = 1


def assert_counts_match(case: Case) -> CaseTally:
    """Recount `case`, then compare everything the pages read from its stored counts with the
    same figures counted live now, for the case alone and beside other cases."""
    tally = tallies.recount(case.pk)
    assert tally is not None
    assert tally.links == FoundLink.objects.filter(case=case).count()
    # The case page: party groups in the same order, totals per status, flagged hosts.
    live_groups = tallies.party_groups(case)
    assert list(tallies.stored_party_groups(case)) == live_groups
    assert tallies.stored_status_totals(tally) == {
        value: FoundLink.objects.filter(case=case, status=value).count()
        for value in tallies.LINK_STATUSES
    }
    assert tally.flagged_hosts == tallies.flagged_hosts(case)
    notices = case.notices.order_by("pk")
    assert [n.link_count for n in stats.with_link_counts(notices, tally.notice_links)] == [
        n.link_count for n in stats.with_link_counts(notices)
    ]
    # The portal: the overview and the paginator's number of links (excluded ones hidden).
    assert status.summary(case, tally) == status.summary(case)
    page, rows = status.link_page(case, 1, tally=tally)
    live_page, live_rows = status.link_page(case, 1)
    assert page.paginator.count == live_page.paginator.count
    assert rows == live_rows
    # The results: stored and live cases summed, against every link counted live.
    for cases in (Case.objects.all(), Case.objects.filter(pk=case.pk)):
        live = (FoundLink.objects.filter(case__in=cases.values("pk")), [])
        assert stats.link_totals(cases) == stats.link_totals(cases, split=live)
        assert stats.link_weeks(cases, weeks=4) == stats.link_weeks(cases, weeks=4, split=live)
    return tally


def _links(case: Case, host: Host, n: int) -> list[FoundLink]:
    return [
        FoundLinkFactory(case=case, host=host, url=f"https://{host.hostname}/{i}.jpg")
        for i in range(n)
    ]


def test_counts_match_a_live_recount_after_each_kind_of_write(tmp_path: Path):
    hoster, platform = OrganisationFactory(name="Hoster"), OrganisationFactory(name="Platform")
    case = CaseFactory()
    other = CaseFactory()  # counted live beside it in the results
    first = resolved_host("img.one.example", hoster)
    second = resolved_host("img.two.example", hoster)
    links = _links(case, first, 6) + _links(case, second, 4)
    _links(other, first, 3)
    assert_counts_match(case)

    # An import: new links on a known host and on a new one, none on a resolved party.
    path = tmp_path / "more.txt"
    path.write_text("https://img.one.example/new.jpg\nhttps://fresh.example.org/a.jpg\n")
    import_links(case, [path])
    tally = assert_counts_match(case)
    assert tally.links == 12

    # Resolution: the second host's party becomes a platform (Host.save stores the parties).
    second.current = HostResolution.objects.create(host=second, platform=platform)
    second.save()
    tally = assert_counts_match(case)
    assert {row.party for row in PartyTally.objects.filter(case=case)} == {
        hoster.pk,
        platform.pk,
        None,
    }

    # Notices: one sent and waiting, one refused past its deadline.
    now = timezone.now()
    waiting = NoticeFactory(
        case=case, recipient=hoster, status=Notice.Status.SENT, sent_at=now,
        due_at=now + timedelta(days=7),
    )  # fmt: skip
    refused = NoticeFactory(
        case=case, recipient=platform, status=Notice.Status.SENT, sent_at=now,
        due_at=now - timedelta(days=1), outcome=Notice.Outcome.REFUSED,
    )  # fmt: skip
    NoticeLink.objects.bulk_create(
        [NoticeLink(notice=waiting, link=link) for link in links[:6]]
        + [NoticeLink(notice=refused, link=link) for link in links[6:]]
    )
    transition_many(FoundLink, [link.pk for link in links], [L.FOUND], L.NOTIFIED)
    counts = status.summary(case, assert_counts_match(case))
    assert (counts[status.WAITING], counts[status.REFUSED]) == (6, 4)

    # Rechecks: two removed, one seen online, one reappeared, one never reachable.
    transition_many(
        FoundLink, [links[0].pk, links[1].pk], [L.NOTIFIED], L.REMOVED, fields={"removed_at": now}
    )
    FoundLink.objects.filter(pk=links[2].pk).update(last_verdict="online_same")
    transition_many(FoundLink, [links[1].pk], [L.REMOVED], L.REAPPEARED)
    transition_many(FoundLink, [links[3].pk], [L.NOTIFIED], L.NEVER_REACHABLE)
    tally = assert_counts_match(case)
    assert tallies.stored_status_totals(tally)[L.REMOVED] == 1

    # Exclusions: hidden from the person, counted apart in the results.
    transition_many(FoundLink, [links[4].pk, links[9].pk], [L.NOTIFIED], L.EXCLUDED)
    Host.objects.filter(pk=second.pk).update(needs_decision=True)
    tally = assert_counts_match(case)
    assert tally.flagged_hosts == 1
    assert stats.link_totals(Case.objects.filter(pk=case.pk))["excluded"] == 2

    # A deadline passes: the next recount says so, as the live count does.
    with time_machine.travel(now + timedelta(days=8)):
        counts = status.summary(case, assert_counts_match(case))
    assert counts[status.WAITING] == 0


def test_recount_drops_the_counts_of_a_case_below_the_threshold(settings):
    case = CaseFactory()
    _links(case, resolved_host("img.small.example", OrganisationFactory()), 3)
    assert tallies.recount(case.pk) is not None
    settings.TAKEDOWN_TALLY_THRESHOLD = 4
    assert tallies.recount(case.pk) is None
    assert not CaseTally.objects.filter(case=case).exists()
    assert not PartyTally.objects.filter(case=case).exists()
    assert tallies.tally_of(case) is None


def test_stale_counts_ask_for_one_recount(settings, django_capture_on_commit_callbacks):
    case = CaseFactory()
    _links(case, resolved_host("img.stale.example", OrganisationFactory()), 2)
    tallies.recount(case.pk)
    later = timezone.now() + timedelta(seconds=settings.TAKEDOWN_TALLY_MAX_AGE + 1)
    with django_capture_on_commit_callbacks() as sent:
        assert tallies.tally_of(case, now=later) is not None
        assert tallies.tally_of(case, now=later) is not None  # the first one's lease holds
    assert len(sent) == 1
    # A lost message: past the lease, the next view asks again.
    with django_capture_on_commit_callbacks() as sent:
        tallies.tally_of(case, now=later + tallies.RECOUNT_LEASE + timedelta(seconds=1))
    assert len(sent) == 1
    # The recount clears the lease and the counts are fresh: nothing to ask.
    tallies.recount(case.pk)
    with django_capture_on_commit_callbacks() as sent:
        tallies.tally_of(case)
    assert sent == []


def test_an_import_asks_for_the_first_counts(tmp_path: Path, django_capture_on_commit_callbacks):
    case = CaseFactory()
    path = tmp_path / "links.txt"
    path.write_text("https://img.new.example/1.jpg\nhttps://img.new.example/2.jpg\n")
    with django_capture_on_commit_callbacks() as sent:
        import_links(case, [path])
    tally = CaseTally.objects.get(case=case)
    assert tally.counted_at is None and tally.recount_until is not None
    assert len(sent) == 1
    # Until the first count is stored the pages count live.
    assert tallies.tally_of(case) is None


def test_case_page_shows_the_stored_counts_and_when_they_were_counted(client):
    team = TeamFactory()
    carla = caseworker("carla-tally", team)
    case = CaseFactory(team=team, assigned_to=carla)
    _links(case, resolved_host("img.page.example", OrganisationFactory(name="Page Host")), 3)
    tallies.recount(case.pk)
    FoundLink.objects.filter(case=case).delete()  # not yet recounted: the page shows the count
    client.force_login(carla)
    page = client.get(reverse("staff:case", args=[case.reference])).content.decode()
    assert "These numbers were counted" in page
    assert "Page Host" in page
    assert "found 3," in page


def test_recount_cases_counts_the_large_cases(settings):
    settings.TAKEDOWN_TALLY_THRESHOLD = 3
    large, small = CaseFactory(), CaseFactory()
    host = resolved_host("img.cmd.example", OrganisationFactory())
    FoundLink.objects.bulk_create(
        FoundLink(case=case, host=host, url=f"https://img.cmd.example/{i}", url_sha256=f"{i}")
        for case, n in ((large, 3), (small, 2))
        for i in range(n)
    )
    out = StringIO()
    call_command("recount_cases", stdout=out)
    assert out.getvalue() == f"case {large.pk}: 3 links counted\n"
    assert list(CaseTally.objects.values_list("case_id", "links")) == [(large.pk, 3)]
