"""The import report's per-row reasons are stored in English (the commands' JSON and the record
read them so) and shown on the staff page in the reader's language."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from takedown.intake.normalize import InvalidURL, normalize_url
from takedown.intake.store import import_links, row_error_label
from tests.factories import CaseFactory, TeamFactory, caseworker

pytestmark = pytest.mark.django_db

# One input per way normalize_url refuses a URL.
BAD_URLS = [
    "",
    "www.example.com/a.jpg",
    "data:image/png;base64,AAAA",
    "ftp://example.com/a.jpg",
    "https://exa mple.com/a.jpg",
    "https://[::zz]/a.jpg",
    "https://ex\x01ample.com/a.jpg",
    "https://localhost/a.jpg",
    "https://" + "a" * 64 + ".com/a.jpg",
    "https://" + ("a" * 60 + ".") * 5 + "com/a.jpg",
    "https://a..com/a.jpg",
    "https://999.1.1.1/a.jpg",
    "https://example.com:8x/a.jpg",
    "https://example.com:70000/a.jpg",
    "https://example.com/" + "a" * 17_000,
]


def reasons() -> set[str]:
    found = set()
    for url in BAD_URLS:
        with pytest.raises(InvalidURL) as refused:
            normalize_url(url)
        found.add(str(refused.value))
    return found


def test_every_reason_normalize_url_gives_reads_german():
    stored = reasons()
    assert len(stored) >= 12  # the corpus reaches most of the ways a URL is refused

    with translation.override("de"):
        shown = {reason: row_error_label(reason) for reason in stored}

    assert [reason for reason, german in shown.items() if german == reason] == []
    assert shown["URL longer than 16384 characters"] == "URL länger als 16384 Zeichen"
    assert shown["scheme 'ftp' not allowed (only http and https)"] == (
        "Schema „ftp“ nicht erlaubt (nur http und https)"
    )


def test_an_english_reader_and_an_unknown_reason_read_as_stored():
    assert row_error_label("invalid port") == "invalid port"
    with translation.override("de"):
        assert row_error_label("a reason of a future reader") == "a reason of a future reader"


def test_the_import_report_page_shows_the_reasons_in_the_users_language(tmp_path):
    team = TeamFactory(name="Berlin")
    carla = caseworker("carla", team)
    case = CaseFactory(team=team, assigned_to=carla)
    source = tmp_path / "links.txt"
    source.write_text("ftp://example.com/a.jpg\nhttps://example.com:8x/b.jpg\n", encoding="utf-8")
    import_links(case, [source])
    imported = case.imports.get()
    assert [e["reason"] for e in imported.report["errors"]] == [
        "scheme 'ftp' not allowed (only http and https)",
        "invalid port",
    ]
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(carla)
    url = reverse("staff:import", args=[case.reference, imported.pk])

    english = browser.get(url).content.decode()
    browser.post(reverse("staff:language"), {"language": "de"})
    german = browser.get(url).content.decode()

    assert "invalid port" in english
    assert "ungültiger Port" in german
    assert "Schema „ftp“ nicht erlaubt (nur http und https)" in german
    assert "invalid port" not in german
