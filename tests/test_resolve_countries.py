from __future__ import annotations

import pytest

from takedown.resolve.countries import CODES, to_alpha2


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        ("Germany", "DE"),
        ("Deutschland", "DE"),
        ("Austria", "AT"),
        ("Österreich", "AT"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("UNITED STATES", "US"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("England", "GB"),
        ("Korea, Republic of", "KR"),
        ("Republic of Korea", "KR"),
        ("Korea, Democratic People's Republic of", "KP"),
        ("Hong Kong (HK)", "HK"),
        ("Hong Kong", "HK"),
        ("location: PL", "PL"),
        ("Country Code: SK", "SK"),
        ("Polska/Poland", "PL"),
        ("BULGARIA", "BG"),
        ("Côte d'Ivoire", "CI"),
        ("Cote d\u2019Ivoire", "CI"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Russian Federation", "RU"),
        ("Viet Nam", "VN"),
        ("Falkland Islands (Malvinas)", "FK"),
        ("Congo, The Democratic Republic of the", "CD"),
        ("Congo", "CG"),
        ("Netherlands", "NL"),
        ("The Netherlands", "NL"),
        ("  Ireland,  ", "IE"),
        ("EL", "GR"),
        # Local-language names, in their own scripts too (address blocks' last lines).
        ("Россия", "RU"),
        ("Российская Федерация", "RU"),
        ("Україна", "UA"),
        ("中国", "CN"),
        ("中華民國", "TW"),
        ("日本", "JP"),
        ("대한민국", "KR"),
        ("Ελλάδα", "GR"),
        ("България", "BG"),
        ("États-Unis", "US"),
        ("Estados Unidos", "US"),
        ("Vereinigte Staaten", "US"),
        ("Stany Zjednoczone", "US"),
        ("Royaume-Uni", "GB"),
        ("Niemcy", "DE"),
        ("Allemagne", "DE"),
        ("Países Bajos", "NL"),
        ("Itália", "IT"),
    ],
)
def test_to_alpha2_maps_what_records_write(text: str, code: str) -> None:
    assert to_alpha2(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Росси",  # not a country's name, in any script
        "中国人",
        "EU",  # not a country
        "XX",
        "Atlantis",
        "Out of Turkey,",
        "REDACTED FOR PRIVACY",
        "Redacted | EU Data Subject",
        "Mountain View, CA",
    ],
)
def test_to_alpha2_returns_empty_when_unknown(text: str) -> None:
    assert to_alpha2(text) == ""


def test_to_alpha2_table_has_every_iso_code_once() -> None:
    assert len(CODES) == 249
    assert all(to_alpha2(code) == code for code in CODES)
