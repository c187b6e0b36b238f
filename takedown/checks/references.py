"""Reference hashes supplied by the affected person or a caseworker: computed elsewhere from
the person's own copy, so the image itself never reaches us. They win over the evidence fetch
when a check compares (takedown.checks.check.reference_for).

The file is CSV with a header: url,sha256,phash,pdq (any of the hash columns may be empty,
but not all three). A URL names a link of the case as intake normalised it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext, ngettext

from takedown.checks.hashing import normalise_hash
from takedown.errors import NotPossible
from takedown.intake.normalize import InvalidURL, normalize_url
from takedown.models import Case, FoundLink
from takedown.workflow import record_event

HASH_BITS = {"sha256": 256, "phash": 64, "pdq": 256}
MAX_REPORTED_ERRORS = 100


class ReferenceHashError(NotPossible):
    """The file cannot be used; nothing was stored. `errors` lists the rows at fault."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass
class ReferenceReport:
    rows: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "updated": self.updated, "errors": self.errors}


def import_reference_hashes(case: Case, path: Path, *, actor: Any = None) -> ReferenceReport:
    """Store the reference hashes of `path` on the case's links: all rows or none."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ReferenceHashError(gettext("the file is not UTF-8 text")) from None
    except OSError:
        # The command's own file; the web page's upload is a file the view has just written.
        raise ReferenceHashError(
            gettext("the file %(file)s cannot be read") % {"file": path.name}
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    columns = set(reader.fieldnames or [])
    if "url" not in columns or not columns & set(HASH_BITS):
        raise ReferenceHashError(
            gettext("expected a CSV header with url and at least one of sha256,phash,pdq")
        )

    report = ReferenceReport()
    wanted: dict[str, tuple[int, dict[str, str]]] = {}
    for number, row in enumerate(reader, start=2):
        report.rows += 1
        try:
            url = normalize_url(row.get("url") or "")
            hashes = {
                name: normalise_hash(value, bits)
                for name, bits in HASH_BITS.items()
                if (value := (row.get(name) or "").strip())
            }
        except InvalidURL as exc:
            _error(report, number, f"url: {exc.reason}")
            continue
        except ValueError as exc:
            _error(report, number, f"hash: {exc}")
            continue
        if not hashes:
            _error(report, number, "no hash given")
            continue
        wanted[url.url_sha256] = (number, hashes)

    return _store(case, wanted, report, actor)


def store_hashes(
    case: Case, hashes: dict[str, str], *, urls: list[str] | None, actor: Any = None
) -> ReferenceReport:
    """One picture's hashes (computed in memory from the person's original) on the links of
    `urls`, or with urls=None on every link of the case that has no reference hashes yet."""
    report = ReferenceReport()
    if urls is None:
        keys = FoundLink.objects.filter(case=case, ref_sha256="", ref_phash="", ref_pdq="")
        wanted = {key: (0, hashes) for key in keys.values_list("url_sha256", flat=True)}
    else:
        wanted = {}
        for number, raw in enumerate(urls, start=1):
            try:
                wanted[normalize_url(raw).url_sha256] = (number, hashes)
            except InvalidURL as exc:
                _error(report, number, f"url: {exc.reason}")
        if report.errors:
            raise _unusable(report)
    if not wanted:
        raise ReferenceHashError(gettext("every link of the case has reference hashes already"))
    report.rows = len(wanted)
    return _store(case, wanted, report, actor)


def _unusable(report: ReferenceReport) -> ReferenceHashError:
    count = len(report.errors)
    return ReferenceHashError(
        ngettext("%(count)d row cannot be used", "%(count)d rows cannot be used", count)
        % {"count": count},
        report.errors,
    )


def _store(
    case: Case,
    wanted: dict[str, tuple[int, dict[str, str]]],
    report: ReferenceReport,
    actor: Any,
) -> ReferenceReport:
    """All rows or none: every URL must be a link of the case."""
    links = {
        link.url_sha256: link
        for link in FoundLink.objects.filter(case=case, url_sha256__in=list(wanted))
    }
    for key, (number, _) in wanted.items():
        if key not in links:
            _error(report, number, "no such link in this case")
    if report.errors:
        raise _unusable(report)

    with transaction.atomic():
        for key, (_, hashes) in wanted.items():
            link = links[key]
            for name, value in hashes.items():
                setattr(link, f"ref_{name}", value)
            link.save(update_fields=[f"ref_{name}" for name in hashes])
            report.updated += 1
        record_event(
            case,
            "links.reference_hashes",
            actor=actor,
            visible_to_person=True,
            sentence="links.reference_hashes",
            params={"count": report.updated},
            data={"rows": report.rows, "updated": report.updated},
        )
    return report


def _error(report: ReferenceReport, row: int, reason: str) -> None:
    if len(report.errors) < MAX_REPORTED_ERRORS:
        report.errors.append({"row": row, "reason": reason})
