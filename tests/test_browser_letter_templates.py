"""An admin words the team's DSA letter in a real browser (issue 14): the element check of the
text shows the missing good-faith statement per combination, the fix makes it complete, it is
put in use, a notice of the team uses it, and the reset asks first. Every page passes axe, in
English and German, and fits a phone."""

from __future__ import annotations

import re

import pytest

from takedown.models import LetterTemplate
from takedown.notices.render import template_body
from tests.browser import (
    BROWSER_DB,
    PASSWORD,
    assert_accessible,
    assert_no_sideways_scroll,
    log_in,
    shoot,
    staff_user,
)
from tests.factories import CaseFactory, NoticeFactory, TeamFactory

pytestmark = [pytest.mark.browser, BROWSER_DB]
expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect

GOOD_FAITH = "statement of good-faith belief that the notice is accurate and complete"
WITHOUT_GOOD_FAITH = (
    "To whom it may concern,\n\n{intro}\n\n{statement:legal_basis}\n\n{statement:deadline}"
    "\n\n{request}\n\n{closing}"
)


def test_admin_edits_a_letter_text_sees_what_is_missing_fixes_and_uses_it(new_page):
    team = TeamFactory(name="Berlin")
    staff_user("ada", "admin", team, is_staff=True)
    notice = NoticeFactory(case=CaseFactory(team=team), regime="dsa", recipient_role="hosting")
    page = new_page()
    log_in(page, "ada", PASSWORD)

    page.get_by_role("link", name="Letter templates").click()
    expect(page.locator("h1")).to_have_text("Letter templates")
    row = page.locator("#letter-templates tr", has_text="DSA notice of illegal content").filter(
        has_text="English"
    )
    expect(row).to_contain_text("built-in")
    assert_accessible(page, "letter-templates")
    shoot(page, "letters-01-list")

    row.get_by_role("link").click()
    expect(page.locator("h1")).to_have_text("DSA notice of illegal content · English")
    expect(page.locator("#placeholders")).to_contain_text("{statement:good_faith}")
    # An unknown placeholder is refused with the token named; nothing is stored.
    page.get_by_label("Letter text").fill("Hello {recipent},\n\n{intro}")
    page.get_by_role("button", name="Save and check").click()
    expect(page.get_by_text("{recipent} is not a known placeholder.")).to_be_visible()
    assert LetterTemplate.objects.count() == 0

    # A text without the good-faith statement: saved as a draft, missing per combination.
    page.get_by_label("Letter text").fill(WITHOUT_GOOD_FAITH)
    page.get_by_role("button", name="Save and use if complete").click()
    expect(page.get_by_text("Saved as version 1, a draft")).to_be_visible()
    expect(page.locator("#combinations tbody tr")).to_have_count(8)
    expect(page.locator("#combinations .errors li", has_text=GOOD_FAITH)).to_have_count(8)
    expect(page.locator("#preview .errors")).to_contain_text(GOOD_FAITH)
    expect(page.locator("#preview-text")).to_contain_text("To whom it may concern,")
    assert_accessible(page, "letter-template-missing")
    shoot(page, "letters-02-element-missing")
    assert not LetterTemplate.objects.get().active

    # The fix: the statement placed where the admin wants it.
    page.get_by_label("Letter text").fill(
        WITHOUT_GOOD_FAITH.replace("{request}", "{statement:good_faith}\n\n{request}")
    )
    page.get_by_role("button", name="Save and use if complete").click()
    expect(page.get_by_text("Saved as version 2 and in use")).to_be_visible()
    expect(page.locator("#element-check")).to_contain_text(
        "Every required element is in the letter"
    )
    expect(page.locator("#combinations .errors")).to_have_count(0)
    # The preview for another combination.
    page.get_by_label("Kind of case").select_option("intimate")
    page.get_by_label("Recipient", exact=True).select_option("site_operator")
    page.get_by_role("button", name="Show the preview").click()
    expect(page.locator("#preview")).to_contain_text("Intimate image, to a recipient in the role")
    assert_accessible(page, "letter-template-complete")
    shoot(page, "letters-03-complete-in-use")
    version = LetterTemplate.objects.get(active=True)
    assert version.number == 2
    assert template_body(notice).startswith("To whom it may concern,")

    page.get_by_role("link", name="All letter templates").click()
    expect(row).to_contain_text("customised, version 2")

    # Reset asks first, then the built-in template is back.
    page.goto(f"/cases/templates/{team.pk}/dsa/en/")
    page.get_by_role("link", name="Reset to the built-in template").click()
    expect(page.locator("h1")).to_have_text("Reset to the built-in template?")
    assert_accessible(page, "letter-template-reset")
    shoot(page, "letters-04-reset-asks-first")
    page.get_by_role("button", name="Reset", exact=True).click()
    expect(page.get_by_text("use the built-in template again")).to_be_visible()
    assert not LetterTemplate.objects.filter(active=True).exists()
    assert template_body(notice).startswith("Dear Sir or Madam,")

    # German, and a phone's width.
    page.get_by_role("button", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#check-h")).to_have_text(re.compile("^Elementprüfung"))
    assert_accessible(page, "letter-template-de")
    shoot(page, "letters-05-german")
    phone = new_page(width=360, height=740)
    log_in(phone, "ada", PASSWORD)
    for path in ("/cases/templates/", f"/cases/templates/{team.pk}/dsa/en/"):
        phone.goto(path)
        assert_no_sideways_scroll(phone, path)
    shoot(phone, "letters-06-phone")


def test_caseworker_is_refused(new_page):
    team = TeamFactory(name="Berlin")
    staff_user("carla", "caseworker", team)
    page = new_page()
    log_in(page, "carla", PASSWORD)

    expect(page.get_by_role("link", name="Letter templates")).to_have_count(0)
    response = page.goto(f"/cases/templates/{team.pk}/dsa/en/")
    assert response is not None and response.status == 403
