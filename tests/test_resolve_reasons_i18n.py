"""The resolver's jurisdiction and holder reasons, stored in English, shown in the reader's
language (jurisdiction.reason_label and holder.reason_label, through stored_text.StoredText)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from takedown.models import HostResolution
from takedown.notices.regimes import REGIMES, deadline_basis, get_regime
from takedown.resolve import facts, holder
from takedown.resolve.jurisdiction import REASONS, PartyEvidence, assess, reason_label
from tests.factories import (
    CaseFactory,
    FoundLinkFactory,
    HostFactory,
    OrganisationFactory,
    TeamFactory,
    caseworker,
)

# Evidence that makes `assess` word every template at least once.
SCENARIOS = [
    dict(parties=[PartyEvidence("hosting", "Hoster GmbH", "DE", "rdap")], category="intimate"),
    dict(parties=[PartyEvidence("hosting", "Hoster GmbH", "DE", "rdap")], category="medical"),
    dict(
        parties=[
            PartyEvidence("platform", "Google LLC", "US", "rdap"),
            PartyEvidence("platform", "Google Ireland Ltd", "IE", "directory"),
            PartyEvidence("registrant", "", "redacted", "whois"),
        ],
        category=None,
        person_country="DE",
    ),
    dict(
        parties=[
            PartyEvidence("platform", "A Inc", "US", "rdap"),
            PartyEvidence("platform", "B Ltd", "IE", "whois"),
            PartyEvidence("hosting", "Host, Ltd", "GB", "rdap"),
            PartyEvidence("cdn", "Edge BV", "NL", "rdap"),
        ],
        category=None,
    ),
    dict(
        parties=[
            PartyEvidence("registrar", "Reg Inc", "US", "whois"),
            PartyEvidence("hosting", "", "redacted", "whois"),
        ],
        person_country="FR",
    ),
    dict(parties=[PartyEvidence("platform", "", "US", "rdap")], person_country="DE"),
    dict(parties=[PartyEvidence("platform", "P Inc", "US", "rdap")], category="personal"),
    dict(parties=[PartyEvidence("platform", "P Inc", "GB", "rdap")], category="intimate"),
    dict(parties=[PartyEvidence("platform", "P Ltd", "GB", "rdap")], category="personal"),
    dict(parties=[PartyEvidence("cdn", "C Inc", "US", "rdap")], category="personal"),
    dict(parties=[PartyEvidence("hosting", "", "", "rdap")]),
    dict(parties=[PartyEvidence("dataset_maintainer", "Lab", "redacted", "rdap")]),
    dict(
        parties=[
            PartyEvidence("operator", "Site Ltd", "redacted", "whois"),
            PartyEvidence("hosting", "Hoster GmbH", "DE", "rdap"),
        ]
    ),
]


def _stored() -> list[str]:
    texts: list[str] = []
    for scenario in SCENARIOS:
        found = assess(**scenario)  # type: ignore[arg-type]
        texts += found.reasons + found.decision_reasons
    return texts


@pytest.mark.parametrize(
    "templates", [REASONS.templates, holder.REASONS.templates, facts.ERRORS.templates]
)
def test_every_reason_template_has_german_with_the_same_details(templates) -> None:
    with translation.override("de"):
        for template in templates:
            german = translation.gettext(template)
            assert german != template, template
            assert sorted(re.findall(r"%\(\w+\)s", german)) == sorted(
                re.findall(r"%\(\w+\)s", template)
            ), template


def test_every_template_is_worded_by_the_scenarios_and_read_back() -> None:
    stored = _stored()
    for template in REASONS.templates:
        pattern = re.escape(template)
        pattern = re.sub(r"%\\\(\w+\\\)s", ".+", pattern)
        assert any(re.fullmatch(pattern, text) for text in stored), template
    with translation.override("de"):
        for text in stored:
            assert reason_label(text) != text, text
    with translation.override("en"):
        assert [reason_label(text) for text in stored] == stored


def test_details_are_shown_in_german() -> None:
    with translation.override("de"):
        assert reason_label(
            "Hosting provider Hoster GmbH is in DE (rdap): GDPR, DSA, KUG §22."
        ) == ("Hosting-Anbieter Hoster GmbH ist in DE (rdap): GDPR, DSA, KUG §22.")
        assert reason_label("Registrant (unnamed): country redacted in whois.") == (
            "Domaininhaber (ohne Namen): Land in whois geschwärzt."
        )
        assert reason_label(
            "Only the registrar's country (US) is known: No party that can remove the image"
            " has a settled country (hosting provider: redacted)."
        ) == (
            "Nur das Land des Registrars (US) ist bekannt: Keine Partei, die das Bild entfernen"
            " kann, hat ein gesichertes Land (Hosting-Anbieter: geschwärzt)."
        )
        # A reason no template knows (an older wording) stays as stored.
        assert reason_label("hosting in DE (rdap)") == "hosting in DE (rdap)"


@pytest.mark.django_db
def test_hosts_page_shows_reasons_in_the_readers_language(client) -> None:
    team = TeamFactory()
    user = caseworker("carla", team)
    case = CaseFactory(team=team, assigned_to=user)
    hoster = OrganisationFactory(name="Hoster Eins GmbH", country="DE")
    host = HostFactory(hostname="img.hoster-eins.de", registered_domain="hoster-eins.de")
    found = assess([PartyEvidence("hosting", "Hoster Eins GmbH", "DE", "rdap")], category=None)
    host.current = HostResolution.objects.create(
        host=host,
        hosting=hoster,
        data={"jurisdiction": found.as_dict()},
        errors=[
            {"source": "whois", "message": facts.NO_WHOIS_SERVER % {"tld": "zz"}},
            {"source": "rdap", "message": "HTTP 418 from the server"},
        ],
    )
    host.save()
    FoundLinkFactory(case=case, host=host)
    client.force_login(user)
    url = reverse("staff:hosts", args=[case.reference])

    german = client.get(url, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "DSGVO Art. 9 gilt, wenn die Bilder Gesundheit oder Sexualleben zeigen." in german
    assert "GDPR Art. 9 applies if the images show health or sex life." not in german
    assert "Hosting-Anbieter Hoster Eins GmbH ist in DE (rdap)" in german
    assert "GDPR Art. 9 applies if the images show health or sex life." in english
    assert "Hosting provider Hoster Eins GmbH is in DE (rdap)" in english
    assert "<span>kein WHOIS-Server für .zz</span>" in german
    assert '<span lang="en">HTTP 418 from the server</span>' in german
    assert "no WHOIS server for .zz" in english


def test_holder_reasons_are_shown_in_german() -> None:
    stored = [
        holder.classify_holder("", "", privacy_proxy=True).reason,
        holder.classify_holder("", "Example Ltd.").reason,
        holder.classify_holder("", "Example GmbH").reason,
        holder.classify_holder("Hans Muster GmbH", "").reason,
        holder.classify_holder("Erika Muster", "").reason,
        holder.classify_holder("", "", redacted=True).reason,
        holder.classify_party(None).reason,
    ]
    assert len(set(stored)) == len(stored)
    with translation.override("de"):
        shown = [holder.reason_label(text) for text in stored]
    assert all(german != english for german, english in zip(shown, stored, strict=True))
    assert shown[1] == "Die Registry nennt die Organisation Example Ltd."
    assert shown[4] == (
        "Der Inhaber Erika Muster scheint eine Privatperson zu sein: Die Fallbearbeitung muss"
        " das bestätigen, bevor eine Meldung an ihn geht."
    )
    with translation.override("en"):
        assert [holder.reason_label(text) for text in stored] == stored


def test_deadline_basis_is_cited_in_the_letters_language() -> None:
    gdpr, tida = get_regime("gdpr"), get_regime("take_it_down")
    assert deadline_basis(gdpr, "de") == "Art. 12 Abs. 3 DSGVO"
    assert deadline_basis(gdpr, "en") == "GDPR Art. 12(3)" == gdpr.deadline_basis
    assert deadline_basis(tida, "de") == "47 U.S.C. §223a(a)(3)"
    with translation.override("de"):
        assert deadline_basis(gdpr) == "Art. 12 Abs. 3 DSGVO"
        for regime in REGIMES.values():
            assert deadline_basis(regime) or not regime.deadline_basis
