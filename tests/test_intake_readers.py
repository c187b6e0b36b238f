from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from takedown.intake import readers
from takedown.intake.normalize import InvalidURL, normalize_url
from takedown.intake.readers import (
    PARQUET_BATCH_ROWS,
    IntakeError,
    Row,
    detect_format,
    read_rows,
)
from tests.conftest import LAION_SAMPLE, shared_file


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def _write_parquet(path: Path, columns: dict[str, object], **kwargs: object) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(columns), path, **kwargs)
    return path


def _error_of(path: Path, format: str | None = None) -> str:
    with pytest.raises(IntakeError) as caught:
        list(read_rows(path, format))
    return str(caught.value)


# --- text -----------------------------------------------------------------------------------


def test_read_rows_text_numbers_rows_by_line_and_skips_blanks_and_comments(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path / "found.txt",
        "# found by the reverse image search\n"
        "http://a.example/1.jpg\n"
        "\n"
        "   \n"
        "  https://b.example/2.jpg  \r\n"
        "# http://commented.example/out.jpg\n"
        "not a url\n",
    )

    assert list(read_rows(path)) == [
        Row(2, "http://a.example/1.jpg"),
        Row(5, "https://b.example/2.jpg"),
        Row(7, "not a url"),
    ]


def test_read_rows_text_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "found.txt"
    path.write_bytes(b"\xef\xbb\xbfhttp://a.example/1.jpg\nhttp://b.example/2.jpg")

    assert list(read_rows(path)) == [
        Row(1, "http://a.example/1.jpg"),
        Row(2, "http://b.example/2.jpg"),
    ]


def test_read_rows_text_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "found.txt"
    path.write_bytes(b"http://a.example/1.jpg\nhttp://b.example/\xff.jpg\n")
    rows = read_rows(path)

    assert next(rows) == Row(1, "http://a.example/1.jpg")
    with pytest.raises(IntakeError) as caught:
        next(rows)
    assert str(caught.value) == "line 2: not UTF-8 text"


# --- CSV and TSV ----------------------------------------------------------------------------


def test_read_rows_csv_laion_columns(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "found.csv",
        "SAMPLE_ID,URL,TEXT,WIDTH,HEIGHT,similarity\n"
        '17,http://a.example/1.jpg,"A caption, with a comma",640,480,0.31\n'
        '18,http://b.example/2.jpg,"Two\nlines",640.0,,not a number\n'
        "19,http://c.example/3.jpg,,,,\n",
    )

    assert list(read_rows(path)) == [
        Row(
            2,
            "http://a.example/1.jpg",
            "A caption, with a comma",
            "17",
            {"width": 640, "height": 480, "similarity": 0.31},
        ),
        # A quoted field spanning lines: the record's first line.
        Row(3, "http://b.example/2.jpg", "Two\nlines", "18", {"width": 640}),
        Row(5, "http://c.example/3.jpg", "", "19", None),
    ]


def test_read_rows_csv_with_bom_and_other_column_names(tmp_path: Path) -> None:
    path = tmp_path / "found.csv"
    path.write_bytes(
        b"\xef\xbb\xbf Key ,Caption,LINK\r\nk1,Hello,http://a.example/1.jpg\r\nk2,,http://b.example/\r\n"
    )

    assert list(read_rows(path)) == [
        Row(2, "http://a.example/1.jpg", "Hello", "k1"),
        Row(3, "http://b.example/", "", "k2"),
    ]


def test_read_rows_csv_prefers_url_over_link_and_text_over_alt(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "found.csv",
        "link,alt,url,text,id,sample_id\n"
        "http://page.example/,alt text,http://img.example/1.jpg,caption,i,s\n",
    )

    assert list(read_rows(path)) == [Row(2, "http://img.example/1.jpg", "caption", "s")]


def test_read_rows_tsv(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "found.tsv",
        "url\talt\tid\nhttp://a.example/1.jpg\tA, b and c\t1\nhttp://b.example/2.jpg\t\t2\n",
    )

    assert list(read_rows(path)) == [
        Row(2, "http://a.example/1.jpg", "A, b and c", "1"),
        Row(3, "http://b.example/2.jpg", "", "2"),
    ]


