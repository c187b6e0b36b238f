"""Reference hashes supplied by the person or a caseworker (reference_hashes command)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from takedown.models import CaseEvent, FoundLink
from tests.factories import CaseFactory, FoundLinkFactory

pytestmark = pytest.mark.django_db

PHASH = "c3a5" * 4
PDQ = "0f" * 32
SHA = "ab" * 32


def test_reference_hashes_stores_hashes_on_the_links(tmp_path: Path, capsys) -> None:
    case = CaseFactory()
    one = FoundLinkFactory(case=case, url="https://img.example.com/a.jpg")
    two = FoundLinkFactory(case=case, url="https://img.example.com/b.jpg")
    path = tmp_path / "refs.csv"
    path.write_text(
        "url,sha256,phash,pdq\n"
        f"HTTPS://IMG.example.com/a.jpg,{SHA.upper()},{PHASH},\n"
        f"https://img.example.com/b.jpg,,,{PDQ}\n"
    )

    call_command("reference_hashes", "--case", case.reference, "--json", str(path))

    assert json.loads(capsys.readouterr().out) == {"rows": 2, "updated": 2, "errors": []}
    got = list(
        FoundLink.objects.filter(pk__in=[one.pk, two.pk])
        .order_by("pk")
        .values_list("ref_sha256", "ref_phash", "ref_pdq")
    )
    assert got == [(SHA, PHASH, ""), ("", "", PDQ)]
    event = CaseEvent.objects.get(case=case, kind="links.reference_hashes")
    assert event.visible_to_person is True


def test_reference_hashes_bad_rows_store_nothing(tmp_path: Path, capsys) -> None:
    case = CaseFactory()
    link = FoundLinkFactory(case=case, url="https://img.example.com/a.jpg")
    path = tmp_path / "refs.csv"
    path.write_text(
        "url,phash\n"
        f"https://img.example.com/a.jpg,{PHASH}\n"
        f"https://img.example.com/unknown.jpg,{PHASH}\n"
        "https://img.example.com/a.jpg,xyz\n"
    )

    with pytest.raises(CommandError) as error:
        call_command("reference_hashes", "--case", case.reference, str(path))

    assert error.value.returncode == 2
    assert str(error.value) == "2 rows cannot be used; nothing was stored"
    assert capsys.readouterr().err.splitlines() == [
        "row 4: hash: expected 16 hexadecimal digits",
        "row 3: no such link in this case",
    ]
    link.refresh_from_db()
    assert link.ref_phash == ""


def test_reference_hashes_without_hash_columns_is_refused(tmp_path: Path) -> None:
    case = CaseFactory()
    path = tmp_path / "refs.csv"
    path.write_text("url,md5\nhttps://img.example.com/a.jpg,abc\n")

    with pytest.raises(CommandError, match="expected a CSV header with url"):
        call_command("reference_hashes", "--case", case.reference, str(path))


def test_reference_hashes_that_are_not_utf8_say_so(tmp_path: Path) -> None:
    """In words, not "cannot read refs.csv: UnicodeDecodeError"."""
    case = CaseFactory()
    path = tmp_path / "refs.csv"
    path.write_bytes(b"url,sha256\n\xff\xfe\n")

    with pytest.raises(CommandError) as refused:
        call_command("reference_hashes", "--case", case.reference, str(path))

    assert str(refused.value) == "the file is not UTF-8 text; nothing was stored"
