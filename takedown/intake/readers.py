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

Files come from strangers, so every reader error is an IntakeError of one line naming the row
(never a traceback), and memory is bounded by bytes, not rows:
- a line of a text, CSV or JSON lines file is at most MAX_LINE_BYTES; a JSON number has at
  most MAX_JSON_DIGITS digits, and nesting too deep for the parser is an error of its line;
- an entry id longer than MAX_ENTRY_ID_CHARS fails its row, a caption is cut to
  MAX_CAPTION_CHARS, a Parquet URL over MAX_URL_BYTES fails its row without being decoded;
- Bounded memory in Parquet: a file of a few hundred bytes can hold one long string repeated
  a million times (dictionary encoding), which decoded would be gigabytes. Text columns are
  read as dictionaries; the decoded size of each batch is computed from the dictionary's
  lengths before any value is decoded, and a file whose text passes
  TAKEDOWN_IMPORT_MAX_DECODED_BYTES (or whose metadata declares more than that) is refused.
  Values are turned into Python strings in runs of about PARQUET_CHUNK_BYTES, and a string
  column that is not UTF-8 is an error naming the first row that uses a bad value.
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext

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
# Fewer rows per batch when the file's metadata says its rows are long.
PARQUET_BATCH_BYTES = 64 * 1024 * 1024
# Python strings made from one Parquet batch at a time (see "Bounded memory").
PARQUET_CHUNK_BYTES = 8 * 1024 * 1024
PARQUET_CHUNK_ROWS = 8_192
# The longest values read. A URL is judged by normalize_url; this cap only keeps one cell from
# costing megabytes (URLs of up to 16 KiB are real). An entry id is the dataset's key for a
# row (a number, a hash, sometimes a path; the column is text). A caption is cut, not
# refused: the URL is what matters, and LAION's captions rarely pass a few hundred characters.
MAX_URL_BYTES = 65_536
MAX_ENTRY_ID_CHARS = 1_024
MAX_CAPTION_CHARS = 4_096
MAX_NUMBER_TEXT_BYTES = 64
# One line of a text, CSV or JSON lines file.
MAX_LINE_BYTES = 1024 * 1024
# Digits of one JSON number: more is not a width, a height or an id (and Python refuses to
# turn more than 4,300 digits into an int).
MAX_JSON_DIGITS = 100

URL_COLUMNS = ("url", "link")
CAPTION_COLUMNS = ("text", "caption", "alt")
ID_COLUMNS = ("sample_id", "key", "id")
NO_URL = "no URL in this row"
LONG_URL = f"URL longer than {MAX_URL_BYTES:,} bytes"
LONG_ENTRY_ID = f"entry id longer than {MAX_ENTRY_ID_CHARS} characters"

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
        raise IntakeError(
            gettext("unknown format %(format)s (expected one of %(formats)s)")
            % {"format": repr(format), "formats": ", ".join(FORMATS)}
        )
    if format == "parquet":
        if not head.startswith(_PARQUET_MAGIC):
            raise IntakeError(gettext("not a Parquet file (no PAR1 magic number)"))
        return _parquet_rows(path)
    if head.startswith(_PARQUET_MAGIC):
        raise IntakeError(gettext("the file is Parquet, not %(format)s") % {"format": format})
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
        raise IntakeError(gettext("file not found")) from None
    except IsADirectoryError:
        raise IntakeError(gettext("not a file but a directory")) from None
    except PermissionError:
        raise IntakeError(gettext("permission denied")) from None
    except OSError as exc:
        raise _unreadable(exc) from None


def _unreadable(exc: OSError) -> IntakeError:
    return IntakeError(gettext("cannot read file (%(error)s)") % {"error": exc.strerror or exc})


def _count(number: int) -> str:
    """1,000,000 in English, 1.000.000 in German."""
    return number_format(number, force_grouping=True)


def _read_head(path: str | os.PathLike[str]) -> bytes:
    with _open(path) as file:
        try:
            return file.read(_SNIFF_BYTES)
        except OSError as exc:
            raise _unreadable(exc) from None


def _refuse_compressed(head: bytes) -> None:
    for magic, name in _COMPRESSED.items():
        if head.startswith(magic):
            raise IntakeError(
                gettext("the file is %(compression)s-compressed; decompress it first")
                % {"compression": name}
            )


