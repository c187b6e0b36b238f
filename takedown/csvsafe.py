"""The one way the product writes CSV: every cell a spreadsheet could run as a formula is
neutralised.

Recipients open our CSV attachments in Excel or LibreOffice, and the cells carry strings that
strangers chose (dataset entry ids, captions, URLs). A cell starting with `=`, `+`, `-`, `@`,
a tab or a line break is a formula to a spreadsheet (`=HYPERLINK(...)`, `+cmd|' /C calc'!A0`),
so it gets a leading apostrophe, which spreadsheets show as text (OWASP "CSV Injection"). The
full-width forms (U+FF1D and its kin) count too: some East Asian locales read them as `=`.
Files that must keep strings exact (the JSON manifest) are not CSV and are not touched.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import IO

__all__ = ["FORMULA_START", "CsvWriter", "csv_bytes", "neutralise"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


class CsvWriter:
    """UTF-8 CSV with CRLF line ends (RFC 4180) onto a text stream, a row at a time, every cell,
    the header too, neutralised."""

    def __init__(self, out: IO[str], header: Sequence[str]) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")
        self.write(header)

    def write(self, cells: Sequence[str]) -> None:
        self._writer.writerow([neutralise(cell) for cell in cells])


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = CsvWriter(out, header)
    for row in rows:
        writer.write(row)
    return out.getvalue().encode()
