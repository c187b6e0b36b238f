"""Has a dataset maintainer removed the entries we asked it to remove? Compare a newer release
of the dataset's index with the entries named in the sent maintainer notices.

The release is read with the intake readers and URLs normalised exactly as at intake, so an
entry counts as present when the release holds the same normalised URL (or, where both sides
have one, the same entry id). The release is streamed: only the notices' entries are held in
memory, however large the release. The comparison is recorded on each notice (a CaseEvent the
outcome reads, see takedown.checks.outcomes); no link changes status, because the image may
still be online at its host.

An entry is "gone" only when the file can stand for the whole release: a file without a single
valid row is refused, and so is one in which not one row is an entry known from that dataset
(in any case), because then it is more likely another dataset or the wrong shard than a
release from which everything we asked about was removed. A file that is one shard of a
release is compared with `partial=True`: it shows which entries are still present, and
concludes nothing about the others.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext, ngettext

from takedown.checks.outcomes import RELEASE_COMPARED, recompute_outcome
from takedown.errors import NotPossible
from takedown.intake.normalize import InvalidURL, normalize_url
from takedown.intake.readers import IntakeError, read_rows
from takedown.models import Case, FoundLink, Notice
from takedown.models import RecipientRole as Role
from takedown.workflow import record_event

__all__ = ["IntakeError", "ReleaseError", "ReleaseReport", "compare_release"]


class ReleaseError(NotPossible):
    """The release was read but cannot be compared; the message says why."""


@dataclass
class NoticeDiff:
    notice: Notice
    present: list[FoundLink] = field(default_factory=list)
    gone: list[FoundLink] = field(default_factory=list)
    # Partial comparison only: entries this file does not hold, about which it says nothing.
    not_found: list[FoundLink] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def entries(links: list[FoundLink]) -> list[dict[str, Any]]:
            return [{"link": ln.pk, "entry_id": ln.entry_id, "url": ln.url} for ln in links]

        return {
            "notice": self.notice.pk,
            "recipient": self.notice.recipient.name,
            "sent_at": self.notice.sent_at.isoformat() if self.notice.sent_at else None,
            "entries": len(self.present) + len(self.gone) + len(self.not_found),
            "still_present": len(self.present),
            "gone": len(self.gone),
            "not_found": len(self.not_found),
            "present_entries": entries(self.present),
            "gone_entries": entries(self.gone),
            "not_found_entries": entries(self.not_found),
        }


@dataclass
class ReleaseReport:
    case: str
    dataset: str
    partial: bool = False
    rows: int = 0
    invalid: int = 0
    notices: list[NoticeDiff] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "dataset": self.dataset,
            "partial": self.partial,
            "rows": self.rows,
            "invalid": self.invalid,
            "notices": [diff.as_dict() for diff in self.notices],
        }


def compare_release(
    case: Case,
    dataset: str,
    paths: Sequence[str | os.PathLike[str]],
    *,
    format: str | None = None,
    partial: bool = False,
    actor: Any = None,
) -> ReleaseReport:
    """Compare the release files with every sent maintainer notice of `case` for `dataset`.
    Raises IntakeError for a file that cannot be read and ReleaseError for one that cannot
    stand for the release (nothing is recorded then). With `partial` the files are part of a
    release: present entries are recorded, absent ones are not taken for gone."""
    notices = list(
        Notice.objects.filter(
            case=case,
            recipient_role=Role.DATASET_MAINTAINER,
            status=Notice.Status.SENT,
            links__dataset=dataset,
        )
        .exclude(kind=Notice.Kind.REMINDER)
        .select_related("recipient", "case")
        .distinct()
        .order_by("pk")
    )
    wanted = {
        notice.pk: list(
            notice.links.filter(case=case, dataset=dataset)
            .exclude(status=FoundLink.Status.EXCLUDED)
            .order_by("pk")
        )
        for notice in notices
    }
    hashes = {link.url_sha256 for links in wanted.values() for link in links}
    ids = {link.entry_id for links in wanted.values() for link in links if link.entry_id}
    # Entries known from this dataset in any case: one of them in the file shows that the file
    # is a release of the dataset, not another list (only whether one is found is used).
    known_hashes, known_ids = set(hashes), set(ids)
    if not partial:
        for url_sha256, entry_id in FoundLink.objects.filter(dataset=dataset).values_list(
            "url_sha256", "entry_id"
        ):
            known_hashes.add(url_sha256)
            if entry_id:
                known_ids.add(entry_id)
    anchored = False
    seen_hashes: set[str] = set()
    seen_ids: set[str] = set()
    report = ReleaseReport(case.reference, dataset, partial=partial)
    for path in paths:
        for row in read_rows(path, format):
            report.rows += 1
            if row.entry_id:
                if row.entry_id in ids:
                    seen_ids.add(row.entry_id)
                anchored = anchored or row.entry_id in known_ids
            if row.url is None:
                report.invalid += 1
                continue
            try:
                digest = normalize_url(row.url).url_sha256
            except InvalidURL:
                report.invalid += 1
                continue
            if digest in hashes:
                seen_hashes.add(digest)
            anchored = anchored or digest in known_hashes
    if report.rows == report.invalid:
        raise ReleaseError(
            gettext(
                "the release has no valid rows (%(rows)d read, %(invalid)d without a usable URL): "
                "nothing was compared"
            )
            % {"rows": report.rows, "invalid": report.invalid}
        )
    if not partial and not anchored:
        raise ReleaseError(
            ngettext(
                "the %(valid)d valid row is not an entry known from %(dataset)s, so the file "
                "may not be a release of %(dataset)s and no entry is taken for gone: nothing was "
                "compared (for one shard of a release, use --partial)",
                "none of the %(valid)d valid rows is an entry known from %(dataset)s, so the file "
                "may not be a release of %(dataset)s and no entry is taken for gone: nothing was "
                "compared (for one shard of a release, use --partial)",
                report.rows - report.invalid,
            )
            % {"valid": report.rows - report.invalid, "dataset": dataset}
        )
    with transaction.atomic():
        for notice in notices:
            diff = NoticeDiff(notice)
            for link in wanted[notice.pk]:
                if link.url_sha256 in seen_hashes or link.entry_id in seen_ids:
                    diff.present.append(link)
                else:
                    (diff.not_found if partial else diff.gone).append(link)
            report.notices.append(diff)
            entries = len(wanted[notice.pk])
            record_event(
                case,
                RELEASE_COMPARED,
                actor=actor,
                message=(
                    f"Compared part of a release of {dataset} ({report.rows} rows): "
                    f"{len(diff.present)} of {entries} entries still present, the others "
                    "not in this part."
                    if partial
                    else f"Compared a release of {dataset} ({report.rows} rows): "
                    f"{len(diff.gone)} of {entries} entries gone."
                ),
                data={
                    "dataset": dataset,
                    "rows": report.rows,
                    "partial": partial,
                    "gone": [link.pk for link in diff.gone],
                    "present": [link.pk for link in diff.present],
                },
                notice=notice,
            )
            if diff.gone:
                record_event(
                    case,
                    "dataset.release_for_person",
                    actor=actor,
                    visible_to_person=True,
                    sentence="dataset.release_for_person",
                    params={"dataset": dataset, "gone": len(diff.gone), "entries": entries},
                    data={"notice": notice.pk},
                    notice=notice,
                )
            recompute_outcome(notice, actor=actor)
    return report