def _decode_head(head: bytes) -> str:
    import codecs

    # final=False: the sniffed block may end inside a multi-byte character.
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        return decoder.decode(head, final=False)
    except UnicodeDecodeError:
        raise IntakeError(gettext("not UTF-8 text")) from None


def _utf8_lines(file: IO[bytes]) -> Iterator[str]:
    """Decode line by line, so an encoding error names its exact line; drops a leading BOM.
    A line is read up to MAX_LINE_BYTES: a file that is one endless line is refused, not
    held in memory."""
    number = 0
    try:
        for number, raw in enumerate(
            iter(functools.partial(file.readline, MAX_LINE_BYTES + 1), b""), 1
        ):
            if len(raw) > MAX_LINE_BYTES:
                raise IntakeError(
                    gettext("line %(line)d: longer than %(max)s bytes")
                    % {"line": number, "max": _count(MAX_LINE_BYTES)}
                )
            line = raw.decode()
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            yield line
    except UnicodeDecodeError:
        raise IntakeError(gettext("line %(line)d: not UTF-8 text") % {"line": number}) from None


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


def _missing_url_column(kind: str, names: Sequence[str]) -> IntakeError:
    # Names are shortened: a headerless file puts a whole data row here.
    found = ", ".join(repr(name[:40]) for name in names[:20]) or gettext("none")
    if kind == "Parquet":
        message = gettext(
            "no URL column in the Parquet file (expected one named url or link; columns found: "
            "%(found)s)"
        )
    else:
        message = gettext(
            "no URL column in the %(kind)s header (expected one named url or link; columns "
            "found: %(found)s)"
        )
    return IntakeError(message % {"kind": kind, "found": found})


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
        raise _missing_url_column(kind, header)
    return _csv_records(path, kind, columns)


_DELIMITERS = {"CSV": ",", "TSV": "\t"}


def _csv_header(reader: Iterator[list[str]], kind: str) -> list[str]:
    try:
        for record in reader:
            if any(field.strip() for field in record):
                return record
    except csv.Error as exc:
        raise IntakeError(
            gettext("malformed %(kind)s header: %(error)s") % {"kind": kind, "error": exc}
        ) from None
    raise IntakeError(gettext("empty file: no %(kind)s header") % {"kind": kind})


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
                caption = caption[:MAX_CAPTION_CHARS]
                if len(entry_id) > MAX_ENTRY_ID_CHARS:
                    yield Row(number, None, caption, "", extra, LONG_ENTRY_ID)
                elif url:
                    yield Row(number, url, caption, entry_id, extra)
                else:
                    yield Row(number, None, caption, entry_id, extra, NO_URL)
        except csv.Error as exc:
            raise IntakeError(
                gettext("malformed %(kind)s at line %(line)d: %(error)s")
                % {"kind": kind, "line": reader.line_num, "error": exc}
            ) from None


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
                obj = loads(line, parse_int=_json_int)
            except json.JSONDecodeError as exc:
                raise IntakeError(
                    gettext("line %(line)d: malformed JSON (%(error)s)")
                    % {"line": number, "error": exc.msg}
                ) from None
            except _JsonLimit as exc:
                raise IntakeError(
                    gettext("line %(line)d: %(error)s") % {"line": number, "error": exc}
                ) from None
            except RecursionError:
                raise IntakeError(
                    gettext("line %(line)d: JSON nested too deeply") % {"line": number}
                ) from None
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
            caption = caption[:MAX_CAPTION_CHARS]
            entry_id = _id_text(obj[id_key]) if id_key is not None else ""
            extra = (
                _extra((key, obj[name], convert) for key, name, convert in extras)
                if extras
                else None
            )
            if len(entry_id) > MAX_ENTRY_ID_CHARS:
                yield Row(number, None, caption, "", extra, LONG_ENTRY_ID)
            elif url.__class__ is str and url:
                yield Row(number, url, caption, entry_id, extra)
            elif url is None or url == "":
                yield Row(number, None, caption, entry_id, extra, NO_URL)
            else:
                yield Row(number, None, caption, entry_id, extra, "URL is not a string")


