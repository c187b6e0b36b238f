"""Reading WHOIS answers: text in, DomainFacts out (no network; takedown.resolve.whois asks).

python-whois's WhoisEntry.load supplies the registrar name; contacts, countries, redaction and
privacy proxies come from our own labelled extraction, because its `emails` is an unlabelled
list and its field names change per TLD. Three shapes are read: ICANN-style labelled lines
("Registrar Abuse Contact Email:", "Registrant Country:"), RIPE-style objects (domain object
referring to nic-hdl/contact handles, "e-mail:", "abuse-mailbox:") and indented or bracketed
sections ("Registrant:", "Abuse Contact:", "[Holder]", ".it" blocks).

The record types (WhoisAnswer, WhoisRecord) and normalise_domain live here, with the parser
that reads them: the client (takedown.resolve.whois) imports this module, never the reverse.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

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


# --- labelled extraction ----------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+", re.I)
_AT_WORD = re.compile(r"\s+(?:AT|\(at\)|\[at\])\s+")
_PHONE = re.compile(r"^\+?[\d(][\d .()/-]{5,}\d$")
_KEY_VALUE = re.compile(r"^[ \t]*([A-Za-z][^:\n]{0,60}?)[ \t.]*:(?:[ \t]+(.*?)|)[ \t]*$")
# Registry handles: one token with a digit ("GI7803022-NICAT", "P12345", "CON-66") or a dotted
# lower-case id ("ua.markmonitor"); never a name with spaces.
_HANDLE = re.compile(r"^(?:(?=\S*\d)[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*|[a-z0-9-]+\.[a-z0-9-]+)$")
_REDACTED = re.compile(
    r"redacted|not disclosed|data protected|gdpr|withheld|hidden|masked|non-?public"
    r"|statutory masking|not available|please query|contact the registrar",
    re.I,
)
_PROXY = re.compile(
    r"domains? ?by ?proxy|whoisguard|withheld for privacy|contact privacy|privacy ?guardian"
    r"|perfect privacy|whois ?privacy|privacy ?protect|privacy service|domain protection services"
    r"|identity protection|private registration|proxy protection|njalla|1337 services",
    re.I,
)
_EMPTY = frozenset({"", "n/a", "na", "none", "null", "-", "not applicable", "unknown"})

# ICANN-style labelled lines: normalised key -> (role, field).
_FLAT: Final[dict[str, tuple[str, str]]] = {
    "registrant name": ("registrant", "name"),
    "registrant organization": ("registrant", "organization"),
    "registrant organisation": ("registrant", "organization"),
    "registrant country": ("registrant", "country"),
    "registrant country code": ("registrant", "country"),
    "registrant email": ("registrant", "email"),
    "registrant e mail": ("registrant", "email"),
    "registrant phone": ("registrant", "phone"),
    "registrant street": ("registrant", "address"),
    "org country": ("registrant", "country"),  # .lu
    "admin email": ("admin", "email"),
    "admin e mail": ("admin", "email"),
    "administrative contact email": ("admin", "email"),
    "admin phone": ("admin", "phone"),
    "tech email": ("tech", "email"),
    "tech e mail": ("tech", "email"),
    "technical contact email": ("tech", "email"),
    "tech phone": ("tech", "phone"),
    "billing email": ("billing", "email"),
    "billing phone": ("billing", "phone"),
    "registrar": ("registrar", "name"),
    "registrar name": ("registrar", "name"),
    "sponsoring registrar": ("registrar", "name"),
    "registrar iana id": ("registrar", "iana_id"),
    "registrar email": ("registrar", "email"),
    "registrar e mail": ("registrar", "email"),
    "registrar customer service email": ("registrar", "email"),
    "registrar phone": ("registrar", "phone"),
    "registrar country": ("registrar", "country"),
    "registrar country code": ("registrar", "country"),
    "registrar abuse contact email": ("registrar_abuse", "email"),
    "registrar abuse contact phone": ("registrar_abuse", "phone"),
}

# Keys inside objects and sections: normalised key -> field.
_FIELD_KEYS: Final[dict[str, str]] = {
    "name": "name",
    "person": "name",
    "personname": "name",
    "person loc": "name",
    "organization": "organization",
    "organisation": "organization",
    "organization name": "organization",
    "organization loc": "organization",
    "org": "organization",
    "org name": "organization",
    "email": "email",
    "e mail": "email",
    "email address": "email",
    "abuse mailbox": "abuse_email",
    "abuse email": "abuse_email",
    "phone": "phone",
    "phone number": "phone",
    "tel": "phone",
    "telephone": "phone",
    "country": "country",
    "country code": "country",
    "country loc": "country",
    "address": "address",
    "street address": "address",
}

# Section headings ("Registrant:", "[Holder]", "** Administrative Contact:") and the first key
# of role objects -> role.
_ROLE_WORDS: Final[dict[str, str]] = {
    "registrant": "registrant",
    "registrant contact": "registrant",
    "holder": "registrant",
    "domain holder": "registrant",
    "owner": "registrant",
    "titular": "registrant",
    "organization using domain name": "registrant",
    "admin": "admin",
    "admin contact": "admin",
    "administrative contact": "admin",
    "administrative contacts": "admin",
    "administrative contact agent": "admin",
    "contacto administrativo": "admin",
    "tech": "tech",
    "technical": "tech",
    "tech contact": "tech",
    "technical contact": "tech",
    "technical contacts": "tech",
    "technical contact s": "tech",
    "technical contact zone contact": "tech",
    "zone contact": "tech",
    "contacto tecnico": "tech",
    "billing": "billing",
    "billing contact": "billing",
    "contacto de cobranza": "billing",
    "registrar": "registrar",
    "sponsoring registrar": "registrar",
    "registration service provider": "registrar",
    "abuse contact": "abuse",
    "abuse": "abuse",
}
# Headings whose block holds only an address (no name on the first line).
_ADDRESS_HEADINGS: Final = {"registrant s address": "registrant"}

# RIPE-style handle references in a domain object -> role.
_REF_KEYS: Final[dict[str, str]] = {
    "registrant": "registrant",
    "holder": "registrant",
    "holder c": "registrant",
    "owner c": "registrant",
    "admin c": "admin",
    "admin contact": "admin",
    "tech c": "tech",
    "tech contact": "tech",
    "zone c": "tech",
    "billing c": "billing",
}
_DOMAIN_KEYS: Final = frozenset({"domain", "domain name", "domainname"})
_OBJECT_STARTS: Final = frozenset({"domain", "domainname", "nsset", "keyset", "personname"})

# JPRS (.jp) "/e" output writes keys in brackets.
_JPRS = re.compile(r"^(?:[a-z]\. )?\[([A-Za-z][A-Za-z ]*)\][ \t]+(\S.*)$")
_JPRS_KEYS: Final = {
    "registrant": "registrant name",
    "organization": "registrant organization",
    "email": "registrant email",
}

_ROLE_ORDER: Final = ("registrar_abuse", "abuse", "registrant", "admin", "tech", "registrar")


@dataclass(frozen=True)
class _Fact:
    role: str
    field: str
    value: str
    group: str  # facts of one block share a group: phones attach to e-mails within it


def _key(text: str) -> str:
    """'E-mail', 'Email Address.......', 'holder-c' -> 'e mail', 'email address', 'holder c'."""
    text = text.replace("\u2019", "'").lower().replace("'", " ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _key_value(line: str) -> tuple[str, str] | None:
    match = _KEY_VALUE.match(line)
    if not match:
        return None
    return _key(match.group(1)), (match.group(2) or "").strip()


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


def _flat_facts(lines: list[str], tag: str) -> Iterator[_Fact]:
    for line in lines:
        if _comment(line):
            continue
        pair = _key_value(line) or _jprs_pair(line)
        if pair and pair[0] in _FLAT:
            role, name = _FLAT[pair[0]]
            yield _Fact(role, name, pair[1], f"{tag}:flat:{role}")


def _jprs_pair(line: str) -> tuple[str, str] | None:
    """JPRS "g. [Organization]   Example K.K." -> ("registrant organization", "Example K.K.")."""
    match = _JPRS.match(line)
    if not match:
        return None
    key = _JPRS_KEYS.get(_key(match.group(1)))
    return (key, match.group(2).strip()) if key else None


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
    # NIC Costa Rica / NIC Argentina start contact objects with "contact: <handle>"; AFNIC
    # writes "contact: <name>" inside an object that already has its nic-hdl.
    return key == "contact" and all(existing != "nic hdl" for existing, _ in pairs)


def _object_facts(lines: list[str], tag: str) -> Iterator[_Fact]:
    objects = list(_paragraphs(lines))
    refs: dict[str, set[str]] = {}
    handles: set[str] = set()
    for _, pairs in objects:
        keys = {key for key, _ in pairs}
        if "nic hdl" in keys or pairs[0][0] == "contact":
            handles.update(value for key, value in pairs if key in ("nic hdl", "contact"))
        elif pairs[0][0] not in _ROLE_WORDS:  # "Registrant: Name" objects (.rs) name no handles
            for key, value in pairs:
                if key in _REF_KEYS and value:
                    refs.setdefault(value, set()).add(_REF_KEYS[key])
    for index, (header, pairs) in enumerate(objects):
        group = f"{tag}:object:{index}"
        keys = {key for key, _ in pairs}
        first_key, first_value = pairs[0]
        handle = dict(pairs).get("nic hdl") or (first_value if first_key == "contact" else "")
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
            for key, value in pairs[1:] if name_from_first else pairs:
                field_name = _FIELD_KEYS.get(key)
                if key == "contact" and "nic hdl" in keys:
                    field_name = "name"  # AFNIC: the handle is nic-hdl, "contact" the name
                if field_name == "abuse_email":
                    abuse_role = "registrar_abuse" if role == "registrar" else "abuse"
                    yield _Fact(abuse_role, "email", value, group)
                elif field_name == "address":
                    yield _Fact(role, "country", value.rpartition(",")[2], group)
                elif field_name:
                    yield _Fact(role, field_name, value, group)


def _domain_object_facts(
    pairs: list[tuple[str, str]], handles: set[str], group: str
) -> Iterator[_Fact]:
    """The domain object itself: plain e-mail/person/descr keys describe the holder (.il, .by).

    Only plain keys: labelled ICANN lines ("Registrant Email:") are read by _flat_facts."""
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
    if words in _ROLE_WORDS:
        return _ROLE_WORDS[words], False
    return None


@dataclass
class _Section:
    role: str
    address_only: bool
    indent: int
    lines: list[str] = field(default_factory=list)
    mode: str = ""  # "indented" (may span blank lines) or "flush" (ends at a blank line)


def _sections(lines: list[str]) -> list[_Section]:
    sections: list[_Section] = []
    current: _Section | None = None
    for raw in lines:
        line = raw.expandtabs(8)
        heading = _heading(line)
        if heading:
            current = _Section(heading[0], heading[1], _indent(line))
            sections.append(current)
            continue
        if current is None:
            continue
        if _comment(line):
            current = None
            continue
        if not line.strip():
            if current.mode == "flush":
                current = None
            continue
        indent = _indent(line)
        if not current.mode:
            current.mode = "indented" if indent > current.indent else "flush"
        elif current.mode == "indented" and indent <= current.indent:
            current = None
            continue
        pair = _key_value(line)
        if current.mode == "flush" and pair and pair[0] in _FLAT:
            current = None  # an ICANN record after an empty "Registrar:" line
            continue
        current.lines.append(line.strip())
    return sections


def _section_facts(lines: list[str], tag: str) -> Iterator[_Fact]:
    for index, section in enumerate(_sections(lines)):
        group = f"{tag}:section:{index}"
        role = section.role
        keyed: set[str] = set()
        bare: list[str] = []
        for line in section.lines:
            pair = _key_value(line)
            field_name = _FIELD_KEYS.get(pair[0]) if pair else None
            if pair and field_name:
                keyed.add(field_name)
                if field_name == "address":
                    country = to_alpha2(pair[1].rpartition(",")[2])
                    if country:
                        yield _Fact(role, "country", country, group)
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
        start = 0 if section.address_only else 1
        for text in reversed(texts[start:]):
            country = to_alpha2(text)
            if country:
                yield _Fact(role, "country", country, group)
                break


def _facts(text: str, tag: str) -> list[_Fact]:
    lines = text.split("\n")
    return [
        *_flat_facts(lines, tag),
        *_object_facts(lines, tag),
        *_section_facts(lines, tag),
    ]


def _parser_registrar(domain: str, text: str) -> str:
    """python-whois's registrar name, or "" when it finds none or trips over the text."""
    from whois.parser import WhoisEntry  # a large module; only the resolve worker needs it

    try:
        # Its date handling warns about odd time zones; those dates are not ours to use.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            entry = WhoisEntry.load(domain, _parser_input(text))
    except Exception as exc:  # third-party parsing of untrusted text: any failure means "no name"
        log.debug("python-whois could not parse an answer: %s", type(exc).__name__)
        return ""
    value = entry.get("registrar")
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def _parser_input(text: str) -> str:
    lines = text[:PARSER_INPUT_CAP].split("\n")
    return "\n".join(line[:PARSER_LINE_CAP] for line in lines)


