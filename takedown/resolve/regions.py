"""State and province names -> ISO 3166-2 subdivision codes (DE-BY, US-CA, CA-BC ...).

Deadlines (regional public holidays, time zones) and competent authorities (the German state
data-protection authorities) depend on an organisation's region. Registries and directories write
the state as a name in English or the local language, or as the postal abbreviation; this table
covers the German Länder, the Austrian states, the Swiss cantons, the US states (and DC), the UK
nations, the Canadian provinces and territories and the Australian states. Pure data and lookup.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Country -> {code suffix: names and abbreviations it is written as}.
_SUBDIVISIONS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "DE": {
        "BW": ("Baden-Württemberg", "Baden-Wuerttemberg"),
        "BY": ("Bayern", "Bavaria", "Freistaat Bayern"),
        "BE": ("Berlin",),
        "BB": ("Brandenburg",),
        "HB": ("Bremen", "Freie Hansestadt Bremen"),
        "HH": ("Hamburg", "Freie und Hansestadt Hamburg"),
        "HE": ("Hessen", "Hesse"),
        "MV": ("Mecklenburg-Vorpommern", "Mecklenburg-Western Pomerania"),
        "NI": ("Niedersachsen", "Lower Saxony"),
        "NW": ("Nordrhein-Westfalen", "North Rhine-Westphalia", "NRW"),
        "RP": ("Rheinland-Pfalz", "Rhineland-Palatinate"),
        "SL": ("Saarland",),
        "SN": ("Sachsen", "Saxony", "Freistaat Sachsen"),
        "ST": ("Sachsen-Anhalt", "Saxony-Anhalt"),
        "SH": ("Schleswig-Holstein",),
        "TH": ("Thüringen", "Thueringen", "Thuringia", "Freistaat Thüringen"),
    },
    "AT": {
        "1": ("Burgenland",),
        "2": ("Kärnten", "Kaernten", "Carinthia"),
        "3": ("Niederösterreich", "Niederoesterreich", "Lower Austria"),
        "4": ("Oberösterreich", "Oberoesterreich", "Upper Austria"),
        "5": ("Salzburg",),
        "6": ("Steiermark", "Styria"),
        "7": ("Tirol", "Tyrol"),
        "8": ("Vorarlberg",),
        "9": ("Wien", "Vienna"),
    },
    "CH": {
        "AG": ("Aargau", "Argovie"),
        "AI": ("Appenzell Innerrhoden",),
        "AR": ("Appenzell Ausserrhoden",),
        "BE": ("Bern", "Berne"),
        "BL": ("Basel-Landschaft", "Basel-Land"),
        "BS": ("Basel-Stadt",),
        "FR": ("Fribourg", "Freiburg"),
        "GE": ("Genève", "Geneve", "Geneva", "Genf"),
        "GL": ("Glarus",),
        "GR": ("Graubünden", "Graubuenden", "Grisons"),
        "JU": ("Jura",),
        "LU": ("Luzern", "Lucerne"),
        "NE": ("Neuchâtel", "Neuchatel", "Neuenburg"),
        "NW": ("Nidwalden",),
        "OW": ("Obwalden",),
        "SG": ("St. Gallen", "Sankt Gallen", "Saint-Gall"),
        "SH": ("Schaffhausen",),
        "SO": ("Solothurn",),
        "SZ": ("Schwyz",),
        "TG": ("Thurgau",),
        "TI": ("Ticino", "Tessin"),
        "UR": ("Uri",),
        "VD": ("Vaud", "Waadt"),
        "VS": ("Valais", "Wallis"),
        "ZG": ("Zug",),
        "ZH": ("Zürich", "Zuerich", "Zurich"),
    },
    "US": {
        "AL": ("Alabama",),
        "AK": ("Alaska",),
        "AZ": ("Arizona",),
        "AR": ("Arkansas",),
        "CA": ("California",),
        "CO": ("Colorado",),
        "CT": ("Connecticut",),
        "DE": ("Delaware",),
        "DC": ("District of Columbia", "Washington DC", "Washington, D.C."),
        "FL": ("Florida",),
        "GA": ("Georgia",),
        "HI": ("Hawaii",),
        "ID": ("Idaho",),
        "IL": ("Illinois",),
        "IN": ("Indiana",),
        "IA": ("Iowa",),
        "KS": ("Kansas",),
        "KY": ("Kentucky",),
        "LA": ("Louisiana",),
        "ME": ("Maine",),
        "MD": ("Maryland",),
        "MA": ("Massachusetts",),
        "MI": ("Michigan",),
        "MN": ("Minnesota",),
        "MS": ("Mississippi",),
        "MO": ("Missouri",),
        "MT": ("Montana",),
        "NE": ("Nebraska",),
        "NV": ("Nevada",),
        "NH": ("New Hampshire",),
        "NJ": ("New Jersey",),
        "NM": ("New Mexico",),
        "NY": ("New York",),
        "NC": ("North Carolina",),
        "ND": ("North Dakota",),
        "OH": ("Ohio",),
        "OK": ("Oklahoma",),
        "OR": ("Oregon",),
        "PA": ("Pennsylvania",),
        "RI": ("Rhode Island",),
        "SC": ("South Carolina",),
        "SD": ("South Dakota",),
        "TN": ("Tennessee",),
        "TX": ("Texas",),
        "UT": ("Utah",),
        "VT": ("Vermont",),
        "VA": ("Virginia",),
        "WA": ("Washington",),
        "WV": ("West Virginia",),
        "WI": ("Wisconsin",),
        "WY": ("Wyoming",),
        "PR": ("Puerto Rico",),
    },
    "GB": {
        "ENG": ("England",),
        "SCT": ("Scotland",),
        "WLS": ("Wales", "Cymru"),
        "NIR": ("Northern Ireland",),
    },
    "CA": {
        "AB": ("Alberta",),
        "BC": ("British Columbia", "Colombie-Britannique"),
        "MB": ("Manitoba",),
        "NB": ("New Brunswick", "Nouveau-Brunswick"),
        "NL": ("Newfoundland and Labrador", "Newfoundland"),
        "NS": ("Nova Scotia", "Nouvelle-Écosse"),
        "NT": ("Northwest Territories",),
        "NU": ("Nunavut",),
        "ON": ("Ontario",),
        "PE": ("Prince Edward Island",),
        "QC": ("Quebec", "Québec"),
        "SK": ("Saskatchewan",),
        "YT": ("Yukon",),
    },
    "AU": {
        "ACT": ("Australian Capital Territory",),
        "NSW": ("New South Wales",),
        "NT": ("Northern Territory",),
        "QLD": ("Queensland",),
        "SA": ("South Australia",),
        "TAS": ("Tasmania",),
        "VIC": ("Victoria",),
        "WA": ("Western Australia",),
    },
}
# Countries where the subdivision is commonly written as its postal abbreviation ("CA 94041").
_ABBREVIATED: Final = frozenset({"US", "CA", "AU"})


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace(".", "")
    return re.sub(r"[\s_-]+", " ", text).strip()


_BY_NAME: Final[dict[str, dict[str, str]]] = {
    country: {
        _key(name): f"{country}-{code}"
        for code, names in table.items()
        for name in (*names, *((code,) if country in _ABBREVIATED else ()))
    }
    for country, table in _SUBDIVISIONS.items()
}
_CODES: Final = frozenset(
    f"{country}-{code}" for country, table in _SUBDIVISIONS.items() for code in table
)


def region_code(country: str, state: str) -> str:
    """The ISO 3166-2 code of `state` in `country` ("" when the table does not know it).

    Accepts the full code too ("DE-BY", "us-ca"), so a caseworker's or registry's code passes."""
    country = (country or "").strip().upper()
    text = (state or "").strip()
    if not text:
        return ""
    if text.upper() in _CODES and text.upper().startswith(f"{country}-"):
        return text.upper()
    return _BY_NAME.get(country, {}).get(_key(text), "")


def region_in_address(country: str, line: str) -> str:
    """The region named in one address line ("Plainview New York 11803", "Vancouver BC V6E
    1A5", "1020 Wien"): the longest state name or abbreviation standing as whole words."""
    table = _BY_NAME.get((country or "").upper())
    if not table:
        return ""
    words = _key(re.sub(r"[,;]", " ", line)).split(" ")
    for size in range(min(4, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            found = table.get(" ".join(words[start : start + size]))
            if not found:
                continue
            # An abbreviation counts only as written in capitals ("CA", not "ca" in a word).
            written = line.split()
            if size == 1 and len(words[start]) <= 3 and words[start].upper() not in written:
                continue
            return found
    return ""


def valid_region(country: str, code: str) -> bool:
    """Whether `code` is shaped like an ISO 3166-2 code of `country` (a caseworker's input):
    the table above lists only some countries' subdivisions, so the shape is what is checked."""
    return bool(re.fullmatch(rf"{re.escape(country.upper())}-[A-Z0-9]{{1,3}}", code.upper()))
