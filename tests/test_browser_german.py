"""German staff in a real browser: a reviewer and a caseworker who chose German read their
pages in German although the browser asks for English; the letter itself stays in its own
language, marked so. Screenshots under test-output/screenshots/."""

from __future__ import annotations

import pytest

from takedown.models import Contact, Notice, NoticeLink, Organisation, StaffPreferences
from takedown.models.roles import RecipientRole
from takedown.notices.render import store_element_check
from tests.browser import BROWSER_DB, PASSWORD, assert_accessible, log_in, shoot, staff_user
from tests.factories import (
    CaseFactory,
    ContactFactory,
    FoundLinkFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
)

pytestmark = [pytest.mark.browser, BROWSER_DB]
expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect


def test_german_reviewer_and_caseworker_read_their_pages_in_german(new_page):
    team = TeamFactory(name="Berlin")
    carla = staff_user("carla", "caseworker", team)
    rita = staff_user("rita", "reviewer", team)
    for user in (carla, rita):
        StaffPreferences.objects.create(user=user, language="de")
    case = CaseFactory(team=team, assigned_to=carla)
    cdn = OrganisationFactory(name="Cloudflare, Inc.", kind=Organisation.Kind.CDN, country="US")
    form = ContactFactory(
        organisation=cdn, channel=Contact.Channel.WEBFORM, value="https://abuse.cloudflare.com/"
    )
    # A DSA notice to a CDN: the regime does not address it, so the check finds that missing.
    notice = NoticeFactory(
        case=case,
        created_by=carla,
        recipient=cdn,
        recipient_role=RecipientRole.CDN,
        regime="dsa",
        channel=Contact.Channel.WEBFORM,
        contact=form,
        to_address=form.value,
    )
    NoticeLink.objects.create(notice=notice, link=FoundLinkFactory(case=case))
    store_element_check(notice)
    # In review as it was before the check learned of the role (the page checks it anew).
    Notice.objects.filter(pk=notice.pk).update(status=Notice.Status.IN_REVIEW)

    reviewer = new_page(locale="en-GB")
    log_in(reviewer, "rita", PASSWORD)
    reviewer.goto(f"/review/notices/{notice.pk}/")
    expect(reviewer.locator("html")).to_have_attribute("lang", "de")
    expect(reviewer.locator("#check-h")).to_have_text("Elementprüfung und Offenlegung")
    expect(
        reviewer.get_by_text("ein Empfänger, an den sich diese Rechtsgrundlage richtet")
    ).to_be_visible()
    expect(reviewer.locator("#notice-text")).to_have_attribute("lang", "en")
    assert_accessible(reviewer, "review notice (de)")
    shoot(reviewer, "german-review-notice")

    Notice.objects.filter(pk=notice.pk).update(status=Notice.Status.AWAITING_MANUAL)
    caseworker = new_page(locale="en-GB")
    log_in(caseworker, "carla", PASSWORD)
    caseworker.goto(f"/cases/{case.reference}/notices/{notice.pk}/form/")
    checklist = caseworker.locator("#checklist")
    expect(checklist).to_contain_text("Öffnen Sie das Formular: https://abuse.cloudflare.com/")
    expect(checklist).to_contain_text("Senden Sie das Formular ab")
    expect(caseworker.locator("#field-2")).to_have_attribute("lang", "en")
    assert_accessible(caseworker, "web form (de)")
    shoot(caseworker, "german-web-form")
