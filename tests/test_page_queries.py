"""Every page a case is seen through costs the same number of SQL queries however big the case
is (issue 16: a million links in one case). One case is built at two sizes, ten times apart,
with notices in review and sent, checks, events, messages and removals; each page is counted
at both sizes and must match."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from takedown import tallies
from takedown.models import Case, FoundLink, Notice
from takedown.web.portal.access import issue_portal_link
from takedown.web.portal.views import SESSION_ACCESS, SESSION_VERIFIED
from tests.factories import CaseFactory, TeamFactory, UserFactory
from tests.test_web_staff import caseworker, grow_case, queries_for

pytestmark = pytest.mark.django_db

SMALL = {"hosts": 3, "links_per_host": 10, "events": 10}  # 30 links
LARGE = {"hosts": 30, "links_per_host": 10, "events": 100}  # 300 links


def build(reference: str, team: Any, author: Any, size: dict[str, int]) -> Case:
    """A case of `size`: one notice per party, the first third in review, the rest sent with
    half of their links removed, so the reviewer's queue and results have rows that grow."""
    case = CaseFactory(reference=reference, team=team)
    case.person.email = f"{reference.lower()}@example.org"
    case.person.save()
    grow_case(case, **size)
    now = timezone.now()
    notices = list(Notice.objects.filter(case=case).order_by("pk"))
    in_review = notices[: len(notices) // 3]
    Notice.objects.filter(pk__in=[n.pk for n in in_review]).update(
        status=Notice.Status.IN_REVIEW, created_by=author
    )
    sent = Notice.objects.filter(case=case).exclude(pk__in=[n.pk for n in in_review])
    sent.update(
        status=Notice.Status.SENT,
        sent_at=now - timedelta(days=4),
        due_at=now + timedelta(days=3),
        outcome=Notice.Outcome.COMPLIED,
    )
    links = FoundLink.objects.filter(case=case, notices__in=sent).order_by("pk")
    removed = list(links.values_list("pk", flat=True))[::2]
    FoundLink.objects.filter(pk__in=removed).update(
        status=FoundLink.Status.REMOVED, removed_at=now - timedelta(days=1)
    )
    FoundLink.objects.filter(case=case, notices__in=sent).exclude(pk__in=removed).update(
        status=FoundLink.Status.NOTIFIED
    )
    return case


def portal_client(case: Case) -> Client:
    """A browser past the portal's link and code steps (those are tested in
    test_web_portal.py): a verified session on a live access."""
    issue_portal_link(case, actor=None)
    client = Client()
    session = client.session
    session[SESSION_ACCESS] = case.portal_accesses.get(revoked_at=None).pk
    session[SESSION_VERIFIED] = True
    session.save()
    return client


@pytest.fixture
def world() -> dict[str, Any]:
    team = TeamFactory(name="Scale")
    carla = caseworker("carla-scale", team)
    rita = UserFactory(username="rita-scale")
    rita.groups.add(Group.objects.get(name="reviewer"))
    team.members.add(rita)
    return {"team": team, "carla": carla, "rita": rita}


def counts(world: dict[str, Any], case: Case) -> dict[str, int]:
    staff = Client()
    staff.force_login(world["carla"])
    reviewer = Client()
    reviewer.force_login(world["rita"])
    biggest = Notice.objects.filter(case=case).order_by("-pk").first()
    assert biggest is not None
    staff_pages = {
        "case": reverse("staff:case", args=[case.reference]),
        "links": reverse("staff:links", args=[case.reference]),
        "hosts": reverse("staff:hosts", args=[case.reference]),
        "notice": reverse("staff:notice", args=[case.reference, biggest.pk]),
    }
    # The first open of a case writes its "case.viewed" event; count later opens.
    staff.get(staff_pages["case"])
    found = {name: queries_for(staff, url) for name, url in staff_pages.items()}
    found["review queue"] = queries_for(reviewer, reverse("review:index"))
    found["review results"] = queries_for(reviewer, reverse("review:results"))
    portal = portal_client(case)
    found["portal status"] = queries_for(portal, reverse("portal:home"))
    return found


def test_every_page_costs_the_same_queries_at_30_and_300_links(world):
    small = build("TD-2026-0501", world["team"], world["carla"], SMALL)
    small_counts = counts(world, small)
    # The reviewer's pages span the team's cases: the large case comes on top of the small one.
    large = build("TD-2026-0502", world["team"], world["carla"], LARGE)
    large_counts = counts(world, large)

    assert FoundLink.objects.filter(case=small).count() == 30
    assert FoundLink.objects.filter(case=large).count() == 300
    assert Notice.objects.filter(case=large, status=Notice.Status.IN_REVIEW).count() == 10
    assert FoundLink.objects.filter(case=large, status=FoundLink.Status.REMOVED).count() == 100
    assert large_counts == small_counts
    assert max(large_counts.values()) <= 27  # the case page: 27 with its notices paged


def test_pages_of_counted_cases_cost_the_same_queries_at_30_and_300_links(world, settings):
    """The same with both cases above the threshold and their counts stored: the pages read
    the stored counts (takedown.tallies) and page the stored party groups in SQL."""
    settings.TAKEDOWN_TALLY_THRESHOLD = 1
    small = build("TD-2026-0503", world["team"], world["carla"], SMALL)
    assert tallies.recount(small.pk) is not None
    small_counts = counts(world, small)
    large = build("TD-2026-0504", world["team"], world["carla"], LARGE)
    assert tallies.recount(large.pk) is not None
    large_counts = counts(world, large)

    assert large_counts == small_counts
    assert max(large_counts.values()) <= 27  # the case page: 27 with its notices paged
