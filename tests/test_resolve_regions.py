"""State and province names -> ISO 3166-2 codes (pure, table-driven)."""

from __future__ import annotations

import pytest

from takedown.resolve.regions import region_code, region_in_address, valid_region


@pytest.mark.parametrize(
    ("country", "state", "code"),
    [
        ("DE", "Bayern", "DE-BY"),
        ("DE", "Bavaria", "DE-BY"),
        ("DE", "Nordrhein-Westfalen", "DE-NW"),
        ("DE", "nordrhein westfalen", "DE-NW"),
        ("DE", "Thueringen", "DE-TH"),
        ("de", "DE-BE", "DE-BE"),
        ("AT", "Wien", "AT-9"),
        ("AT", "Niederösterreich", "AT-3"),
        ("CH", "Zürich", "CH-ZH"),
        ("CH", "Genève", "CH-GE"),
        ("CH", "Tessin", "CH-TI"),
        ("US", "California", "US-CA"),
        ("US", "CA", "US-CA"),
        ("US", "New York", "US-NY"),
        ("GB", "Scotland", "GB-SCT"),
        ("CA", "Québec", "CA-QC"),
        ("CA", "BC", "CA-BC"),
        ("AU", "New South Wales", "AU-NSW"),
        ("DE", "CA", ""),
        ("DE", "Atlantis", ""),
        ("FR", "Bretagne", ""),
        ("US", "", ""),
    ],
)
def test_region_code(country, state, code):
    assert region_code(country, state) == code


@pytest.mark.parametrize(
    ("country", "line", "code"),
    [
        ("US", "Plainview New York 11803", "US-NY"),
        ("US", "Mountain View, CA 94041", "US-CA"),
        ("CA", "Vancouver BC V6E 1A5", "CA-BC"),
        ("AT", "1020 Wien", "AT-9"),
        ("DE", "13627 Berlin", "DE-BE"),
        ("DE", "68161 Mannheim", ""),
        ("US", "Cambridge ma 02139", ""),
        ("IT", "20139 Milano", ""),
    ],
)
def test_region_in_address(country, line, code):
    assert region_in_address(country, line) == code


def test_valid_region_checks_the_shape_and_the_country():
    assert valid_region("DE", "DE-BY") is True
    assert valid_region("FR", "FR-75") is True
    assert valid_region("DE", "AT-9") is False
    assert valid_region("DE", "Bayern") is False
