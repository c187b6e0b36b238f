"""FoundLink.party: the first recipient resolution names for a link's host, stored on the link
so that the links page sorts and pages by it through an index (issue 16). Every writer keeps it:
a link saved onto a resolved host, a host whose current resolution changes, an import onto
hosts already resolved (resolution itself: tests/test_resolve_hosts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from takedown.cases import open_case
from takedown.intake.store import import_links
from takedown.models import FoundLink, HostResolution
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    OrganisationFactory,
    TeamFactory,
)
from tests.test_web_staff import caseworker

pytestmark = pytest.mark.django_db


def test_link_party_follows_the_hosts_current_resolution():
    hoster = OrganisationFactory(name="Hoster Eins GmbH")
    platform = OrganisationFactory(name="Pinboard", kind="platform")
    host = HostFactory(hostname="img.pinboard.example", registered_domain="pinboard.example")
    link = FoundLinkFactory(host=host)
    assert (link.party_id, link.party_role) == (None, "")

    host.current = HostResolution.objects.create(host=host, hosting=hoster)
    host.save()
    link.refresh_from_db()
    assert (link.party, link.party_role) == (hoster, "hosting")

    # A platform comes before its hosting provider, as generate_notices routes.
    host.current = HostResolution.objects.create(host=host, hosting=hoster, platform=platform)
    host.save(update_fields=["current"])
    link.refresh_from_db()
    assert (link.party, link.party_role) == (platform, "site_operator")

    later = FoundLinkFactory(host=host, case=link.case)
    assert (later.party, later.party_role) == (platform, "site_operator")


def test_link_party_of_an_import_onto_resolved_hosts(tmp_path: Path):
    hoster = OrganisationFactory(name="Hoster Eins GmbH")
    resolved = HostFactory(hostname="img.hoster-eins.de", registered_domain="hoster-eins.de")
    resolved.current = HostResolution.objects.create(host=resolved, cdn=hoster)
    resolved.save()
    path = tmp_path / "found.txt"
    path.write_text("https://img.hoster-eins.de/a.jpg\nhttps://new.unknown.example/b.jpg\n")
    case = open_case(reference="TD-2026-0160", person={"email": "p@example.org"})

    import_links(case, [path])

    parties = dict(FoundLink.objects.filter(case=case).values_list("host__hostname", "party_role"))
    assert parties == {"img.hoster-eins.de": "cdn", "new.unknown.example": ""}
    assert FoundLink.objects.get(case=case, host=resolved).party == hoster


def test_links_page_party_beyond_a_bigint_filters_nothing(client):
    team = TeamFactory(name="Berlin")
    case = CaseFactory(reference="TD-2026-0161", team=team)
    FoundLinkFactory(case=case)
    client.force_login(caseworker("carla-party", team))

    response = client.get(reverse("staff:links", args=[case.reference]), {"party": "9" * 30})

    assert response.status_code == 200
    assert len(response.context["rows"]) == 1
