"""Staff screens for the letters of issue 12: reasons for missing entry ids, the mandate."""

from __future__ import annotations

import pytest
from django.urls import reverse

from takedown.models import CaseEvent, FoundLink, Notice
from takedown.notices.generate import generate_notices
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


def test_caseworker_records_facts_and_the_offence_appears(client, carla, case, hoster):  # noqa: F811
    host = resolved_host("img.hoster-eins.de", hoster)
    case.category = "intimate"
    case.save()
    notice = NoticeFactory(case=case, recipient=hoster, regime="dsa", created_by=carla)
    notice.links.set([FoundLinkFactory(case=case, host=host)])
    client.force_login(carla)
    page = client.get(reverse("staff:case", args=[case.reference])).content.decode()
    assert 'name="fact-private_place"' in page

    client.post(
        reverse("staff:facts", args=[case.reference]),
        {"fact-no_consent": "yes", "fact-private_place": "yes", "fact-sexual": "no", "x": "y"},
    )

    case.refresh_from_db()
    assert case.legal_facts == {"no_consent": True, "private_place": True, "sexual": False}
    text = client.get(reverse("staff:notice", args=[case.reference, notice.pk])).content.decode()
    assert "StGB §201a" in text


def test_kug_demand_beside_or_instead_of_gdpr(client, carla, case, hoster):  # noqa: F811
    host = resolved_host("img.hoster-eins.de", hoster)
    FoundLinkFactory(case=case, host=host)
    client.force_login(carla)
    generate_notices(case, actor=carla)
    notice = Notice.objects.get(case=case, recipient=hoster)
    page = client.get(reverse("staff:notice", args=[case.reference, notice.pk]))
    options = [(regime.code, reason) for regime, reason in page.context["regime_options"]]
    assert [code for code, _ in options] == ["dsa", "gdpr", "kug", "generic_privacy"]
    assert options[2][1] == (
        "Removal demand under the right to one's own image (KUG §§22, 23, 33): the recipient's"
        " country is one where it applies; answer within 14 calendar days (our setting); needs"
        " the signed mandate."
    )

    client.post(
        reverse("staff:regime", args=[case.reference, notice.pk]),
        {"regime": "kug", "mode": "beside"},
    )
    client.post(
        reverse("staff:regime", args=[case.reference, notice.pk]),
        {"regime": "gdpr", "mode": "instead"},
    )
    generate_notices(case, actor=carla)

    regimes = sorted(
        Notice.objects.filter(case=case, recipient=hoster).values_list("regime", "regime_chosen_by")
    )
    assert regimes == [("gdpr", carla.pk), ("kug", carla.pk)]
    assert CaseEvent.objects.filter(case=case, kind="notice.regime_chosen").count() == 2
    refused = client.post(
        reverse("staff:regime", args=[case.reference, notice.pk]),
        {"regime": "take_it_down", "mode": "instead"},
        follow=True,
    )
    kug = Notice.objects.get(case=case, recipient=hoster, regime="kug")
    assert [str(m) for m in refused.context["messages"]] == [
        f"Notice {kug.pk} now uses “Removal demand under the right to one's own image”.",
        f"Notice {notice.pk} now uses “GDPR erasure request”.",
        "“TAKE IT DOWN Act removal request” does not apply to this recipient and case",
    ]


def test_access_request_toggled_on_a_gdpr_draft(client, carla, case, hoster):  # noqa: F811
    notice = NoticeFactory(case=case, recipient=hoster, regime="gdpr", created_by=carla)
    client.force_login(carla)

    client.post(reverse("staff:access", args=[case.reference, notice.pk]), {"access": "1"})

    notice.refresh_from_db()
    assert notice.access_request is True
    text = client.get(reverse("staff:notice", args=[case.reference, notice.pk])).content.decode()
    assert "The person also requests access under GDPR Art. 15" in text


def test_one_reason_for_every_link_without_an_entry_id(client, carla, case, hoster):  # noqa: F811
    host = resolved_host("img.hoster-eins.de", hoster)
    links = [FoundLinkFactory(case=case, host=host, dataset="laion-5b") for _ in range(3)]
    named = FoundLinkFactory(case=case, host=host, dataset="laion-5b", entry_id="9")
    notice = NoticeFactory(
        case=case, recipient=hoster, recipient_role="dataset_maintainer", created_by=carla
    )
    notice.links.set([*links, named])
    client.force_login(carla)

    response = client.post(
        reverse("staff:entry_note", args=[case.reference, links[0].pk]),
        {"note": "The file has no id column.", "notice": notice.pk, "all": "1"},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "The reason is recorded for 3 links; the notice shows it."
    ]
    notes = dict(FoundLink.objects.filter(case=case).values_list("pk", "entry_id_note"))
    assert notes == {**{link.pk: "The file has no id column." for link in links}, named.pk: ""}
    notice.refresh_from_db()
    assert not any("dataset entry id" in item for item in notice.element_check["missing"])
