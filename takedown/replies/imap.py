"""Fetching answers from the reply mailbox over IMAP (TAKEDOWN_IMAP_URL), for the dispatcher.

Each message in the folder is fetched without marking it seen, stored and acted on by
inbound.receive (its own committed transaction), and only then moved to
TAKEDOWN_IMAP_PROCESSED_FOLDER. See inbound.py for why that loses nothing and stores nothing
twice. The protocol lives here and decides nothing.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings

from takedown.replies.inbound import receive

log = logging.getLogger(__name__)


class ImapConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ImapTarget:
    secure: bool
    host: str
    port: int
    user: str
    password: str
    folder: str


def parse_imap_url(url: str) -> ImapTarget:
    """imaps://user:password@host:993/INBOX (imap:// is plain text: loopback only)."""
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise ImapConfigError(f"TAKEDOWN_IMAP_URL must start with imaps:// (or imap://): {url!r}")
    if not parts.hostname or not parts.username:
        raise ImapConfigError("TAKEDOWN_IMAP_URL needs a user and a host")
    secure = parts.scheme == "imaps"
    if not secure and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ImapConfigError("imap:// without TLS is only allowed on loopback; use imaps://")
    return ImapTarget(
        secure=secure,
        host=parts.hostname,
        port=parts.port or (993 if secure else 143),
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
    )


def _connect(target: ImapTarget) -> imaplib.IMAP4:
    timeout = settings.TAKEDOWN_IMAP_TIMEOUT
    client: imaplib.IMAP4
    if target.secure:
        # Verified like any TLS client: the system's CAs, or the one configured.
        context = ssl.create_default_context(cafile=settings.TAKEDOWN_IMAP_CA_FILE or None)
        client = imaplib.IMAP4_SSL(target.host, target.port, ssl_context=context, timeout=timeout)
    else:
        client = imaplib.IMAP4(target.host, target.port, timeout=timeout)
    client.login(target.user, target.password)
    return client


def _check(answer: tuple[str, Sequence[object]], what: str) -> list[object]:
    status, data = answer
    if status != "OK":
        raise imaplib.IMAP4.error(f"{what}: {status} {data!r}")
    return list(data)


def poll_mailbox(url: str | None = None, *, limit: int = 200) -> dict[str, int]:
    """Store and move up to `limit` messages of the folder; counts by action."""
    target = parse_imap_url(url or settings.TAKEDOWN_IMAP_URL)
    processed = settings.TAKEDOWN_IMAP_PROCESSED_FOLDER
    counts: Counter[str] = Counter()
    client = _connect(target)
    try:
        client.create(processed)  # "already exists" is a NO: fine
        _check(client.select(target.folder), f"SELECT {target.folder}")
        data = _check(client.uid("SEARCH", None, "ALL"), "SEARCH")  # type: ignore[arg-type]
        first = data[0] if data else b""
        uids = [uid.decode() for uid in first.split()] if isinstance(first, bytes) else []
        can_move = "MOVE" in client.capabilities
        for uid in uids[:limit]:
            fetched = _check(client.uid("FETCH", uid, "(BODY.PEEK[])"), f"FETCH {uid}")
            raw = next((item[1] for item in fetched if isinstance(item, tuple)), None)
            if raw is None:
                continue  # expunged meanwhile by another poller
            try:
                result = receive(bytes(raw), source=f"imap:{target.folder}")
            except Exception:
                # Left in the folder: tried again next time, never dropped.
                log.exception("inbound message uid %s could not be stored", uid)
                counts["errors"] += 1
                continue
            counts[result.action] += 1
            # Only now, with the answer committed, does it leave the inbox.
            _move(client, uid, processed, can_move)
        if not can_move:
            client.expunge()
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()
    if counts:
        log.info("inbound mail: %s", dict(counts))
    return dict(counts)


def _move(client: imaplib.IMAP4, uid: str, folder: str, can_move: bool) -> None:
    if can_move:
        _check(client.uid("MOVE", uid, folder), f"MOVE {uid}")
        return
    _check(client.uid("COPY", uid, folder), f"COPY {uid}")
    _check(client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), f"STORE {uid}")
