from __future__ import annotations

import pytest

from takedown.resolve.facts import REDACTED
from takedown.resolve.jurisdiction import EU_EEA, PartyEvidence, assess

HETZNER = PartyEvidence("hosting", "Hetzner Online GmbH", "DE", "rdap")


def test_eu_eea_has_27_members_and_3_eea_states() -> None:
    assert len(EU_EEA) == 30
    assert {"DE", "IE", "NO", "IS", "LI"} <= EU_EEA
    assert "GB" not in EU_EEA
    assert "CH" not in EU_EEA


def test_assess_eu_hosting_in_de() -> None:
    result = assess([HETZNER], category="intimate")
    assert result.countries == ["DE"]
    assert result.regimes == ["gdpr", "dsa", "kug"]
    assert result.confidence == "medium"
    assert result.needs_decision is False
    assert result.reasons[0] == (
        "Hosting provider Hetzner Online GmbH is in DE (rdap): GDPR, DSA, KUG §22."
    )
    assert result.by_party == [
        {
            "role": "hosting",
            "name": "Hetzner Online GmbH",
            "country": "DE",
            "source": "rdap",
            "regimes": ["gdpr", "dsa", "kug"],
        }
    ]


def test_assess_medical_category_mentions_art9() -> None:
    result = assess([HETZNER], category="medical")
    assert "GDPR Art. 9: health data are a special category." in result.reasons


def test_assess_personal_category_omits_art9() -> None:
    result = assess([HETZNER], category="personal")
    assert [r for r in result.reasons if "Art. 9" in r] == []


def test_assess_fr_platform() -> None:
    result = assess([PartyEvidence("platform", "Exemple SAS", "FR", "directory")])
    assert result.regimes == ["gdpr", "dsa"]
    assert result.confidence == "high"


def test_assess_gb_platform() -> None:
    result = assess([PartyEvidence("platform", "Example Ltd", "GB", "rdap")], category="intimate")
    assert result.regimes == ["uk_gdpr", "uk_osa"]
    assert any("s.66B" in r for r in result.reasons)


def test_assess_gb_hosting_without_osa() -> None:
    result = assess([PartyEvidence("hosting", "Example Hosting Ltd", "GB", "rdap")])
    assert result.regimes == ["uk_gdpr"]


def test_assess_us_platform_intimate() -> None:
    result = assess([PartyEvidence("platform", "Example Inc", "US", "rdap")], category="intimate")
    assert result.regimes == ["take_it_down"]


def test_assess_us_platform_medical() -> None:
    result = assess([PartyEvidence("platform", "Example Inc", "US", "rdap")], category="medical")
    assert result.regimes == ["generic_privacy"]
    assert "TAKE IT DOWN Act does not apply: it covers intimate images only." in result.reasons


def test_assess_us_platform_without_category_lists_conditions() -> None:
    result = assess([PartyEvidence("platform", "Example Inc", "US", "rdap")])
    assert result.regimes == ["generic_privacy"]
    assert "TAKE IT DOWN Act applies only to intimate images." in result.reasons
    assert "DMCA applies only if the affected person owns the copyright." in result.reasons


def test_assess_us_hosting_owns_copyright() -> None:
    result = assess(
        [PartyEvidence("hosting", "Example Hosting LLC", "US", "rdap")],
        category="personal",
        owns_copyright=True,
    )
    assert result.regimes == ["dmca"]


def test_assess_us_operator_owns_copyright_without_dmca() -> None:
    result = assess(
        [PartyEvidence("operator", "A Person", "US", "override")],
        category="personal",
        owns_copyright=True,
    )
    assert result.regimes == ["generic_privacy"]


def test_assess_cdn_only_in_us() -> None:
    result = assess([PartyEvidence("cdn", "Example CDN Inc", "US", "rule")], category="intimate")
    assert result.regimes == ["generic_privacy"]
    assert result.countries == ["US"]
    assert result.confidence == "low"
    assert result.needs_decision is True


def test_assess_eu_cdn_without_dsa() -> None:
    result = assess([HETZNER, PartyEvidence("cdn", "Example CDN SE", "SE", "rule")])
    assert result.by_party[1]["regimes"] == ["gdpr"]
    assert result.regimes == ["gdpr", "dsa", "kug"]
    assert any("caching service (DSA Art. 5)" in r for r in result.reasons)


def test_assess_jp_hosting() -> None:
    result = assess([PartyEvidence("hosting", "Example KK", "JP", "whois")])
    assert result.regimes == ["generic_privacy"]
    assert result.countries == ["JP"]
    assert result.confidence == "medium"


def test_assess_country_names_normalised() -> None:
    result = assess([PartyEvidence("hosting", "Example Ltd", "United Kingdom", "whois")])
    assert result.countries == ["GB"]


def test_assess_conflicting_countries_same_role() -> None:
    result = assess(
        [
            PartyEvidence("platform", "Example LLC", "US", "rdap"),
            PartyEvidence("platform", "Example Ireland Ltd", "IE", "whois"),
        ]
    )
    assert result.needs_decision is True
    assert result.decision_reasons[0] == (
        "Platform: rdap says US (Example LLC), whois says IE (Example Ireland Ltd);"
        " a caseworker must decide which entity is responsible."
    )
    assert result.countries == []
    assert result.regimes == ["generic_privacy"]
    assert result.confidence == "low"
    assert [p["regimes"] for p in result.by_party] == [[], []]