def _clean_registrar(value: str) -> str:
    value = re.sub(r"\s*\(\s*https?://[^)]*\)\s*$", "", value.strip())  # nic.at's "( url )"
    if not value or _HANDLE.match(value) or value.lower().startswith("no registrar"):
        return ""
    if value.lower() in _EMPTY or (_REDACTED.search(value) and not _PROXY.search(value)):
        return ""
    return value


def _pick(facts: list[_Fact], role: str, field_name: str) -> str:
    """First real value for role/field; "redacted" if the record only withheld it."""
    withheld = False
    for fact in facts:
        if fact.role != role or fact.field != field_name:
            continue
        value = fact.value.strip()
        if value.lower() in _EMPTY:
            continue
        if field_name == "email":
            found = _emails(value)
            if found:
                return found[0]
            withheld = True  # "Please query the RDDS service ...", "HIDDEN! ..."
            continue
        if _PROXY.search(value):
            return value
        if _REDACTED.search(value):
            withheld = True
            continue
        if field_name == "country":
            code = to_alpha2(value)
            if code:
                return code
            continue
        if field_name == "iana_id":
            if value.isdigit():
                return value
            continue
        return value
    return REDACTED if withheld else ""


def _phone_for(facts: list[_Fact], fact: _Fact) -> str:
    for other in facts:
        if other.group == fact.group and other.role == fact.role and other.field == "phone":
            value = other.value.strip()
            if value.lower() not in _EMPTY and not _REDACTED.search(value):
                return value
    return ""


