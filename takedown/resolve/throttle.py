"""Politeness towards WHOIS and RDAP servers, shared by every worker on every machine.

Each server gets at most one query per interval. The next free slot is kept in Redis when
Redis is the broker (an atomic script), otherwise in the database (a compare-and-swap update),
so the limit holds across worker processes either way; Celery's own rate_limit is per process
and would not. After a quota answer the server is blocked for a while and queries fail fast
as transient, to be retried later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.utils import timezone

from takedown.models import ServerThrottle
from takedown.resolve.facts import QUEUED_TOO_LONG, QUOTA_BLOCKED, LookupFailed

# Reserve the next slot: returns the milliseconds to wait, -1 while the server is blocked, or
# -2 when the queue is longer than the caller will wait (then nothing is reserved).
_RESERVE = """
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return -1 end
local now = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
if slot - now > tonumber(ARGV[3]) then return -2 end
redis.call('SET', KEYS[1], slot + tonumber(ARGV[2]), 'PX', tonumber(ARGV[2]) + 60000)
return slot - now
"""
BLOCKED = "blocked"
QUEUE_FULL = "queue_full"


def wait_turn(server: str, interval: float, *, max_wait: float = 30.0) -> None:
    """Sleep until `server` may receive one more query. Raise a transient LookupFailed when it
    is blocked after a quota answer, or when the queue for it is longer than `max_wait`."""
    wait = reserve_turn(server, interval, max_wait=max_wait)
    if wait > 0:
        time.sleep(wait)


def reserve_turn(server: str, interval: float, *, max_wait: float = 30.0) -> float:
    """Reserve one query to `server` and return the seconds to wait before sending it (so the
    reservation can be made where the database is at hand and the wait where the query runs).
    Raises like wait_turn."""
    # quota=False: only a server's own quota answer may (re)start a block, or a blocked server
    # under steady load would be blocked again and again by its own refusals.
    if interval <= 0:
        if _blocked(server):
            raise LookupFailed(server, QUOTA_BLOCKED, transient=True)
        return 0.0
    wait = _reserve(server, interval, max_wait)
    if wait == BLOCKED:
        raise LookupFailed(server, QUOTA_BLOCKED, transient=True)
    if wait == QUEUE_FULL:
        raise LookupFailed(server, QUEUED_TOO_LONG % {"seconds": f"{max_wait:.0f}"}, transient=True)
    return float(wait)


def blocked_now() -> Callable[[str], bool]:
    """Whether a server is blocked after a quota answer, for one batch of lookups without an
    interval: in the database the blocked servers are read once (one query for the batch, not
    one per server it asks); in Redis each server's block is its own key, read on demand."""
    redis = _redis()
    if redis is not None:
        return lambda server: bool(redis.exists(_key("blocked", server)))
    blocked = set(
        ServerThrottle.objects.filter(blocked_until__gt=timezone.now()).values_list(
            "server", flat=True
        )
    )
    return blocked.__contains__


def block(server: str, seconds: float) -> None:
    """Send nothing to `server` for `seconds` (after it answered with a quota message)."""
    redis = _redis()
    if redis is not None:
        redis.set(_key("blocked", server), 1, px=int(seconds * 1000))
        return
    until = timezone.now() + timedelta(seconds=seconds)
    ServerThrottle.objects.update_or_create(server=server, defaults={"blocked_until": until})


def forget_redis_state() -> None:
    """Drop every slot and block kept in Redis (for tests: unlike the database flavour, Redis
    is not rolled back between them)."""
    redis = _redis()
    if redis is not None:
        keys = list(redis.scan_iter(match=_key("*", "*")))
        if keys:
            redis.delete(*keys)


def _reserve(server: str, interval: float, max_wait: float) -> float | str:
    """Seconds to wait for a reserved slot, or BLOCKED, or QUEUE_FULL (nothing reserved)."""
    redis = _redis()
    if redis is not None:
        now_ms = int(time.time() * 1000)
        wait_ms = redis.eval(
            _RESERVE,
            2,
            _key("slot", server),
            _key("blocked", server),
            now_ms,
            int(interval * 1000),
            int(max_wait * 1000),
        )
        return {-1: BLOCKED, -2: QUEUE_FULL}.get(wait_ms, wait_ms / 1000)
    return _reserve_in_database(server, interval, max_wait)


def _reserve_in_database(server: str, interval: float, max_wait: float) -> float | str:
    step = timedelta(seconds=interval)
    ServerThrottle.objects.get_or_create(server=server)
    while True:
        row = ServerThrottle.objects.get(server=server)
        now = timezone.now()
        if row.blocked_until and row.blocked_until > now:
            return BLOCKED
        slot = max(now, row.next_slot_at or now)
        if (slot - now).total_seconds() > max_wait:
            return QUEUE_FULL
        # Compare-and-swap: only one worker gets this slot; the others read again.
        taken = ServerThrottle.objects.filter(server=server, next_slot_at=row.next_slot_at).update(
            next_slot_at=slot + step
        )
        if taken == 1:
            return (slot - now).total_seconds()


def _blocked(server: str) -> bool:
    redis = _redis()
    if redis is not None:
        return bool(redis.exists(_key("blocked", server)))
    return ServerThrottle.objects.filter(server=server, blocked_until__gt=timezone.now()).exists()


def _key(kind: str, server: str) -> str:
    return f"takedown:throttle:{kind}:{server}"


@cache
def _redis_for(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def _redis() -> Any:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        return _redis_for(url)
    return None
