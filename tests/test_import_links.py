"""import_links: the command and the store behind it, on SQLite or PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from takedown.cases import open_case
from takedown.intake.normalize import MAX_URL_LENGTH
from takedown.intake.store import MAX_REPORTED_ERRORS, import_links
from takedown.models import Case, CaseEvent, FoundLink, Host, Import
from tests.conftest import LAION_SAMPLE, shared_file

pytestmark = pytest.mark.django_db


def run_import(*args: str) -> dict:
    from io import StringIO

    out = StringIO()
    call_command("import_links", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_links_laion_sample_counts_every_row_exactly():
    sample = shared_file(LAION_SAMPLE)

    report = run_import("--case", "TD-2026-0100", "--create", "--dataset", "laion-5b", str(sample))

    assert report == {
        "rows": 1000,
        "created": 1000,
        "duplicates": 0,
        "invalid": 0,
        "hosts": 663,
        "registered_domains": 530,
        "in_other_cases": 0,
        "errors": [],
        "errors_total": 0,
        "errors_truncated": False,
    }
    case = Case.objects.get(reference="TD-2026-0100")
    assert case.links.count() == 1000
    assert case.links.filter(dataset="laion-5b").count() == 1000
    assert Host.objects.count() == 663
    assert Host.objects.values("registered_domain").distinct().count() == 530


def test_import_links_laion_sample_again_is_all_duplicates_and_flags_other_case():
    sample = shared_file(LAION_SAMPLE)
    run_import("--case", "TD-2026-0101", "--create", str(sample))

    again = run_import("--case", "TD-2026-0101", str(sample))
    other = run_import("--case", "TD-2026-0102", "--create", str(sample))

    assert (again["created"], again["duplicates"], again["in_other_cases"]) == (0, 1000, 0)
    assert (other["created"], other["duplicates"], other["in_other_cases"]) == (1000, 0, 1000)
    # Both sides carry the flag; neither report names the other case.
    assert FoundLink.objects.filter(in_other_case=False).count() == 0
    assert "TD-2026-0101" not in json.dumps(other)


def test_import_links_cross_case_flag_only_on_shared_urls(tmp_path):
    first = write(tmp_path, "a.txt", "https://a.example.com/1.jpg\nhttps://a.example.com/2.jpg\n")
    second = write(
        tmp_path, "b.txt", "https://A.example.com:443/2.jpg#x\nhttps://b.example.org/3.jpg\n"
    )
    run_import("--case", "TD-2026-0103", "--create", str(first))

    report = run_import("--case", "TD-2026-0104", "--create", str(second))

    assert report["in_other_cases"] == 1
    flagged = FoundLink.objects.filter(in_other_case=True).order_by("case__reference")
    assert [(link.case.reference, link.url) for link in flagged] == [
        ("TD-2026-0103", "https://a.example.com/2.jpg"),
        ("TD-2026-0104", "https://a.example.com/2.jpg"),
    ]


def test_import_links_plain_text_reports_invalid_rows_with_numbers(tmp_path):
    path = write(
        tmp_path,
        "found.txt",
        "https://img.example.com/a.jpg\n"
        "ftp://img.example.com/b.jpg\n"
        "\n"
        "data:image/png;base64,iVBORw0KGgo=\n"
        "https://img.example.com/a.jpg\n"
        "http://[::1]:8080/d.png\n",
    )

    report = run_import("--case", "TD-2026-0105", "--create", str(path))

    assert report["rows"] == 5
    assert (report["created"], report["duplicates"], report["invalid"]) == (2, 1, 2)
    assert report["errors"] == [
        {"row": 2, "reason": "scheme 'ftp' not allowed (only http and https)"},
        {"row": 4, "reason": "data: URL: the image itself, not an address it can be removed from"},
    ]
    ip_host = Host.objects.get(hostname="::1")
    assert ip_host.is_ip is True


def test_import_links_drops_credentials_but_keeps_the_url_as_listed(tmp_path):
    listed = "https://user:secret@img.example.com/c.jpg"
    path = write(tmp_path, "found.txt", f"{listed}\nhttps://img.example.com/c.jpg\n")

    report = run_import("--case", "TD-2026-0106", "--create", str(path))

    assert (report["created"], report["duplicates"], report["invalid"]) == (1, 1, 0)
    link = FoundLink.objects.get()
    assert (link.url, link.original_url) == ("https://img.example.com/c.jpg", listed)


def test_import_links_csv_keeps_caption_and_entry_id(tmp_path):
    path = write(
        tmp_path,
        "found.csv",
        'SAMPLE_ID,URL,TEXT\n17,https://cdn.example.com/x.jpg?w=100,"beach, 2013"\n'
        "18,https://cdn.example.com/x.jpg?w=200,\n",
    )

    report = run_import("--case", "TD-2026-0106", "--create", "--dataset", "laion-5b", str(path))

    assert (report["rows"], report["created"]) == (2, 2)
    link = FoundLink.objects.get(entry_id="17")
    assert (link.url, link.caption, link.dataset) == (
        "https://cdn.example.com/x.jpg?w=100",
        "beach, 2013",
        "laion-5b",
    )


def test_import_links_tsv_and_jsonl_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    tsv = write(tmp_path, "a.tsv", "url\tcaption\nhttps://t.example.com/1.jpg\tone\n")
    jsonl = write(
        tmp_path,
        "b.jsonl",
        '{"url": "https://j.example.com/1.jpg", "key": "k1"}\n{"link": "https://j.example.com/2.jpg"}\n',
    )
    parquet = tmp_path / "c.parquet"
    pq.write_table(
        pa.table(
            {
                "URL": ["https://p.example.com/1.jpg", None],
                "TEXT": ["alt", "none"],
                "SAMPLE_ID": [5, 6],
                "WIDTH": [640, 1],
                "HEIGHT": [480, 1],
            }
        ),
        parquet,
    )

    report = run_import("--case", "TD-2026-0107", "--create", str(tsv), str(jsonl), str(parquet))

    assert (report["rows"], report["created"], report["invalid"]) == (5, 4, 1)
    assert report["errors"] == [{"row": 2, "reason": "no URL in this row", "file": "c.parquet"}]
    assert FoundLink.objects.get(entry_id="5").extra == {"width": 640, "height": 480}
    assert FoundLink.objects.get(entry_id="k1").url == "https://j.example.com/1.jpg"
    assert FoundLink.objects.get(caption="one").url == "https://t.example.com/1.jpg"


def test_import_links_caps_reported_errors_but_counts_them_all(tmp_path):
    path = write(tmp_path, "bad.txt", "".join(f"mailto:x{n}@example.com\n" for n in range(250)))

    report = run_import("--case", "TD-2026-0108", "--create", str(path))

    assert report["invalid"] == 250
    assert report["errors_total"] == 250
    assert len(report["errors"]) == MAX_REPORTED_ERRORS
    assert report["errors_truncated"] is True


def test_import_links_unknown_case_without_create_exits_2_and_creates_nothing(tmp_path):
    path = write(tmp_path, "a.txt", "https://img.example.com/a.jpg\n")

    with pytest.raises(CommandError, match="no case 'TD-2026-0999'; pass --create") as caught:
        call_command("import_links", "--case", "TD-2026-0999", str(path))

    assert caught.value.returncode == 2
    assert Case.objects.count() == 0


def test_import_links_missing_file_exits_2(tmp_path):
    with pytest.raises(CommandError, match="no such file") as caught:
        call_command("import_links", "--case", "X", "--create", str(tmp_path / "nope.csv"))

    assert caught.value.returncode == 2
    assert Case.objects.count() == 0


def test_import_links_folder_instead_of_file_exits_2(tmp_path):
    with pytest.raises(CommandError, match="is a folder, not a file") as caught:
        call_command("import_links", "--case", "X", "--create", str(tmp_path))

    assert caught.value.returncode == 2
    assert Case.objects.count() == 0


def test_import_links_forced_wrong_format_exits_2(tmp_path):
    path = write(tmp_path, "a.txt", "https://img.example.com/a.jpg\n")

    with pytest.raises(CommandError, match="not a Parquet file") as caught:
        call_command(
            "import_links", "--case", "TD-2026-0110", "--create", "--format", "parquet", str(path)
        )

    assert caught.value.returncode == 2
    assert Case.objects.count() == 0


def test_import_links_csv_without_url_column_names_the_columns(tmp_path):
    path = write(tmp_path, "a.csv", "name,caption\nx,y\n")

    with pytest.raises(CommandError, match="no URL column") as caught:
        call_command("import_links", "--case", "TD-2026-0111", "--create", str(path))

    assert "name" in str(caught.value)
    assert caught.value.returncode == 2


def test_import_links_failure_in_the_middle_leaves_nothing(tmp_path, monkeypatch):
    """A malformed JSON line after many good ones: the case, its links and hosts all vanish."""
    good = "".join(f'{{"url": "https://h{n}.example.com/{n}.jpg"}}\n' for n in range(5000))
    path = write(tmp_path, "a.jsonl", good + "{not json\n")
    monkeypatch.setattr("takedown.intake.store.BATCH_ROWS", 1000)  # several batches stored first

    with pytest.raises(CommandError, match="line 5001") as caught:
        call_command("import_links", "--case", "TD-2026-0112", "--create", str(path))

    assert caught.value.returncode == 2
    assert (Case.objects.count(), FoundLink.objects.count(), Host.objects.count()) == (0, 0, 0)
    assert CaseEvent.objects.count() == 0


def test_import_links_into_existing_case_failure_keeps_earlier_links(tmp_path, monkeypatch):
    case = open_case(reference="TD-2026-0113")
    import_links(case, [write(tmp_path, "a.txt", "https://keep.example.com/a.jpg\n")])
    monkeypatch.setattr("takedown.intake.store.BATCH_ROWS", 2)
    bad = write(tmp_path, "b.jsonl", '{"url": "https://x.example.com/1"}\n' * 5 + "[\n")

    with pytest.raises(CommandError):
        call_command("import_links", "--case", "TD-2026-0113", str(bad))

    assert list(FoundLink.objects.values_list("url", flat=True)) == [
        "https://keep.example.com/a.jpg"
    ]
    assert Import.objects.filter(case=case).count() == 1


def test_import_links_records_import_and_visible_event(tmp_path):
    path = write(
        tmp_path, "a.txt", "https://img.example.com/a.jpg\nhttps://img.example.com/b.jpg\n"
    )

    run_import("--case", "TD-2026-0114", "--create", str(path))

    case = Case.objects.get(reference="TD-2026-0114")
    event = case.events.get(kind="links.imported")
    assert event.visible_to_person is True
    assert event.message == "2 links were added to your case."
    assert event.data["created"] == 2
    assert "img.example.com" not in json.dumps(event.data)
    assert Import.objects.get(case=case).report["created"] == 2


def test_import_links_human_output(tmp_path):
    from io import StringIO

    path = write(tmp_path, "a.txt", "https://img.example.com/a.jpg\njavascript:alert(1)\n")
    out = StringIO()

    call_command("import_links", "--case", "TD-2026-0115", "--create", str(path), stdout=out)

    assert out.getvalue().splitlines() == [
        "TD-2026-0115: 2 rows, 1 new links, 0 duplicates, 1 invalid, "
        "1 hosts on 1 registered domains",
        "  row 2: scheme 'javascript' not allowed (only http and https)",
    ]


def _signed_cdn_url(length: int, host: str = "d1x2y3z4.cloudfront.net") -> str:
    """A CloudFront-style signed image URL padded to `length` characters: a percent-encoded
    policy, a signature and a key id, as real LAION rows carry them."""
    head = (
        f"https://{host}/media/catalog/product/cache/1/image/9df78eab33525d08d6e5fb8d27136e95/"
        "w/o/woman_beach_%E2%80%93_summer.jpg?Policy=eyJTdGF0ZW1lbnQiOlt7IlJlc291cmNlIjoi"
    )
    tail = "&Signature=Zx9~Kp3-aB%2Bc%2F%3D%3D&Key-Pair-Id=APKAEIBAERJR2EXAMPLE"
    filler = "%2B" + "".join(chr(ord("a") + i % 26) for i in range(length))
    return head + filler[: length - len(head) - len(tail)] + tail


@pytest.mark.parametrize("length", [3_000, 16_000, 16_384])
def test_import_links_laion_parquet_keeps_long_url_whole(tmp_path, length):
    import pyarrow as pa
    import pyarrow.parquet as pq

    url = _signed_cdn_url(length)
    path = tmp_path / "part-00000.parquet"
    pq.write_table(
        pa.table(
            {
                "SAMPLE_ID": [1, 2],
                "URL": [url, "https://example.com/short.jpg"],
                "TEXT": ["a long one", "a short one"],
            }
        ),
        path,
    )

    report = run_import("--case", "TD-2026-0150", "--create", "--dataset", "laion-5b", str(path))
    again = run_import("--case", "TD-2026-0150", str(path))

    assert len(url) == length
    assert (report["created"], report["invalid"], report["errors"]) == (2, 0, [])
    assert (again["created"], again["duplicates"]) == (0, 2)
    link = FoundLink.objects.get(entry_id="1")
    assert link.url == url
    assert link.url_sha256 == hashlib.sha256(url.encode()).hexdigest()


def test_import_links_url_over_the_limit_is_rejected_with_the_reason(tmp_path):
    too_long = _signed_cdn_url(MAX_URL_LENGTH + 1)
    path = write(tmp_path, "links.csv", f"url,id\n{too_long},7\nhttps://example.com/a.jpg,8\n")

    report = run_import("--case", "TD-2026-0151", "--create", str(path))

    assert (report["created"], report["invalid"]) == (1, 1)
    assert report["errors"] == [{"row": 2, "reason": "URL longer than 16384 characters"}]


def test_import_links_long_entry_id_is_kept(tmp_path):
    # Some datasets key rows by a URL or a path; one such id must not fail the whole import.
    entry_id = "shard-00042/" + "k" * 300
    path = write(tmp_path, "links.csv", f"url,id\nhttps://example.com/a.jpg,{entry_id}\n")

    report = run_import("--case", "TD-2026-0152", "--create", str(path))

    assert (report["created"], report["invalid"]) == (1, 0)
    assert FoundLink.objects.get().entry_id == entry_id


def _invalid_utf8_parquet(path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    captions = pa.array([b"ok", b"caf\xe9"], pa.binary()).view(pa.string())
    urls = pa.array(["https://img.example.com/a.jpg", "https://img.example.com/b.jpg"])
    pq.write_table(pa.table({"URL": urls, "TEXT": captions}), path)
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "nested.jsonl",
            '{"url": "https://img.example.com/a.jpg"}\n{"url": '
            + "[" * 50_000
            + "]" * 50_000
            + "}\n",
            "line 2: JSON nested too deeply (nothing was imported)",
        ),
        (
            "digits.jsonl",
            '{"url": "https://img.example.com/a.jpg", "key": ' + "1" * 100_000 + "}\n",
            "line 1: a number with 100,000 digits (at most 100) (nothing was imported)",
        ),
        (
            "latin1.parquet",
            None,
            "row 2: the column 'TEXT' is not UTF-8 text (nothing was imported)",
        ),
    ],
)
def test_import_links_hostile_file_exits_2_with_one_line_and_imports_nothing(
    tmp_path, name, content, message
):
    path = (
        write(tmp_path, name, content)
        if content is not None
        else _invalid_utf8_parquet(tmp_path / name)
    )

    with pytest.raises(CommandError) as caught:
        call_command("import_links", "--case", "TD-2026-0998", "--create", str(path))

    assert (str(caught.value), caught.value.returncode) == (message, 2)
    assert (Case.objects.count(), FoundLink.objects.count()) == (0, 0)


# --- a case without links: its import goes straight into the links table (PostgreSQL) ----


def _spellings(n: int) -> list[str]:
    """URL n in three spellings that normalise to one URL."""
    return [
        f"https://img{n % 3}.example.com/{n}.jpg",
        f"HTTPS://IMG{n % 3}.EXAMPLE.COM:443/{n}.jpg",
        f"https://img{n % 3}.example.com/{n}.jpg#top",
    ]


def test_import_links_new_case_drops_duplicates_within_and_across_batches(tmp_path, monkeypatch):
    monkeypatch.setattr("takedown.intake.store.BATCH_ROWS", 4)
    lines = [spelling for n in range(10) for spelling in _spellings(n)]
    lines += [_spellings(n)[0] for n in range(10)]  # every URL once more, batches later
    case = open_case(reference="TD-2026-0130")

    report = import_links(case, [write(tmp_path, "a.txt", "\n".join(lines) + "\n")])

    assert (report.rows, report.created, report.duplicates) == (40, 10, 30)
    urls = list(case.links.order_by("id").values_list("url", flat=True))
    assert urls == [f"https://img{n % 3}.example.com/{n}.jpg" for n in range(10)]
    assert report.hosts == 3


def test_import_links_new_case_stores_links_its_duplicate_check_only_suspects(
    tmp_path, monkeypatch
):
    """A key seen before sends the link the ON CONFLICT way, which stores it when it is not
    in the case after all (as with two URLs whose hash() collides)."""
    monkeypatch.setattr(
        "takedown.intake.store._SeenKeys.add", lambda self, hashes: [True] * len(hashes)
    )
    case = open_case(reference="TD-2026-0131")
    text = "".join(f"https://h{n}.example.com/{n}.jpg\n" for n in range(5)) * 2

    report = import_links(case, [write(tmp_path, "a.txt", text)])

    assert (report.created, report.duplicates) == (5, 5)
    assert case.links.count() == 5


def test_import_links_new_case_checks_other_cases_only_on_known_hosts(tmp_path):
    first = open_case(reference="TD-2026-0132")
    import_links(first, [write(tmp_path, "a.txt", "https://old.example.com/1.jpg\n")])
    second = open_case(reference="TD-2026-0133")
    text = "https://old.example.com/1.jpg\nhttps://old.example.com/2.jpg\nhttps://new.example.org/1.jpg\n"

    report = import_links(second, [write(tmp_path, "b.txt", text)])

    assert (report.created, report.in_other_cases) == (3, 1)
    flagged = set(FoundLink.objects.filter(in_other_case=True).values_list("case_id", "url"))
    assert flagged == {
        (first.pk, "https://old.example.com/1.jpg"),
        (second.pk, "https://old.example.com/1.jpg"),
    }


def test_import_links_leaves_foreign_keys_checked_at_commit_again(tmp_path):
    """The import checks a link's foreign keys statement by statement; afterwards the
    caller's transaction defers them to COMMIT again, as Django expects."""
    case = open_case(reference="TD-2026-0134")
    with transaction.atomic():
        import_links(case, [write(tmp_path, "a.txt", "https://a.example.com/1.jpg\n")])
        link = case.links.get()
        # A dangling host id is accepted until COMMIT only while the check is deferred.
        FoundLink.objects.filter(pk=link.pk).update(host_id=link.host_id + 10_000)
        FoundLink.objects.filter(pk=link.pk).update(host_id=link.host_id)
    assert case.links.get().host_id == link.host_id