class _JsonLimit(ValueError):
    """A JSON value we refuse to turn into a Python one."""


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_JSON_DIGITS:
        raise _JsonLimit(
            gettext("a number with %(digits)s digits (at most %(max)d)")
            % {"digits": _count(digits), "max": MAX_JSON_DIGITS}
        )
    return int(text)


# --- Parquet --------------------------------------------------------------------------------


def _parquet_rows(path: str | os.PathLike[str]) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise IntakeError(
            gettext("unreadable Parquet file (%(error)s)") % {"error": _first_line(exc)}
        ) from None
    names = schema.names
    columns = _columns_by_name(names, _find_columns(names))
    if columns.url is None:
        raise _missing_url_column("Parquet", names)
    for name, accept in (
        (columns.url, _is_text),
        (columns.caption, _is_text_or_number),
        (columns.entry_id, _is_text_or_number),
    ):
        if name is not None and not accept(schema.field(name).type):
            if accept is _is_text:
                message = gettext("the Parquet column %(column)s holds %(type)s, not text")
            else:
                message = gettext(
                    "the Parquet column %(column)s holds %(type)s, not text or a number"
                )
            raise IntakeError(message % {"column": repr(name), "type": schema.field(name).type})
    # How many UTF-8 bytes of one value are decoded at most, and whether a longer value is
    # cut to its first characters (a caption) or refused (a URL or id is useless cut).
    limits: dict[str, tuple[int, int | None]] = {columns.url: (MAX_URL_BYTES, None)}
    if columns.caption is not None:
        limits[columns.caption] = (MAX_CAPTION_CHARS * 4, MAX_CAPTION_CHARS)
    if columns.entry_id is not None:
        limits[columns.entry_id] = (MAX_ENTRY_ID_CHARS * 4, None)
    for _key, name, _convert in columns.extras:
        if _is_text(schema.field(name).type):
            limits[name] = (MAX_NUMBER_TEXT_BYTES, None)
    dictionary = [name for name in limits if _is_text(schema.field(name).type)]
    # Rows come in lists, one per run of a batch, flattened in C: a generator frame per row
    # costs as much as making the row.
    return itertools.chain.from_iterable(_parquet_batches(path, columns, limits, dictionary))


