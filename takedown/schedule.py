"""When work comes round again. Due times live in the database (next_*_at columns); the
dispatcher in takedown.tasks hands out what is due."""

from __future__ import annotations

from datetime import timedelta


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """Exponential backoff after `attempts` failed tries: base, 2 x base, 4 x base ..., at
    most `cap`."""
    return min(base * 2 ** max(attempts - 1, 0), cap)
