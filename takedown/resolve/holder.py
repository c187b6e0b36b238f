"""Who holds a domain: an organisation, a private person, a privacy service, or nobody known.

Pure logic on the registrant facts RDAP and WHOIS parsed (facts.Party): no network, no
database. The answer decides whether the holder becomes a party of the case:

- an organisation holding the domain runs the site unless a platform or operator rule says
  otherwise, so it is the site operator and the controller of the site's data (GDPR Art. 4(7));
- a private person is recorded, but is written to only after a caseworker confirms: a person's
  name in a registry is no proof that they run what the domain serves, and a notice to the
  wrong person discloses the affected person's images to a stranger;
- a privacy or proxy service, and a redaction placeholder, is never a holder: it neither runs
  the site nor can remove anything (the ladder asks the registrar for disclosure instead).

"Organisation" rests on evidence a registry record carries: an organisation field that is not a
placeholder, or a name ending (or, in some languages, starting) with a legal form. A bare name
is a person; nothing at all is unknown.
"""

# ruff: noqa: RUF001  (Cyrillic legal forms are meant to look like Latin letters)
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from django.utils.translation import gettext_noop

from takedown.resolve.facts import REDACTED, Party
from takedown.stored_text import StoredText


class HolderKind(StrEnum):
    ORGANISATION = "organisation"
    PERSON = "person"
    PRIVACY_SERVICE = "privacy_service"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Holder:
    kind: HolderKind
    name: str  # the name a notice would be addressed to ("" unless organisation or person)
    reason: str  # one sentence for the caseworker


# Privacy and proxy services, and the placeholders registries write instead of a holder.
_PRIVACY: Final = re.compile(
    r"privacy|proxy|whoisguard|withheld|redacted|data protected|not disclosed|non-?public"
    r"|identity protect|domain protection|private registration|registration private"
    r"|gdpr|masked|statutory masking|njalla|1337 services|protected by|on behalf of"
    r"|whois agent|anonymi[sz]e|hidden|please query|contact the registrar|not available",
    re.I,
)
# Organisation fields that say "a person" rather than naming an organisation.
_PERSON_PLACEHOLDERS: Final = frozenset(
    {
        "private",
        "private person",
        "private individual",
        "privatperson",
        "privat",
        "privatperson/private person",
        "individual",
        "personal",
        "person",
        "natural person",
        "particulier",
        "persona fisica",
        "persona física",
        "particular",
        "osoba fizyczna",
        "частное лицо",
        "физическое лицо",
        "个人",
        "個人",
        "개인",
    }
)
_EMPTY: Final = frozenset({"", "-", "n/a", "na", "none", "null", "unknown", "not applicable"})