def _parquet_batches(
    path: str | os.PathLike[str],
    columns: _Columns,
    limits: dict[str, tuple[int, int | None]],
    dictionary: list[str],
) -> Iterator[list[Row]]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    url_name, caption_name, id_name, extras = columns
    wanted = [name for name in (url_name, caption_name, id_name) if name is not None]
    wanted += [name for _, name, _ in extras]
    limit = settings.TAKEDOWN_IMPORT_MAX_DECODED_BYTES
    number = 0
    try:
        # No pre-buffering and no reader threads: both multiply the memory held per row group
        # (measured on a 1M-row shard: 248 MB peak RSS with them, 176 MB without) for no gain,
        # since the database writer is the bottleneck. Text comes as dictionary arrays, so a
        # string repeated a million times is held once and nothing is decoded before its
        # size is known (the module docstring, "Bounded memory").
        with pq.ParquetFile(path, pre_buffer=False, read_dictionary=dictionary) as parquet:
            per_row = _declared_row_bytes(parquet.metadata, wanted, limit)
            decoded = 0
            batches = parquet.iter_batches(
                batch_size=max(1, min(PARQUET_BATCH_ROWS, PARQUET_BATCH_BYTES // per_row)),
                columns=wanted,
                use_threads=False,
            )
            for batch in batches:
                texts = {
                    name: _TextColumn.of(batch.column(name), name, cap, chars, number)
                    for name, (cap, chars) in limits.items()
                }
                decoded += sum(text.raw_bytes for text in texts.values())
                if decoded > limit:
                    raise IntakeError(
                        gettext(
                            "row %(row)d: the Parquet file decodes to more than %(limit)s bytes "
                            "(TAKEDOWN_IMPORT_MAX_DECODED_BYTES)"
                        )
                        % {"row": number + batch.num_rows, "limit": _count(limit)}
                    )
                row_bytes = functools.reduce(pc.add, [t.kept_lengths for t in texts.values()])
                for first, last in _chunks(row_bytes, PARQUET_CHUNK_BYTES):
                    # At most PARQUET_CHUNK_ROWS Row objects (with their extras) at once.
                    for start in range(first, last, PARQUET_CHUNK_ROWS):
                        stop = min(start + PARQUET_CHUNK_ROWS, last)
                        yield _parquet_chunk(batch, columns, texts, start, stop, number)
                number += batch.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise IntakeError(
            gettext("unreadable Parquet file after row %(row)d (%(error)s)")
            % {"row": number, "error": _first_line(exc)}
        ) from None


def _declared_row_bytes(metadata: Any, wanted: list[str], limit: int) -> int:
    """The most bytes per row any row group's metadata declares for the wanted columns (a
    batch of unique long strings is as large as its rows, so long rows mean short batches).
    A file declaring more than the limit in all is refused before any of it is read; repeats
    of a dictionary value are not in these figures but counted batch by batch."""
    declared, per_row = 0, 1
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        size = sum(
            row_group.column(index).total_uncompressed_size
            for index in range(row_group.num_columns)
            if row_group.column(index).path_in_schema in wanted
        )
        declared += size
        per_row = max(per_row, -(-size // max(row_group.num_rows, 1)))
    if declared > limit:
        raise IntakeError(
            gettext(
                "the Parquet file holds %(declared)s bytes uncompressed, more than %(limit)s "
                "(TAKEDOWN_IMPORT_MAX_DECODED_BYTES)"
            )
            % {"declared": _count(declared), "limit": _count(limit)}
        )
    return per_row


class _TextColumn(NamedTuple):
    """One column of a batch as a dictionary and per-row indices, nothing decoded yet.

    `raw_bytes`: what the batch's values would decode to. `kept`: the dictionary with every
    value over its cap cut (captions) or null (the rest); `kept_lengths`: per row, the bytes
    that will be decoded. `over`: rows whose value was refused for its length."""

    indices: pa.Array
    kept: pa.Array
    kept_lengths: pa.Array
    over: pa.Array | None
    raw_bytes: int

    @classmethod
    def of(
        cls, column: pa.Array, name: str, cap: int, chars: int | None, before: int
    ) -> _TextColumn:
        import pyarrow as pa
        import pyarrow.compute as pc

        if pa.types.is_dictionary(column.type):
            dictionary, indices = column.dictionary, column.indices
        else:  # a number column (an id): small, as text
            dictionary = pc.cast(column, pa.string())  # ids: 7 -> "7", 7.0 -> "7"
            indices = pa.array(range(len(column)), pa.int32())
        lengths = pc.binary_length(dictionary)
        raw = pc.sum(pc.take(lengths, indices)).as_py() or 0
        _check_utf8(dictionary, indices, name, before)
        kept, over = dictionary, None
        longest = pc.max(lengths).as_py() or 0
        # Most batches have no value over its cap: then nothing is copied. (A value of at
        # most `chars` bytes has at most `chars` characters.)
        if chars is not None and longest > chars:
            kept = pc.utf8_slice_codeunits(dictionary, 0, chars)
        elif chars is None and longest > cap:
            too_long = pc.greater(lengths, cap)
            kept = pc.if_else(too_long, pa.scalar(None, dictionary.type), dictionary)
            over = pc.fill_null(pc.take(too_long, indices), False)
        kept_lengths = pc.fill_null(pc.take(pc.binary_length(kept), indices), 0)
        return cls(indices, kept, kept_lengths, over, raw)

    def values(self, start: int, stop: int, missing: str | None = None) -> list[Any]:
        """The rows' values as Python strings; a null one is `missing`."""
        import pyarrow.compute as pc

        taken = pc.take(self.kept, self.indices.slice(start, stop - start))
        if missing is not None:
            taken = pc.fill_null(taken, missing)
        return taken.to_pylist()

    def refused(self, start: int, stop: int) -> Iterable[bool]:
        if self.over is None:
            return repeat(False)
        return self.over.slice(start, stop - start).to_pylist()


def _check_utf8(dictionary: pa.Array, indices: pa.Array, name: str, before: int) -> None:
    """Parquet does not promise that its strings are UTF-8, and pyarrow passes bad bytes on
    until Python's decoder fails on them: name the first row using a bad value instead."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        dictionary.validate(full=True)
        return
    except pa.ArrowInvalid:
        pass
    bad = []
    for position, value in enumerate(pc.cast(dictionary, pa.binary()).to_pylist()):
        if value is None:
            continue
        try:
            value.decode()
        except UnicodeDecodeError:
            bad.append(position)
    used = pc.is_in(indices, value_set=pa.array(bad, indices.type))
    first = pc.index(used, True).as_py()
    raise IntakeError(
        gettext("row %(row)d: the column %(column)s is not UTF-8 text")
        % {"row": before + max(first, 0) + 1, "column": repr(name)}
    )


def _chunks(row_bytes: pa.Array, budget: int) -> list[tuple[int, int]]:
    """Runs of rows that decode to at most about `budget` bytes (a larger row on its own), so
    the Python strings alive at once are bounded by bytes, not by rows."""
    import pyarrow.compute as pc

    count = len(row_bytes)
    total = pc.sum(row_bytes).as_py() or 0
    if total <= budget:
        return [(0, count)]
    import numpy as np

    ends = np.cumsum(row_bytes.to_numpy(zero_copy_only=False))
    marks = np.searchsorted(ends, np.arange(budget, total, budget), side="left")
    bounds = sorted({0, count, *(min(int(mark) + 1, count) for mark in marks)})
    return list(itertools.pairwise(bounds))


def _parquet_chunk(
    batch: pa.RecordBatch,
    columns: _Columns,
    texts: dict[str, _TextColumn],
    start: int,
    stop: int,
    before: int,
) -> list[Row]:
    url_name, caption_name, id_name, extras = columns
    url = texts[url_name]
    links = url.values(start, stop)
    captions = texts[caption_name].values(start, stop, "") if caption_name else repeat("")
    ids: Iterable[str] = repeat("")
    long_ids: Iterable[bool] = repeat(False)
    if id_name is not None:
        ids, long_ids = texts[id_name].values(start, stop, ""), texts[id_name].refused(start, stop)
    per_row: Iterable[dict[str, int | float] | None] = repeat(None)
    if extras:
        per_row = _parquet_extras(batch, extras, texts, start, stop)
    numbers = range(before + start + 1, before + stop + 1)
    if (
        url.over is None
        and (id_name is None or texts[id_name].over is None)
        and None not in links
        and "" not in links
        and (id_name is None or max(map(len, ids), default=0) <= MAX_ENTRY_ID_CHARS)
    ):
        # Every row has a URL and a short enough id (nearly every run of a real file): the
        # rows are made in C, without a Python step per row.
        return list(map(_new_row, zip(numbers, links, captions, ids, per_row, repeat(""))))
    rows: list[Row] = []
    for number, link, caption, entry_id, extra, long_url, long_id in zip(
        numbers, links, captions, ids, per_row, url.refused(start, stop), long_ids, strict=False
    ):
        if long_id or len(entry_id) > MAX_ENTRY_ID_CHARS:
            rows.append(Row(number, None, caption, "", extra, LONG_ENTRY_ID))
        elif long_url:
            rows.append(Row(number, None, caption, entry_id, extra, LONG_URL))
        elif link:
            rows.append(Row(number, link, caption, entry_id, extra))
        else:
            rows.append(Row(number, None, caption, entry_id, extra, NO_URL))
    return rows


def _parquet_extras(
    batch: pa.RecordBatch,
    extras: tuple[tuple[str, Any, Convert], ...],
    texts: dict[str, _TextColumn],
    start: int,
    stop: int,
) -> list[dict[str, int | float] | None]:
    keys = [key for key, _, _ in extras]
    columns = [
        _clean_numbers(
            texts[name].values(start, stop)
            if name in texts
            else batch.column(name).slice(start, stop - start).to_pylist(),
            convert,
        )
        for _, name, convert in extras
    ]
    if not any(None in column for column in columns):
        # The common case, every row has every value: no per-row filtering, dicts made in C.
        return list(map(dict, map(zip, repeat(keys), zip(*columns, strict=True))))
    return [
        {key: value for key, value in zip(keys, values, strict=True) if value is not None} or None
        for values in zip(*columns, strict=True)
    ]


# Row(number, url, caption, entry_id, extra, error) from a 6-tuple, without Python code.
_new_row = functools.partial(tuple.__new__, Row)


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
