"""Criminal offences as data: per country, with the conditions under which each applies.

A notice names an offence only when the case's facts meet its conditions; the facts are the
caseworker's answers to the questions below (`Case.legal_facts`: key -> True/False, missing =
not known). Without them the notice argues from data protection and personality rights only:
an offence claimed categorically is wrong in most cases and weakens the rest of the letter
(docs/law/germany.md, docs/law/dsa.md). Pure law: nothing here touches the database.

Conditions are all-of groups of any-of questions: `((a, b), (c,))` means (a or b) and c.
A summary, not legal advice; the statutes' own words decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import get_language


@dataclass(frozen=True)
class Question:
    key: str
    en: str
    de: str

    @property
    def text(self) -> str:
        """The question in the active language (the caseworker's page)."""
        return self.de if (get_language() or "en").startswith("de") else self.en


QUESTIONS: dict[str, Question] = {
    q.key: q
    for q in (
        Question(
            "no_consent",
            "The person did not consent to the images being published or passed on.",
            "Die Person hat in die Veröffentlichung oder Weitergabe der Bilder nicht eingewilligt.",
        ),
        Question(
            "identifiable",
            "The person is recognisable in the images (face, features or context).",
            "Die Person ist auf den Bildern erkennbar (Gesicht, Merkmale oder Zusammenhang).",
        ),
        Question(
            "private_place",
            "The pictures were taken in a home or a room specially protected from view"
            " (changing room, toilet, doctor's room).",
            "Die Bilder wurden in einer Wohnung oder einem gegen Einblick besonders geschützten"
            " Raum aufgenommen (Umkleide, Toilette, Behandlungsraum).",
        ),
        Question(
            "helplessness",
            "The pictures show the person's helplessness (unconscious, injured, in distress).",
            "Die Bilder zeigen die Hilflosigkeit der Person (bewusstlos, verletzt, in Not).",
        ),
        Question(
            "intimate_parts_covered",
            "The pictures show genitals, buttocks, female breasts or the underwear covering them,"
            " which were protected from view when the pictures were taken.",
            "Die Bilder zeigen Genitalien, Gesäß, weibliche Brust oder die sie bedeckende"
            " Unterwäsche, die bei der Aufnahme gegen Anblick geschützt waren.",
        ),
        Question(
            "sexual",
            "The pictures are sexual in character or show the person nude or in an intimate state.",
            "Die Bilder sind sexueller Natur oder zeigen die Person nackt oder in einer intimen"
            " Situation.",
        ),
        Question(
            "child_online_service",
            "The data were collected from the person, as a child, by an online service (e.g. their"
            " own upload to a platform).",
            "Die Daten wurden von der Person als Kind durch einen Online-Dienst erhoben (etwa ihr"
            " eigenes Hochladen auf einer Plattform).",
        ),
    )
}


@dataclass(frozen=True)
class Offence:
    code: str
    # Recipient country (ISO alpha-2) whose law it is.
    country: str
    citation: dict[str, str]
    heading: dict[str, str]
    conditions: tuple[tuple[str, ...], ...]
    # Subdivisions of `country` where it does not apply (ISO 3166-2).
    not_in_regions: frozenset[str] = frozenset()
    # Prosecuted only on the victim's complaint (StGB §77b: three months).
    needs_complaint: bool = False

    def met(self, facts: Mapping[str, object]) -> bool:
        return all(any(facts.get(key) is True for key in group) for group in self.conditions)

    def questions(self) -> list[str]:
        return [key for group in self.conditions for key in group]


OFFENCES: tuple[Offence, ...] = (
    Offence(
        "de_kug_33",
        "DE",
        {"en": "KUG §33", "de": "§\u00a033 KUG"},
        {"en": "", "de": ""},
        (("no_consent",), ("identifiable",)),
        needs_complaint=True,
    ),
    Offence(
        "de_stgb_201a",
        "DE",
        {"en": "StGB §201a", "de": "§\u00a0201a StGB"},
        {
            # The heading in force since 1 January 2021.
            "en": "violation of the most personal sphere of life and of personality rights by"
            " taking pictures",
            "de": "Verletzung des höchstpersönlichen Lebensbereichs und von Persönlichkeitsrechten"
            " durch Bildaufnahmen",
        },
        (("private_place", "helplessness"), ("no_consent",)),
        needs_complaint=True,
    ),
    Offence(
        "de_stgb_184k",
        "DE",
        {"en": "StGB §184k", "de": "§\u00a0184k StGB"},
        {
            "en": "violation of the intimate sphere by taking pictures",
            "de": "Verletzung des Intimbereichs durch Bildaufnahmen",
        },
        (("intimate_parts_covered",), ("no_consent",)),
        needs_complaint=True,
    ),
    Offence(
        "fr_cp_226_1",
        "FR",
        {"en": "Code pénal Art. 226-1", "de": "Art. 226-1 Code pénal"},
        {
            "en": "invasion of privacy by capturing or transmitting a person's image in a private"
            " place",
            "de": "Verletzung der Privatsphäre durch Aufnahme oder Übertragung des Bildes einer"
            " Person an einem privaten Ort",
        },
        (("private_place",), ("no_consent",)),
    ),
    Offence(
        "fr_cp_226_2_1",
        "FR",
        {"en": "Code pénal Art. 226-2-1", "de": "Art. 226-2-1 Code pénal"},
        {
            "en": "distribution of sexual images of a person without their consent",
            "de": "Verbreitung sexueller Bilder einer Person ohne ihre Einwilligung",
        },
        (("sexual",), ("no_consent",)),
    ),
    Offence(
        "nl_sr_139h",
        "NL",
        {"en": "Wetboek van Strafrecht Art. 139h", "de": "Art. 139h Wetboek van Strafrecht"},
        {
            "en": "making or distributing sexual images of a person without consent",
            "de": "Herstellung oder Verbreitung sexueller Bilder einer Person ohne Einwilligung",
        },
        (("sexual",), ("no_consent",)),
    ),
    Offence(
        "gb_soa_66b",
        "GB",
        {"en": "Sexual Offences Act 2003 s.66B", "de": "Sexual Offences Act 2003 s.66B"},
        {
            "en": "sharing or threatening to share an intimate photograph or film",
            "de": "Teilen oder Androhen des Teilens intimer Fotos oder Filme",
        },
        (("sexual",), ("no_consent",)),
        # England and Wales; Scotland and Northern Ireland have offences of their own.
        not_in_regions=frozenset({"GB-SCT", "GB-NIR"}),
    ),
    Offence(
        "us_take_it_down",
        "US",
        {
            "en": "47 U.S.C. §223(h) (TAKE IT DOWN Act)",
            "de": "47 U.S.C. §223(h) (TAKE IT DOWN Act)",
        },
        {
            "en": "publication of intimate visual depictions without consent",
            "de": "Veröffentlichung intimer Darstellungen ohne Einwilligung",
        },
        (("sexual",), ("no_consent",), ("identifiable",)),
    ),
)

BY_CODE = {offence.code: offence for offence in OFFENCES}


def offences_for(country: str, region: str = "") -> list[Offence]:
    """The offences of the recipient's country (and region)."""
    country = country.upper()
    return [
        offence
        for offence in OFFENCES
        if offence.country == country and region.upper() not in offence.not_in_regions
    ]


def applicable(country: str, facts: Mapping[str, object], region: str = "") -> list[Offence]:
    """The offences a notice to a recipient in `country` may name: those whose conditions the
    recorded facts meet."""
    return [offence for offence in offences_for(country, region) if offence.met(facts)]


def open_questions(country: str, facts: Mapping[str, object], region: str = "") -> list[str]:
    """The questions (keys) still unanswered that an offence of `country` depends on."""
    keys: list[str] = []
    for offence in offences_for(country, region):
        for key in offence.questions():
            if key not in facts and key not in keys:
                keys.append(key)
    return keys


def clean_facts(answers: Mapping[str, object]) -> dict[str, bool]:
    """Answers as stored: known questions only, True or False; anything else is unknown."""
    return {
        key: value for key, value in answers.items() if key in QUESTIONS and isinstance(value, bool)
    }
