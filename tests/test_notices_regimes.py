from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from takedown import complaint_period
from takedown.notices import regimes
from takedown.notices.periods import add_months
from takedown.notices.regimes import (
    MANDATE,
    REGIMES,
    UnknownRegime,
    choose_regime,
    get_regime,
)
from takedown.resolve import jurisdiction

BERLIN = ZoneInfo("Europe/Berlin")


def keys(code: str, category: str = "other") -> tuple[str, ...]:
    return tuple(e.key for e in get_regime(code).required_elements(category))


def test_regime_codes_match_jurisdiction() -> None:
    assert tuple(REGIMES) == jurisdiction.REGIMES


def test_get_regime_unknown_code_raises() -> None:
    with pytest.raises(UnknownRegime):
        get_regime("nope")
    with pytest.raises(KeyError):  # callers may catch it as the KeyError it is
        get_regime("")


def test_elements_dsa_are_art_16_2() -> None:
    assert keys("dsa") == ("legal_basis", "urls", "notifier", "good_faith")
    assert [e.citation for e in get_regime("dsa").elements] == [
        "Art. 16(2)(a)",
        "Art. 16(2)(b)",
        "Art. 16(2)(c)",
        "Art. 16(2)(d)",
    ]


def test_elements_gdpr_add_art_9_only_for_special_categories() -> None:
    base = ("urls", "legal_basis", "inform_controllers", "deadline")
    tail = ("notifier", "signature", "mandate")
    assert keys("gdpr", "personal") == (*base, *tail)
    assert keys("gdpr", "medical") == ("urls", "legal_basis", "special_category", *base[2:], *tail)
    assert keys("uk_gdpr", "intimate") == keys("gdpr", "intimate")


def test_elements_dmca_are_the_six_of_512c3_plus_mandate_identity_and_agent() -> None:
    dmca = get_regime("dmca")
    assert keys("dmca") == (
        "signature",
        "work",
        "urls",
        "notifier",
        "good_faith",
        "perjury",
        "mandate",
        "identity",
        "agent",
    )
    assert [e.citation for e in dmca.elements[:6]] == [
        "(i)",
        "(ii)",
        "(iii)",
        "(iv)",
        "(v)",
        "(vi)",
    ]


def test_elements_take_it_down_kug_uk_osa_generic() -> None:
    assert keys("take_it_down", "intimate") == (
        "signature",
        "urls",
        "good_faith",
        "notifier",
        "mandate",
    )
    assert keys("kug") == (
        "representation",
        "mandate",
        "urls",
        "lack_of_consent",
        "deadline",
        "reservation",
        "signature",
    )
    assert keys("uk_osa") == (
        "urls",
        "legal_basis",
        "representation",
        "notifier",
        "signature",
        "mandate",
    )
    assert keys("generic_privacy") == ("urls", "legal_basis", "notifier", "signature")


def test_deadlines_per_regime() -> None:
    assert {code: (r.deadline_amount, r.deadline_unit) for code, r in REGIMES.items()} == {
        "gdpr": (1, "months"),
        "dsa": (7, "calendar_days"),
        "uk_gdpr": (1, "months"),
        "uk_osa": (48, "hours"),
        "take_it_down": (48, "hours"),
        "dmca": (5, "working_days"),
        "kug": (14, "calendar_days"),
        "generic_privacy": (14, "calendar_days"),
        "search_delisting": (1, "months"),
        "search_outdated": (14, "calendar_days"),
    }
    # The §77b StGB period is the case's, not a letter's (takedown.complaint_period).
    assert not hasattr(get_regime("kug"), "complaint_deadline_months")
    assert complaint_period.PERIOD_MONTHS == 3


def test_mandate_and_disclosure_flags_per_regime() -> None:
    assert {code for code, r in REGIMES.items() if r.needs_mandate} == {
        "gdpr",
        "uk_gdpr",
        "uk_osa",
        "take_it_down",
        "dmca",
        "kug",
        "search_delisting",
    }
    # Delisting works on searches for the person's name (docs/law/search-engines.md).
    assert {code for code, r in REGIMES.items() if r.discloses_person} == {
        "dmca",
        "search_delisting",
    }


def test_regime_flag_without_element_is_refused() -> None:
    gdpr = get_regime("gdpr")
    without_mandate = tuple(e for e in gdpr.elements if e is not MANDATE)
    with pytest.raises(ValueError, match="needs_mandate"):
        replace(gdpr, elements=without_mandate)
    with pytest.raises(ValueError, match="discloses_person"):
        replace(gdpr, discloses_person=True)
    with pytest.raises(ValueError, match="not in jurisdiction"):
        replace(gdpr, code="gdpr2")


