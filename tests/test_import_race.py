"""Two imports into one case at once (PostgreSQL): the second waits for the first and stores
only what the first did not, with a report that counts its own links only."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.db import connection, transaction

from takedown.cases import open_case
from takedown.intake.store import import_links
from takedown.models import FoundLink
from tests.test_escalation_race import in_thread, waits_for_a_lock

pytestmark = pytest.mark.django_db(transaction=True)


def urls(numbers: range) -> str:
    return "".join(f"https://img{n % 7}.example.com/{n}.jpg\n" for n in numbers)


def test_import_links_second_import_into_an_empty_case_waits_for_the_first(tmp_path: Path):
    if connection.vendor != "postgresql":
        pytest.skip("the import lock and the direct COPY path are PostgreSQL's")

    case = open_case(reference="TD-2026-0140")
    first_file = tmp_path / "first.txt"
    first_file.write_text(urls(range(0, 60)), encoding="utf-8")
    second_file = tmp_path / "second.txt"
    second_file.write_text(urls(range(40, 100)), encoding="utf-8")  # 20 URLs in both files
    first_in = threading.Event()
    release = threading.Event()
    reports: dict[str, dict] = {}
    errors: list[BaseException] = []

    def first() -> None:
        # The first import's links stay uncommitted until the second import has started: both
        # find the case without committed links, the window the lock closes.
        with transaction.atomic():
            reports["first"] = import_links(case, [first_file]).as_dict()
            first_in.set()
            assert release.wait(30)

    def second() -> None:
        reports["second"] = import_links(case, [second_file]).as_dict()

    one = in_thread(first, errors)
    assert first_in.wait(30)
    two = in_thread(second, errors)
    blocked = waits_for_a_lock(two)
    release.set()
    one.join(30)
    two.join(30)

    assert errors == []
    assert blocked
    assert (reports["first"]["created"], reports["first"]["duplicates"]) == (60, 0)
    assert (reports["second"]["created"], reports["second"]["duplicates"]) == (40, 20)
    assert reports["second"]["in_other_cases"] == 0
    stored = sorted(FoundLink.objects.filter(case=case).values_list("url", flat=True))
    assert stored == sorted(f"https://img{n % 7}.example.com/{n}.jpg" for n in range(100))