# Legal forms that end a company name, by jurisdiction. Matched as whole words, dots optional.
_SUFFIX_FORMS: Final = (
    # DE, AT, CH, LI
    "GmbH",
    "gGmbH",
    "mbH",
    "GmbH & Co. KG",
    "AG",
    "UG",
    "UG (haftungsbeschränkt)",
    "KG",
    "KGaA",
    "OHG",
    "GbR",
    "PartG",
    "e.V.",
    "e.U.",
    "eG",
    "Ges.m.b.H.",
    "SE",
    # GB, IE, US, CA, AU, IN, commonwealth
    "Ltd",
    "Limited",
    "PLC",
    "LLC",
    "L.L.C.",
    "LLP",
    "LP",
    "Inc",
    "Incorporated",
    "Corp",
    "Corporation",
    "Co",
    "Company",
    "Pty Ltd",
    "Pvt Ltd",
    "CIC",
    # FR, BE, LU, CH (fr), ES, PT, IT, RO, latin America
    "S.A.",
    "SA",
    "SAS",
    "SASU",
    "SARL",
    "S.à r.l.",
    "EURL",
    "SNC",
    "SCA",
    "SCS",
    "S.L.",
    "S.L.U.",
    "S.C.",
    "Lda",
    "Ltda",
    "S.r.l.",
    "S.p.A.",
    "S.a.s.",
    "S.n.c.",
    "SRL",
    "S.A. de C.V.",
    # NL, BE
    "B.V.",
    "N.V.",
    "V.O.F.",
    "BVBA",
    "VZW",
    # Nordics, Baltics
    "Oy",
    "Oyj",
    "AB",
    "AS",
    "ASA",
    "A/S",
    "ApS",
    "I/S",
    "ehf",
    "hf",
    "OÜ",
    "UAB",
    "SIA",
    # Central and eastern Europe
    "sp. z o.o.",
    "Sp. z o.o.",
    "S.A.",
    "s.r.o.",
    "spol. s r.o.",
    "a.s.",
    "Kft",
    "Zrt",
    "Nyrt",
    "Bt",
    "d.o.o.",
    "d.d.",
    "EOOD",
    "OOD",
    "AD",
    # Asia
    "KK",
    "K.K.",
    "GK",
    "Sdn Bhd",
    "Bhd",
    "Pte Ltd",
    "Tbk",
    "JSC",
)
# Forms that open a name: Russian/Ukrainian/Belarusian/Kazakh forms, and a few others.
_PREFIX_FORMS: Final = (
    "ООО",
    "ОАО",
    "ЗАО",
    "ПАО",
    "АО",
    "НКО",
    "ТОВ",
    "ПрАТ",
    "ТОО",
    "OOO",
    "ZAO",
    "OAO",
    "PAO",
    "LLC",
    "PT",
    "CV",
    "AB",
)
# Written without spaces around them in CJK names.
_CJK_FORMS: Final = (
    "株式会社",
    "有限会社",
    "合同会社",
    "合資会社",
    "一般社団法人",
    "有限公司",
    "有限责任公司",
    "有限責任公司",
    "股份有限公司",
    "股份公司",
    "公司",
    "集团",
    "주식회사",
    "(주)",
    "㈜",
    "유한회사",
)
# Words that make any name an organisation wherever they stand (public bodies and the like).
_ORG_WORDS: Final = re.compile(
    r"\b(?:gesellschaft|verein|stiftung|genossenschaft|verband|universit(?:y|ät|é|à|ad)"
    r"|hochschule|institut[e]?|foundation|association|society|trust|council|ministry"
    r"|ministerium|government|agency|gemeinde|stadt|city of|county|bank|group|holding"
    r"|media|verlag|publishing|studios?|labs?|technolog(?:y|ies)|solutions|services"
    r"|systems|software|network|networks)\b",
    re.I,
)


def _key(text: str) -> str:
    """Lower case, dots, commas and brackets dropped, blanks as one: "S.à r.l." -> "sà rl"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"[.,()]", "", text)
    return re.sub(r"\s+", " ", text).strip()


_SUFFIX_KEYS: Final = sorted({_key(form) for form in _SUFFIX_FORMS}, key=len, reverse=True)
_PREFIX_KEYS: Final = {_key(form) for form in _PREFIX_FORMS}
# Forms that are also ordinary words or initials ("Anna AS", "Studio KG" are rarely people, but
# "ab", "as", "se" are words): they count only written exactly as the legal form is.
_EXACT_FORMS: Final = (
    *("AG", "AB", "AS", "SA", "SE", "KK", "GK", "AD", "LP", "PT", "CV", "KG", "UG"),
    *("Bt", "eG", "hf", "SCA", "SCS", "SNC", "CIC"),
)
_EXACT: Final = {_key(form): form.replace(".", "") for form in _EXACT_FORMS}


def has_legal_form(name: str) -> bool:
    """Whether `name` carries a company's legal form (or is plainly an institution)."""
    text = name.strip()
    if not text:
        return False
    if any(form in text for form in _CJK_FORMS):
        return True
    key = _key(text).strip("()\"'«»“” ")
    first = key.split(" ")[0].strip("\"'«»“”")
    if " " in key and first in _PREFIX_KEYS:
        written = re.sub(r"[.,()]", "", text.split()[0])
        if first not in _EXACT or written == _EXACT[first]:
            return True
    for suffix in _SUFFIX_KEYS:
        if key == suffix or not key.endswith(" " + suffix):
            continue
        if suffix in _EXACT and re.sub(r"[.,()]", "", text.split()[-1]) != _EXACT[suffix]:
            continue
        return True
    return bool(_ORG_WORDS.search(text))


