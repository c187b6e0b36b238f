"""The reviewer's dashboard in a real browser: sign in, the queue, a refused and an accepted
approval, the results page with its SVG charts. Screenshots under test-output/screenshots/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from takedown.models import FoundLink, Notice, NoticeLink
from tests.browser import BROWSER_DB, PASSWORD, log_in, shoot, staff_user
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
)
from tests.test_web_review import submitted_notice

pytestmark = [pytest.mark.browser, BROWSER_DB]
expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect


def test_reviewer_approves_in_queue_and_sees_results(page):
    team = TeamFactory(name="Berlin")
    carla = staff_user("carla", "caseworker", team)
    staff_user("rita", "reviewer", team)
    notice = submitted_notice(team, carla)
    own = submitted_notice(team, staff_user("rolf", "reviewer", team), hoster_name="Own Draft AG")
    # Something for the results page: a complied notice with a removal after 30 hours.
    sent_at = timezone.now() - timedelta(days=4)
    case = CaseFactory(team=team)
    removed = FoundLinkFactory(
        case=case, status=FoundLink.Status.REMOVED, removed_at=sent_at + timedelta(hours=30)
    )
    done = NoticeFactory(
        case=case,
        recipient=OrganisationFactory(name="Quick Hosting B.V.", country="NL"),
        status=Notice.Status.SENT,
        sent_at=sent_at,
        outcome=Notice.Outcome.COMPLIED,
    )
    NoticeLink.objects.create(notice=done, link=removed)

    log_in(page, "rita", PASSWORD)
    page.goto("/review/")
    expect(page.locator("#queue-count")).to_have_text("2")
    expect(page.locator(f"#notice-{notice.pk}").get_by_text("Hetzner Online GmbH")).to_be_visible()
    shoot(page, "review-queue")

    # Rita did not write this one, so she may approve it.
    page.locator(f"#notice-{notice.pk}").get_by_role(
        "link", name=f"Notice {notice.pk}", exact=True
    ).click()
    expect(page.locator("h1")).to_contain_text("Hetzner Online GmbH")
    for link in notice.links.all():
        assert link.url in page.locator("#notice-text").inner_text()
    # The evidence, read-only, and the decision only after the text and the PDF link.
    expect(page.locator("#evidence")).to_contain_text(notice.links.first().host.hostname)
    expect(page.locator("#evidence")).to_contain_text("Hetzner Online GmbH")
    order = page.evaluate(
        """() => ['#notice-text', '#pdf-link', '#evidence', '#decision'].map(
            (s) => document.querySelector(s).getBoundingClientRect().top + scrollY)"""
    )
    assert order == sorted(order)
    shoot(page, "review-notice")
    with page.expect_download() as download:
        page.locator("#pdf-link").click()
    assert download.value.suggested_filename == f"{notice.case.reference}-notice-{notice.pk}.pdf"
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text(f"Notice {notice.pk} to Hetzner Online GmbH approved.")).to_be_visible()
    expect(page.locator("#queue-count")).to_have_text("1")
    notice.refresh_from_db()
    assert notice.status == Notice.Status.APPROVED

    # Rolf's draft is still waiting, and Rita, not its author, may decide it: on its page, the
    # queue has no approve button at all.
    assert page.get_by_role("button", name="Approve").count() == 0
    expect(
        page.locator(f"#notice-{own.pk}").get_by_role(
            "link", name=f"Read notice {own.pk} and decide"
        )
    ).to_be_visible()

    page.goto("/review/results/")
    expect(page.locator("#total-median")).to_have_text("30.0 h")
    expect(page.locator("svg.chart")).to_have_count(5)
    expect(page.locator("#scoreboard").get_by_text("Quick Hosting B.V.")).to_be_visible()
    shoot(page, "review-results")

    # Filtered to the recipient's country, then exported with the same filter.
    page.get_by_label("Recipient country").select_option("NL")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_label("Recipient country")).to_have_value("NL")
    expect(page.locator("#scoreboard").get_by_text("Quick Hosting B.V.")).to_be_visible()
    shoot(page, "review-results-filtered")
    with page.expect_download() as download:
        page.locator("#results-csv").click()
    assert download.value.suggested_filename == "takedown-results-countrynl.csv"
    exported = Path(download.value.path()).read_text().splitlines()
    assert exported[0] == "table,row,figure,value,unit"
    assert "scoreboard,Quick Hosting B.V.,sent,1,notices" in exported


def test_reviewer_own_draft_refused_with_message(page):
    team = TeamFactory(name="Berlin")
    rolf = staff_user("rolf", "reviewer", team)
    rolf.groups.add(Group.objects.get(name="caseworker"))
    own = submitted_notice(team, rolf)

    log_in(page, "rolf", PASSWORD)
    # Neither the queue nor the notice page offers approving one's own draft. A POST anyway
    # (an old tab, a crafted form) gets the refusal as a message, not an error page.
    page.goto("/review/")
    expect(page.get_by_text("Your own draft: another reviewer must approve it.")).to_be_visible()
    page.goto(f"/review/notices/{own.pk}/")
    assert page.get_by_role("button", name="Approve").count() == 0
    page.evaluate(
        """([url, token]) => {
            const form = document.createElement("form");
            form.method = "post"; form.action = url;
            const input = document.createElement("input");
            input.name = "csrfmiddlewaretoken"; input.value = token;
            form.appendChild(input); document.body.appendChild(form); form.submit();
        }""",
        [
            f"/review/notices/{own.pk}/approve/",
            page.locator("input[name=csrfmiddlewaretoken]").first.input_value(),
        ],
    )
    # Without the digest of the text the page showed, nothing is approved at all.
    expect(
        page.get_by_text("Not approved: the text of this notice was not shown to you as it is now.")
    ).to_be_visible()
    own.refresh_from_db()
    assert own.status == Notice.Status.IN_REVIEW
    shoot(page, "review-own-draft-refused")