def test_assess_directory_beats_rdap() -> None:
    result = assess(
        [
            PartyEvidence("platform", "Google LLC", "US", "rdap"),
            PartyEvidence("platform", "Google Ireland Limited", "IE", "directory"),
        ],
        category="intimate",
    )
    assert result.needs_decision is False
    assert result.countries == ["IE"]
    assert result.regimes == ["gdpr", "dsa"]
    assert result.confidence == "high"
    assert result.reasons[0].startswith("Platform: directory says IE, rdap says US; directory")
    assert [p["regimes"] for p in result.by_party] == [[], ["gdpr", "dsa"]]


def test_assess_override_beats_directory() -> None:
    result = assess(
        [
            PartyEvidence("hosting", "Example BV", "NL", "directory"),
            PartyEvidence("hosting", "Example GmbH", "DE", "override"),
        ]
    )
    assert result.countries == ["DE"]
    assert result.needs_decision is False


def test_assess_two_agreeing_registry_sources_high() -> None:
    result = assess([HETZNER, PartyEvidence("hosting", "Hetzner Online GmbH", "DE", "whois")])
    assert result.confidence == "high"
    assert result.reasons[0].startswith(
        "Hosting provider Hetzner Online GmbH is in DE (rdap, whois)"
    )


def test_assess_no_country_anywhere() -> None:
    result = assess(
        [
            PartyEvidence("hosting", "Example", "", "rdap"),
            PartyEvidence("registrar", "Example Registrar", "", "rdap"),
        ]
    )
    assert result.confidence == "none"
    assert result.needs_decision is True
    assert result.regimes == ["generic_privacy"]
    assert result.countries == []


def test_assess_no_parties() -> None:
    result = assess([])
    assert result.confidence == "none"
    assert result.needs_decision is True
    assert result.regimes == ["generic_privacy"]


def test_assess_only_registrar_country_known() -> None:
    result = assess(
        [
            PartyEvidence("hosting", "Example", "", "rdap"),
            PartyEvidence("registrar", "Example Registrar Inc", "US", "rdap"),
        ]
    )
    assert result.confidence == "low"
    assert result.countries == ["US"]
    assert result.regimes == ["generic_privacy"]
    assert result.needs_decision is True
    assert result.decision_reasons[0].startswith("Only the registrar's country (US) is known")


def test_assess_registrar_not_counted_when_host_known() -> None:
    result = assess([HETZNER, PartyEvidence("registrar", "Example Registrar Inc", "US", "rdap")])
    assert result.countries == ["DE"]
    assert result.by_party[1]["regimes"] == []


def test_assess_person_in_de_and_us_platform() -> None:
    result = assess(
        [PartyEvidence("platform", "Example Inc", "US", "rdap")],
        category="intimate",
        person_country="DE",
    )
    assert result.regimes == ["gdpr", "take_it_down"]
    assert result.confidence == "medium"
    assert result.reasons[1] == (
        "The affected person is in DE: GDPR may bind Example Inc under Art. 3(2) if it offers"
        " services to or monitors people in the EU (low confidence)."
    )


# Art. 3(2) binds a controller, who decides the purposes and means (GDPR Art. 4(7)): neither a
# hosting provider nor the domain holder merely for holding the domain.
@pytest.mark.parametrize(
    ("role", "reason"),
    [
        ("hosting", "Hosting provider Example LLC is in US (rdap): generic privacy request."),
        ("registrant", "Registrant Example LLC is in US (rdap): generic privacy request."),
    ],
)
def test_assess_person_in_de_and_us_non_controller_without_art_3_2(role: str, reason: str) -> None:
    result = assess(
        [PartyEvidence(role, "Example LLC", "US", "rdap")],
        category="intimate",
        person_country="DE",
    )
    assert result.regimes == ["generic_privacy"]
    assert result.reasons == [reason]


def test_assess_person_country_only() -> None:
    result = assess([PartyEvidence("hosting", "Example", "", "rdap")], person_country="AT")
    assert result.confidence == "low"
    assert result.regimes == ["gdpr", "generic_privacy"]
    assert result.countries == []
    assert result.needs_decision is True


def test_assess_redacted_registrant_noted() -> None:
    result = assess([PartyEvidence("registrant", "", REDACTED, "whois")])
    assert "Registrant (unnamed): country redacted in whois." in result.reasons
    assert result.decision_reasons == [
        "No party that can remove the image has a settled country (registrant: redacted)."
    ]
    assert result.countries == []
    assert result.by_party[0]["country"] == "redacted"


def test_assess_platform_without_country_needs_decision() -> None:
    result = assess([PartyEvidence("platform", "Example", "", "rule"), HETZNER])
    assert result.countries == ["DE"]
    assert result.confidence == "medium"
    assert result.decision_reasons == [
        "Platform has no settled country; regimes rest on the hosting provider."
    ]


def test_assess_unknown_role_raises() -> None:
    with pytest.raises(ValueError, match="unknown role or source"):
        assess([PartyEvidence("webmaster", "Example", "DE", "rdap")])


def test_assess_unknown_category_raises() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        assess([HETZNER], category="nsfw")


def test_jurisdiction_as_dict_keys() -> None:
    assert list(assess([HETZNER]).as_dict()) == [
        "countries",
        "regimes",
        "confidence",
        "reasons",
        "needs_decision",
        "decision_reasons",
        "by_party",
    ]
