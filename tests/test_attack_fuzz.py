"""Fuzzing every importer with hypothesis: files from strangers give rows or the importer's own
one-line error, never another exception (a traceback on the command line, HTTP 500 in the web
app).

Per format of takedown/intake/readers.py (generated structure and raw bytes, with and
without format detection), LAION-layout Parquet files with hostile column types and values,
damaged Parquet bytes, the URL normaliser, the reference-hash CSV and the datenanfragen
directory import. Examples are few enough per test that the module runs in seconds; the
hypothesis database is off, so a run leaves no files behind.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from takedown.checks.references import ReferenceHashError, import_reference_hashes
from takedown.directory.importers import DirectoryImportError, iter_datenanfragen, parse_record
from takedown.intake.normalize import InvalidURL, NormalizedURL, normalize_url
from takedown.intake.readers import FORMATS, IntakeError, Row, read_rows
from tests.factories import CaseFactory

FUZZ = settings(
    max_examples=80,
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def written(data: bytes, suffix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        yield path


def read_all(path: Path, format: str | None) -> list[Row] | IntakeError:
    """Rows, or the IntakeError; any other exception fails the test with its traceback."""
    try:
        rows = list(read_rows(path, format))
    except IntakeError as exc:
        assert exc.message and "\n" not in exc.message
        return exc
    for row in rows:
        assert isinstance(row, Row)
        assert (row.url is None) == bool(row.error)
        assert row.number >= 1
    return rows


# --- text-like formats: structure that looks right, and anything at all -------------------------

URLISH = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda scheme, host, path: f"{scheme}://{host}/{path}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", ""]),
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]),
            min_size=0,
            max_size=30,
        ),
        st.text(max_size=30),
    ),
)
CELL = st.one_of(URLISH, st.integers().map(str), st.just(""), st.just("=HYPERLINK(1)"))
JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | URLISH,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["url", "URL", "link", "caption", "text", "sample_id", "key", "width"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)


def csv_bytes(rows: list[list[str]], delimiter: str) -> bytes:
    out = io.StringIO()
    for row in rows:
        out.write(delimiter.join(row) + "\n")
    return out.getvalue().encode("utf-8", "surrogatepass")


@FUZZ
@given(
    header=st.lists(
        st.sampled_from(["url", "URL", "link", "text", "caption", "sample_id", "width", "x", ""]),
        max_size=5,
    ),
    rows=st.lists(st.lists(CELL, max_size=6), max_size=8),
    delimiter=st.sampled_from([",", "\t", ";", '"']),
    format=st.sampled_from(["csv", "tsv", None]),
)
def test_csv_and_tsv_give_rows_or_intake_error(header, rows, delimiter, format) -> None:
    with written(csv_bytes([header, *rows], delimiter), ".csv") as path:
        read_all(path, format)


@FUZZ
@given(lines=st.lists(st.one_of(JSON_VALUE.map(json.dumps), st.text(max_size=40)), max_size=8))
def test_json_lines_give_rows_or_intake_error(lines) -> None:
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    with written(data, ".jsonl") as path:
        read_all(path, "jsonl")


@FUZZ
@given(lines=st.lists(URLISH, max_size=10))
def test_url_lists_give_rows_or_intake_error(lines) -> None:
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    with written(data, ".txt") as path:
        read_all(path, "text")


@FUZZ
@given(
    data=st.binary(max_size=2048),
    format=st.sampled_from([*FORMATS, None]),
    suffix=st.sampled_from([".txt", ".csv", ".tsv", ".jsonl", ".parquet", ""]),
)
def test_any_bytes_in_any_format_give_rows_or_intake_error(data, format, suffix) -> None:
    with written(data, suffix) as path:
        read_all(path, format)


# A few structures known to have crashed readers before (issue 15): deep nesting, long numbers,
# bytes that are not UTF-8. Always run, whatever hypothesis draws.
@pytest.mark.parametrize(
    ("data", "format"),
    [
        (b'{"url": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "jsonl"),
        (b'{"url": "http://a.example/", "width": ' + b"9" * 100_000 + b"}", "jsonl"),
        (b"url\nhttp://a.example/\xff\xfe\n", "csv"),
        (b"http://a.example/\x00\nhttp://b.example/", "text"),
        (b"url\n" + b'"' + b"x" * 300_000 + b'"\n', "csv"),
    ],
)
def test_known_crashers_give_rows_or_intake_error(data: bytes, format: str) -> None:
    with written(data, f".{format}") as path:
        read_all(path, format)


# --- Parquet: hostile types, values and damaged files --------------------------------------------

PARQUET_COLUMN = st.one_of(
    st.lists(st.one_of(st.none(), URLISH), min_size=1, max_size=6).map(pa.array),
    st.lists(st.one_of(st.none(), st.binary(max_size=20)), min_size=1, max_size=6).map(
        lambda values: pa.array(values, pa.binary())
    ),
    st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=1, max_size=6).map(
        lambda values: pa.array(values, pa.int64())
    ),
    st.lists(st.one_of(st.none(), st.floats()), min_size=1, max_size=6).map(pa.array),
    st.lists(st.lists(st.text(max_size=5), max_size=3), min_size=1, max_size=6).map(pa.array),
    st.lists(URLISH, min_size=1, max_size=6).map(
        lambda values: pa.array(values, pa.string()).dictionary_encode()
    ),
)


@FUZZ
@given(
    columns=st.dictionaries(
        st.sampled_from(["url", "URL", "TEXT", "caption", "SAMPLE_ID", "key", "WIDTH", "height"]),
        PARQUET_COLUMN,
        max_size=5,
    ),
    bad_utf8=st.booleans(),
)
def test_parquet_with_hostile_columns_gives_rows_or_intake_error(columns, bad_utf8) -> None:
    length = min((len(array) for array in columns.values()), default=1)
    table = pa.table(
        {name: array.slice(0, length) for name, array in columns.items()} or {"x": [1]}
    )
    if bad_utf8 and "url" in columns:
        # A string column whose bytes are not UTF-8, as a hostile writer can produce.
        raw = pa.array([b"http://a.example/\xff"] * length, pa.binary())
        table = table.set_column(table.schema.get_field_index("url"), "url", raw.view(pa.string()))
    out = io.BytesIO()
    pq.write_table(table, out)
    with written(out.getvalue(), ".parquet") as path:
        read_all(path, "parquet")


def _valid_parquet() -> bytes:
    out = io.BytesIO()
    table = pa.table(
        {
            "url": [f"http://img{n}.example/{n}.jpg" for n in range(20)],
            "TEXT": ["a caption"] * 20,
            "SAMPLE_ID": list(range(20)),
        }
    )
    pq.write_table(table, out)
    return out.getvalue()


VALID_PARQUET = _valid_parquet()


@FUZZ
@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(VALID_PARQUET) - 1), st.integers(0, 255)), max_size=6
    ),
    cut=st.integers(0, len(VALID_PARQUET)),
)
def test_damaged_parquet_gives_rows_or_intake_error(flips, cut) -> None:
    data = bytearray(VALID_PARQUET)
    for index, value in flips:
        data[index] = value
    with written(bytes(data[: max(cut, 8)] if cut < len(data) // 2 else data), ".parquet") as path:
        read_all(path, "parquet")


# --- the normaliser -----------------------------------------------------------------------------


@FUZZ
@given(raw=st.one_of(URLISH, st.text(max_size=200)))
def test_normaliser_gives_url_or_invalid_url(raw) -> None:
    try:
        result = normalize_url(raw)
    except InvalidURL as exc:
        assert exc.reason
        return
    assert isinstance(result, NormalizedURL)
    # Normalising the normal form changes nothing.
    assert normalize_url(result.url).url == result.url


# --- reference hashes and the directory import --------------------------------------------------


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.one_of(
        st.binary(max_size=1024),
        st.lists(st.lists(CELL, max_size=5)).map(
            lambda rows: csv_bytes([["url", "sha256", "phash", "pdq"], *rows], ",")
        ),
    )
)
def test_reference_hashes_give_report_or_their_error(data) -> None:
    case = CaseFactory()
    with written(data, ".csv") as path:
        try:
            import_reference_hashes(case, path)
        except ReferenceHashError as exc:
            assert exc.message and "\n" not in exc.message


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            JSON_VALUE.map(json.dumps),
            st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
            st.just('{"slug": "x", "name": ' + "[" * 5000 + "]" * 5000 + "}"),
        ),
        max_size=5,
    ),
    raw=st.binary(max_size=64),
)
def test_directory_import_gives_records_or_its_error(lines, raw) -> None:
    data = "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n" + raw
    with written(data, ".jsonl") as path:
        try:
            for kind, where, record in iter_datenanfragen(path):
                try:
                    parse_record(kind, where, record)
                except DirectoryImportError:
                    continue
        except DirectoryImportError as exc:
            assert str(exc)