def _contacts(facts: list[_Fact]) -> list[ContactFact]:
    seen: set[tuple[str, str]] = set()
    contacts: list[ContactFact] = []
    for fact in facts:
        if fact.field != "email":
            continue
        for email in _emails(fact.value)[:1]:
            if (fact.role, email) in seen:
                continue
            seen.add((fact.role, email))
            contacts.append(ContactFact(fact.role, email, SOURCE, _phone_for(facts, fact)))
    rank = {role: index for index, role in enumerate(_ROLE_ORDER)}
    return sorted(contacts, key=lambda contact: rank.get(contact.role, len(rank)))


def _registrar(facts: list[_Fact], parsed_names: list[str]) -> Party | None:
    names = [*parsed_names]
    names += [fact.value for fact in facts if fact.role == "registrar" and fact.field == "name"]
    name = next((clean for clean in map(_clean_registrar, names) if clean), "")
    party = Party(
        name=name,
        iana_id=_pick(facts, "registrar", "iana_id"),
        email=_pick(facts, "registrar_abuse", "email") or _pick(facts, "registrar", "email"),
        phone=_pick(facts, "registrar_abuse", "phone") or _pick(facts, "registrar", "phone"),
        country=_pick(facts, "registrar", "country"),
        source=SOURCE,
    )
    if party.email == REDACTED:
        party.email = ""  # a registrar's own address is never personal data withheld
    return party if (party.name or party.iana_id or party.email) else None