def test_read_rows_csv_row_errors_keep_their_numbers(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "found.csv",
        "url,caption\n,no url here\n\n,,\nhttp://a.example/1.jpg\n   ,spaces only\n",
    )

    assert list(read_rows(path)) == [
        Row(2, None, "no url here", error="no URL in this row"),
        Row(5, "http://a.example/1.jpg"),
        # Whitespace is a URL value; normalize_url rejects it as "empty URL".
        Row(6, "   ", "spaces only"),
    ]


def test_read_rows_csv_short_row_without_url_cell(tmp_path: Path) -> None:
    path = _write(tmp_path / "found.csv", "id,caption,url\n7,only two\n")

    assert list(read_rows(path)) == [Row(2, None, "only two", "7", error="no URL in this row")]


def test_read_rows_csv_without_url_column_lists_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "found.csv", "image_url,caption\nhttp://a.example/1.jpg,x\n")

    with pytest.raises(IntakeError) as caught:
        read_rows(path)  # fails before the first row is asked for
    assert str(caught.value) == (
        "no URL column in the CSV header (expected one named url or link; "
        "columns found: 'image_url', 'caption')"
    )


def test_read_rows_csv_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "found.csv", "\n\n")

    assert _error_of(path) == "empty file: no CSV header"


def test_read_rows_csv_malformed_record(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "found.csv",
        'url,text\nhttp://a.example/,ok\nhttp://b.example/,"' + "x" * 140_000 + '"\n',
    )
    rows = read_rows(path)

    assert next(rows) == Row(2, "http://a.example/", "ok")
    with pytest.raises(IntakeError) as caught:
        next(rows)
    assert str(caught.value) == "malformed CSV at line 3: field larger than field limit (131072)"


def test_read_rows_forced_csv_on_tsv_shows_the_single_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "found.tsv", "URL\tTEXT\nhttp://a.example/\tx\n")

    assert _error_of(path, "csv") == (
        "no URL column in the CSV header (expected one named url or link; "
        "columns found: 'URL\\tTEXT')"
    )


# --- JSON lines -----------------------------------------------------------------------------


def test_read_rows_jsonl(tmp_path: Path) -> None:
    lines = [
        {"URL": "http://a.example/1.jpg", "TEXT": "first", "SAMPLE_ID": 5, "WIDTH": 10},
        {"url": "http://b.example/2.jpg", "caption": None, "key": "000017", "similarity": 0.5},
        {"link": "http://c.example/3.jpg", "alt": 3, "id": 7.0, "height": "12"},
    ]
    path = _write(tmp_path / "found.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")

    assert list(read_rows(path)) == [
        Row(1, "http://a.example/1.jpg", "first", "5", {"width": 10}),
        Row(2, "http://b.example/2.jpg", "", "000017", {"similarity": 0.5}),
        Row(3, "http://c.example/3.jpg", "3", "7", {"height": 12}),
    ]


def test_read_rows_jsonl_row_errors(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "found.jsonl",
        '{"url": "http://a.example/1.jpg"}\n'
        "\n"
        '["http://b.example/2.jpg"]\n'
        '"http://c.example/3.jpg"\n'
        '{"caption": "no url"}\n'
        '{"url": null, "caption": "null url"}\n'
        '{"url": "", "key": 9}\n'
        '{"url": 42}\n'
        '{"url": "http://d.example/4.jpg"}\n',
    )

    assert list(read_rows(path)) == [
        Row(1, "http://a.example/1.jpg"),
        Row(3, None, error="line is not a JSON object"),
        Row(4, None, error="line is not a JSON object"),
        Row(5, None, "no url", error="no URL in this row"),
        Row(6, None, "null url", error="no URL in this row"),
        Row(7, None, "", "9", error="no URL in this row"),
        Row(8, None, error="URL is not a string"),
        Row(9, "http://d.example/4.jpg"),
    ]


def test_read_rows_jsonl_malformed_line_stops_with_its_number(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "found.jsonl",
        '{"url": "http://a.example/1.jpg"}\n{"url": "http://b.example/2.jpg"\n{"url": "x"}\n',
    )
    seen: list[Row] = []

    with pytest.raises(IntakeError) as caught:
        for row in read_rows(path):
            seen.append(row)
    assert str(caught.value) == "line 2: malformed JSON (Expecting ',' delimiter)"
    assert seen == [Row(1, "http://a.example/1.jpg")]


def test_read_rows_forced_jsonl_on_text_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "found.txt", "http://a.example/1.jpg\n")

    assert _error_of(path, "jsonl") == "line 1: malformed JSON (Expecting value)"


