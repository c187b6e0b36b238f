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

__all__ = ["FORMULA_START", "csv_bytes", "neutralise"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """UTF-8 CSV with CRLF line ends (RFC 4180), every cell, the header too, neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(cell) for cell in header])
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return out.getvalue().encode()