def _registrant(facts: list[_Fact]) -> Party | None:
    party = Party(
        name=_pick(facts, "registrant", "name"),
        organization=_pick(facts, "registrant", "organization"),
        country=_pick(facts, "registrant", "country"),
        email=_pick(facts, "registrant", "email"),
        phone=_pick(facts, "registrant", "phone"),
        source=SOURCE,
    )
    party.privacy_proxy = any(
        _PROXY.search(fact.value) for fact in facts if fact.role == "registrant"
    )
    filled = (party.name, party.organization, party.country, party.email, party.phone)
    return party if any(filled) or party.privacy_proxy else None


def parse_answers(domain: str, answers: list[WhoisAnswer]) -> DomainFacts:
    """DomainFacts from WHOIS answers, registry first: the first real value of a field wins,
    so a registrar's answer fills what a thin or redacting registry left out."""
    facts: list[_Fact] = []
    parsed_names: list[str] = []
    for index, answer in enumerate(answers):
        text = focus_on_domain(answer.text, domain)
        facts += _facts(text, f"answer{index}")
        parsed_names.append(_parser_registrar(domain, text))
    raw = answers[0].text if answers else ""
    for answer in answers[1:]:
        raw += f"\n\n% Registrar answer from {answer.server}:\n\n{answer.text}"
    return DomainFacts(
        domain=domain,
        source=SOURCE,
        server=answers[0].server if answers else "",
        registrar=_registrar(facts, parsed_names),
        registrant=_registrant(facts),
        contacts=_contacts(facts),
        raw=raw[:RAW_CAP],
    )


def parse_record(record: WhoisRecord) -> DomainFacts:
    return parse_answers(record.domain, record.answers)


def parse_text(domain: str, text: str, server: str = "") -> DomainFacts:
    """DomainFacts from one stored answer (no network)."""
    return parse_answers(normalise_domain(domain), [WhoisAnswer(server, domain, text)])
