"""The data files a notice carries, written row by row: the links CSV, for a dataset maintainer
the removal manifest (CSV and JSON), and the notice as JSON. And, for a notice of more links
than TAKEDOWN_NOTICE_LISTED_LINKS, the one zip file that carries them in place of the list in
the letter; and the size a notice e-mail may reach.

Each format is a writer fed one link row at a time (the dicts of render._row), so the same code
writes the few rows of an ordinary notice into memory and the million rows of a dataset
maintainer's notice into temporary files in one pass over a server-side cursor: one row is held
at a time, never one Python object per link. The JSON writers produce, byte for byte, what
`json.dumps(document, ensure_ascii=False, indent=2)` makes of the whole document.

Why a notice is never sent half, truncated or twice because of its size: the zip is built whole
before anything is sent, and an attempt whose message would be larger than
TAKEDOWN_NOTICE_MAX_MAIL_BYTES stops before the handover (notices/send.py) with MailTooLarge,
which fails the notice without retrying; nothing is cut, so what is sent always carries every
link. Queueing refuses earlier what certainly cannot fit (`wire_floor`), so a caseworker learns
it at the "send" click, not from a failed notice.
"""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext

from takedown.csvsafe import CsvWriter
from takedown.errors import NotPossible

REFERENCE_HASHES = ("sha256", "phash", "pdq")
LINKS_CSV_HEADER = ("url", "first_seen", "entry_id", "url_sha256")
MANIFEST_HEADER = ("dataset", "entry_id", "url", "caption", "url_sha256")


class MailTooLarge(NotPossible):
    """The notice's e-mail would be larger than TAKEDOWN_NOTICE_MAX_MAIL_BYTES."""


def too_large(notice_id: int, size: int) -> str:
    """Why the notice is not sent, in words for the caseworker (`size`: bytes at least)."""
    limit = settings.TAKEDOWN_NOTICE_MAX_MAIL_BYTES
    return gettext(
        "Notice %(id)s is too large to send by e-mail: at least %(size)s MB with its "
        "attachments, and the limit (TAKEDOWN_NOTICE_MAX_MAIL_BYTES) is %(limit)s MB. Nothing "
        "was sent. Send it through the recipient's bulk channel instead (choose their web form, "
        "postal or API contact: the notice then becomes a task with its PDF, and the notice page "
        "offers the list of links to download), or raise the limit if your mail server and the "
        "recipient accept larger mail."
    ) % {"id": notice_id, "size": _mb(size), "limit": _mb(limit)}


def _mb(size: int) -> str:
    return formats.number_format(size / 1_000_000, decimal_pos=1)


# --- the formats ---------------------------------------------------------------------------------


class JsonListWriter:
    """`document` as json.dumps(..., indent=2) writes it, with `key` (its last key) a list
    written one item at a time."""

    def __init__(self, out: IO[str], document: dict[str, Any], key: str) -> None:
        assert list(document)[-1] == key, "the streamed list must be the document's last key"
        head = json.dumps({**document, key: []}, ensure_ascii=False, indent=2)
        closing = "[]\n}"
        assert head.endswith(closing)
        self._out, self._first = out, True
        out.write(head[: -len(closing)] + "[")

    def write(self, item: dict[str, Any]) -> None:
        text = json.dumps(item, ensure_ascii=False, indent=2)
        self._out.write(("\n" if self._first else ",\n") + textwrap.indent(text, "    "))
        self._first = False

    def close(self) -> None:
        self._out.write("]\n}\n" if self._first else "\n  ]\n}\n")


def links_csv_cells(row: dict[str, Any]) -> list[str]:
    return [row["url"], row["first_seen"].isoformat(), row["entry_id"], row["url_sha256"]]


def manifest_entry(row: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "dataset": row["dataset"],
        "entry_id": row["entry_id"],
        "url": row["url"],
        "caption": row["caption"],
        "url_sha256": row["url_sha256"],
    }
    if not row["entry_id"] and row["entry_note"]:
        entry["entry_id_missing_reason"] = row["entry_note"]
    if row["reference"]:
        entry["reference_image"] = row["reference"]
    return entry


def manifest_cells(entry: dict[str, Any]) -> list[str]:
    reference = entry.get("reference_image", {})
    return [entry[key] for key in MANIFEST_HEADER] + [
        reference.get(name, "") for name in REFERENCE_HASHES
    ]


