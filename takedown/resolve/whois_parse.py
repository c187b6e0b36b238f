"""Reading WHOIS answers: text in, DomainFacts out (no network; takedown.resolve.whois asks).

Two parsers read every answer. python-whois's WhoisEntry.load has registry-specific classes
(WhoisDe, WhoisIt, ...) for some registries: where it has one, its plausible values come first.
Our generic parser reads the formats registries use rather than any one registry:
- labelled lines: "Key: value", "Key:value", "Key.....: value", "Key<TAB>value", full-width
  colons, JPRS "[Key]  value"; labels in English, German, French, Spanish, Portuguese, Polish,
  Russian, Ukrainian, Chinese, Japanese and Korean, composed as <role> <field> ("Registrant
  Email", "Contacto Técnico", "책임자 전자우편", "注册人邮箱");
- RIPE-style objects: a domain object naming handles (owner-c, admin-c, tech-c, zone-c,
  billing-c, registrant) and the contact objects (nic-hdl, nic-hdl-br, contact) they name;
- sections: a heading alone on its line ("Registrant:", "[Tech-C]", "Titular:", "Holder of
  domain name:") or with its first value ("Holder<TAB>Google LLC"), followed by labelled or
  unlabelled lines; an address's last line gives the country (countries.py, local names too).
Placeholders ("REDACTED FOR PRIVACY", "Data protected", "Private Person", a web-form URL) make a
field "redacted"; a privacy or proxy service standing in for the holder is flagged
(privacy_proxy) and never taken for the holder: its relay mailbox is not a contact and the
holder's country, e-mail and phone are "redacted". DomainFacts.parsers names the parser that
produced each registrar and registrant field.

The record types (WhoisAnswer, WhoisRecord) and normalise_domain live here, with the parser
that reads them: the client (takedown.resolve.whois) imports this module, never the reverse.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from takedown.resolve.countries import to_alpha2
from takedown.resolve.facts import REDACTED, ContactFact, DomainFacts, LookupFailed, Party

log = logging.getLogger(__name__)

SOURCE: Final = "whois"
RAW_CAP: Final = 256 * 1024  # characters of raw text kept in DomainFacts.raw
# python-whois's regexes take time quadratic in line length (its e-mail pattern) and in text
# length (look-behind patterns): it gets the first 16 KiB, lines cut at 256 characters. The
# registrar name it is asked for sits near the top of every record.
PARSER_INPUT_CAP: Final = 16 * 1024
PARSER_LINE_CAP: Final = 256
# Our own parser is linear in the text; the caps only bound the work on a hostile answer.
TEXT_CAP: Final = 256 * 1024
LINE_CAP: Final = 1024
GENERIC: Final = "generic"


@dataclass(frozen=True)
class WhoisAnswer:
    """One server's answer: what the client returns and the parser reads."""

    server: str  # the WHOIS server name that was asked (not the endpoint it was redirected to)
    query: str  # the query line sent, without CRLF
    text: str


@dataclass
class WhoisRecord:
    """What the client got: the registry's answer, and the registrar's if a referral was
    followed. `referral` is the server the registry named ("" if none or the registry itself)."""

    domain: str  # A-label
    answers: list[WhoisAnswer]
    referral: str = ""
    referral_error: LookupFailed | None = None


# --- domain and host names --------------------------------------------------------------------

# A host name with a TLD that has a letter: "10.0.0.10" is an address, not a name.
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?=[a-z0-9-]*[a-z])[a-z0-9-]{2,63}$"
)


def is_host_name(name: str) -> bool:
    """A DNS host name whose TLD has a letter, so "10.0.0.10" is not one."""
    return _HOSTNAME.match(name) is not None


