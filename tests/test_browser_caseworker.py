"""The caseworker's day in a real browser (issue 14): background jobs with a live progress
bar, the timeline in sentences, closing that asks first, a closed case the person still waits
on, reopening, and the staff pages in German for the user who chose it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from takedown.models import Case, FoundLink, Job, Notice
from takedown.web.portal.actions import request_deletion
from takedown.workflow import transition_many
from tests.browser import BROWSER_DB, PASSWORD, log_in, shoot, staff_user
from tests.conftest import celery_worker
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    NoticeFactory,
    OrganisationFactory,
    TeamFactory,
)

pytestmark = [pytest.mark.browser, BROWSER_DB]
expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect


@pytest.fixture
def worker(django_db_blocker) -> Iterator[None]:
    with celery_worker(django_db_blocker):
        yield


def test_import_runs_as_a_job_and_ends_with_the_report(new_page, worker):
    team = TeamFactory(name="Berlin")
    staff_user("carla", "caseworker", team, first_name="Carla", last_name="Example")
    case = CaseFactory(team=team)
    page = new_page()
    log_in(page, "carla", PASSWORD)

    page.goto(f"/cases/{case.reference}/import/")
    page.get_by_label("Paste URLs").fill(
        "https://img.one.example/a.jpg\nhttps://img.two.example/b.png\nnot a url"
    )
    page.get_by_role("button", name="Import").click()

    # The job's page polls (static/jobs.js) and shows the import report when the worker is done.
    report = page.locator("#import-report")
    expect(report.locator("[data-field=created]")).to_have_text("2")
    expect(report.locator("[data-field=invalid]")).to_have_text("1")
    assert Job.objects.get(case=case).status == Job.Status.DONE
    shoot(page, "caseworker-01-import-job-report")


def test_close_asks_first_then_reopen_and_the_person_still_waits(new_page):
    team = TeamFactory(name="Berlin")
    staff_user("carla", "caseworker", team, first_name="Carla", last_name="Example")
    case = CaseFactory(team=team, reference="TD-2026-0900")
    hoster = OrganisationFactory(name="Demo Hosting GmbH")
    notice = NoticeFactory(case=case, recipient=hoster)
    links = [FoundLinkFactory(case=case) for _ in range(11)]
    notice.links.set(links)
    transition_many(
        FoundLink,
        [link.pk for link in links],
        [FoundLink.Status.FOUND],
        FoundLink.Status.NOTIFIED,
        data={"notice": notice.pk},
    )
    request_deletion(case)
    page = new_page()
    log_in(page, "carla", PASSWORD)

    # The timeline speaks, and the bulk change is one line.
    page.goto(f"/cases/{case.reference}/timeline/")
    expect(page.get_by_text("11 links notified to Demo Hosting GmbH.")).to_be_visible()
    assert "foundlink.notified" not in page.content()
    shoot(page, "caseworker-02-timeline-sentences")

    page.goto(f"/cases/{case.reference}/")
    page.get_by_text("Close the case").click()
    page.get_by_label("Reason for closing").fill("The person asked us to stop.")
    page.get_by_role("button", name="Close case").click()
    expect(page.locator("#confirm")).to_contain_text("1 notice not sent yet will be cancelled.")
    shoot(page, "caseworker-03-close-asks-first")
    assert Case.objects.get(pk=case.pk).status == Case.Status.OPEN
    page.get_by_role("button", name="Close case").click()
    expect(page.get_by_text("Case closed; 1 unsent notice was cancelled.")).to_be_visible()
    assert Notice.objects.get(pk=notice.pk).status == Notice.Status.CANCELLED
    # A closed case offers only what makes sense.
    expect(page.get_by_role("button", name="Generate notices")).to_have_count(0)
    expect(page.get_by_role("button", name="Reopen case")).to_be_visible()

    # The person's deletion request keeps the closed case in the queue.
    page.goto("/cases/")
    row = page.locator("tr", has_text="TD-2026-0900")
    expect(row).to_contain_text("deletion requested")
    expect(row).to_contain_text("Closed")
    shoot(page, "caseworker-04-queue-needs-attention")

    page.goto(f"/cases/{case.reference}/")
    page.get_by_label("Reason for reopening").fill("The images are back.")
    page.get_by_role("button", name="Reopen case").click()
    expect(
        page.get_by_text("Case reopened: its links are checked and notices can be generated again.")
    ).to_be_visible()
    assert Case.objects.get(pk=case.pk).status == Case.Status.OPEN
    shoot(page, "caseworker-05-reopened")


def test_portal_revoke_asks_first_and_german_stays_with_the_user(new_page):
    from takedown.web.portal.access import issue_portal_link

    team = TeamFactory(name="Berlin")
    staff_user("carla", "caseworker", team, first_name="Carla", last_name="Example")
    case = CaseFactory(team=team, reference="TD-2026-0901")
    person = case.person
    person.email = "alex@example.org"
    person.save()
    issue_portal_link(case, actor=None)
    page = new_page()
    log_in(page, "carla", PASSWORD)

    page.goto(f"/cases/{case.reference}/")
    page.get_by_role("button", name="Revoke portal link").click()
    expect(page.locator("#confirm")).to_contain_text(
        "The person can no longer open the portal with the link they have."
    )
    page.get_by_role("button", name="Revoke portal link").click()
    expect(
        page.get_by_text("1 portal link revoked: it no longer opens the portal.")
    ).to_be_visible()

    page.get_by_role("button", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("button", name="Links jetzt prüfen")).to_be_visible()
    shoot(page, "caseworker-06-case-in-german")
    # A new browser (an English one) after signing in again: still German.
    other = new_page(locale="en-GB")
    log_in(other, "carla", PASSWORD)
    other.goto("/cases/")
    expect(other.get_by_role("heading", name="Fälle")).to_be_visible()
    shoot(other, "caseworker-07-queue-in-german")