def test_due_at_hours_days_working_days_months() -> None:
    friday = datetime(2026, 3, 6, 15, 30, tzinfo=BERLIN)
    end = (23, 59, 59)
    assert get_regime("take_it_down").due_at(friday) == datetime(2026, 3, 8, 15, 30, tzinfo=BERLIN)
    assert get_regime("dsa").due_at(friday) == datetime(2026, 3, 13, *end, tzinfo=BERLIN)
    # Five working days from a Friday skip one weekend: the next Friday.
    assert get_regime("dmca").due_at(friday) == datetime(2026, 3, 13, *end, tzinfo=BERLIN)
    saturday = datetime(2026, 3, 7, 9, 0, tzinfo=BERLIN)
    assert get_regime("dmca").due_at(saturday) == datetime(2026, 3, 13, *end, tzinfo=BERLIN)
    # 6 April 2026 is Easter Monday in every German state: the month runs to Tuesday.
    assert get_regime("gdpr").due_at(friday, country="DE") == datetime(
        2026, 4, 7, *end, tzinfo=BERLIN
    )
    assert get_regime("gdpr").due_at(friday) == datetime(2026, 4, 6, *end, tzinfo=BERLIN)


def test_add_months_clamps_to_the_last_day_of_the_month() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


@pytest.mark.parametrize(
    ("code", "kwargs", "expected"),
    [
        ("dmca", {"country": "US", "role": "hosting", "category": "personal"}, False),
        (
            "dmca",
            {"country": "US", "role": "hosting", "category": "personal", "owns_copyright": True},
            True,
        ),
        ("take_it_down", {"country": "US", "role": "site_operator", "category": "intimate"}, True),
        ("take_it_down", {"country": "US", "role": "site_operator", "category": "medical"}, False),
        (
            "take_it_down",
            {"country": "US", "role": "dataset_maintainer", "category": "intimate"},
            False,
        ),
        ("dsa", {"country": "DE", "role": "hosting", "category": "medical"}, True),
        ("dsa", {"country": "DE", "role": "cdn", "category": "medical"}, False),
        ("dsa", {"country": "US", "role": "hosting", "category": "medical"}, False),
        ("kug", {"country": "de", "role": "site_operator", "category": "other"}, True),
        ("kug", {"country": "AT", "role": "site_operator", "category": "other"}, False),
        ("uk_osa", {"country": "GB", "role": "site_operator", "category": "intimate"}, True),
        ("generic_privacy", {"country": "BR", "role": "registrar", "category": "other"}, True),
        ("generic_privacy", {"country": "BR", "role": "dpa", "category": "other"}, False),
        # GDPR Art. 3(2): a controller outside the EU serving a person in it, not its host.
        (
            "gdpr",
            {
                "country": "US",
                "role": "site_operator",
                "category": "medical",
                "person_country": "DE",
            },
            True,
        ),
        (
            "gdpr",
            {"country": "US", "role": "hosting", "category": "medical", "person_country": "DE"},
            False,
        ),
        ("gdpr", {"country": "US", "role": "site_operator", "category": "medical"}, False),
    ],
)
def test_regime_applies(code: str, kwargs: dict, expected: bool) -> None:
    kwargs = {"owns_copyright": False, **kwargs}
    assert get_regime(code).applies(**kwargs) is expected


@pytest.mark.parametrize(
    ("candidates", "role", "category", "owns_copyright", "expected"),
    [
        (["gdpr", "dsa", "kug"], "hosting", "medical", False, "dsa"),
        (["gdpr", "dsa", "kug"], "site_operator", "medical", False, "gdpr"),
        (["gdpr", "dsa"], "cdn", "medical", False, "gdpr"),
        (["take_it_down", "dmca"], "site_operator", "intimate", True, "take_it_down"),
        (["take_it_down", "dmca"], "hosting", "personal", True, "dmca"),
        (["dmca"], "hosting", "personal", False, "generic_privacy"),
        ([], "registrar", "other", False, "generic_privacy"),
        (["gdpr"], "dataset_maintainer", "personal", False, "gdpr"),
        (["gdpr"], "dpa", "medical", False, "gdpr"),
    ],
)
def test_choose_regime(
    candidates: list[str], role: str, category: str, owns_copyright: bool, expected: str
) -> None:
    chosen = choose_regime(candidates, role=role, category=category, owns_copyright=owns_copyright)
    assert chosen is not None
    assert chosen.code == expected


def test_choose_regime_dpa_outside_gdpr_is_none() -> None:
    assert choose_regime(["dmca"], role="dpa", category="other", owns_copyright=True) is None


def test_preference_lists_only_regimes_that_address_the_role() -> None:
    for role, codes in regimes.PREFERENCE.items():
        assert [code for code in codes if role not in REGIMES[code].roles] == [], role