# The reasons, stored in English with the resolution; pages show them through `reason_label`.
HIDDEN = gettext_noop("The holder is hidden behind a privacy service or redacted (%(shown)s).")
NAMES_ORGANISATION = gettext_noop("The registry names the organisation %(name)s.")
LEGAL_FORM = gettext_noop("The holder's name carries a legal form: %(name)s.")
PRIVATE_PERSON = gettext_noop(
    "The holder %(name)s looks like a private person: a caseworker must confirm"
    " before a notice goes to them."
)
WITHHELD = gettext_noop("The registry withheld the holder.")
NO_HOLDER = gettext_noop("The registry names no holder.")
REASONS = StoredText(
    {
        HIDDEN: {},
        NAMES_ORGANISATION: {},
        LEGAL_FORM: {},
        PRIVATE_PERSON: {},
        WITHHELD: {},
        NO_HOLDER: {},
    }
)


def reason_label(reason: str) -> str:
    """A stored Holder.reason in the active language. A name that ends in "." shares its dot
    with the sentence (`_sentence`), in either language."""
    return REASONS(reason)


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."


def _usable(value: str) -> str:
    value = (value or "").strip()
    if value.casefold() in _EMPTY or value == REDACTED:
        return ""
    return value


def _is_privacy(value: str) -> bool:
    return value.strip() == REDACTED or bool(_PRIVACY.search(value))


def classify_holder(
    name: str, organization: str, *, privacy_proxy: bool = False, redacted: bool = False
) -> Holder:
    """Decide what kind of holder a registrant record names (see the module docstring).

    `privacy_proxy` and `redacted` are the sources' own flags; the names are checked for
    privacy services and placeholders as well, since not every source flags them."""
    raw_name, raw_org = (name or "").strip(), (organization or "").strip()
    if privacy_proxy or any(_is_privacy(value) for value in (raw_name, raw_org) if value):
        shown = raw_org if raw_org and raw_org != REDACTED else raw_name
        return Holder(
            HolderKind.PRIVACY_SERVICE,
            "",
            HIDDEN % {"shown": shown or REDACTED},
        )
    org, person = _usable(raw_org), _usable(raw_name)
    if org.casefold() in _PERSON_PLACEHOLDERS:
        org = ""
    if org and (org.casefold() != person.casefold() or has_legal_form(org)):
        return Holder(
            HolderKind.ORGANISATION, org, _sentence((NAMES_ORGANISATION % {"name": org})[:-1])
        )
    if person and has_legal_form(person):
        return Holder(
            HolderKind.ORGANISATION,
            person,
            _sentence((LEGAL_FORM % {"name": person})[:-1]),
        )
    if person:
        return Holder(
            HolderKind.PERSON,
            person,
            PRIVATE_PERSON % {"name": person},
        )
    if redacted:
        return Holder(HolderKind.PRIVACY_SERVICE, "", WITHHELD)
    return Holder(HolderKind.UNKNOWN, "", NO_HOLDER)


def classify_party(party: Party | None) -> Holder:
    """classify_holder for a registrant as RDAP or WHOIS parsed it (None: no registrant)."""
    if party is None:
        return Holder(HolderKind.UNKNOWN, "", NO_HOLDER)
    # A parser may also flag the record itself as redacted (a placeholder it recognised
    # without writing "redacted" into the fields); Party grows that flag with the parser.
    redacted = REDACTED in (party.name, party.organization) or bool(
        getattr(party, "redacted", False)
    )
    return classify_holder(
        party.name, party.organization, privacy_proxy=party.privacy_proxy, redacted=redacted
    )
