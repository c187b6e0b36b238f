"""Who holds a domain: organisation, private person, privacy service (pure, table-driven)."""

# ruff: noqa: RUF001  (Cyrillic legal forms are meant to look like Latin letters)
from __future__ import annotations

import pytest

from takedown.resolve.facts import REDACTED, Party
from takedown.resolve.holder import HolderKind, classify_holder, classify_party, has_legal_form

ORG, PERSON, PRIVACY, UNKNOWN = (
    HolderKind.ORGANISATION,
    HolderKind.PERSON,
    HolderKind.PRIVACY_SERVICE,
    HolderKind.UNKNOWN,
)


@pytest.mark.parametrize(
    "name",
    [
        "Bilder Demo GmbH",
        "Muster UG (haftungsbeschränkt)",
        "Beispiel GmbH & Co. KG",
        "Siemens AG",
        "Förderverein Musterstadt e.V.",
        "Acme Ltd",
        "Acme Ltd.",
        "Acme Limited",
        "Example LLC",
        "Example, Inc.",
        "Example Corp.",
        "Photo Co.",
        "Société Exemple S.A.",
        "Exemple SAS",
        "Exemple SARL",
        "Esempio S.r.l.",
        "Esempio S.p.A.",
        "Voorbeeld B.V.",
        "Voorbeeld N.V.",
        "Esimerkki Oy",
        "Exempel AB",
        "Eksempel AS",
        "Eksempel ApS",
        "Przykład sp. z o.o.",
        "Příklad s.r.o.",
        "Példa Kft.",
        "Rei KK",
        "株式会社サンプル",
        "示例有限公司",
        "ООО «Пример»",
        "Beispiel Pty Ltd",
        "Technische Universität München",
    ],
)
def test_has_legal_form_company_names(name):
    assert has_legal_form(name) is True


@pytest.mark.parametrize(
    "name",
    ["Max Mustermann", "Anna Sa", "Jean Dupont", "Li Wei", "Иван Петров", "Ab Smith", "Kim As"],
)
def test_has_legal_form_person_names(name):
    assert has_legal_form(name) is False


@pytest.mark.parametrize(
    ("name", "organization", "flags", "kind", "holder"),
    [
        ("Max Mustermann", "Bilder Demo GmbH", {}, ORG, "Bilder Demo GmbH"),
        ("", "Example Media", {}, ORG, "Example Media"),
        ("Leaky Images Inc.", "", {}, ORG, "Leaky Images Inc."),
        ("Max Mustermann", "", {}, PERSON, "Max Mustermann"),
        ("Max Mustermann", "Max Mustermann", {}, PERSON, "Max Mustermann"),
        ("Max Mustermann", "Private Person", {}, PERSON, "Max Mustermann"),
        ("Jean Dupont", "Particulier", {}, PERSON, "Jean Dupont"),
        ("Acme GmbH", "Acme GmbH", {}, ORG, "Acme GmbH"),
        ("Domains By Proxy, LLC", "Domains By Proxy, LLC", {}, PRIVACY, ""),
        ("REDACTED FOR PRIVACY", "REDACTED FOR PRIVACY", {}, PRIVACY, ""),
        ("Data Protected", "", {}, PRIVACY, ""),
        ("Withheld for Privacy Purposes", "Privacy service provided by Withheld", {}, PRIVACY, ""),
        ("Whois Agent", "Contact Privacy Inc. Customer 123", {}, PRIVACY, ""),
        (REDACTED, REDACTED, {}, PRIVACY, ""),
        ("Acme GmbH", "", {"privacy_proxy": True}, PRIVACY, ""),
        ("", "", {"redacted": True}, PRIVACY, ""),
        ("", "", {}, UNKNOWN, ""),
        ("n/a", "-", {}, UNKNOWN, ""),
    ],
)
def test_classify_holder(name, organization, flags, kind, holder):
    decided = classify_holder(name, organization, **flags)

    assert (decided.kind, decided.name) == (kind, holder)


def test_classify_party_reads_source_flags_and_redacted_fields():
    assert classify_party(None).kind == UNKNOWN
    assert classify_party(Party(name=REDACTED, country="DE")).kind == PRIVACY
    assert classify_party(Party(organization="Acme Ltd", privacy_proxy=True)).kind == PRIVACY
    assert classify_party(Party(name="Acme Ltd", country="GB")).kind == ORG