# --- Parquet --------------------------------------------------------------------------------


def test_read_rows_parquet_laion_layout(tmp_path: Path) -> None:
    import pyarrow as pa

    path = _write_parquet(
        tmp_path / "part-00000.parquet",
        {
            "SAMPLE_ID": pa.array([101, 102, None, 104], pa.int64()),
            "URL": ["http://a.example/1.jpg", None, "", "http://d.example/4.jpg"],
            "TEXT": ["first", "second", None, "fourth"],
            "HEIGHT": pa.array([480.0, None, 10.0, 20.0]),
            "WIDTH": pa.array([640, 1, 2, 3], pa.int32()),
            "similarity": pa.array([0.3125, 0.5, 0.25, float("nan")]),
            "LICENSE": ["?", "?", "?", "?"],
            "__index_level_0__": [0, 1, 2, 3],
        },
    )

    assert list(read_rows(path)) == [
        Row(
            1,
            "http://a.example/1.jpg",
            "first",
            "101",
            {"width": 640, "height": 480, "similarity": 0.3125},
        ),
        Row(2, None, "second", "102", {"width": 1, "similarity": 0.5}, "no URL in this row"),
        Row(3, None, "", "", {"width": 2, "height": 10, "similarity": 0.25}, "no URL in this row"),
        Row(4, "http://d.example/4.jpg", "fourth", "104", {"width": 3, "height": 20}),
    ]


def test_read_rows_parquet_lowercase_names_and_float_ids(tmp_path: Path) -> None:
    path = _write_parquet(
        tmp_path / "links.parquet",
        {"url": ["http://a.example/1.jpg"], "caption": ["c"], "key": [7.0]},
    )

    assert list(read_rows(path)) == [Row(1, "http://a.example/1.jpg", "c", "7")]


def test_read_rows_parquet_numbers_rows_across_batches(tmp_path: Path) -> None:
    count = PARQUET_BATCH_ROWS + 1_000
    path = _write_parquet(
        tmp_path / "big.parquet",
        {"URL": [f"http://h{i % 97}.example/{i}.jpg" for i in range(count)]},
        row_group_size=50_000,
    )

    numbers = []
    last = None
    for row in read_rows(path):
        numbers.append(row.number)
        last = row
    assert numbers == list(range(1, count + 1))
    assert last == Row(count, f"http://h{(count - 1) % 97}.example/{count - 1}.jpg")


def test_read_rows_parquet_reads_in_batches_of_the_configured_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    path = _write_parquet(
        tmp_path / "l.parquet", {"URL": [f"http://a.example/{i}" for i in range(25)]}
    )
    sizes: list[int] = []
    original = pq.ParquetFile.iter_batches

    def spy(self: pq.ParquetFile, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for batch in original(self, *args, **kwargs):
            sizes.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(readers, "PARQUET_BATCH_ROWS", 10)
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)

    rows = list(read_rows(path))
    assert sizes == [10, 10, 5]
    assert [row.number for row in rows] == list(range(1, 26))


def test_read_rows_parquet_without_url_column(tmp_path: Path) -> None:
    path = _write_parquet(tmp_path / "l.parquet", {"image": ["http://a.example/"], "TEXT": ["x"]})

    with pytest.raises(IntakeError) as caught:
        read_rows(path)
    assert str(caught.value) == (
        "no URL column in the Parquet file (expected one named url or link; "
        "columns found: 'image', 'TEXT')"
    )


def test_read_rows_parquet_url_column_not_text(tmp_path: Path) -> None:
    path = _write_parquet(tmp_path / "l.parquet", {"URL": [1, 2]})

    assert _error_of(path) == "the Parquet column 'URL' holds int64, not text"


def test_read_rows_parquet_truncated_file(tmp_path: Path) -> None:
    good = _write_parquet(tmp_path / "good.parquet", {"URL": ["http://a.example/"] * 100})
    path = tmp_path / "cut.parquet"
    data = good.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    message = _error_of(path)
    assert message.startswith("unreadable Parquet file (")
    assert "\n" not in message


# --- formats, forced formats and file problems ----------------------------------------------


def test_read_rows_forced_parquet_on_text_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "found.txt", "http://a.example/1.jpg\n")

    assert _error_of(path, "parquet") == "not a Parquet file (no PAR1 magic number)"


