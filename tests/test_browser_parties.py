"""A caseworker decides who is responsible for a host, in a real browser: the hosts that need a
decision, the directory search, setting the party, clearing it. Screenshots under
test-output/screenshots/."""

from __future__ import annotations

import pytest

from takedown.models import Host, HostResolution, PartyDecision
from takedown.notices.generate import generate_notices
from tests.browser import BROWSER_DB, PASSWORD, log_in, shoot, staff_user
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    OrganisationFactory,
    TeamFactory,
)

pytestmark = [pytest.mark.browser, BROWSER_DB]
expect = pytest.importorskip("playwright.sync_api", reason="needs the playwright package").expect


def test_caseworker_sets_and_clears_the_party_of_an_unresolved_host(page):
    team = TeamFactory(name="Berlin")
    carla = staff_user("carla", "caseworker", team)
    case = CaseFactory(reference="TD-2026-0300", team=team, assigned_to=carla)
    host = HostFactory(
        hostname="img.niemand-demo.de", registered_domain="niemand-demo.de", status="failed"
    )
    host.current = HostResolution.objects.create(host=host, data={"holder": {"kind": "unknown"}})
    host.save()
    FoundLinkFactory(case=case, host=host)
    hoster = OrganisationFactory(name="Gefunden Hosting GmbH", kind="hosting", country="DE")
    OrganisationFactory(name="Ganz Anders AG", kind="operator", country="CH")

    log_in(page, "carla", PASSWORD)
    page.goto(f"/cases/{case.reference}/hosts/?flagged=1")
    expect(page.get_by_role("heading", name="img.niemand-demo.de")).to_be_visible()
    page.get_by_role("link", name="Set the responsible party").click()
    page.get_by_label("Search organisations").fill("gefunden")
    page.get_by_role("button", name="Search").click()
    results = page.locator("#party-results li")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Gefunden Hosting GmbH")
    results.first.get_by_label("as").select_option("hosting")
    shoot(page, "party-search")
    results.first.get_by_role("button", name="Set").click()

    expect(
        page.get_by_text(
            "Gefunden Hosting GmbH is now the hosting provider for img.niemand-demo.de."
        )
    ).to_be_visible()
    expect(page.locator("#active-decisions")).to_contain_text("Gefunden Hosting GmbH")
    decision = PartyDecision.objects.get(cleared_at__isnull=True)
    assert (decision.organisation, decision.role, decision.created_by) == (hoster, "hosting", carla)
    assert [n.recipient for n in generate_notices(case).notices] == [hoster]
    shoot(page, "party-set")

    # Decided: the host no longer needs a decision.
    page.goto(f"/cases/{case.reference}/hosts/?flagged=1")
    expect(page.get_by_text("No hosts.")).to_be_visible()

    page.goto(f"/cases/{case.reference}/hosts/img.niemand-demo.de/party/")
    page.locator("#active-decisions").get_by_role("button", name="Clear").click()
    expect(page.get_by_text("Decision cleared: resolution decides again.")).to_be_visible()
    assert not PartyDecision.objects.filter(cleared_at__isnull=True).exists()
    assert Host.objects.get(pk=host.pk).status == "failed"
