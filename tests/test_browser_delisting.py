"""The search-engine step in a real browser: the case page says why it is offered, the button
prepares the requests, and the web-form page of an approved delisting request shows the text
for each of the engine's fields and takes the confirmation number."""

from __future__ import annotations

import pytest

from takedown.directory.seed import seed_directory
from takedown.models import FoundLink, Notice
from takedown.notices.review import approve, submit_for_review
from takedown.notices.send import queue_notice
from tests.browser import BROWSER_DB, PASSWORD, assert_accessible, log_in, shoot, staff_user
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    MandateFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
)

pytestmark = [pytest.mark.browser, BROWSER_DB]
expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect

L, N = FoundLink.Status, Notice.Status


def test_delisting_step_and_prepared_form(new_page):
    seed_directory()
    team = TeamFactory(name="Berlin")
    carla = staff_user("carla", "caseworker", team, first_name="Carla", last_name="Klein")
    rita = staff_user("rita", "reviewer", team)
    case = CaseFactory(team=team, assigned_to=carla, reference="TD-2026-0313")
    MandateFactory(case=case)
    host = HostFactory(hostname="img.picshare-demo.com")
    gone = FoundLinkFactory(
        case=case, host=host, url="https://img.picshare-demo.com/u/a.jpg", status=L.REMOVED
    )
    kept = FoundLinkFactory(
        case=case, host=host, url="https://img.picshare-demo.com/u/b.jpg", status=L.NOTIFIED
    )
    NoticeFactory(
        case=case,
        recipient=OrganisationFactory(name="Picshare Hosting GmbH"),
        status=N.SENT,
        regime="dsa",
        reply_outcome=Notice.Outcome.REFUSED,
    ).links.add(gone, kept)

    page = new_page()
    log_in(page, "carla", PASSWORD)
    page.goto(f"/cases/{case.reference}/")
    section = page.locator("#delisting")
    expect(section).to_contain_text("1 link is removed at its source")
    expect(section).to_contain_text("1 link is still online after the recipient refused")
    shoot(page, "delisting-01-case-offer")
    assert_accessible(page, "case page with the search-engine step")
    section.get_by_role("button", name="Prepare search-engine delisting").click()
    expect(page.get_by_text("4 requests to search engines prepared")).to_be_visible()
    expect(page.locator("#delisting")).to_contain_text("in a request to each search engine")

    # The four-eyes review and the queueing are tested elsewhere; here they only lead to the
    # page the caseworker works from.
    notice = Notice.objects.get(
        case=case, recipient__name__startswith="Google", regime="search_delisting"
    )
    submit_for_review(notice, carla)
    approve(notice, rita, confirm_disclosure=True)
    notice.refresh_from_db()
    assert queue_notice(notice) == N.AWAITING_MANUAL

    page.goto(f"/cases/{case.reference}/notices/{notice.pk}/form/")
    expect(page.locator("#checklist li").first).to_contain_text(
        "https://www.google.com/webmasters/tools/legal-removal-request"
    )
    expect(page.get_by_label("Full name")).to_have_value("Alex Example")
    expect(page.get_by_label("Name used to search")).to_have_value("Alex Example")
    expect(page.get_by_label("URLs of the results to remove")).to_have_value(
        "https://img.picshare-demo.com/u/b.jpg"
    )
    expect(page.get_by_text("a copy of the person's identity document")).to_be_visible()
    assert page.locator("img").count() == 0
    shoot(page, "delisting-02-prepared-form")
    assert_accessible(page, "prepared search-engine form")

    page.get_by_label("Confirmation number").fill("GOOGLE-RTBF-2211")
    page.get_by_role("button", name="Mark as submitted").click()
    expect(page.get_by_text(f"Notice {notice.pk} recorded as submitted.")).to_be_visible()
    notice.refresh_from_db()
    assert (notice.status, notice.manual_confirmation) == (N.SENT, "GOOGLE-RTBF-2211")
