"""Read found URLs from the files people hand us: URL lists, CSV/TSV, JSON lines, LAION Parquet.

`read_rows(path)` yields one `Row` per data row. Problems with the whole file raise
`IntakeError` (either from `read_rows` itself, which checks the file, header or schema
before returning, or while iterating, for damage found further down the file). Problems
with one row are yielded as a `Row` with `url=None` and `error` set, so the importer can
report them by row number and go on.

`Row.number` points at the row in the file: the line number for text, CSV/TSV and JSON lines
(so the first CSV data row, under the header, is 2; blank and comment lines are not rows
but still count as lines; a quoted CSV field spanning lines gives the record's first line),
and the 1-based row index for Parquet.

Column names are matched case-insensitively, first match in the order listed:
URL: url, link. Caption: text, caption, alt. Entry id: sample_id, key, id. Extra metadata
(`Row.extra`, None when a row has none): width, height (int), similarity (float); values
that are empty or not numbers are left out rather than failing the row.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from takedown.errors import NotPossible

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "FORMATS",
    "PARQUET_BATCH_ROWS",
    "IntakeError",
    "Row",
    "detect_format",
    "read_rows",
]

FORMATS = ("text", "csv", "tsv", "jsonl", "parquet")
PARQUET_BATCH_ROWS = 65_536

URL_COLUMNS = ("url", "link")
CAPTION_COLUMNS = ("text", "caption", "alt")
ID_COLUMNS = ("sample_id", "key", "id")
NO_URL = "no URL in this row"

_PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 65_536
_EXTENSIONS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "text",
    ".lst": "text",
    ".list": "text",
    ".urls": "text",
}
_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
}


class IntakeError(NotPossible):
    """The file as a whole cannot be read; the message is one line, without the path."""


class Row(NamedTuple):
    number: int
    url: str | None
    caption: str = ""
    entry_id: str = ""
    extra: dict[str, int | float] | None = None
    # Why this row has no usable URL field; "" when url is set.
    error: str = ""


def detect_format(path: str | os.PathLike[str]) -> str:
    """Guess one of FORMATS: Parquet magic, then the extension, then the first line."""
    return _detect(path, _read_head(path))


def read_rows(path: str | os.PathLike[str], format: str | None = None) -> Iterator[Row]:
    """Check the file and return an iterator over its rows; `format` None means detect."""
    head = _read_head(path)
    if format is None:
        format = _detect(path, head)
    elif format not in FORMATS:
        raise IntakeError(f"unknown format {format!r} (expected one of {', '.join(FORMATS)})")
    if format == "parquet":
        if not head.startswith(_PARQUET_MAGIC):
            raise IntakeError("not a Parquet file (no PAR1 magic number)")
        return _parquet_rows(path)
    if head.startswith(_PARQUET_MAGIC):
        raise IntakeError(f"the file is Parquet, not {format}")
    _refuse_compressed(head)
    if format == "text":
        return _text_rows(path)
    if format == "jsonl":
        return _jsonl_rows(path)
    return _csv_rows(path, "TSV" if format == "tsv" else "CSV")


def _detect(path: str | os.PathLike[str], head: bytes) -> str:
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    _refuse_compressed(head)
    by_extension = _EXTENSIONS.get(Path(path).suffix.lower())
    if by_extension is not None:
        return by_extension
    for line in _decode_head(head).splitlines():
        line = line.strip()
        if line:
            return _sniff_line(line)
    return "text"


# --- files and lines ----------------------------------------------------------------------


def _open(path: str | os.PathLike[str]) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise IntakeError("file not found") from None
    except IsADirectoryError:
        raise IntakeError("not a file but a directory") from None
    except PermissionError:
        raise IntakeError("permission denied") from None
    except OSError as exc:
        raise IntakeError(f"cannot read file ({exc.strerror or exc})") from None


def _read_head(path: str | os.PathLike[str]) -> bytes:
    with _open(path) as file:
        try:
            return file.read(_SNIFF_BYTES)
        except OSError as exc:
            raise IntakeError(f"cannot read file ({exc.strerror or exc})") from None


def _refuse_compressed(head: bytes) -> None:
    for magic, name in _COMPRESSED.items():
        if head.startswith(magic):
            raise IntakeError(f"the file is {name}-compressed; decompress it first")


def _decode_head(head: bytes) -> str:
    import codecs

    # final=False: the sniffed block may end inside a multi-byte character.
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        return decoder.decode(head, final=False)
    except UnicodeDecodeError:
        raise IntakeError("not UTF-8 text") from None


def _utf8_lines(file: IO[bytes]) -> Iterator[str]:
    """Decode line by line, so an encoding error names its exact line; drops a leading BOM."""
    number = 0
    try:
        for number, raw in enumerate(file, 1):
            line = raw.decode()
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield line
    except UnicodeDecodeError:
        raise IntakeError(f"line {number}: not UTF-8 text") from None


def _sniff_line(line: str) -> str:
    if line.startswith("{"):
        return "jsonl"
    if line.startswith("#") or _looks_like_url(line):
        return "text"
    if "\t" in line:
        return "tsv"
    if "," in line:
        return "csv"
    return "text"


def _looks_like_url(line: str) -> bool:
    scheme, colon, _ = line.partition(":")
    return bool(colon) and scheme.isalpha() and len(scheme) <= 10


# --- columns --------------------------------------------------------------------------------

Convert = Callable[[Any], int | float | None]


def _float_value(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int_value(value: Any) -> int | None:
    number = _float_value(value)
    return int(number) if number is not None else None


_EXTRA_COLUMNS: tuple[tuple[str, Convert], ...] = (
    ("width", _int_value),
    ("height", _int_value),
    ("similarity", _float_value),
)


class _Columns(NamedTuple):
    """Where each field lives: a list index (CSV), a key (JSON) or a column name (Parquet)."""

    url: Any
    caption: Any
    entry_id: Any
    # (Row.extra key, where, converter)
    extras: tuple[tuple[str, Any, Convert], ...]


def _pick(names: Sequence[str], wanted: tuple[str, ...]) -> int | None:
    folded = [name.strip().lower() for name in names]
    for candidate in wanted:
        if candidate in folded:
            return folded.index(candidate)
    return None


def _find_columns(names: Sequence[str]) -> _Columns:
    """Positions in `names` of each field; the caller maps them to indexes, keys or names."""
    extras = []
    for key, convert in _EXTRA_COLUMNS:
        index = _pick(names, (key,))
        if index is not None:
            extras.append((key, index, convert))
    return _Columns(
        _pick(names, URL_COLUMNS),
        _pick(names, CAPTION_COLUMNS),
        _pick(names, ID_COLUMNS),
        tuple(extras),
    )


def _columns_by_name(names: Sequence[str], positions: _Columns) -> _Columns:
    def name(index: int | None) -> str | None:
        return names[index] if index is not None else None

    return _Columns(
        name(positions.url),
        name(positions.caption),
        name(positions.entry_id),
        tuple((key, names[index], convert) for key, index, convert in positions.extras),
    )


def _missing_url_column(where: str, names: Sequence[str]) -> IntakeError:
    # Names are shortened: a headerless file puts a whole data row here.
    found = ", ".join(repr(name[:40]) for name in names[:20]) or "none"
    return IntakeError(
        f"no URL column in the {where} (expected one named url or link; columns found: {found})"
    )


def _extra(values: Iterable[tuple[str, Any, Convert]]) -> dict[str, int | float] | None:
    extra = None
    for key, raw, convert in values:
        value = convert(raw)
        if value is not None:
            if extra is None:
                extra = {}
            extra[key] = value
    return extra


def _id_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- text -----------------------------------------------------------------------------------


def _text_rows(path: str | os.PathLike[str]) -> Iterator[Row]:
    with _open(path) as file:
        for number, line in enumerate(_utf8_lines(file), 1):
            url = line.strip()
            if url and url[0] != "#":
                yield Row(number, url)


# --- CSV and TSV ----------------------------------------------------------------------------


def _csv_rows(path: str | os.PathLike[str], kind: str) -> Iterator[Row]:
    # Read the header now, so a file without a usable one fails before the import starts.
    with _open(path) as file:
        header = _csv_header(csv.reader(_utf8_lines(file), delimiter=_DELIMITERS[kind]), kind)
    columns = _find_columns(header)
    if columns.url is None:
        raise _missing_url_column(f"{kind} header", header)
    return _csv_records(path, kind, columns)


_DELIMITERS = {"CSV": ",", "TSV": "\t"}


def _csv_header(reader: Iterator[list[str]], kind: str) -> list[str]:
    try:
        for record in reader:
            if any(field.strip() for field in record):
                return record
    except csv.Error as exc:
        raise IntakeError(f"malformed {kind} header: {exc}") from None
    raise IntakeError(f"empty file: no {kind} header")


def _csv_records(path: str | os.PathLike[str], kind: str, columns: _Columns) -> Iterator[Row]:
    url_at, caption_at, id_at, extras = columns
    with _open(path) as file:
        reader = csv.reader(_utf8_lines(file), delimiter=_DELIMITERS[kind])
        _csv_header(reader, kind)
        line = reader.line_num
        try:
            for record in reader:
                number, line = line + 1, reader.line_num
                width = len(record)
                url = record[url_at] if url_at < width else ""
                if not url and not any(field.strip() for field in record):
                    continue  # a blank line, or a spreadsheet's empty ",,," row
                caption = (
                    record[caption_at] if caption_at is not None and caption_at < width else ""
                )
                entry_id = record[id_at].strip() if id_at is not None and id_at < width else ""
                extra = (
                    _extra((key, record[at], convert) for key, at, convert in extras if at < width)
                    if extras
                    else None
                )
                if url:
                    yield Row(number, url, caption, entry_id, extra)
                else:
                    yield Row(number, None, caption, entry_id, extra, NO_URL)
        except csv.Error as exc:
            raise IntakeError(f"malformed {kind} at line {reader.line_num}: {exc}") from None


# --- JSON lines -----------------------------------------------------------------------------


def _jsonl_rows(path: str | os.PathLike[str]) -> Iterator[Row]:
    # Lines from one producer share a key layout: resolve the columns once per layout.
    layouts: dict[tuple[str, ...], _Columns] = {}
    loads = json.loads
    with _open(path) as file:
        for number, line in enumerate(_utf8_lines(file), 1):
            if not line.strip():
                continue
            try:
                obj = loads(line)
            except json.JSONDecodeError as exc:
                raise IntakeError(f"line {number}: malformed JSON ({exc.msg})") from None
            if type(obj) is not dict:
                yield Row(number, None, error="line is not a JSON object")
                continue
            keys = tuple(obj)
            columns = layouts.get(keys)
            if columns is None:
                columns = _columns_by_name(keys, _find_columns(keys))
                if len(layouts) < 1000:
                    layouts[keys] = columns
            url_key, caption_key, id_key, extras = columns
            url = obj[url_key] if url_key is not None else None
            caption = obj[caption_key] if caption_key is not None else ""
            if caption.__class__ is not str:
                caption = "" if caption is None else str(caption)
            entry_id = _id_text(obj[id_key]) if id_key is not None else ""
            extra = (
                _extra((key, obj[name], convert) for key, name, convert in extras)
                if extras
                else None
            )
            if url.__class__ is str and url:
                yield Row(number, url, caption, entry_id, extra)
            elif url is None or url == "":
                yield Row(number, None, caption, entry_id, extra, NO_URL)
            else:
                yield Row(number, None, caption, entry_id, extra, "URL is not a string")


# --- Parquet --------------------------------------------------------------------------------


def _parquet_rows(path: str | os.PathLike[str]) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise IntakeError(f"unreadable Parquet file ({_first_line(exc)})") from None
    names = schema.names
    columns = _columns_by_name(names, _find_columns(names))
    if columns.url is None:
        raise _missing_url_column("Parquet file", names)
    for name, accept in (
        (columns.url, _is_text),
        (columns.caption, _is_text_or_number),
        (columns.entry_id, _is_text_or_number),
    ):
        if name is not None and not accept(schema.field(name).type):
            expected = "text" if accept is _is_text else "text or a number"
            raise IntakeError(
                f"the Parquet column {name!r} holds {schema.field(name).type}, not {expected}"
            )
    return _parquet_batches(path, columns)


def _parquet_batches(path: str | os.PathLike[str], columns: _Columns) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    url_name, caption_name, id_name, extras = columns
    wanted = [name for name in (url_name, caption_name, id_name) if name is not None]
    wanted += [name for _, name, _ in extras]
    number = 0
    try:
        # No pre-buffering and no reader threads: both multiply the memory held per row group
        # (measured on a 1M-row shard: 248 MB peak RSS with them, 176 MB without) for no gain,
        # since the database writer is the bottleneck.
        with pq.ParquetFile(path, pre_buffer=False) as parquet:
            batches = parquet.iter_batches(
                batch_size=PARQUET_BATCH_ROWS, columns=wanted, use_threads=False
            )
            for batch in batches:
                urls = batch.column(url_name).to_pylist()
                if extras:
                    per_row: Iterable[dict[str, int | float] | None] = _parquet_extras(
                        batch, extras
                    )
                else:
                    per_row = repeat(None)
                for url, caption, entry_id, extra in zip(
                    urls, _texts(batch, caption_name), _texts(batch, id_name), per_row, strict=False
                ):
                    number += 1
                    if url:
                        yield Row(number, url, caption, entry_id, extra)
                    else:
                        yield Row(number, None, caption, entry_id, extra, NO_URL)
    except (pa.ArrowException, OSError) as exc:
        raise IntakeError(
            f"unreadable Parquet file after row {number} ({_first_line(exc)})"
        ) from None


def _texts(batch: pa.RecordBatch, name: str | None) -> Iterable[str]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if name is None:
        return repeat("")
    column = batch.column(name)
    if not _is_text(column.type):
        column = pc.cast(column, pa.string())  # ids: 7 -> "7", 7.0 -> "7"
    return pc.fill_null(column, "").to_pylist()


def _parquet_extras(
    batch: pa.RecordBatch, extras: tuple[tuple[str, Any, Convert], ...]
) -> list[dict[str, int | float] | None]:
    keys = [key for key, _, _ in extras]
    columns = [
        _clean_numbers(batch.column(name).to_pylist(), convert) for _, name, convert in extras
    ]
    if not any(None in column for column in columns):
        # The common case, every row has every value: no per-row filtering.
        return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]
    return [
        {key: value for key, value in zip(keys, values, strict=True) if value is not None} or None
        for values in zip(*columns, strict=True)
    ]


def _clean_numbers(values: list[Any], convert: Convert) -> list[int | float | None]:
    # Parquet hands us ready ints and floats: skip the converter call for those.
    # `v - v == 0.0` is false exactly for NaN and the infinities.
    if convert is _int_value:
        return [v if v.__class__ is int else convert(v) for v in values]
    return [v if v.__class__ is float and v - v == 0.0 else convert(v) for v in values]


def _is_text(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return (
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def _is_text_or_number(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return _is_text(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
