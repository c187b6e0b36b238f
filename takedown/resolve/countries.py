"""Country names as WHOIS records write them, turned into ISO 3166-1 alpha-2 codes.

Records write "DE", "Germany", "Deutschland", "United States of America", "U.S.A.", "UK",
"Hong Kong (HK)", "Korea, Republic of", "Polska/Poland", "Россия", "中国" or "location: PL".
`to_alpha2` maps all of these to a code and returns "" for anything it does not know, so a
caller never stores a guess. The table is the ISO 3166-1 list (names as ISO writes them) plus
the aliases and local-language names registries write in address blocks: the country's own
name (in its own script too) and, for the countries most holders sit in, the names German,
French, Spanish, Portuguese, Italian and Polish registries give them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Per ISO 3166-1 entry: code, then the ISO short name, then aliases, "|"-separated; a code
# may take a second line for more aliases.
_TABLE: Final = """
AD Andorra
AE United Arab Emirates|UAE
AF Afghanistan
AG Antigua and Barbuda
AI Anguilla
AL Albania|Shqipëria
AM Armenia
AO Angola
AQ Antarctica
AR Argentina|República Argentina
AS American Samoa
AT Austria|Österreich|Oesterreich
AT Autriche|Austria (AT)
AU Australia
AW Aruba
AX Åland Islands
AZ Azerbaijan
BA Bosnia and Herzegovina|Bosnia-Herzegovina|Bosna i Hercegovina
BB Barbados
BD Bangladesh
BE Belgium|België|Belgique|Belgien
BE Bélgica|Belgio|Belgia|Бельгия
BF Burkina Faso
BG Bulgaria|Bulgarien
BG България|Болгария
BH Bahrain
BI Burundi
BJ Benin
BL Saint Barthélemy
BM Bermuda
BN Brunei Darussalam|Brunei
BO Bolivia, Plurinational State of|Bolivia|Plurinational State of Bolivia
BQ Bonaire, Sint Eustatius and Saba|Caribbean Netherlands
BR Brazil|Brasil
BR Brésil|Brasile|Brazylia|Бразилия
BS Bahamas|The Bahamas
BT Bhutan
BV Bouvet Island
BW Botswana
BY Belarus
BY Беларусь|Белоруссия|Białoruś
BZ Belize
CA Canada
CA Kanada|Канада
CC Cocos (Keeling) Islands|Cocos Islands
CD Congo, The Democratic Republic of the|Democratic Republic of the Congo|DR Congo
CF Central African Republic
CG Congo|Republic of the Congo
CH Switzerland|Schweiz|Suisse|Svizzera|Confoederatio Helvetica
CH Suiza|Suíça|Szwajcaria|Швейцария
CI Côte d'Ivoire|Ivory Coast
CK Cook Islands
CL Chile
CM Cameroon
CN China|People's Republic of China|PR China
CN 中国|中华人民共和国|中國|Chine|Chiny|Китай|중국
CO Colombia
CR Costa Rica
CU Cuba
CV Cabo Verde|Cape Verde
CW Curaçao
CX Christmas Island
CY Cyprus
CZ Czechia|Czech Republic|Česká republika|Tschechien
CZ République tchèque|República Checa|Repubblica Ceca|Czechy|Чехия
DE Germany|Deutschland|Federal Republic of Germany
DE Allemagne|Alemania|Alemanha|Germania|Niemcy|Германия|Німеччина|ドイツ|독일|德国
DJ Djibouti
DK Denmark|Danmark|Dänemark
DK Danemark|Dinamarca|Dania|Дания
DM Dominica
DO Dominican Republic|República Dominicana
DZ Algeria
EC Ecuador
EE Estonia|Eesti
EG Egypt
EH Western Sahara
ER Eritrea
ES Spain|España|Spanien
ES Espagne|Espanha|Spagna|Hiszpania|Испания
ET Ethiopia
FI Finland|Suomi|Finnland
FI Finlande|Finlandia|Финляндия
FJ Fiji
FK Falkland Islands (Malvinas)|Falkland Islands
FM Micronesia, Federated States of|Micronesia|Federated States of Micronesia
FO Faroe Islands
FR France|Frankreich|République française
FR Francia|França|Francja|Франция|フランス|프랑스|法国
GA Gabon
GB United Kingdom|United Kingdom of Great Britain and Northern Ireland|Great Britain
GB Vereinigtes Königreich|Royaume-Uni|Reino Unido|Regno Unito|Wielka Brytania|Великобритания
GB イギリス|영국|英国
GB England|Scotland|Wales|Northern Ireland
GD Grenada
GE Georgia
GF French Guiana
GG Guernsey
GH Ghana
GI Gibraltar
GL Greenland
GM Gambia|The Gambia
GN Guinea
GP Guadeloupe
GQ Equatorial Guinea
GR Greece|Hellas|Griechenland
GR Ελλάδα|Grèce|Grecia|Grécia|Grecja
GS South Georgia and the South Sandwich Islands
GT Guatemala
GU Guam
GW Guinea-Bissau
GY Guyana
HK Hong Kong|Hongkong|Hong Kong SAR|Hong Kong SAR China
HK 香港
HM Heard Island and McDonald Islands
HN Honduras
HR Croatia|Hrvatska|Kroatien
HT Haiti
HU Hungary|Magyarország|Ungarn
HU Hongrie|Hungría|Węgry|Венгрия
ID Indonesia
IE Ireland|Éire|Irland|Republic of Ireland
IE Irlande|Irlanda|Ирландия
IL Israel
IM Isle of Man
IN India
IO British Indian Ocean Territory
IQ Iraq
IR Iran, Islamic Republic of|Iran|Islamic Republic of Iran
IS Iceland|Ísland
IT Italy|Italia|Italien
IT Italie|Itália|Włochy|Италия
JE Jersey
JM Jamaica
JO Jordan
JP Japan
JP 日本|Japon|Japón|Japão|Giappone|Japonia|Япония|일본
KE Kenya
KG Kyrgyzstan|Kyrgyz Republic
KH Cambodia
KI Kiribati
KM Comoros
KN Saint Kitts and Nevis
KP Korea, Democratic People's Republic of|North Korea|Democratic People's Republic of Korea
KR Korea, Republic of|South Korea|Republic of Korea|Korea
KR 대한민국|한국|韓国|韩国|Corée du Sud|Corea del Sur|Coreia do Sul|Korea Południowa
KW Kuwait
KY Cayman Islands
KZ Kazakhstan
KZ Казахстан|Қазақстан
LA Lao People's Democratic Republic|Laos
LB Lebanon
LC Saint Lucia
LI Liechtenstein
LK Sri Lanka
LR Liberia
LS Lesotho
LT Lithuania|Lietuva
LT Литва
LU Luxembourg|Luxemburg
LV Latvia|Latvija
LV Латвия
LY Libya
MA Morocco
MC Monaco
MD Moldova, Republic of|Moldova|Republic of Moldova
ME Montenegro
MF Saint Martin (French part)|Saint Martin
MG Madagascar
MH Marshall Islands
MK North Macedonia|Macedonia|Macedonia, the Former Yugoslav Republic of
ML Mali
MM Myanmar|Burma
MN Mongolia
MO Macao|Macau
MP Northern Mariana Islands
MQ Martinique
MR Mauritania
MS Montserrat
MT Malta
MU Mauritius
MV Maldives
MW Malawi
MX Mexico|México
MY Malaysia
MZ Mozambique
NA Namibia
NC New Caledonia
NE Niger
NF Norfolk Island
NG Nigeria
NI Nicaragua
NL Netherlands|The Netherlands|Netherlands, Kingdom of the|Nederland|Holland|Niederlande
NL Pays-Bas|Países Bajos|Países Baixos|Holanda|Paesi Bassi|Holandia|Нидерланды
NO Norway|Norge|Norwegen
NO Norvège|Noruega|Norwegia|Норвегия
NP Nepal
NR Nauru
NU Niue
NZ New Zealand|Aotearoa
OM Oman
PA Panama|Panamá
PE Peru|Perú
PF French Polynesia
PG Papua New Guinea
PH Philippines
PK Pakistan
PL Poland|Polska|Polen
PL Pologne|Polonia|Polónia|Польша|Польща
PM Saint Pierre and Miquelon
PN Pitcairn
PR Puerto Rico
PS Palestine, State of|Palestine
PT Portugal
PT Portogallo|Portugalia|Португалия
PW Palau
PY Paraguay
QA Qatar
RE Réunion
RO Romania|România|Rumänien
RO Roumanie|Rumania|Roménia|Rumunia|Румыния
RS Serbia|Srbija
RS Србија|Сербия
RU Russian Federation|Russia|Rossiya
RU Россия|Российская Федерация|Росія|Russie|Rusia|Rússia|Russland|Rosja|ロシア|러시아|俄罗斯
RW Rwanda
SA Saudi Arabia|Kingdom of Saudi Arabia
SB Solomon Islands
SC Seychelles
SD Sudan
SE Sweden|Sverige|Schweden
SE Suède|Suecia|Suécia|Szwecja|Швеция
SG Singapore
SG 新加坡
SH Saint Helena, Ascension and Tristan da Cunha|Saint Helena
SI Slovenia|Slovenija
SJ Svalbard and Jan Mayen
SK Slovakia|Slovak Republic|Slovensko|Slowakei
SK Slovaquie|Eslovaquia|Słowacja|Словакия
SL Sierra Leone
SM San Marino
SN Senegal
SO Somalia
SR Suriname
SS South Sudan
ST Sao Tome and Principe
SV El Salvador
SX Sint Maarten (Dutch part)|Sint Maarten
SY Syrian Arab Republic|Syria
SZ Eswatini|Swaziland
TC Turks and Caicos Islands
TD Chad
TF French Southern Territories
TG Togo
TH Thailand
TJ Tajikistan
TK Tokelau
TL Timor-Leste|East Timor
TM Turkmenistan
TN Tunisia
TO Tonga
TR Türkiye|Turkey
TR Turquie|Turquía|Turquia|Turcja|Турция
TT Trinidad and Tobago
TV Tuvalu
TW Taiwan, Province of China|Taiwan|Republic of China
TW 台灣|台湾|臺灣|中華民國
TZ Tanzania, United Republic of|Tanzania
UA Ukraine|Ukraina
UA Україна|Украина|Ukraine|Ucrania|Ucrânia|Ukrajina
UG Uganda
UM United States Minor Outlying Islands
US United States|United States of America|USA|U.S.A.|U.S.|U.S
US Vereinigte Staaten|Vereinigte Staaten von Amerika|États-Unis|Estados Unidos|Stati Uniti
US Stany Zjednoczone|США|Соединённые Штаты|Соединенные Штаты Америки
US アメリカ合衆国|アメリカ|미국|美国|美國
UY Uruguay
UZ Uzbekistan
VA Holy See (Vatican City State)|Holy See|Vatican City|Vatican
VC Saint Vincent and the Grenadines
VE Venezuela, Bolivarian Republic of|Venezuela
VG Virgin Islands, British|British Virgin Islands
VI Virgin Islands, U.S.|US Virgin Islands|U.S. Virgin Islands
VN Viet Nam|Vietnam
VU Vanuatu
WF Wallis and Futuna
WS Samoa
YE Yemen
YT Mayotte
ZA South Africa|Suid-Afrika
ZM Zambia
ZW Zimbabwe
"""

# Two-letter forms records use that are not the ISO code: "UK" (the .uk registry writes it),
# "EL" (the EU's code for Greece).
_CODE_ALIASES: Final = {"UK": "GB", "EL": "GR"}


def _normalise(text: str) -> str:
    """Case, accents, punctuation and spacing removed: "Côte d'Ivoire" -> "cote divoire";
    letters of other scripts stay ("Россия" -> "россия", "대한민국" unchanged)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = unicodedata.normalize("NFC", plain).casefold().replace("&", " and ")
    plain = re.sub("[.'`\u2019]", "", plain)
    return " ".join(re.sub(r"[\W_]+", " ", plain).split())


