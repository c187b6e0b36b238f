"""Has a dataset maintainer removed the entries we asked it to remove? Compare a newer release
of the dataset's index with the entries named in the sent maintainer notices.

The release is read with the intake readers and URLs normalised exactly as at intake, so an
entry counts as present when the release holds the same normalised URL (or, where both sides
have one, the same entry id). The release is streamed: only the notices' entries are held in
memory, however large the release. The comparison is recorded on each notice (a CaseEvent the
outcome reads, see takedown.checks.outcomes); no link changes status, because the image may
still be online at its host.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from takedown.checks.outcomes import RELEASE_COMPARED, recompute_outcome
from takedown.intake.normalize import InvalidURL, normalize_url
from takedown.intake.readers import IntakeError, read_rows
from takedown.models import Case, FoundLink, Notice
from takedown.models import RecipientRole as Role
from takedown.workflow import record_event

__all__ = ["IntakeError", "ReleaseReport", "compare_release"]


@dataclass
class NoticeDiff:
    notice: Notice
    present: list[FoundLink] = field(default_factory=list)
    gone: list[FoundLink] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def entries(links: list[FoundLink]) -> list[dict[str, Any]]:
            return [{"link": ln.pk, "entry_id": ln.entry_id, "url": ln.url} for ln in links]

        return {
            "notice": self.notice.pk,
            "recipient": self.notice.recipient.name,
            "sent_at": self.notice.sent_at.isoformat() if self.notice.sent_at else None,
            "entries": len(self.present) + len(self.gone),
            "still_present": len(self.present),
            "gone": len(self.gone),
            "present_entries": entries(self.present),
            "gone_entries": entries(self.gone),
        }


@dataclass
class ReleaseReport:
    case: str
    dataset: str
    rows: int = 0
    invalid: int = 0
    notices: list[NoticeDiff] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "dataset": self.dataset,
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
    actor: Any = None,
) -> ReleaseReport:
    """Compare the release files with every sent maintainer notice of `case` for `dataset`.
    Raises IntakeError for a file that cannot be read (nothing is recorded then)."""
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
    seen_hashes: set[str] = set()
    seen_ids: set[str] = set()
    report = ReleaseReport(case.reference, dataset)
    for path in paths:
        for row in read_rows(path, format):
            report.rows += 1
            if row.entry_id and row.entry_id in ids:
                seen_ids.add(row.entry_id)
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
    with transaction.atomic():
        for notice in notices:
            diff = NoticeDiff(notice)
            for link in wanted[notice.pk]:
                still = link.url_sha256 in seen_hashes or link.entry_id in seen_ids
                (diff.present if still else diff.gone).append(link)
            report.notices.append(diff)
            record_event(
                case,
                RELEASE_COMPARED,
                actor=actor,
                message=(
                    f"Compared a release of {dataset} ({report.rows} rows): "
                    f"{len(diff.gone)} of {len(diff.gone) + len(diff.present)} entries gone."
                ),
                data={
                    "dataset": dataset,
                    "rows": report.rows,
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
                    message=(
                        f"The newest release of the dataset {dataset} no longer lists "
                        f"{len(diff.gone)} of the {len(diff.gone) + len(diff.present)} entries "
                        f"we asked {notice.recipient.name} to remove."
                    ),
                    data={"notice": notice.pk},
                    notice=notice,
                )
            recompute_outcome(notice, actor=actor)
    return report
