"""Legal regimes as data: when each applies, what a valid notice must contain, how long the
recipient has, and what follows. A working summary, not legal advice: docs/law/ has a page
per regime (sources, elements, what the templates argue, known gaps).

The element lists are exactly those each regime's page in docs/law/ names, plus the mandate and
the person's identity where the regime acts in the person's name or needs their identity.
`takedown.notices.render.check_elements` evaluates them against a rendered notice.

Mandate (`needs_mandate`): regimes that exercise the person's own rights or speak as their
authorised person: GDPR / UK GDPR and KUG (a power of attorney under the general law of agency;
not GDPR Art. 80(1), see docs/law/gdpr.md), the Online Safety Act route (the sender says it is
the person's representative), TAKE IT DOWN and DMCA (signature of a person authorised to act
for the depicted person / owner). The DSA lets anyone notify (Art. 16(1)), and the generic
request invokes no right of the person, so neither needs one.

Disclosure (`discloses_person`): only the DMCA. The organisation signs as representative in
every regime, and naming the person is the exception:
- DMCA: the claim rests on ownership of the work; hosts forward notices to the uploader and
  often publish them (Lumen), and a counter-notice leads to court, where the owner must be
  named. Without the owner's identity the notice is routinely rejected, so it is disclosed,
  and only after a reviewer confirmed it.
- TAKE IT DOWN (47 U.S.C. §223a(a)(1)(B)): the signature and contact may be those of "an
  authorized person acting on behalf of" the depicted person; the depiction itself identifies
  them. Not disclosed.
- KUG: a removal demand names the depicted person or the representative's power of attorney
  (docs/law/germany.md): we name the power of attorney. A recipient may insist on seeing the
  original (BGB §174 by analogy); it goes out only with the person's consent, outside this notice.
- GDPR / UK GDPR: the controller may ask for information to confirm identity (Art. 12(6));
  that is answered on request, not volunteered in the notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop, ngettext

from takedown.models.roles import CONTROLLER_ROLES
from takedown.models.roles import RecipientRole as Role
from takedown.notices.periods import DEADLINE_UNITS, DeadlineUnit, Period, period_end
from takedown.resolve.jurisdiction import EU_EEA
from takedown.resolve.jurisdiction import REGIMES as REGIME_CODES

ALL_ROLES: tuple[str, ...] = tuple(Role.values)


class UnknownRegime(KeyError):
    """No regime has this code."""


@dataclass(frozen=True)
class Element:
    """One thing a valid notice must contain.

    `key` selects how it is checked (see render.check_elements): statement keys are checked by
    their sentence appearing in the body; urls, notifier, signature, mandate and identity are
    checked against data."""

    key: str
    label: str
    citation: str = ""
    # Required only for cases of these categories; None means always.
    categories: frozenset[str] | None = None
    # Required only in notices to these recipient roles; None means to every role.
    roles: frozenset[str] | None = None

    def applies_to(self, category: str, role: str = "") -> bool:
        return (self.categories is None or category in self.categories) and (
            self.roles is None or role in self.roles
        )


SPECIAL_CATEGORIES = frozenset({"medical", "intimate"})

URLS = Element("urls", gettext_noop("exact URL(s) of the content"))
NOTIFIER = Element("notifier", gettext_noop("name and e-mail address of the notifier"))
SIGNATURE = Element("signature", gettext_noop("signature of the authorised representative"))
DEADLINE = Element("deadline", gettext_noop("a deadline for the response"))
MANDATE = Element("mandate", gettext_noop("a signed mandate from the affected person on file"))
IDENTITY = Element(
    "identity",
    gettext_noop("the affected person's name, with the disclosure confirmed by a reviewer"),
)
# A DMCA notice protects the host only when it reaches the agent it designated (§512(c)(2));
# an abuse desk is not one. The directory records the agent as a contact of its own kind.
AGENT = Element(
    "agent",
    gettext_noop("the host's designated DMCA agent (a copyright contact in the directory)"),
    "§512(c)(2)",
)


@dataclass(frozen=True)
class Regime:
    code: str
    title: str
    citation: str
    # Recipient countries (ISO alpha-2) where it applies; None means anywhere.
    countries: frozenset[str] | None
    roles: tuple[str, ...]
    # Case categories it covers; None means any.
    categories: frozenset[str] | None
    requires_copyright: bool
    deadline_amount: int
    deadline_unit: DeadlineUnit
    # The law that sets the deadline; "" when the law sets none and the amount is our setting.
    deadline_basis: str
    needs_mandate: bool
    discloses_person: bool
    elements: tuple[Element, ...]
    escalation: str
    # Also binds controllers anywhere when the affected person is in one of these countries
    # (GDPR / UK GDPR Art. 3(2)); see takedown.resolve.jurisdiction.
    person_countries: frozenset[str] | None = None
    languages: tuple[str, ...] = ("en", "de")
    # Months the recipient may add to the deadline by telling us, with reasons, in time
    # (GDPR Art. 12(3): two further months).
    extension_months: int = 0
    # A legal period that ends on a weekend or public holiday runs to the next working day
    # (Regulation 1182/71 Art. 3(4) for EU law; the ICO applies the same rule to UK GDPR;
    # BGB §193 for periods set under German law).
    ends_on_working_day: bool = False
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.code not in REGIME_CODES:
            raise ValueError(f"regime code {self.code!r} is not in jurisdiction.REGIMES")
        if self.deadline_unit not in DEADLINE_UNITS:
            raise ValueError(f"{self.code}: unknown deadline unit {self.deadline_unit!r}")
        if unknown := set(self.roles) - set(ALL_ROLES):
            raise ValueError(f"{self.code}: unknown roles {sorted(unknown)}")
        keys = [e.key for e in self.elements]
        if len(keys) != len(set(keys)):
            raise ValueError(f"{self.code}: duplicate element keys")
        # The flags and the element list must agree, or the check would not enforce the flag.
        if self.needs_mandate != ("mandate" in keys):
            raise ValueError(f"{self.code}: needs_mandate and the mandate element disagree")
        if self.discloses_person != ("identity" in keys):
            raise ValueError(f"{self.code}: discloses_person and the identity element disagree")

    def required_elements(self, category: str, role: str = "") -> tuple[Element, ...]:
        return tuple(e for e in self.elements if e.applies_to(category, role))

    def applies(
        self,
        *,
        country: str,
        role: str,
        category: str,
        owns_copyright: bool,
        person_country: str = "",
    ) -> bool:
        """Whether a notice under this regime fits this recipient and case."""
        if role not in self.roles:
            return False
        if self.categories is not None and category not in self.categories:
            return False
        if self.requires_copyright and not owns_copyright:
            return False
        if self.countries is None or country.upper() in self.countries:
            return True
        return (
            self.person_countries is not None
            and person_country.upper() in self.person_countries
            and role in CONTROLLER_ROLES
        )

    def period(self, received: datetime, *, country: str = "", region: str = "") -> Period:
        """The response period of a notice received at `received` by a recipient in
        `country` and `region` (see takedown.notices.periods)."""
        return period_end(
            received,
            self.deadline_amount,
            self.deadline_unit,
            country=country,
            region=region,
            ends_on_working_day=self.ends_on_working_day,
            default_zone=timezone.get_default_timezone_name(),
        )

    def due_at(self, received: datetime, *, country: str = "", region: str = "") -> datetime:
        return self.period(received, country=country, region=region).due

    def latest_extension(
        self, received: datetime, *, country: str = "", region: str = ""
    ) -> datetime | None:
        """The furthest a recipient may extend the deadline (None: the regime allows none):
        the original period and the extension counted as one period from receipt."""
        if not self.extension_months:
            return None
        return period_end(
            received,
            self.deadline_amount + self.extension_months,
            self.deadline_unit,
            country=country,
            region=region,
            ends_on_working_day=self.ends_on_working_day,
            default_zone=timezone.get_default_timezone_name(),
        ).due


_GDPR_ELEMENTS = (
    URLS,
    Element(
        "legal_basis",
        gettext_noop("erasure ground (GDPR Art. 17(1)) and objection (Art. 21)"),
        "Art. 17",
    ),
    Element(
        "special_category",
        gettext_noop("special-category argument for health or sex-life data (GDPR Art. 9)"),
        "Art. 9",
        SPECIAL_CATEGORIES,
    ),
    Element(
        "inform_controllers",
        gettext_noop(
            "request to inform other controllers and recipients (GDPR Art. 17(2), Art. 19)"
        ),
        "Art. 17(2)",
    ),
    Element(
        "research_exception",
        gettext_noop("why the research exception does not apply (GDPR Art. 17(3)(d))"),
        "Art. 17(3)(d)",
        roles=frozenset({Role.DATASET_MAINTAINER}),
    ),
    Element(
        "deadline", gettext_noop("the one-month response deadline (GDPR Art. 12(3))"), "Art. 12(3)"
    ),
    NOTIFIER,
    SIGNATURE,
    MANDATE,
)

# A search engine is asked only to delist (takedown.notices.delisting), under its own regimes.
_ALL_BUT_DPA = tuple(role for role in ALL_ROLES if role not in (Role.DPA, Role.SEARCH_ENGINE))

REGIMES: dict[str, Regime] = {
    regime.code: regime
    for regime in (
        Regime(
            code="gdpr",
            title="GDPR erasure request",
            citation="GDPR Art. 17, 21 (Art. 9 for special categories)",
            countries=EU_EEA,
            person_countries=EU_EEA,
            roles=(Role.SITE_OPERATOR, Role.HOSTING, Role.CDN, Role.DATASET_MAINTAINER, Role.DPA),
            categories=None,
            requires_copyright=False,
            deadline_amount=1,
            deadline_unit="months",
            deadline_basis=gettext_noop("GDPR Art. 12(3)"),
            extension_months=2,
            ends_on_working_day=True,
            needs_mandate=True,
            discloses_person=False,
            elements=_GDPR_ELEMENTS,
            escalation=(
                "Complaint to the competent supervisory authority (GDPR Art. 77), lodged in the"
                " person's name under their power of attorney; the authority should answer"
                " within three months (Art. 78(2))."
            ),
            notes=(
                "The one month may be extended by two months only if the controller says so,"
                " with reasons, within the first month (Art. 12(3)).",
                "Dataset maintainers may invoke the research exception (Art. 17(3)(d)).",
            ),
        ),
        Regime(
            code="dsa",
            title="DSA notice of illegal content",
            citation="Digital Services Act (EU) 2022/2065 Art. 16",
            countries=EU_EEA,
            # A CDN is a caching service (Art. 5), not a hosting service.
            roles=(Role.SITE_OPERATOR, Role.HOSTING),
            categories=None,
            requires_copyright=False,
            deadline_amount=7,
            deadline_unit="calendar_days",
            deadline_basis="",
            needs_mandate=False,
            discloses_person=False,
            elements=(
                Element(
                    "legal_basis",
                    gettext_noop("a substantiated explanation of why the content is illegal"),
                    "Art. 16(2)(a)",
                ),
                Element("urls", URLS.label, "Art. 16(2)(b)"),
                Element("notifier", NOTIFIER.label, "Art. 16(2)(c)"),
                Element(
                    "good_faith",
                    gettext_noop(
                        "statement of good-faith belief that the notice is accurate and complete"
                    ),
                    "Art. 16(2)(d)",
                ),
            ),
            escalation=(
                "The host's internal complaint system (Art. 20) or out-of-court dispute"
                " settlement (Art. 21); systemic failures to the Digital Services Coordinator"
                " (Art. 53); then the registrar."
            ),
            notes=("A complete notice gives the host actual knowledge (Art. 16(3)).",),
        ),
        Regime(
            code="uk_gdpr",
            title="UK GDPR erasure request",
            citation="UK GDPR Art. 17, 21 (Art. 9 for special categories)",
            countries=frozenset({"GB"}),
            person_countries=frozenset({"GB"}),
            roles=(Role.SITE_OPERATOR, Role.HOSTING, Role.CDN, Role.DATASET_MAINTAINER, Role.DPA),
            categories=None,
            requires_copyright=False,
            deadline_amount=1,
            deadline_unit="months",
            deadline_basis=gettext_noop("UK GDPR Art. 12(3)"),
            extension_months=2,
            ends_on_working_day=True,
            needs_mandate=True,
            discloses_person=False,
            elements=_GDPR_ELEMENTS,
            escalation="Complaint to the Information Commissioner's Office (UK GDPR Art. 77).",
        ),
        Regime(
            code="uk_osa",
            title="Online Safety Act illegal-content report",
            # The offence (SOA 2003 s.66B) is named only on the facts: notices.offences.
            citation="Online Safety Act 2023 s.10(3)",
            countries=frozenset({"GB"}),
            roles=(Role.SITE_OPERATOR, Role.HOSTING),
            categories=None,
            requires_copyright=False,
            deadline_amount=48,
            deadline_unit="hours",
            deadline_basis="",
            needs_mandate=True,
            discloses_person=False,
            elements=(
                URLS,
                Element(
                    "legal_basis", gettext_noop("the offence the content constitutes"), "s.10(3)"
                ),
                Element(
                    "representation",
                    gettext_noop(
                        "statement that the sender is the depicted person's representative"
                    ),
                ),
                NOTIFIER,
                SIGNATURE,
                MANDATE,
            ),
            escalation=(
                "Report to Ofcom; the person may report the offence to the police; then the"
                " hosting provider."
            ),
            notes=("The Act sets no deadline, only swift take-down: 48 hours is our setting.",),
        ),
        Regime(
            code="take_it_down",
            title="TAKE IT DOWN Act removal request",
            citation="47 U.S.C. §223a (TAKE IT DOWN Act)",
            countries=frozenset({"US"}),
            roles=(Role.SITE_OPERATOR, Role.HOSTING),
            categories=frozenset({"intimate"}),
            requires_copyright=False,
            deadline_amount=48,
            deadline_unit="hours",
            deadline_basis="47 U.S.C. §223a(a)(3)",
            needs_mandate=True,
            discloses_person=False,
            elements=(
                Element(
                    "signature",
                    gettext_noop("signature of the depicted person or an authorised person"),
                    "(1)",
                ),
                Element(
                    "urls",
                    gettext_noop("identification and location of the intimate visual depiction"),
                    "(2)",
                ),
                Element(
                    "good_faith",
                    gettext_noop(
                        "statement of good-faith belief that the depiction is not consensual"
                    ),
                    "(3)",
                ),
                Element("notifier", gettext_noop("contact information"), "(4)"),
                MANDATE,
            ),
            escalation=(
                "Report the platform to the Federal Trade Commission (non-compliance is an"
                " unfair or deceptive practice); then the hosting provider."
            ),
            notes=("The platform must also remove known identical copies.",),
        ),
        Regime(
            code="dmca",
            title="DMCA takedown notice",
            citation="17 U.S.C. §512(c)(3)",
            countries=frozenset({"US"}),
            roles=(Role.SITE_OPERATOR, Role.HOSTING, Role.CDN),
            categories=None,
            requires_copyright=True,
            deadline_amount=5,
            deadline_unit="working_days",
            deadline_basis="",
            needs_mandate=True,
            discloses_person=True,
            elements=(
                Element(
                    "signature",
                    gettext_noop("signature of a person authorised to act for the copyright owner"),
                    "(i)",
                ),
                Element(
                    "work",
                    gettext_noop(
                        "identification of the copyrighted work, owned by the affected person"
                    ),
                    "(ii)",
                ),
                Element(
                    "urls",
                    gettext_noop("identification and location of the infringing material"),
                    "(iii)",
                ),
                Element(
                    "notifier", gettext_noop("contact information of the complaining party"), "(iv)"
                ),
                Element(
                    "good_faith",
                    gettext_noop("statement of good-faith belief that the use is not authorised"),
                    "(v)",
                ),
                Element(
                    "perjury",
                    gettext_noop(
                        "statement of accuracy and, under penalty of perjury, of authority to act"
                    ),
                    "(vi)",
                ),
                MANDATE,
                IDENTITY,
                AGENT,
            ),
            escalation=(
                "Notify the hosting provider's designated agent and search engines. A"
                " counter-notice restores the content after 10-14 business days unless a court"
                " action is filed (§512(g))."
            ),
            notes=(
                "Hosts forward DMCA notices to the uploader and often publish them (Lumen):"
                " the owner's name becomes known to both.",
                "The statute asks for expeditious removal: 5 working days is our setting.",
            ),
        ),
        Regime(
            code="kug",
            title="Removal demand under the right to one's own image",
            citation="KUG §§22, 23, 33",
            countries=frozenset({"DE"}),
            roles=(Role.SITE_OPERATOR, Role.HOSTING, Role.DATASET_MAINTAINER),
            categories=None,
            requires_copyright=False,
            deadline_amount=14,
            deadline_unit="calendar_days",
            deadline_basis="",
            # A period we set in a demand under German law: BGB §193 moves its last day
            # off a weekend or public holiday at the recipient's seat.
            ends_on_working_day=True,
            needs_mandate=True,
            discloses_person=False,
            elements=(
                Element(
                    "representation",
                    gettext_noop(
                        "the representative's power of attorney (instead of the person's name)"
                    ),
                ),
                MANDATE,
                Element("urls", gettext_noop("exact URL(s) and description of the images")),
                Element(
                    "lack_of_consent",
                    gettext_noop("statement that the depicted person did not consent"),
                ),
                DEADLINE,
                Element(
                    "reservation",
                    gettext_noop("reservation of criminal and civil steps"),
                    "KUG §33",
                ),
                SIGNATURE,
            ),
            escalation=(
                "Criminal complaint under KUG §33 (within three months of learning of the act"
                " and the offender, StGB §77b) and a civil injunction (BGB §§823, 1004)."
            ),
            notes=(
                "StGB §77b: the criminal complaint must be filed within 3 months of learning of"
                " the act and the offender; the case tracks it (takedown.complaint_period).",
            ),
        ),
        Regime(
            code="generic_privacy",
            title="Privacy removal request",
            citation="the recipient's policies and applicable privacy law",
            countries=None,
            roles=_ALL_BUT_DPA,
            categories=None,
            requires_copyright=False,
            deadline_amount=14,
            deadline_unit="calendar_days",
            deadline_basis="",
            needs_mandate=False,
            discloses_person=False,
            elements=(
                URLS,
                Element(
                    "legal_basis", gettext_noop("explanation of why the images must be removed")
                ),
                NOTIFIER,
                SIGNATURE,
            ),
            escalation="Notify the hosting provider, then the registrar (ICANN RAA §3.18).",
        ),
        Regime(
            code="search_delisting",
            title="Request to remove search results",
            citation=(
                "GDPR Art. 17, 21 (CJEU C-131/12 Google Spain; Art. 9: C-136/17) and the"
                " search engine's personal-content policy"
            ),
            countries=None,
            roles=(Role.SEARCH_ENGINE,),
            categories=None,
            requires_copyright=False,
            deadline_amount=1,
            deadline_unit="months",
            deadline_basis=gettext_noop("GDPR Art. 12(3)"),
            extension_months=2,
            ends_on_working_day=True,
            needs_mandate=True,
            # Delisting works on searches for the person's name (Google Spain), and both
            # engines' forms ask for it: the name goes out, once a reviewer confirmed it.
            discloses_person=True,
            elements=(
                Element(
                    "urls",
                    gettext_noop("the URLs of the pages and images the search results lead to"),
                ),
                IDENTITY,
                Element(
                    "legal_basis",
                    gettext_noop(
                        "the ground for delisting: GDPR Art. 17(1), 21 against the search engine"
                        " (Art. 9 for health or sex-life data) and its own policy"
                    ),
                    "Art. 17",
                ),
                Element(
                    "lack_of_consent",
                    gettext_noop(
                        "statement that the person did not consent to the images being published"
                    ),
                ),
                Element(
                    "representation",
                    gettext_noop("how the representative is authorised to act for the person"),
                ),
                Element(
                    "deadline", gettext_noop("the one-month response deadline (GDPR Art. 12(3))")
                ),
                NOTIFIER,
                SIGNATURE,
                MANDATE,
            ),
            escalation=(
                "A refusal under the GDPR: complaint to the supervisory authority (Art. 77);"
                " under the engine's policy alone: resubmit with more material."
            ),
            notes=(
                "Only the search results go; the images stay online until their host removes them.",
            ),
        ),
        Regime(
            code="search_outdated",
            title="Request to refresh outdated search results",
            citation="the search engine's outdated-content tool",
            countries=None,
            roles=(Role.SEARCH_ENGINE,),
            categories=None,
            requires_copyright=False,
            deadline_amount=14,
            deadline_unit="calendar_days",
            deadline_basis="",
            needs_mandate=False,
            discloses_person=False,
            elements=(
                Element("urls", gettext_noop("the exact URLs as the search results show them")),
                Element(
                    "source_removed",
                    gettext_noop(
                        "statement that the pages are gone at their source, as our checks found"
                    ),
                ),
                NOTIFIER,
            ),
            escalation="None: the tool only needs the page gone; submit again after a recheck.",
            notes=(
                "The tools check the URL themselves (404, 410 or no such host) and need no"
                " legal ground; 14 days is our setting.",
            ),
        ),
    )
}

# Which regime to prefer when several apply to one recipient: the one built for that kind of
# recipient and with the shortest clock. The notice text cites the others where they help
# (the DSA explanation names GDPR and KUG as the law the content breaks).
PREFERENCE: dict[str, tuple[str, ...]] = {
    Role.SITE_OPERATOR: (
        "take_it_down", "uk_osa", "gdpr", "uk_gdpr", "kug", "dsa", "dmca", "generic_privacy",
    ),
    Role.HOSTING: (
        "take_it_down", "uk_osa", "dsa", "dmca", "gdpr", "uk_gdpr", "kug", "generic_privacy",
    ),
    Role.CDN: ("dmca", "gdpr", "uk_gdpr", "generic_privacy"),
    Role.REGISTRAR: ("generic_privacy",),
    Role.DATASET_MAINTAINER: ("gdpr", "uk_gdpr", "kug", "generic_privacy"),
    Role.DPA: ("gdpr", "uk_gdpr"),
    Role.SEARCH_ENGINE: ("search_delisting", "search_outdated"),
}  # fmt: skip


def get_regime(code: str) -> Regime:
    try:
        return REGIMES[code]
    except KeyError:
        raise UnknownRegime(code) from None


def regime_options(
    candidates: Iterable[str], *, role: str, category: str, owns_copyright: bool
) -> list[tuple[Regime, str]]:
    """Every regime among `candidates` (the jurisdiction regimes of the recipient) that can
    address `role` for this case, in order of preference, each with the reason it applies (in
    the active language, without the regime's title): the caseworker may choose another than
    the first (a KUG demand beside or instead of GDPR)."""
    wanted = set(candidates) | {"generic_privacy"}
    options = []
    for code in PREFERENCE[role]:
        regime = REGIMES[code]
        if (
            code in wanted
            and role in regime.roles
            and (regime.categories is None or category in regime.categories)
            and (owns_copyright or not regime.requires_copyright)
        ):
            options.append((regime, _reason(regime, category)))
    return options


def _reason(regime: Regime, category: str) -> str:
    """Why the regime fits, in the active language (the caseworker's page)."""
    where = (
        gettext("applies to any recipient")
        if regime.countries is None
        else gettext("the recipient's country is one where it applies")
    )
    if regime.person_countries is not None:
        where += " " + gettext("(or the person lives where it applies)")
    parts = [where]
    if regime.categories is not None:
        parts.append(gettext("covers %(category)s images") % {"category": category})
    if regime.requires_copyright:
        parts.append(gettext("the person owns the copyright"))
    parts.append(
        gettext("answer within %(period)s (%(basis)s)")
        % {
            "period": _period(regime.deadline_amount, regime.deadline_unit),
            "basis": deadline_basis(regime) or gettext("our setting"),
        }
    )
    if regime.needs_mandate:
        parts.append(gettext("needs the signed mandate"))
    return "; ".join(parts) + "."


def _period(amount: int, unit: str) -> str:
    words = {
        "hours": ngettext("%(n)d hour", "%(n)d hours", amount),
        "calendar_days": ngettext("%(n)d calendar day", "%(n)d calendar days", amount),
        "working_days": ngettext("%(n)d working day", "%(n)d working days", amount),
        "weeks": ngettext("%(n)d week", "%(n)d weeks", amount),
        "months": ngettext("%(n)d month", "%(n)d months", amount),
    }
    return words[unit] % {"n": amount}


def choose_regime(
    candidates: Iterable[str], *, role: str, category: str, owns_copyright: bool
) -> Regime | None:
    """The preferred regime among `candidates` (e.g. jurisdiction regimes of the recipient)
    that can address `role` for this case; the generic request when none can, None for a role
    no candidate serves (a DPA outside GDPR)."""
    options = regime_options(
        candidates, role=role, category=category, owns_copyright=owns_copyright
    )
    return options[0][0] if options else None


# Each regime's title and citation in the languages beside English (English comes from the
# Regime itself): a letter's heading, and how a staff page or a refusal names the regime.
HEADINGS: dict[str, dict[str, tuple[str, str]]] = {
    "de": {
        "gdpr": ("Antrag auf Löschung nach der DSGVO", "DSGVO Art. 17, 21 (Art. 9)"),
        "dsa": (
            "Meldung rechtswidriger Inhalte nach dem Digital Services Act",
            "Verordnung (EU) 2022/2065 (DSA) Art. 16",
        ),
        "uk_gdpr": ("Antrag auf Löschung nach der UK GDPR", "UK GDPR Art. 17, 21 (Art. 9)"),
        "uk_osa": (
            "Meldung rechtswidriger Inhalte nach dem Online Safety Act",
            "Online Safety Act 2023 s.10(3)",
        ),
        "take_it_down": (
            "Entfernungsantrag nach dem TAKE IT DOWN Act",
            "47 U.S.C. §223a (TAKE IT DOWN Act)",
        ),
        "dmca": ("DMCA-Benachrichtigung (Takedown Notice)", "17 U.S.C. §512(c)(3)"),
        "kug": (
            "Aufforderung zur Entfernung nach dem Recht am eigenen Bild",
            "KUG §§ 22, 23, 33",
        ),
        "generic_privacy": (
            "Bitte um Entfernung privater Bilder",
            "Richtlinien des Empfängers und anwendbares Datenschutzrecht",
        ),
        "search_delisting": (
            "Antrag auf Entfernung von Suchergebnissen",
            "DSGVO Art. 17, 21 (EuGH C-131/12, C-136/17) und die Richtlinien der Suchmaschine",
        ),
        "search_outdated": (
            "Bitte um Aktualisierung veralteter Suchergebnisse",
            "Werkzeug der Suchmaschine für veraltete Inhalte",
        ),
    },
}


def regime_heading(regime: Regime, language: str | None = None) -> tuple[str, str]:
    """The regime's title and citation in `language`, by default the active one (a staff
    page names the regime as a letter in the reader's language would)."""
    lang = (language or translation.get_language() or "en")[:2]
    return HEADINGS.get(lang, {}).get(regime.code, (regime.title, regime.citation))


def deadline_basis(regime: Regime, language: str | None = None) -> str:
    """The law that sets the regime's deadline, cited in `language` (by default the active
    one); "" when the law sets none. Stored and logged in English, as Regime.deadline_basis."""
    if not regime.deadline_basis:
        return ""
    with translation.override(language or translation.get_language()):
        return gettext(regime.deadline_basis)


def regime_title(regime: Regime) -> str:
    """The regime's title in the active language."""
    return regime_heading(regime)[0]


def regime_name(code: str) -> str:
    """The title in the active language of the regime with this code; the code itself if no
    regime has it (a page or a refusal names a notice's stored regime)."""
    try:
        return regime_title(get_regime(code))
    except UnknownRegime:
        return code
