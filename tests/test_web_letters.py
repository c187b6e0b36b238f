"""Staff screens for the letters of issue 12: reasons for missing entry ids, the mandate."""

from __future__ import annotations

import pytest
from django.urls import reverse

from takedown.models import CaseEvent, FoundLink, Notice
from tests.factories import FoundLinkFactory, NoticeFactory
from tests.test_web_staff import carla, case, hoster, resolved_host, team  # noqa: F401

pytestmark = pytest.mark.django_db


def test_entry_id_reason_recorded_from_the_notice_page(client, carla, case, hoster):  # noqa: F811
    host = resolved_host("img.hoster-eins.de", hoster)
    named = FoundLinkFactory(case=case, host=host, dataset="laion-5b", entry_id="77")
    unnamed = FoundLinkFactory(case=case, host=host, dataset="laion-5b")
    notice = NoticeFactory(
        case=case, recipient=hoster, recipient_role="dataset_maintainer", created_by=carla
    )
    notice.links.set([named, unnamed])
    client.force_login(carla)
    page = client.get(reverse("staff:notice", args=[case.reference, notice.pk]))
    assert [link.pk for link in page.context["unnamed_links"]] == [unnamed.pk]

    response = client.post(
        reverse("staff:entry_note", args=[case.reference, unnamed.pk]),
        {"note": "Found by a reverse image search.", "notice": notice.pk},
        follow=True,
    )

    assert response.redirect_chain == [
        (reverse("staff:notice", args=[case.reference, notice.pk]), 302)
    ]
    assert [str(m) for m in response.context["messages"]] == [
        "The reason is recorded; the notice shows it."
    ]
    unnamed.refresh_from_db()
    assert unnamed.entry_id_note == "Found by a reverse image search."
    event = CaseEvent.objects.get(kind="link.entry_id_note")
    assert (event.actor, event.link) == (carla, unnamed)
    notice.refresh_from_db()
    assert not any("dataset entry id" in item for item in notice.element_check["missing"])
    # A link that has an id needs no reason.
    refused = client.post(
        reverse("staff:entry_note", args=[case.reference, named.pk]),
        {"note": "x", "notice": notice.pk},
        follow=True,
    )
    assert [str(m) for m in refused.context["messages"]] == [
        "This link has an entry id (or is not in this case)."
    ]
    assert FoundLink.objects.get(pk=named.pk).entry_id_note == ""
    assert Notice.objects.get(pk=notice.pk).status == "draft"