def normalise_domain(domain: str) -> str:
    """Lower-case A-label form ("Bücher.de." -> "xn--bcher-kva.de"); LookupFailed if invalid."""
    import idna  # IDNA 2008 with UTS 46 mapping; a tldextract dependency

    text = (domain or "").strip().rstrip(".")
    try:
        name = idna.encode(text, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        raise LookupFailed(SOURCE, f"{domain!r} is not a valid domain name") from None
    if "." not in name or not is_host_name(name):
        raise LookupFailed(SOURCE, f"{domain!r} is not a registrable domain name")
    return name


# --- labels -----------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+", re.I)
_AT_WORD = re.compile(r"\s+(?:AT|\(at\)|\[at\])\s+")
_PHONE = re.compile(r"^\+?[\d(][\d .()/-]{5,}\d$")
# "Key: value", "Key.......: value", "Key:value", "등록인   : 값"; never "http://..." (a URL is
# not a key). Full-width colons are made ASCII before this is tried.
_KEY_VALUE = re.compile(r"^[ \t]*([^\W\d_][^:\n]{0,60}?)[ \t.]*:(?!//)[ \t]*(.*?)[ \t]*$")
# JPRS: "a. [Domain Name]   EXAMPLE.JP", "[登録者名]   Example K.K."
_BRACKET = re.compile(r"^(?:[a-z]\. )?\[([^\]\n]{1,40})\][ \t]+(\S.*?)[ \t]*$")
# "Holder<TAB>Google LLC" (SWITCH): a label, tabs, a value.
_TABBED = re.compile(r"^([^\W\d_][^\t:]{0,60}?)\t+(\S.*)$")
# Registry handles: one token with a digit ("GI7803022-NICAT", "P12345", "CON-66") or a dotted
# lower-case id ("ua.markmonitor"); never a name with spaces.
_HANDLE = re.compile(r"^(?:(?=\S*\d)[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*|[a-z0-9-]+\.[a-z0-9-]+)$")
# Placeholders registries and registrars write instead of personal data (GDPR, ICANN's
# Temporary Specification, ccTLD policies): a field that says one of these was withheld.
_REDACTED = re.compile(
    r"redacted|not disclosed|non[- ]?disclosed|undisclosed|data protected|protected data"
    r"|gdpr|withheld|hidden|masked|non-?public|statutory masking|not available|please query"
    r"|contact the registrar|private person|registration private|for privacy|personal data"
    r"|upon request|on request|not shown|confidential|restricted|anonymi[sz]ed"
    r"|see (?:https?://|www\.)|visit (?:https?://|www\.)|https?://\S*(?:whois|contact|form)",
    re.I,
)
# Privacy and proxy services standing in for the holder: recognised, never taken as the holder.
_PROXY = re.compile(
    r"domains? ?by ?proxy|whoisguard|withheld for privacy|contact privacy|privacy ?guardian"
    r"|perfect privacy|whois ?privacy|privacy ?protect|privacy service|domain protection services"
    r"|identity protection|private registration|registration private|proxy protection"
    r"|privacy\.link|whoisproxy|whois agent|njalla|1337 services|super privacy"
    r"|privacydotlink|domain privacy|anonymize",
    re.I,
)
# Mailboxes of privacy services and web-form relays: never an address to write to.
_PROXY_EMAIL = re.compile(
    r"@(?:[\w-]+\.)*[\w-]*(?:privacy|proxy|whoisguard|withheld|anonymi[sz]|protect|redacted"
    r"|gdpr|masked)[\w-]*\.",
    re.I,
)
# Roles whose mailbox a privacy service may relay; a registrar's or an abuse desk's is their own.
_PERSONAL_ROLES: Final = frozenset({"registrant", "admin", "tech", "billing", "zone"})
_EMPTY = frozenset({"", "n/a", "na", "none", "null", "-", "not applicable", "unknown", "***n/a***"})


@functools.lru_cache(maxsize=8192)
def _key(text: str) -> str:
    """A label in one spelling: 'E-mail' -> 'e mail', 'Técnico' -> 'tecnico', 'holder-c' ->
    'holder c', '책임자 전자우편' unchanged (accents dropped, Hangul and kana recomposed)."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = unicodedata.normalize("NFC", "".join(c for c in text if not unicodedata.combining(c)))
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def _words(table: dict[str, str]) -> dict[str, str]:
    """{"value": "spelling|spelling"} -> {normalised spelling: value}."""
    return {_key(word): value for value, words in table.items() for word in words.split("|")}


# Who a block or a label speaks of, in the languages registries answer in. Used for section
# headings ("Registrant:", "[Holder]", "Titular:"), for handle references' objects and as the
# first half of composite labels ("Registrant Email", "책임자 전자우편", "Contacto Técnico").
_ROLE_WORDS: Final = _words(
    {
        "registrant": "registrant|registrant contact|registrant contact information|holder"
        "|domain holder|holder of domain name|holder of the domain name|domain owner|owner"
        "|owner contact|titular|titular do dominio|titular del dominio|titular / registrant"
        "|organization using domain name|registrante|titulaire|titulaire du nom de domaine"
        "|detenteur|inhaber|domaininhaber|inhaber dieses domainnamens|halter|abonent|abonament"
        "|владелец|администратор домена|власник|реєстрант|注册人|注册者|域名持有人|所有者|등록인"
        "|登録者|registrant s contact|domain registrant",
        "admin": "admin|admin contact|administrative|administrative contact|administrative contacts"
        "|administrative contact agent|administrative contact ac|ac|contacto administrativo"
        "|contato administrativo|contact administratif|administrativer kontakt"
        "|administrativer ansprechpartner|kontakt administracyjny|административный контакт"
        "|адміністративний контакт|管理联系人|책임자",
        "tech": "tech|technical|tech contact|technical contact|technical contacts"
        "|technical contact s|technical contact zone contact|contacto tecnico|contato tecnico"
        "|contact technique|technischer kontakt|technischer ansprechpartner|kontakt techniczny"
        "|технический контакт|технічний контакт|技术联系人",
        "billing": "billing|billing contact|contacto de cobranza|contacto de facturacion"
        "|contato de cobranca|contact facturation|kontakt rozliczeniowy",
        "zone": "zone contact|zone|zonenverwalter",
        "registrar": "registrar|sponsoring registrar|registration service provider"
        "|authorized agency|current registrar|current registar|agente registrador|registrador"
        "|entidade registadora|bureau d enregistrement|registraire|rejestrator|регистратор"
        "|реєстратор|注册商|注册服务机构|등록대행자",
        "abuse": "abuse contact|abuse",
    }
)
# "[Tech-C]", "[Holder]" (DENIC's old layout) only ever head a section.
_SECTION_WORDS: Final = {
    **_ROLE_WORDS,
    **_words({"admin": "admin c", "tech": "tech c", "zone": "zone c", "billing": "billing c"}),
}
# Headings whose block holds only an address (no name on the first line).
_ADDRESS_HEADINGS: Final = _words({"registrant": "registrant s address|registrant address"})

# What a labelled value is, inside a block or after a role word.
_FIELD_KEYS: Final = _words(
    {
        "name": "name|person|personname|person loc|contact name|full name|nombre|nome|nom"
        "|imie i nazwisko|имя|фио|ім я|名前|姓名|이름|登録者名",
        "organization": "organization|organisation|organization name|organisation name"
        "|organization loc|org|org name|company|company name|firma|nazwa|organizacion"
        "|organizacao|entreprise|societe|организация|організація|组织|组织名称|単位名称|組織名"
        "|단체명|기관명",
        "email": "email|e mail|email address|e mail address|mail|contact email|correo"
        "|correo electronico|courriel|adresse electronique|adresse e mail|электронная почта"
        "|эл почта|електронна пошта|电子邮件|邮箱|联系邮箱|电子邮箱|전자우편|이메일|電子メール",
        "abuse_email": "abuse mailbox|abuse email|abuse e mail",
        "phone": "phone|phone number|tel|telephone|telefono|telefone|telefon|телефон|电话|전화번호"
        "|電話番号",
        "country": "country|country code|countrycode|country loc|country name|location|pais|pays"
        "|land|kraj"
        "|страна|країна|国家|국가|国",
        "address": "address|street address|street|postal address|direccion|endereco|morada"
        "|adresse|anschrift|adres|адрес|адреса|地址|주소|住所",
        "iana_id": "iana id",
    }
)

# Labels that are not "<role> <field>": normalised key -> (role, field).
_FLAT: Final[dict[str, tuple[str, str]]] = {
    _key(label): target
    for label, target in {
        "registrar abuse contact email": ("registrar_abuse", "email"),
        "registrar abuse contact phone": ("registrar_abuse", "phone"),
        "registrar customer service email": ("registrar", "email"),
        "org country": ("registrant", "country"),  # .lu
        "ac e-mail": ("admin", "email"),  # .kr
        "ac phone number": ("admin", "phone"),
        "owner": ("registrant", "name"),  # .br
        "responsible": ("registrant", "name"),
        "responsável": ("registrant", "name"),
    }.items()
}

# Handle references in a domain object -> role.
_REF_KEYS: Final = _words(
    {
        "registrant": "registrant|holder|holder c|owner c|registrant c",
        "admin": "admin c|admin contact",
        "tech": "tech c|tech contact",
        "zone": "zone c",
        "billing": "billing c",
    }
)
_HANDLE_KEYS: Final = frozenset({"nic hdl", "nic hdl br", "handle"})
_DOMAIN_KEYS: Final = frozenset({"domain", "domain name", "domainname"})
_OBJECT_STARTS: Final = frozenset({"domain", "domainname", "nsset", "keyset", "personname"})

# JPRS bracketed labels, English and Japanese.
_BRACKET_KEYS: Final = {
    _key(label): target
    for label, target in {
        "Registrant": ("registrant", "name"),
        "登録者名": ("registrant", "name"),
        "Organization": ("registrant", "organization"),
        "組織名": ("registrant", "organization"),
        "Name": ("registrant", "name"),  # "Contact Information: [公開連絡窓口]"
        "名前": ("registrant", "name"),
        "Email": ("registrant", "email"),
        "電子メール": ("registrant", "email"),
    }.items()
}

_ROLE_ORDER: Final = (
    "registrar_abuse",
    "abuse",
    "registrant",
    "admin",
    "tech",
    "zone",
    "billing",
    "registrar",
)


@dataclass(frozen=True)
class _Fact:
    role: str
    field: str
    value: str
    group: str  # facts of one block share a group: phones attach to e-mails within it
    parser: str = GENERIC  # "generic", or "python-whois:<its class>"


@functools.lru_cache(maxsize=8192)
def _label(key: str) -> tuple[str, str] | None:
    """(role, field) for a flat label: "registrant email", "책임자 전자우편", "注册人邮箱",
    "Contacto Técnico" (a role alone names the role's name field)."""
    if key in _FLAT:
        return _FLAT[key]
    if "/" in key or not key:
        return None
    if key in _ROLE_WORDS:
        role = _ROLE_WORDS[key]
        return role, ("email" if role == "abuse" else "name")  # "Abuse: abuse@example.net"
    words = key.split()
    splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    if len(words) == 1 and len(key) <= 16:  # scripts written without spaces
        splits = [(key[:i], key[i:]) for i in range(1, len(key))]
    for head, tail in splits:
        if head in _ROLE_WORDS and tail in _FIELD_KEYS:
            role, field_name = _ROLE_WORDS[head], _FIELD_KEYS[tail]
            if field_name == "abuse_email":
                return ("registrar_abuse" if role == "registrar" else "abuse"), "email"
            return role, field_name
    return None


def _known(key: str) -> bool:
    return key in _SECTION_WORDS or key in _FIELD_KEYS or _label(key) is not None


def _clean_line(line: str) -> str:
    line = line[:LINE_CAP].replace("\uff1a", ":").replace("\u00a0", " ").rstrip()
    tabbed = _TABBED.match(line)
    if tabbed and ":" not in tabbed.group(1) and _known(_key(tabbed.group(1))):
        return f"{tabbed.group(1)}: {tabbed.group(2)}"
    return line


def _key_value(line: str) -> tuple[str, str] | None:
    match = _KEY_VALUE.match(line)
    if not match:
        return None
    # "Titular / Registrant", "Nome / Name": bilingual labels, the first known half counts.
    key = _key(match.group(1))
    if "/" in match.group(1):
        for part in match.group(1).split("/"):
            if _known(_key(part)):
                key = _key(part)
                break
    return key, (match.group(2) or "").strip()


def _emails(text: str) -> list[str]:
    return [email.lower().strip(".") for email in _EMAIL.findall(_AT_WORD.sub("@", text))]


def focus_on_domain(text: str, domain: str) -> str:
    """The text from the "Domain Name: <domain>" line on, when there is one."""
    pattern = rf"^[ \t]*domain(?:[ \t]*name)?[ \t.]*:[ \t]*{re.escape(domain)}\.?[ \t]*$"
    match = re.search(pattern, text, re.I | re.M)
    return text[match.start() :] if match else text


def _comment(line: str) -> bool:
    return line.lstrip().startswith(("%", "#"))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


# --- the generic parser: flat labels, objects joined by handles, sections ----------------------


def _flat_facts(lines: list[str], tag: str) -> Iterator[_Fact]:
    for line in lines:
        if _comment(line):
            continue
        pair = _key_value(line)
        target = _label(pair[0]) if pair else None
        if pair is None:
            bracket = _BRACKET.match(line)
            if bracket:
                pair = (_key(bracket.group(1)), bracket.group(2).strip())
                target = _BRACKET_KEYS.get(pair[0])
        if pair and target and pair[1]:
            role, name = target
            yield _Fact(role, name, pair[1], f"{tag}:flat:{role}")


def _paragraphs(lines: list[str]) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """RIPE-style objects: (role named by a "% Registrar:" comment above, key-value pairs).

    Objects end at blank lines and comments, after "source:", and where a new object class
    starts without a blank line between (nic.at, NIC Costa Rica, NIC Argentina)."""
    header = ""
    pairs: list[tuple[str, str]] = []
    loose = 0  # lines without a key (ISOC-IL writes "address" without a colon)
    after_source = False
    for line in [*lines, ""]:
        ends = not line.strip() or _comment(line)
        pair = None if ends else _key_value(line)
        starts = pair is not None and bool(pairs) and _starts_object(pair[0], pairs)
        if (ends or starts or after_source) and pairs:
            if len(pairs) >= 2 and len(pairs) >= loose:
                yield header, pairs
            header, pairs, loose = "", [], 0
        if _comment(line):
            words = _key(line.lstrip("%# ").rstrip(":= "))
            if words:  # "% ==========" underlines keep the header above them
                header = _ROLE_WORDS.get(words, "")
        elif pair is None and line.strip():
            loose += 1
        elif pair is not None:
            pairs.append(pair)
        after_source = pair is not None and pair[0] == "source"


def _starts_object(key: str, pairs: list[tuple[str, str]]) -> bool:
    if key in _OBJECT_STARTS:
        return True
    # NIC Costa Rica / NIC Argentina / CZ.NIC start contact objects with "contact: <handle>";
    # AFNIC writes "contact: <name>" inside an object that already has its nic-hdl.
    return key == "contact" and all(existing not in _HANDLE_KEYS for existing, _ in pairs)


def _object_handle(pairs: list[tuple[str, str]]) -> str:
    for key, value in pairs:
        if key in _HANDLE_KEYS and value:
            return value
    first_key, first_value = pairs[0]
    return first_value if first_key == "contact" else ""


def _object_facts(lines: list[str], tag: str) -> Iterator[_Fact]:
    objects = list(_paragraphs(lines))
    refs: dict[str, set[str]] = {}
    handles: set[str] = set()
    for _, pairs in objects:
        handle = _object_handle(pairs)
        if handle:
            handles.add(handle)
        elif pairs[0][0] not in _ROLE_WORDS:  # "Registrant: Name" objects (.rs) name no handles
            for key, value in pairs:
                if key in _REF_KEYS and value:
                    refs.setdefault(value, set()).add(_REF_KEYS[key])
    for index, (header, pairs) in enumerate(objects):
        group = f"{tag}:object:{index}"
        keys = {key for key, _ in pairs}
        first_key, first_value = pairs[0]
        handle = _object_handle(pairs)
        roles: set[str] = {header} if header else set()
        name_from_first = ""
        domain_like = first_key in _DOMAIN_KEYS or (
            first_key not in _ROLE_WORDS and keys & _REF_KEYS.keys()
        )
        if not roles and not handle and domain_like:
            yield from _domain_object_facts(pairs, handles, group)
            continue
        if not roles:
            roles.update(refs.get(handle, set()))
        if not roles and first_key in _ROLE_WORDS:
            roles.add(_ROLE_WORDS[first_key])
            if first_value not in handles and not _HANDLE.match(first_value):
                name_from_first = first_value
        for role in sorted(roles):
            if name_from_first:
                yield _Fact(role, "name", name_from_first, group)
            addresses: list[str] = []
            for key, value in pairs[1:] if name_from_first else pairs:
                field_name = _FIELD_KEYS.get(key)
                if key == "contact" and keys & _HANDLE_KEYS:
                    field_name = "name"  # AFNIC: the handle is nic-hdl, "contact" the name
                if field_name == "abuse_email":
                    abuse_role = "registrar_abuse" if role == "registrar" else "abuse"
                    yield _Fact(abuse_role, "email", value, group)
                elif field_name == "address":
                    addresses.append(value)
                elif field_name:
                    yield _Fact(role, field_name, value, group)
            # Multi-line addresses end with the country: "address: US" (CZ.NIC), or the last
            # part of a one-line address ("Bulevar Oslobodjenja 129, Beograd, Serbia").
            if addresses:
                last = addresses[-1]
                country = to_alpha2(last) if len(addresses) > 1 else ""
                yield _Fact(role, "country", country or last.rpartition(",")[2], group)


def _domain_object_facts(
    pairs: list[tuple[str, str]], handles: set[str], group: str
) -> Iterator[_Fact]:
    """The domain object itself: plain e-mail/person/descr/org keys describe the holder (.il,
    .by, .ru, .br). Only plain keys: labelled lines ("Registrant Email:") are _flat_facts'."""
    descr = [value for key, value in pairs if key == "descr" and value]
    if descr:
        yield _Fact("registrant", "name", descr[0], group)
        for value in descr[1:]:
            yield _Fact("registrant", "country", value, group)
    for key, value in pairs:
        if key in ("e mail", "email"):
            yield _Fact("registrant", "email", value, group)
        elif key == "phone":
            yield _Fact("registrant", "phone", value, group)
        elif key in ("org", "organization", "organisation"):
            yield _Fact("registrant", "organization", value, group)
        elif key == "country":
            yield _Fact("registrant", "country", value, group)
        elif key in ("admin contact", "tech contact") and not _emails(value):
            role = _REF_KEYS[key]  # .ru: a web form instead of a contact
            if value not in handles and not _HANDLE.match(value):
                yield _Fact(role, "email", value, group)
        elif key == "person" or (
            key == "registrant" and value not in handles and not _HANDLE.match(value)
        ):
            yield _Fact("registrant", "name", value, group)


def _heading(line: str) -> tuple[str, bool] | None:
    """(role, address_only) when the line opens a labelled section."""
    text = line.strip()
    if not text or len(text) > 60 or _comment(line):
        return None
    text = text.strip("*[] \t")
    if not text.endswith(":") and ":" in text:
        return None  # "Registrar: Example Inc." is a labelled line, not a heading
    words = _key(text.rstrip(":"))
    if words in _ADDRESS_HEADINGS:
        return _ADDRESS_HEADINGS[words], True
    if words in _SECTION_WORDS:
        return _SECTION_WORDS[words], False
    if "/" in text:  # "Titular / Registrant:"
        for part in text.rstrip(":").split("/"):
            if _key(part) in _SECTION_WORDS:
                return _SECTION_WORDS[_key(part)], False
    return None


@dataclass
class _Section:
    role: str
    address_only: bool
    indent: int
    lines: list[str] = field(default_factory=list)
    mode: str = ""  # "indented" (may span blank lines) or "flush" (ends at a blank line)


def _inline_heading(lines: list[str], index: int) -> _Section | None:
    """A role label with its value opening a block: "Holder<TAB>Google LLC" followed by
    unlabelled address lines (SWITCH), or "Domain registrant: WS-2128034" followed by "Name:",
    "Country Code:" lines (SK-NIC). The value is the block's first line unless a handle."""
    pair = _key_value(lines[index])
    if not pair or not pair[1] or pair[0] not in _SECTION_WORDS:
        return None
    following = lines[index + 1] if index + 1 < len(lines) else ""
    if not following.strip() or _comment(following):
        return None
    labelled = _key_value(following)
    if labelled and labelled[0] not in _FIELD_KEYS:
        return None
    section = _Section(_SECTION_WORDS[pair[0]], False, _indent(lines[index]))
    if not _HANDLE.match(pair[1]):
        section.lines.append(pair[1])
    return section


def _sections(lines: list[str]) -> list[_Section]:
    sections: list[_Section] = []
    current: _Section | None = None
    for index, raw in enumerate(lines):
        line = raw.expandtabs(8)
        heading = _heading(line)
        if heading:
            current = _Section(heading[0], heading[1], _indent(line))
            sections.append(current)
            continue
        inline = _inline_heading(lines, index)
        if inline:
            current = inline
            sections.append(current)
            continue
        if current is None:
            continue
        if _comment(line):
            current = None
            continue
        if not line.strip():
            if current.mode == "flush" and current.lines:
                current = None
            continue
        indent = _indent(line)
        if not current.mode:
            current.mode = "indented" if indent > current.indent else "flush"
        elif current.mode == "indented" and indent <= current.indent:
            current = None
            continue
        pair = _key_value(line)
        if current.mode == "flush" and pair and (pair[0] in _FLAT or pair[0] in _SECTION_WORDS):
            current = None  # an ICANN record after an empty "Registrar:" line
            continue
        current.lines.append(line.strip())
    return sections


def _trailing_country(text: str) -> str:
    """ "Mountain View, CA  US" -> "US": a code set apart by two spaces at the end of the last
    address line. Never a comma-separated state code ("Mountain View, CA")."""
    head, sep, tail = text.rpartition("  ")
    return to_alpha2(tail) if sep and head.strip() else ""


def _section_facts(lines: list[str], tag: str) -> Iterator[_Fact]:
    for index, section in enumerate(_sections(lines)):
        group = f"{tag}:section:{index}"
        role = section.role
        keyed: set[str] = set()
        bare: list[str] = []
        addresses: list[str] = []
        for line in section.lines:
            pair = _key_value(line)
            field_name = _FIELD_KEYS.get(pair[0]) if pair else None
            if pair and field_name:
                keyed.add(field_name)
                if field_name == "address":
                    addresses.append(pair[1])
                elif field_name == "abuse_email":
                    yield _Fact("abuse", "email", pair[1], group)
                else:
                    yield _Fact(role, field_name, pair[1], group)
                continue
            for email in _emails(line):
                yield _Fact(role, "email", email, group)
            if pair is None:
                bare.append(line)
        for line in bare:
            if _PHONE.match(line):
                yield _Fact(role, "phone", line, group)
        texts = [_EMAIL.sub("", line).strip() for line in bare if not _PHONE.match(line)]
        texts = [text for text in texts if text]
        if texts and not section.address_only and not keyed & {"name", "organization"}:
            yield _Fact(role, "name", texts[0], group)
        if addresses:
            # "Address: 1600 Amphitheatre Parkway, Mountain View, CA, 94043, USA" (.lv), or
            # an address whose continuation lines follow unlabelled (.it).
            texts = [*addresses, *texts]
            country = to_alpha2(addresses[-1].rpartition(",")[2])
            if country and not texts[len(addresses) :]:
                yield _Fact(role, "country", country, group)
                continue
        start = 0 if section.address_only or addresses else 1
        candidates = texts[start:]
        for text in reversed(candidates):
            country = to_alpha2(text)
            if country:
                yield _Fact(role, "country", country, group)
                break
        else:
            if candidates:
                country = _trailing_country(candidates[-1])
                if country:
                    yield _Fact(role, "country", country, group)


def _generic_facts(text: str, tag: str) -> list[_Fact]:
    lines = [_clean_line(line) for line in text[:TEXT_CAP].split("\n")]
    return [
        *_flat_facts(lines, tag),
        *_object_facts(lines, tag),
        *_section_facts(lines, tag),
    ]


# --- python-whois's registry-specific parsers --------------------------------------------------

# Its field names (they vary per registry class) -> (role, field).
_LIBRARY_FIELDS: Final[dict[str, tuple[str, str]]] = {
    "registrar": ("registrar", "name"),
    "registrar_name": ("registrar", "name"),
    "sponsoring_registrar": ("registrar", "name"),
    "registrar_iana_id": ("registrar", "iana_id"),
    "registrar_abuse_contact_email": ("registrar_abuse", "email"),
    "registrant_name": ("registrant", "name"),
    "name": ("registrant", "name"),
    "registrant_org": ("registrant", "organization"),
    "registrant_organization": ("registrant", "organization"),
    "org": ("registrant", "organization"),
    "registrant_country": ("registrant", "country"),
    "registrant_country_code": ("registrant", "country"),
    "country": ("registrant", "country"),
    "registrant_email": ("registrant", "email"),
    "admin_email": ("admin", "email"),
    "tech_email": ("tech", "email"),
    "billing_email": ("billing", "email"),
}


def _library_facts(domain: str, text: str, tag: str) -> list[_Fact]:
    """python-whois's reading of the answer (its registry-specific class where it has one,
    named in each fact's parser); nothing when it trips over the text."""
    from whois.parser import WhoisEntry  # a large module; only the resolve worker needs it

    try:
        # Its date handling warns about odd time zones; those dates are not ours to use.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            entry = WhoisEntry.load(domain, _parser_input(text))
    except Exception as exc:  # third-party parsing of untrusted text: any failure means "none"
        log.debug("python-whois could not parse an answer: %s", type(exc).__name__)
        return []
    parser = f"python-whois:{type(entry).__name__}"
    facts: list[_Fact] = []
    for name, (role, field_name) in _LIBRARY_FIELDS.items():
        value: Any = entry.get(name)
        if isinstance(value, list):
            value = value[0] if value else ""
        if isinstance(value, str) and value.strip():
            facts.append(_Fact(role, field_name, value, f"{tag}:library:{role}", parser))
    return facts


def _parser_input(text: str) -> str:
    lines = text[:PARSER_INPUT_CAP].split("\n")
    return "\n".join(line[:PARSER_LINE_CAP] for line in lines)


# --- choosing values ---------------------------------------------------------------------------


def _clean_registrar(value: str) -> str:
    value = re.sub(r"\s*\(\s*https?://[^)]*\)\s*$", "", value.strip())  # nic.at's "( url )"
    if not value or _HANDLE.match(value) or value.lower().startswith("no registrar"):
        return ""
    if value.lower() in _EMPTY or (_REDACTED.search(value) and not _PROXY.search(value)):
        return ""
    return value


@dataclass(frozen=True)
class _Choice:
    value: str = ""
    parser: str = ""
    proxy: bool = False


def _pick(facts: list[_Fact], role: str, field_name: str) -> _Choice:
    """First real value for role/field; REDACTED if the answer only withheld it."""
    withheld = ""
    for fact in facts:
        if fact.role != role or fact.field != field_name:
            continue
        value = " ".join(fact.value.split())
        if value.lower() in _EMPTY:
            continue
        if field_name == "email":
            found = _emails(value)
            if found and (role not in _PERSONAL_ROLES or not _PROXY_EMAIL.search(found[0])):
                return _Choice(found[0], fact.parser)
            if found:
                return _Choice(REDACTED, fact.parser, proxy=True)
            withheld = withheld or fact.parser  # "Please query the RDDS service ...", a URL
            continue
        if _PROXY.search(value):
            return _Choice(value, fact.parser, proxy=True)
        if _REDACTED.search(value):
            withheld = withheld or fact.parser
            continue
        if field_name == "country":
            code = to_alpha2(value)
            if code:
                return _Choice(code, fact.parser)
            continue
        if field_name == "iana_id":
            if value.isdigit():
                return _Choice(value, fact.parser)
            continue
        if field_name == "name" and _HANDLE.match(value) and role != "registrar":
            continue  # "registrant: GI7803022-NICAT" refers to an object, it names no one
        return _Choice(value, fact.parser)
    return _Choice(REDACTED, withheld) if withheld else _Choice()


def _phone_for(facts: list[_Fact], fact: _Fact) -> str:
    for other in facts:
        if other.group == fact.group and other.role == fact.role and other.field == "phone":
            value = other.value.strip()
            if value.lower() not in _EMPTY and not _REDACTED.search(value):
                return value
    return ""


def _contacts(facts: list[_Fact], proxied: bool) -> list[ContactFact]:
    """Every labelled e-mail by role, registrar abuse first; never a privacy service's relay
    mailbox, nor the holder's roles' mailboxes when a privacy service stands in for the holder."""
    seen: set[tuple[str, str]] = set()
    contacts: list[ContactFact] = []
    # Our own facts first: they carry the block's phone number.
    ordered = sorted(facts, key=lambda fact: fact.parser != GENERIC)
    for fact in ordered:
        if fact.field != "email":
            continue
        for email in _emails(fact.value)[:1]:
            if (fact.role, email) in seen:
                continue
            if fact.role in _PERSONAL_ROLES and _PROXY_EMAIL.search(email):
                continue
            if proxied and fact.role == "registrant":
                continue
            seen.add((fact.role, email))
            contacts.append(ContactFact(fact.role, email, SOURCE, _phone_for(facts, fact)))
    # .ua: a registrar object's "abuse-email:" is read as a plain abuse label and as the
    # registrar's abuse address; the registrar's is the one that says whose it is.
    registrar_abuse = {c.email for c in contacts if c.role == "registrar_abuse"}
    contacts = [c for c in contacts if c.role != "abuse" or c.email not in registrar_abuse]
    rank = {role: index for index, role in enumerate(_ROLE_ORDER)}
    return sorted(contacts, key=lambda contact: rank.get(contact.role, len(rank)))


def _registrar(facts: list[_Fact], parsers: dict[str, str]) -> Party | None:
    name = _Choice()
    # A registrar block's "Organization:" is its name where "Name:" is a handle (.it).
    candidates = [f for f in facts if f.role == "registrar" and f.field == "organization"]
    candidates += [f for f in facts if f.role == "registrar" and f.field == "name"]
    for fact in candidates:
        clean = _clean_registrar(fact.value)
        if clean:
            name = _Choice(clean, fact.parser)
            break
    iana_id = _pick(facts, "registrar", "iana_id")
    abuse = _pick(facts, "registrar_abuse", "email")
    email = abuse if abuse.value and abuse.value != REDACTED else _pick(facts, "registrar", "email")
    phone = _pick(facts, "registrar_abuse", "phone")
    phone = phone if phone.value else _pick(facts, "registrar", "phone")
    country = _pick(facts, "registrar", "country")
    chosen = {"name": name, "iana_id": iana_id, "email": email, "phone": phone, "country": country}
    if chosen["email"].value == REDACTED:
        chosen["email"] = _Choice()  # a registrar's own address is never personal data withheld
    if chosen["phone"].value == REDACTED:
        chosen["phone"] = _Choice()
    party = Party(
        name=name.value,
        iana_id=iana_id.value,
        email=chosen["email"].value,
        phone=chosen["phone"].value,
        country=country.value,
        source=SOURCE,
    )
    if not (party.name or party.iana_id or party.email):
        return None
    parsers.update({f"registrar.{key}": c.parser for key, c in chosen.items() if c.value})
    return party


def _registrant(facts: list[_Fact], parsers: dict[str, str]) -> Party | None:
    chosen = {
        key: _pick(facts, "registrant", key)
        for key in ("name", "organization", "country", "email", "phone")
    }
    service = next((choice for choice in chosen.values() if choice.proxy), None)
    proxied = service is not None
    if service is not None:
        # A privacy service is never the holder: its name stays (flagged), everything that
        # would locate or reach the holder is withheld, and disclosure is the registrar's.
        for key, choice in chosen.items():
            if choice.value and not (key == "organization" and choice.proxy):
                chosen[key] = _Choice(REDACTED, choice.parser)
        if not chosen["organization"].proxy and service.value != REDACTED:
            chosen["organization"] = service  # "Registrant: Domains by Proxy, Inc." (a name)
        chosen["name"] = _Choice(REDACTED, chosen["name"].parser or service.parser)
    party = Party(
        name=chosen["name"].value,
        organization=chosen["organization"].value,
        country=chosen["country"].value,
        email=chosen["email"].value,
        phone=chosen["phone"].value,
        source=SOURCE,
        privacy_proxy=proxied,
    )
    if not any(choice.value for choice in chosen.values()) and not proxied:
        return None
    parsers.update({f"registrant.{key}": c.parser for key, c in chosen.items() if c.value})
    return party


def _answer_facts(domain: str, text: str, tag: str) -> list[_Fact]:
    """Our generic reading first; python-whois's only where ours lacks the registrar's or the
    holder's name, and after ours. On the shared samples its registry-specific classes took a
    domain line for the holder's name (WhoisDe), a whole address block for it (WhoisTr) and an
    organisation for a person (WhoisUA), and it costs four times our parse: it fills gaps."""
    generic = _generic_facts(text, tag)
    if _has(generic, "registrar", ("name", "organization")) and _has(
        generic, "registrant", ("name", "organization")
    ):
        return generic
    library = _library_facts(domain, text, tag)
    return [*generic, *(fact for fact in library if _plausible(fact, domain))]


def _has(facts: list[_Fact], role: str, fields: tuple[str, ...]) -> bool:
    return any(
        fact.role == role and fact.field in fields and fact.value.strip().lower() not in _EMPTY
        for fact in facts
    )


def _plausible(fact: _Fact, domain: str) -> bool:
    """A python-whois value that can be a value of its field: not the domain or another host
    name, not a run of joined lines, no e-mail address inside a name."""
    value = " ".join(fact.value.split())
    if fact.field in ("name", "organization"):
        return (
            len(value) <= 120
            and not _emails(value)
            and value.lower().rstrip(".") != domain
            and not is_host_name(value.lower().rstrip("."))
        )
    return len(value) <= 254


def parse_answers(domain: str, answers: list[WhoisAnswer]) -> DomainFacts:
    """DomainFacts from WHOIS answers, registry first: the first real value of a field wins,
    so a registrar's answer fills what a thin or redacting registry left out.

    `DomainFacts.parsers` says which parser produced each registrar/registrant field
    ("generic" or "python-whois:<class>"); a field the answer withheld is "redacted"."""
    facts: list[_Fact] = []
    for index, answer in enumerate(answers):
        facts += _answer_facts(domain, focus_on_domain(answer.text, domain), f"answer{index}")
    raw = answers[0].text if answers else ""
    for answer in answers[1:]:
        raw += f"\n\n% Registrar answer from {answer.server}:\n\n{answer.text}"
    parsers: dict[str, str] = {}
    registrar = _registrar(facts, parsers)
    registrant = _registrant(facts, parsers)
    return DomainFacts(
        domain=domain,
        source=SOURCE,
        server=answers[0].server if answers else "",
        registrar=registrar,
        registrant=registrant,
        contacts=_contacts(facts, bool(registrant and registrant.privacy_proxy)),
        raw=raw[:RAW_CAP],
        parsers=parsers,
    )


def parse_record(record: WhoisRecord) -> DomainFacts:
    return parse_answers(record.domain, record.answers)


def parse_text(domain: str, text: str, server: str = "") -> DomainFacts:
    """DomainFacts from one stored answer (no network)."""
    return parse_answers(normalise_domain(domain), [WhoisAnswer(server, domain, text)])