def test_read_rows_forced_text_on_parquet_file(tmp_path: Path) -> None:
    path = _write_parquet(tmp_path / "l.parquet", {"URL": ["http://a.example/"]})

    assert _error_of(path, "text") == "the file is Parquet, not text"


def test_read_rows_unknown_format(tmp_path: Path) -> None:
    path = _write(tmp_path / "found.txt", "http://a.example/1.jpg\n")

    assert _error_of(path, "xml") == (
        "unknown format 'xml' (expected one of text, csv, tsv, jsonl, parquet)"
    )


def test_read_rows_missing_file(tmp_path: Path) -> None:
    assert _error_of(tmp_path / "nope.csv") == "file not found"


def test_read_rows_directory(tmp_path: Path) -> None:
    assert _error_of(tmp_path) == "not a file but a directory"


def test_read_rows_compressed_file(tmp_path: Path) -> None:
    path = tmp_path / "found.csv.gz"
    path.write_bytes(gzip.compress(b"url\nhttp://a.example/\n"))

    assert _error_of(path) == "the file is gzip-compressed; decompress it first"
    assert _error_of(path, "csv") == "the file is gzip-compressed; decompress it first"


def test_detect_format_not_utf8_without_extension(tmp_path: Path) -> None:
    path = tmp_path / "found"
    path.write_bytes(b"\xff\xfe\x00h\x00t\x00t\x00p")

    with pytest.raises(IntakeError) as caught:
        detect_format(path)
    assert str(caught.value) == "not UTF-8 text"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.csv", "url\nhttp://a.example/\n", "csv"),
        ("a.CSV", "url\nhttp://a.example/\n", "csv"),
        ("a.tsv", "url\ttext\n", "tsv"),
        ("a.jsonl", '{"url": "http://a.example/"}\n', "jsonl"),
        ("a.ndjson", '{"url": "http://a.example/"}\n', "jsonl"),
        ("a.txt", "url,text\n", "text"),
        # No telling extension: the first non-blank line decides.
        ("found", '\n  {"url": "http://a.example/"}\n', "jsonl"),
        ("found.json", '{"URL": "http://a.example/"}\n', "jsonl"),
        ("found", "URL\tTEXT\nhttp://a.example/\tx\n", "tsv"),
        ("found", "\ufeffURL,TEXT\nhttp://a.example/,x\n", "csv"),
        ("found", "http://a.example/a,b.jpg\n", "text"),
        ("found", "# urls\nhttp://a.example/\n", "text"),
        ("found", "www.example.com/a.jpg\n", "text"),
        ("found", "", "text"),
    ],
)
def test_detect_format(tmp_path: Path, name: str, content: str, expected: str) -> None:
    assert detect_format(_write(tmp_path / name, content)) == expected


def test_detect_format_parquet_magic_beats_extension(tmp_path: Path) -> None:
    path = _write_parquet(tmp_path / "export.csv", {"URL": ["http://a.example/"]})

    assert detect_format(path) == "parquet"
    assert list(read_rows(path)) == [Row(1, "http://a.example/")]


# --- the shared LAION sample ----------------------------------------------------------------


@pytest.mark.shared_data
def test_read_rows_laion_sample() -> None:
    path = shared_file(LAION_SAMPLE)

    rows = list(read_rows(path))
    urls, domains, rejected = set(), set(), []
    for row in rows:
        try:
            result = normalize_url(row.url or "")
        except InvalidURL as exc:
            rejected.append((row.number, exc.reason))
            continue
        urls.add(result.url)
        domains.add(result.registered_domain)

    assert detect_format(path) == "parquet"
    assert len(rows) == 1000
    assert [row.number for row in rows] == list(range(1, 1001))
    assert rows[0] == Row(
        1,
        "http://direct.rhapsody.com/imageserver/v2/albums/Alb.131805200/images/170x170.jpg",
        "Classical Masterpieces: Xerses & More, Vol. 8 by Various Artists",
    )
    assert sum(1 for row in rows if row.error) == 0
    assert rejected == []
    assert len(urls) == 1000
    assert len(domains) == 530


# --- hostile files: every reader error is one line with its row, memory bounded by bytes ----

ROOT = Path(__file__).resolve().parents[1]