def notice_url(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": row["url"],
        "url_sha256": row["url_sha256"],
        "first_seen": row["first_seen"].isoformat(),
        **({"dataset": row["dataset"], "entry_id": row["entry_id"]} if row["dataset"] else {}),
    }


@dataclass
class DataFile:
    """One data file of a notice: its name and type, and how a row goes into it."""

    filename: str
    mimetype: str
    # Opens the writer on a text stream; returns (add one row, finish).
    open: Callable[[IO[str]], tuple[Callable[[dict[str, Any]], None], Callable[[], None]]]


def links_csv_file(filename: str) -> DataFile:
    def start(out: IO[str]) -> tuple[Callable[[dict[str, Any]], None], Callable[[], None]]:
        writer = CsvWriter(out, LINKS_CSV_HEADER)
        return (lambda row: writer.write(links_csv_cells(row))), (lambda: None)

    return DataFile(filename, "text/csv", start)


def manifest_csv_file(filename: str) -> DataFile:
    def start(out: IO[str]) -> tuple[Callable[[dict[str, Any]], None], Callable[[], None]]:
        columns = [f"reference_{name}" for name in REFERENCE_HASHES]
        writer = CsvWriter(out, [*MANIFEST_HEADER, *columns])
        return (lambda row: writer.write(manifest_cells(manifest_entry(row)))), (lambda: None)

    return DataFile(filename, "text/csv", start)


def json_file(
    filename: str, document: dict[str, Any], key: str, item: Callable[[dict[str, Any]], Any]
) -> DataFile:
    """A JSON document whose last key lists one item per row."""

    def start(out: IO[str]) -> tuple[Callable[[dict[str, Any]], None], Callable[[], None]]:
        writer = JsonListWriter(out, document, key)
        return (lambda row: writer.write(item(row))), writer.close

    return DataFile(filename, "application/json", start)


# --- writing them --------------------------------------------------------------------------------


def write_all(
    files: list[DataFile], rows: Iterable[dict[str, Any]], outs: Sequence[IO[str]]
) -> int:
    """Every row into every file, in one pass over `rows`; returns the number of rows."""
    writers = [data.open(out) for data, out in zip(files, outs, strict=True)]
    count = 0
    for row in rows:
        count += 1
        for add, _finish in writers:
            add(row)
    for _add, finish in writers:
        finish()
    return count


@dataclass
class Bundle:
    content: bytes | None  # None: larger than the limit, left unread
    rows: int
    wire_size: int  # of the zip as a base64 MIME part


def zip_bundle(
    files: list[DataFile], rows: Iterable[dict[str, Any]], *, limit: int | None = None
) -> Bundle:
    """The files in one zip (deflated), written through temporary files so that memory holds
    one row at a time, whatever their number. With `limit`, a zip whose base64 form would be
    larger is not read into memory (content None)."""
    with tempfile.TemporaryDirectory(prefix="takedown-notice-") as folder:
        paths = [Path(folder) / f"{index}.part" for index in range(len(files))]
        outs = [path.open("w", encoding="utf-8", newline="") for path in paths]
        try:
            count = write_all(files, rows, outs)
        finally:
            for out in outs:
                out.close()
        archive = Path(folder) / "bundle.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            for data, path in zip(files, paths, strict=True):
                bundle.write(path, data.filename)
                path.unlink()  # the disk holds at most the zip and the files not yet in it
        wire = base64_size(os.path.getsize(archive))
        if limit is not None and wire > limit:
            return Bundle(None, count, wire)
        return Bundle(archive.read_bytes(), count, wire)


def base64_size(size: int) -> int:
    """Bytes of `size` bytes in a MIME part: base64 (4 for 3) in lines of 76 plus CRLF."""
    encoded = (size + 2) // 3 * 4
    return encoded + (encoded + 75) // 76 * 2


# Deflate does not compress a SHA-256 hex digest (64 characters carrying 32 random bytes) below
# its 32 bytes, and each file in the zip is compressed on its own; so a notice whose data files
# carry the URL hash `hashed_files` times per link needs at least this on the wire.
HASH_BYTES = 32


def wire_floor(links: int, hashed_files: int) -> int:
    return base64_size(links * hashed_files * HASH_BYTES)
