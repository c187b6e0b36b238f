"""Which countries and legal regimes apply to the parties behind a host, and how sure we are.

Pure logic: `assess` takes what the sources said about each party (`PartyEvidence`) and returns
a `Jurisdiction` with reasons a caseworker can read. It never guesses: missing, redacted or
conflicting evidence sets `needs_decision` with the reason. A working summary, not legal
advice (see docs/law/README.md, "How the product decides which regime applies").

Decisions:
- One country per role. Sources rank override > directory > rule > rdap = whois: curated
  entries name the legal entity that answers for a service (Google Ireland Ltd for EU users),
  while registry data says where an IP network or domain contact is registered (Google LLC, US).
  A higher-ranked source with a country wins and the disagreement is kept as a reason; two
  different countries at the top rank (rdap US vs whois IE) are a conflict: the role counts for
  nothing until a caseworker decides. "redacted" and "" are noted, never filled in.
- Parties that can act on the image: platform, operator, dataset_maintainer, hosting, cdn,
  registrant. The registrar cannot remove content (a registrar notice is a late escalation step,
  ICANN RAA §3.18), so it carries no regime and its country is listed only when no other is known.
- Per party: EU/EEA -> GDPR (Art. 9 for medical/intimate), plus the DSA Art. 16 notice route for
  hosting services (hosting, platform); a CDN is a caching service (DSA Art. 5), not hosting.
  Germany adds KUG §22. UK -> UK GDPR, plus the Online Safety Act for platforms (user-to-user
  services). US -> TAKE IT DOWN Act for platforms and intimate images; DMCA to hosting, platform
  or CDN only when the person owns the copyright. No other regime -> a generic privacy request.
- GDPR Art. 3(2): an affected person in the EU/EEA adds GDPR, at low confidence, to controllers
  (platform, operator, registrant, dataset_maintainer) outside the EU/EEA; hosts and CDNs are
  processors that do not themselves offer the service to that person.
- Confidence comes from the party that acts (platform, operator, dataset maintainer, else
  hosting): high from a curated source or two agreeing registry sources, medium from one
  registry source, low when only the registrar, a conflict or the person's country tells us
  anything, none when nothing does (regimes then ["generic_privacy"]).
- category None means "no case yet": conditional regimes (TAKE IT DOWN, DMCA, Art. 9) are only
  described in reasons; `regimes` holds what applies unconditionally.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.translation import gettext, gettext_noop

from takedown.models.roles import REGISTRANT, PartyKind, is_controller
from takedown.resolve.countries import to_alpha2
from takedown.resolve.facts import REDACTED
from takedown.stored_text import Detail, StoredText

REGIMES = (
    "gdpr",
    "dsa",
    "uk_gdpr",
    "uk_osa",
    "take_it_down",
    "dmca",
    "kug",
    "generic_privacy",
    # Requests to search engines (takedown.notices.delisting); no host's party decides them.
    "search_delisting",
    "search_outdated",
)
_EU = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
EU_EEA: frozenset[str] = frozenset(f"{_EU} IS LI NO".split())  # the EEA adds IS, LI, NO

# Labels of the party roles: the organisation kinds that can hold a host, and the registrant.
ROLE_LABELS: dict[str, str] = {
    **{
        kind: str(label)
        for kind, label in PartyKind.choices
        if kind not in (PartyKind.DPA, PartyKind.SEARCH_ENGINE)
    },
    REGISTRANT: gettext_noop("Registrant"),
}
# Who can take the image down, in the order their country decides the regimes.
ACTING_ROLES = (
    PartyKind.PLATFORM,
    PartyKind.OPERATOR,
    PartyKind.DATASET_MAINTAINER,
    PartyKind.HOSTING,
)
SOURCE_RANK = {"override": 3, "directory": 2, "rule": 1, "rdap": 0, "whois": 0}
CURATED_SOURCES = frozenset({"override", "directory", "rule"})
CATEGORIES = frozenset({"medical", "intimate", "personal", "other"})
REGIME_LABELS = {
    "gdpr": "GDPR",
    "dsa": "DSA",
    "uk_gdpr": "UK GDPR",
    "uk_osa": "Online Safety Act",
    "take_it_down": "TAKE IT DOWN Act",
    "dmca": "DMCA",
    "kug": "KUG §22",
    "generic_privacy": gettext_noop("generic privacy request"),
    "search_delisting": gettext_noop("search-result removal request"),
    "search_outdated": gettext_noop("outdated search-result request"),
}
NO_CONTENT_REGIME = gettext_noop("no content regime")
REGISTRAR_STEP = gettext_noop(
    " (a registrar is a late escalation step; it can disclose a registrant)"
)
UNNAMED = gettext_noop("(unnamed)")
UNNAMED_IT = "it"  # the party an Art. 3(2) reason names when it has no name

# The reasons and decision reasons, stored in English on a host's resolution (the record, the
# commands and the logs read them so); pages show them through `reason_label`.
REDACTED_IN = gettext_noop("%(role)s %(name)s: country redacted in %(source)s.")
SOURCES_DISAGREE = gettext_noop(
    "%(role)s: %(said)s; a caseworker must decide which entity is responsible."
)
SOURCE_SAYS = gettext_noop("%(source)s says %(country)s")
SOURCE_WINS = gettext_noop(
    "%(role)s: %(chosen)s says %(country)s, %(other)s says %(other_country)s; %(used)s is used"
    " (override > directory > rule > registry data: registry data shows where a network is"
    " registered, not who answers for the service)."
)
ART9_HEALTH = gettext_noop("GDPR Art. 9: health data are a special category.")
ART9_SEX_LIFE = gettext_noop("GDPR Art. 9: data about a person's sex life are a special category.")
ART9_IF = gettext_noop("GDPR Art. 9 applies if the images show health or sex life.")
CDN_NOT_HOSTING = gettext_noop(
    "A CDN is a caching service (DSA Art. 5), not a hosting service:"
    " the DSA Art. 16 notice route does not apply to it."
)
OSA_PRIORITY = gettext_noop(
    "Online Safety Act s.10(3): sharing intimate images without consent is a priority"
    " offence (Sexual Offences Act 2003 s.66B)."
)
OSA_ILLEGAL = gettext_noop(
    "Online Safety Act s.10(3) covers illegal content: the notice must name the"
    " offence (for intimate images, Sexual Offences Act 2003 s.66B)."
)
TIDA_ONLY_IF = gettext_noop("TAKE IT DOWN Act applies only to intimate images.")
TIDA_NOT = gettext_noop("TAKE IT DOWN Act does not apply: it covers intimate images only.")
DMCA_ONLY_IF = gettext_noop("DMCA applies only if the affected person owns the copyright.")
PERSON_ART32 = gettext_noop(
    "The affected person is in %(country)s: GDPR may bind %(name)s under Art. 3(2) if it"
    " offers services to or monitors people in the EU (low confidence)."
)
PARTY_IN = gettext_noop("%(role)s %(name)s is in %(country)s (%(sources)s): %(regimes)s.")
NOT_SETTLED = gettext_noop("%(role)s has no settled country; regimes rest on the %(acting)s.")
NO_ACTING = gettext_noop(
    "Neither a platform, operator, dataset maintainer nor hosting provider has a known country."
)
PERSON_ANY_SITE = gettext_noop(
    "The affected person is in %(country)s: GDPR applies to whoever runs the site,"
    " inside the EU/EEA or under Art. 3(2) (low confidence)."
)
ONLY_REGISTRAR = gettext_noop("Only the registrar's country (%(country)s) is known: %(rest)s")
NO_PARTY = gettext_noop("No party that can remove the image has a settled country.")
NO_PARTY_REDACTED = gettext_noop(
    "No party that can remove the image has a settled country (%(roles)s: redacted)."
)


@dataclass(frozen=True)
class PartyEvidence:
    role: str  # a key of ROLE_LABELS
    name: str
    country: str  # ISO alpha-2, "redacted" (facts.REDACTED) or ""
    source: str  # "rdap", "whois", "rule", "directory", "override"


@dataclass
class Jurisdiction:
    countries: list[str]
    regimes: list[str]
    confidence: str  # "high", "medium", "low", "none"
    reasons: list[str]
    needs_decision: bool
    decision_reasons: list[str]
    by_party: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Role:
    """What the evidence for one role settles on."""

    country: str = ""  # "" when unknown or in conflict
    name: str = ""
    sources: list[str] = field(default_factory=list)  # the sources that back `country`
    conflict: bool = False


def _country(raw: str) -> str:
    return REDACTED if raw.strip().lower() == REDACTED else to_alpha2(raw)


def _ordered(regimes: set[str]) -> list[str]:
    return [code for code in REGIMES if code in regimes]


def _settle(entries: list[PartyEvidence], notes: list[str], decisions: list[str]) -> _Role:
    label = ROLE_LABELS[entries[0].role]
    known = [e for e in entries if e.country not in ("", REDACTED)]
    for e in entries:
        if e.country == REDACTED:
            notes.append(
                REDACTED_IN % {"role": label, "name": e.name or UNNAMED, "source": e.source}
            )
    if not known:
        return _Role(name=entries[0].name)
    top = max(SOURCE_RANK[e.source] for e in known)
    best = [e for e in known if SOURCE_RANK[e.source] == top]
    if len({e.country for e in best}) > 1:
        said = ", ".join(
            f"{SOURCE_SAYS % {'source': e.source, 'country': e.country}} ({e.name})" for e in best
        )
        decisions.append(SOURCES_DISAGREE % {"role": label, "said": said})
        return _Role(conflict=True)
    chosen = best[0]
    for e in known:
        if e.country != chosen.country:
            notes.append(
                SOURCE_WINS
                % {
                    "role": label,
                    "chosen": chosen.source,
                    "country": chosen.country,
                    "other": e.source,
                    "other_country": e.country,
                    "used": chosen.source,
                }
            )
    sources = sorted({e.source for e in known if e.country == chosen.country})
    return _Role(country=chosen.country, name=chosen.name, sources=sources)


def _party_regimes(
    role: str, country: str, category: str | None, owns_copyright: bool, notes: list[str]
) -> set[str]:
    """The regimes for one party in a known country; conditions go into `notes`."""
    if role == PartyKind.REGISTRAR:
        return set()
    found: set[str] = set()
    if country in EU_EEA or country == "GB":
        found.add("gdpr" if country in EU_EEA else "uk_gdpr")
        if category == "medical":
            notes.append(ART9_HEALTH)
        elif category == "intimate":
            notes.append(ART9_SEX_LIFE)
        elif category is None:
            notes.append(ART9_IF)
    if country in EU_EEA:
        if role in (PartyKind.HOSTING, PartyKind.PLATFORM):
            found.add("dsa")
        elif role == PartyKind.CDN:
            notes.append(CDN_NOT_HOSTING)
    if country == "DE":
        found.add("kug")
    if country == "GB" and role == PartyKind.PLATFORM:
        found.add("uk_osa")
        notes.append(OSA_PRIORITY if category == "intimate" else OSA_ILLEGAL)
    if country == "US":
        if role == PartyKind.PLATFORM:
            if category == "intimate":
                found.add("take_it_down")
            elif category is None:
                notes.append(TIDA_ONLY_IF)
            else:
                notes.append(TIDA_NOT)
        if role in (PartyKind.HOSTING, PartyKind.PLATFORM, PartyKind.CDN):
            if owns_copyright:
                found.add("dmca")
            elif category is None:
                notes.append(DMCA_ONLY_IF)
    return found or {"generic_privacy"}


def assess(
    parties: Sequence[PartyEvidence],
    *,
    category: str | None = None,
    owns_copyright: bool = False,
    person_country: str = "",
) -> Jurisdiction:
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    parties = [PartyEvidence(p.role, p.name, _country(p.country), p.source) for p in parties]
    by_role: dict[str, list[PartyEvidence]] = {}
    for p in parties:
        if p.role not in ROLE_LABELS or p.source not in SOURCE_RANK:
            raise ValueError(f"unknown role or source: {p.role!r}, {p.source!r}")
        by_role.setdefault(p.role, []).append(p)

    reasons: list[str] = []
    decisions: list[str] = []
    roles = {role: _settle(entries, reasons, decisions) for role, entries in by_role.items()}
    person = to_alpha2(person_country)

    party_regimes: dict[str, set[str]] = {}
    for role, settled in roles.items():
        if not settled.country:
            continue
        notes: list[str] = []
        found = _party_regimes(role, settled.country, category, owns_copyright, notes)
        if person in EU_EEA and is_controller(role) and settled.country not in EU_EEA:
            found.add("gdpr")
            notes.append(PERSON_ART32 % {"country": person, "name": settled.name or UNNAMED_IT})
        party_regimes[role] = found
        listed = ", ".join(REGIME_LABELS[code] for code in _ordered(found)) or NO_CONTENT_REGIME
        if role == PartyKind.REGISTRAR:
            listed += REGISTRAR_STEP
        reasons.append(
            PARTY_IN
            % {
                "role": ROLE_LABELS[role],
                "name": settled.name or UNNAMED,
                "country": settled.country,
                "sources": ", ".join(settled.sources),
                "regimes": listed,
            }
        )
        reasons.extend(notes)

    countries = sorted(
        {r.country for role, r in roles.items() if r.country and role != PartyKind.REGISTRAR}
    )
    acting = next((role for role in ACTING_ROLES if roles.get(role, _Role()).country), "")
    regimes = set().union(*party_regimes.values()) if countries else set()
    if acting:
        confidence = (
            "high"
            if CURATED_SOURCES & set(roles[acting].sources) or len(roles[acting].sources) > 1
            else "medium"
        )
        for role in ACTING_ROLES[: ACTING_ROLES.index(acting)]:
            if role in roles and not roles[role].conflict:
                decisions.append(
                    NOT_SETTLED % {"role": ROLE_LABELS[role], "acting": ROLE_LABELS[acting].lower()}
                )
    elif countries:
        # Only a CDN or the registrant is placed: whoever can remove the original is not.
        confidence = "low"
        decisions.append(NO_ACTING)
    else:
        registrar = roles.get(PartyKind.REGISTRAR, _Role()).country
        countries = [registrar] if registrar else []
        regimes = {"generic_privacy"}
        if person in EU_EEA:
            regimes.add("gdpr")
            reasons.append(PERSON_ANY_SITE % {"country": person})
        confidence = "low" if registrar or person in EU_EEA or decisions else "none"
        redacted = sorted({ROLE_LABELS[p.role].lower() for p in parties if p.country == REDACTED})
        none_settled = NO_PARTY_REDACTED % {"roles": ", ".join(redacted)} if redacted else NO_PARTY
        decisions.append(
            ONLY_REGISTRAR % {"country": registrar, "rest": none_settled}
            if registrar
            else none_settled
        )
    by_party = [
        {
            "role": p.role,
            "name": p.name,
            "country": p.country,
            "source": p.source,
            "regimes": _ordered(party_regimes.get(p.role, set()))
            if p.country and p.country == roles[p.role].country
            else [],
        }
        for p in parties
    ]
    return Jurisdiction(
        countries=countries,
        regimes=_ordered(regimes),
        confidence=confidence,
        reasons=list(dict.fromkeys(reasons)),
        needs_decision=bool(decisions),
        decision_reasons=decisions,
        by_party=by_party,
    )


def _alternatives(words: Sequence[str]) -> str:
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


_LOWER_ROLES = {label.lower(): label for label in ROLE_LABELS.values()}
THIS_PARTY = gettext_noop("this party")  # shows an Art. 3(2) reason's unnamed "it"


def _role(label: str) -> str:
    return gettext(label)


def _lower_role(label: str) -> str:
    return gettext(_LOWER_ROLES.get(label, label))


def _lower_roles(labels: str) -> str:
    return ", ".join(_lower_role(label) for label in labels.split(", "))


def _name(name: str) -> str:
    return gettext(UNNAMED) if name == UNNAMED else name


def _art32_name(name: str) -> str:
    return gettext(THIS_PARTY) if name == UNNAMED_IT else name


_SOURCE = _alternatives(list(SOURCE_RANK))


def _said(said: str) -> str:
    return re.sub(
        rf"\b({_SOURCE}) says ([A-Z]{{2}})\b",
        lambda m: gettext(SOURCE_SAYS) % {"source": m[1], "country": m[2]},
        said,
    )


def _regimes(listed: str) -> str:
    step = listed.endswith(REGISTRAR_STEP)
    names = listed.removesuffix(REGISTRAR_STEP)
    shown = ", ".join(gettext(name) for name in names.split(", "))
    return shown + gettext(REGISTRAR_STEP) if step else shown


_ROLE = Detail(_role, _alternatives(list(ROLE_LABELS.values())))
_ACTING = Detail(_lower_role, _alternatives(list(_LOWER_ROLES)))
_NAME = Detail(_name)
_COUNTRY = Detail(str, "[A-Z]{2}")
_SOURCE_DETAIL = Detail(str, _SOURCE)
REASONS = StoredText(
    {
        REDACTED_IN: {"role": _ROLE, "name": _NAME, "source": _SOURCE_DETAIL},
        SOURCES_DISAGREE: {"role": _ROLE, "said": Detail(_said)},
        SOURCE_WINS: {
            "role": _ROLE,
            "chosen": _SOURCE_DETAIL,
            "country": _COUNTRY,
            "other": _SOURCE_DETAIL,
            "other_country": _COUNTRY,
            "used": _SOURCE_DETAIL,
        },
        ART9_HEALTH: {},
        ART9_SEX_LIFE: {},
        ART9_IF: {},
        CDN_NOT_HOSTING: {},
        OSA_PRIORITY: {},
        OSA_ILLEGAL: {},
        TIDA_ONLY_IF: {},
        TIDA_NOT: {},
        DMCA_ONLY_IF: {},
        PERSON_ART32: {"country": _COUNTRY, "name": Detail(_art32_name)},
        PARTY_IN: {
            "role": _ROLE,
            "name": _NAME,
            "country": _COUNTRY,
            "sources": Detail(str, rf"(?:{_SOURCE})(?:, (?:{_SOURCE}))*"),
            "regimes": Detail(_regimes),
        },
        NOT_SETTLED: {"role": _ROLE, "acting": _ACTING},
        NO_ACTING: {},
        PERSON_ANY_SITE: {"country": _COUNTRY},
        ONLY_REGISTRAR: {"country": _COUNTRY, "rest": Detail(lambda rest: reason_label(rest))},
        NO_PARTY: {},
        NO_PARTY_REDACTED: {"roles": Detail(_lower_roles)},
    }
)


def reason_label(reason: str) -> str:
    """A stored reason or decision reason of `assess`, in the active language; a reason no
    template knows (one stored by an older wording) stays as it is."""
    return REASONS(reason)