def test_read_rows_jsonl_nested_too_deeply_names_the_line(tmp_path: Path) -> None:
    nested = "[" * 100_000 + "]" * 100_000
    path = _write(tmp_path / "l.jsonl", f'{{"url": "http://a.example/"}}\n{{"url": {nested}}}\n')

    assert _error_of(path) == "line 2: JSON nested too deeply"


def test_read_rows_jsonl_number_of_100000_digits_names_the_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "l.jsonl", '{"url": "http://a.example/", "width": %s}\n' % ("9" * 100_000)
    )

    assert _error_of(path) == "line 1: a number with 100,000 digits (at most 100)"


def test_read_rows_line_longer_than_the_cap_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "l.txt", "http://a.example/\nhttp://b.example/" + "x" * readers.MAX_LINE_BYTES
    )

    assert _error_of(path) == f"line 2: longer than {readers.MAX_LINE_BYTES:,} bytes"


def test_read_rows_long_entry_id_fails_its_row_and_long_caption_is_cut(tmp_path: Path) -> None:
    long_id, long_caption = "7" * 1_025, "é" * 5_000
    csv_path = _write(
        tmp_path / "l.csv",
        f"url,text,key\nhttp://a.example/1,{long_caption},{long_id}\n"
        f"http://a.example/2,{long_caption},{'7' * 1_024}\n",
    )
    jsonl_path = _write(
        tmp_path / "l.jsonl",
        json.dumps({"url": "http://a.example/1", "text": long_caption, "key": long_id})
        + "\n"
        + json.dumps({"url": "http://a.example/2", "text": long_caption, "key": "7" * 1_024})
        + "\n",
    )
    parquet_path = _write_parquet(
        tmp_path / "l.parquet",
        {
            "url": ["http://a.example/1", "http://a.example/2"],
            "text": [long_caption, long_caption],
            "key": [long_id, "7" * 1_024],
        },
    )
    cut = "é" * readers.MAX_CAPTION_CHARS

    for path, first, second in ((csv_path, 2, 3), (jsonl_path, 1, 2), (parquet_path, 1, 2)):
        assert list(read_rows(path)) == [
            Row(first, None, cut, "", None, "entry id longer than 1024 characters"),
            Row(second, "http://a.example/2", cut, "7" * 1_024),
        ], path.name


def test_read_rows_parquet_keeps_16_kib_urls_and_refuses_64_kib_ones_undecoded(
    tmp_path: Path,
) -> None:
    long_url = "http://a.example/?" + "q" * (16 * 1024)
    huge_url = "http://a.example/?" + "q" * readers.MAX_URL_BYTES
    path = _write_parquet(tmp_path / "l.parquet", {"URL": [long_url, huge_url], "TEXT": ["a", "b"]})

    assert list(read_rows(path)) == [
        Row(1, long_url, "a"),
        Row(2, None, "b", "", None, "URL longer than 65,536 bytes"),
    ]


def _invalid_utf8_parquet(path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Arrow checks UTF-8 only when asked: a binary column viewed as text writes bad bytes.
    captions = pa.array([b"ok", b"fine", b"caf\xe9 latin-1"], pa.binary()).view(pa.string())
    urls = pa.array([f"http://a.example/{i}" for i in range(3)])
    pq.write_table(pa.table({"URL": urls, "TEXT": captions}), path)
    return path


def test_read_rows_parquet_invalid_utf8_names_the_row(tmp_path: Path) -> None:
    path = _invalid_utf8_parquet(tmp_path / "l.parquet")

    assert _error_of(path) == "row 3: the column 'TEXT' is not UTF-8 text"


def test_read_rows_parquet_over_the_decoded_limit_is_refused(tmp_path: Path, settings) -> None:
    settings.TAKEDOWN_IMPORT_MAX_DECODED_BYTES = 10_000
    path = _write_parquet(tmp_path / "l.parquet", {"URL": ["http://a.example/" + "x" * 100] * 200})

    assert _error_of(path) == (
        "row 200: the Parquet file decodes to more than 10,000 bytes "
        "(TAKEDOWN_IMPORT_MAX_DECODED_BYTES)"
    )


def test_read_rows_parquet_declaring_more_than_the_limit_is_refused_unread(
    tmp_path: Path, settings
) -> None:
    settings.TAKEDOWN_IMPORT_MAX_DECODED_BYTES = 10_000
    path = _write_parquet(
        tmp_path / "l.parquet",
        {"URL": [f"http://a.example/{i:0100d}" for i in range(200)]},
        use_dictionary=False,
        compression="none",
    )

    message = _error_of(path)
    assert message.startswith("the Parquet file holds ")
    assert message.endswith(
        " bytes uncompressed, more than 10,000 (TAKEDOWN_IMPORT_MAX_DECODED_BYTES)"
    )


def test_read_rows_parquet_decodes_in_runs_bounded_by_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long unique strings: the Python strings of a batch are made a few rows at a time."""
    urls = [f"http://a.example/{i}?" + "q" * 1_000 for i in range(50)]
    path = _write_parquet(tmp_path / "l.parquet", {"URL": urls})
    sizes: list[int] = []
    original = readers._TextColumn.values

    def spy(self: readers._TextColumn, start: int, stop: int) -> list[str | None]:
        sizes.append(stop - start)
        return original(self, start, stop)

    monkeypatch.setattr(readers, "PARQUET_CHUNK_BYTES", 10_000)
    monkeypatch.setattr(readers._TextColumn, "values", spy)

    assert [row.url for row in read_rows(path)] == urls
    assert sum(sizes) == 50
    assert max(sizes) <= 10


# VmHWM, not getrusage: a child's ru_maxrss starts at the parent's RSS at fork (Linux keeps it
# across exec), so under pytest it would measure pytest.
BOMB_CHILD = """
import json, re, sys
import django
django.setup()
import pyarrow.compute, pyarrow.parquet
from takedown.intake.readers import IntakeError, read_rows

def peak():
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))

