"""The caseworker's tools in a real browser (issue 14): search by fragments, CSV exports, the
escalation ladder as named steps, editing a draft with the element check, and reference
hashes from the original picture chosen on the device."""

from __future__ import annotations

import io
import os

import pytest

from takedown.checks.hashing import compute_hashes
from takedown.models import Case, FoundLink, Notice
from tests.browser import BROWSER_DB, PASSWORD, log_in, shoot, staff_user
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
)

pytestmark = [pytest.mark.browser, BROWSER_DB]
expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect


def signed_in(new_page):
    team = TeamFactory(name="Berlin")
    staff_user("carla", "caseworker", team)
    page = new_page()
    log_in(page, "carla", PASSWORD)
    return team, page


def test_search_and_csv_exports(new_page):
    team, page = signed_in(new_page)
    case = CaseFactory(team=team, reference="TD-2026-0777")
    host = HostFactory(hostname="img.picshare-demo.com")
    FoundLinkFactory(case=case, host=host, url="https://img.picshare-demo.com/u/holiday-77.jpg")
    FoundLinkFactory(
        case=case,
        host=host,
        url="https://img.picshare-demo.com/u/beach.jpg",
        status=FoundLink.Status.REMOVED,
    )
    CaseFactory(team=team, reference="TD-2026-0888")

    page.goto("/cases/")
    page.get_by_label("Search").fill("holiday-77")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text("TD-2026-0777")
    shoot(page, "tools-01-search-url-fragment")

    page.goto(f"/cases/{case.reference}/links/")
    page.get_by_label("Status").select_option("removed")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export as CSV").click()
    with open(download.value.path(), encoding="utf-8") as exported:
        text = exported.read().splitlines()
    assert text == [
        "url,host,status,last_verdict,last_checked_at,dataset,entry_id",
        "https://img.picshare-demo.com/u/beach.jpg,img.picshare-demo.com,removed,,,,",
    ]

    # Excluding asks first.
    page.goto(f"/cases/{case.reference}/links/")
    page.get_by_label("Choose https://img.picshare-demo.com/u/holiday-77.jpg").check()
    page.get_by_role("button", name="Exclude the chosen links").click()
    expect(page.locator("#confirm h2")).to_have_text("Exclude 1 link?")
    shoot(page, "tools-01b-exclude-asks-first")
    page.get_by_role("button", name="Exclude", exact=True).click()
    expect(
        page.get_by_text("1 link excluded: it is no longer reported or checked.")
    ).to_be_visible()
    assert FoundLink.objects.filter(status=FoundLink.Status.EXCLUDED).count() == 1


def test_ladder_as_named_steps(new_page):
    team, page = signed_in(new_page)
    case = CaseFactory(team=team)

    page.goto(f"/cases/{case.reference}/")
    page.get_by_text("Escalation ladder").click()
    page.get_by_role("button", name="Remove CDN").click()
    page.get_by_role("button", name="Move Registrar up").click()
    steps = page.locator("#ladder ol.ladder > li")
    expect(steps).to_have_count(5)
    expect(steps.nth(1)).to_contain_text("Registrar")
    page.get_by_label("Add a step").select_option(label="CDN")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(steps.nth(4)).to_contain_text("CDN")
    shoot(page, "tools-02-ladder-named-steps")
    assert Case.objects.get(pk=case.pk).escalation_ladder == [
        "site_operator",
        "registrar",
        "hosting",
        "dpa",
        "cdn",
        "manual",
    ]


def test_edit_a_draft_and_see_what_is_missing(new_page):
    team, page = signed_in(new_page)
    case = CaseFactory(team=team)
    notice = NoticeFactory(case=case, recipient=OrganisationFactory(name="Demo Hosting GmbH"))
    notice.links.set([FoundLinkFactory(case=case)])

    page.goto(f"/cases/{case.reference}/notices/{notice.pk}/")
    page.get_by_role("link", name="Edit the text").click()
    page.get_by_label("Text").fill("Please remove the pictures.")
    page.get_by_role("button", name="Save and check").click()
    expect(page.get_by_text("Saved. The element check finds")).to_be_visible()
    expect(page.locator("#element-check .errors li").first).to_be_visible()
    shoot(page, "tools-03-draft-edit-element-check")
    assert Notice.objects.get(pk=notice.pk).body_text == "Please remove the pictures."


def test_reference_hashes_from_the_original_picture(new_page, tmp_path):
    from PIL import Image

    team, page = signed_in(new_page)
    case = CaseFactory(team=team)
    link = FoundLinkFactory(case=case)
    picture = Image.frombytes("RGB", (96, 96), os.urandom(96 * 96 * 3))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    original = tmp_path / "original.png"
    original.write_bytes(out.getvalue())

    page.goto(f"/cases/{case.reference}/")
    page.get_by_text("Reference hashes", exact=True).click()
    page.get_by_label("Or choose the original picture").set_input_files(str(original))
    page.get_by_role("button", name="Store the picture's fingerprints").click()
    expect(
        page.get_by_text(
            "The picture's fingerprints were stored for 1 link; the picture was not kept."
        )
    ).to_be_visible()
    shoot(page, "tools-04-reference-picture")
    expected = compute_hashes(out.getvalue())
    stored = FoundLink.objects.get(pk=link.pk)
    assert (stored.ref_sha256, stored.ref_phash, stored.ref_pdq) == (
        expected.sha256,
        expected.phash,
        expected.pdq,
    )
