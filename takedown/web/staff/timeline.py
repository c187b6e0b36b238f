"""The case timeline as the staff pages show it: a sentence per event (takedown.events), and
the rows a bulk status change writes (one per link) folded into one line per notice."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from takedown.events import GROUPED_TEXTS, NOTE_KINDS, staff_sentence
from takedown.models import CaseEvent, Notice


@dataclass
class TimelineRow:
    at: datetime
    text: str
    actor: Any
    visible_to_person: bool
    note: str = ""
    count: int = 1


def _group_key(event: CaseEvent) -> tuple[Any, ...] | None:
    if event.kind not in GROUPED_TEXTS:
        return None
    return (event.kind, event.actor_id, (event.data or {}).get("notice"))


def timeline_rows(events: Iterable[CaseEvent]) -> list[TimelineRow]:
    """Consecutive events of one bulk change (same kind, actor and notice) become one row."""
    groups: list[list[CaseEvent]] = []
    for event in events:
        key = _group_key(event)
        if key is not None and groups and _group_key(groups[-1][0]) == key:
            groups[-1].append(event)
        else:
            groups.append([event])
    notice_ids: set[int] = {
        int(group[0].data["notice"])
        for group in groups
        if len(group) > 1 and (group[0].data or {}).get("notice") is not None
    }
    recipients: dict[int, str] = dict(
        Notice.objects.filter(pk__in=notice_ids).values_list("pk", "recipient__name")
    )
    rows = []
    for group in groups:
        first = group[0]
        if len(group) > 1:
            recipient = recipients.get(int((first.data or {}).get("notice") or 0), "")
            text = str(
                GROUPED_TEXTS[first.kind] % {"count": len(group), "recipient": recipient or "?"}
            )
        else:
            text = staff_sentence(first)
        note = first.message if first.kind in NOTE_KINDS and first.message != text else ""
        rows.append(
            TimelineRow(
                at=first.at,
                text=text,
                actor=first.actor,
                visible_to_person=first.visible_to_person,
                note=note,
                count=len(group),
            )
        )
    return rows