ready = peak()
try:
    count = sum(1 for _ in read_rows(sys.argv[1]))
    outcome = f"read {count} rows"
except IntakeError as exc:
    outcome = str(exc)
print(json.dumps([outcome, (peak() - ready) // 1024]))
"""


def _peak_of_reading(path: Path) -> tuple[str, int]:
    """What reading `path` ends in, and by how many MB it raised the peak RSS of a fresh
    process above that of Django and pyarrow loaded."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("TAKEDOWN_IMPORT_MAX_DECODED_BYTES", None)
    done = subprocess.run(
        [sys.executable, "-c", BOMB_CHILD, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    outcome, peak_mb = json.loads(done.stdout)
    return outcome, peak_mb


def test_read_rows_parquet_bomb_is_refused_without_decoding_it(tmp_path: Path) -> None:
    """Under a kilobyte on disk: one 1 MiB caption, dictionary-encoded and repeated for 8,000
    rows, would decode to 8 GiB; the reader counts from the dictionary and refuses it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 8_000
    zeros = pa.array([0] * rows, pa.int32())
    table = pa.table(
        {
            "URL": pa.DictionaryArray.from_arrays(zeros, pa.array(["http://a.example/1.jpg"])),
            "TEXT": pa.DictionaryArray.from_arrays(zeros, pa.array(["a" * 1024 * 1024])),
        }
    )
    path = tmp_path / "bomb.parquet"
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=22,
        store_schema=False,
        row_group_size=rows,
    )
    assert path.stat().st_size < 1_000

    outcome, peak_mb = _peak_of_reading(path)

    assert outcome == (
        f"row {readers.PARQUET_BATCH_ROWS if rows > readers.PARQUET_BATCH_ROWS else rows}: "
        "the Parquet file decodes to more than 4,294,967,296 bytes "
        "(TAKEDOWN_IMPORT_MAX_DECODED_BYTES)"
    )
    assert peak_mb < 100


def test_read_rows_parquet_long_unique_strings_stay_within_memory(tmp_path: Path) -> None:
    """6,000 different 60,000-character captions (360 MB decoded, 80 KB on disk): read in
    short batches and cut to MAX_CAPTION_CHARS before they become Python strings. (Before:
    780 MB above Django and pyarrow loaded; now about 290.)"""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "long.parquet"
    schema = pa.schema([("URL", pa.string()), ("TEXT", pa.string())])
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for start in range(0, 6_000, 500):
            numbers = range(start, start + 500)
            writer.write_table(
                pa.table(
                    {
                        "URL": [f"http://a.example/{i}.jpg" for i in numbers],
                        "TEXT": [f"{i:06d}" + "c" * 59_994 for i in numbers],
                    },
                    schema=schema,
                )
            )

    outcome, peak_mb = _peak_of_reading(path)

    assert outcome == "read 6000 rows"
    assert peak_mb < 400