def _build() -> tuple[frozenset[str], dict[str, str]]:
    codes: set[str] = set()
    names: dict[str, str] = {}
    for line in _TABLE.strip().splitlines():
        code, _, rest = line.partition(" ")
        codes.add(code)
        for name in rest.split("|"):
            key = _normalise(name)
            if names.setdefault(key, code) != code:
                raise ValueError(f"country alias {name!r} is listed for two codes")
    return frozenset(codes), names


CODES, _NAMES = _build()

_TRAILING_CODE = re.compile(r"\(\s*([A-Za-z]{2})\s*\)\s*$")


def _lookup(text: str) -> str:
    text = text.strip().strip(",;.").strip()
    if not text:
        return ""
    if len(text) == 2 and text.isascii() and text.isalpha():
        code = _CODE_ALIASES.get(text.upper(), text.upper())
        return code if code in CODES else ""
    return _NAMES.get(_normalise(text), "")


def to_alpha2(text: str) -> str:
    """ISO 3166-1 alpha-2 code for a country as a record wrote it, or "" when unknown."""
    text = (text or "").strip()
    if not text:
        return ""
    candidates = [text]
    if ":" in text:  # "location: PL", "Country Code: SK"
        candidates.append(text.rpartition(":")[2])
    for candidate in candidates:
        code = _lookup(candidate)
        if code:
            return code
        match = _TRAILING_CODE.search(candidate)  # "Hong Kong (HK)"
        if match:
            code = _lookup(match.group(1)) or _lookup(candidate[: match.start()])
            if code:
                return code
        if "/" in candidate:  # "Polska/Poland"
            for part in candidate.split("/"):
                code = _lookup(part)
                if code:
                    return code
    return ""
