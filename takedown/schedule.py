"""When work comes round again. Due times live in the database (next_*_at columns); the
dispatcher in takedown.dispatch hands out what is due."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import models


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """Exponential backoff after `attempts` failed tries: base, 2 x base, 4 x base ..., at
    most `cap`."""
    return min(base * 2 ** max(attempts - 1, 0), cap)


def lease(
    model: type[models.Model],
    due: Iterable[tuple[int, datetime | None]],
    field: str,
    duration: timedelta,
    now: datetime,
    **still: Any,
) -> list[int]:
    """Move each (id, due time) read from a due query `duration` past `now`, with a
    conditional update (the row must still have that due time and match `still`): two
    dispatchers never hand out the same row, and a lost task message only delays it."""
    return [
        pk
        for pk, due_at in due
        if model._default_manager.filter(pk=pk, **{field: due_at}, **still).update(
            **{field: now + duration}
        )
    ]


def pack(groups: Iterable[list[int]], size: int) -> list[list[int]]:
    """Groups of ids packed, in the order given, into batches of about `size` ids. A group is
    never split (all hosts of a registered domain, all links of a host), so a batch can be
    larger than `size` when one group is."""
    batches: list[list[int]] = []
    current: list[int] = []
    for group in groups:
        if current and len(current) + len(group) > size:
            batches.append(current)
            current = []
        current.extend(group)
    if current:
        batches.append(current)
    return batches
