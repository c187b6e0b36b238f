"""Bounces: delivery-status reports (RFC 3464) read from a mailbox and recorded on the notice.

    sent --process_bounces--> bounced

Every notice goes out with the envelope sender bounces+<id>@ the bounce domain (VERP, see
notices/send.py), so a report names its notice by the address it came back to; the original
Message-ID in the report cross-checks it (a report about an older message of the notice, or a
forged one, is not taken) or, without the envelope, finds the notice alone. Each failed
recipient is logged once per Message-ID: reading the same mailbox twice changes nothing. The
notice is BOUNCED when every address the server accepted has bounced; a bounce of a notice in
NEEDS_CHECK settles the check, since only an accepted message can bounce.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext

from takedown.models import CaseEvent, Notice
from takedown.notices.send import SendError, bounce_domain, delivery_state, recipient_addresses
from takedown.workflow import record_event, transition

N = Notice.Status

_VERP = re.compile(r"bounces\+(\d+)@([^\s>,;]+)", re.IGNORECASE)
_ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")


@dataclass
class RecipientReport:
    """One recipient block of an RFC 3464 delivery-status report."""

    recipient: str
    action: str
    status: str
    diagnostic: str

    @property
    def reason(self) -> str:
        return " ".join(part for part in (self.status, self.diagnostic) if part)


@dataclass
class BounceOutcome:
    key: str  # the mailbox's key for the message
    result: str  # bounced, partial, duplicate, delayed, unmatched, not_dsn, ignored
    notice_id: int | None = None
    reasons: list[str] = field(default_factory=list)
    detail: str = ""


def read_mailbox(path: Path) -> Iterator[tuple[str, bytes]]:
    """(key, raw message) from a Maildir folder or an mbox file; the mailbox is not changed."""
    box: mailbox.Mailbox
    if path.is_dir():
        if not (path / "cur").is_dir() or not (path / "new").is_dir():
            raise SendError(
                gettext("%(path)s is a folder but not a Maildir (no cur/ and new/)")
                % {"path": path}
            )
        box = mailbox.Maildir(path, factory=None, create=False)
    elif path.is_file():
        box = mailbox.mbox(path, factory=None, create=False)
    else:
        raise SendError(gettext("%(path)s does not exist") % {"path": path})
    try:
        for key in box.iterkeys():
            yield str(key), box.get_bytes(key)
    finally:
        box.close()


def parse_dsn(message: EmailMessage) -> tuple[list[RecipientReport], list[str]] | None:
    """The recipient reports and the original Message-IDs of a delivery-status report, or None
    when the message is not one (an auto-reply, a non-standard bounce)."""
    reports: list[RecipientReport] = []
    original_ids: list[str] = []
    found = False
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            found = True
            blocks = part.get_payload()
            # The first block is about the message, the others each about one recipient.
            for block in blocks if isinstance(blocks, list) else []:
                if not isinstance(block, Message):
                    continue
                if not (block.get("Final-Recipient") or block.get("Original-Recipient")):
                    continue
                recipient = _typed_value(block.get("Original-Recipient")) or _typed_value(
                    block.get("Final-Recipient")
                )
                reports.append(
                    RecipientReport(
                        recipient=recipient.strip("<>").lower(),
                        action=str(block.get("Action", "")).strip().lower(),
                        status=str(block.get("Status", "")).strip(),
                        diagnostic=_typed_value(block.get("Diagnostic-Code")),
                    )
                )
        elif ctype == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(first, Message) and first.get("Message-ID"):
                original_ids.append(str(first["Message-ID"]).strip())
        elif ctype == "text/rfc822-headers":
            headers = email.message_from_string(part.get_content(), policy=email.policy.default)
            if headers.get("Message-ID"):
                original_ids.append(str(headers["Message-ID"]).strip())
    return (reports, original_ids) if found else None


def _typed_value(value: Any) -> str:
    # "rfc822; abuse@example.net", "smtp; 550 5.1.1 ...": drop the type.
    text = " ".join(str(value or "").split())
    return text.split(";", 1)[1].strip() if ";" in text else text


def find_bounced_notice(
    message: EmailMessage, original_ids: list[str]
) -> tuple[Notice | None, str]:
    """The notice a report is about: by the envelope it came back to (bounces+<id>@ our
    bounce domain), cross-checked with the original Message-ID when the report carries it; or
    by that Message-ID alone. Returns (notice, "") or (None, why not)."""
    notice_id = _verp_notice_id(message)
    if notice_id is not None:
        notice = Notice.objects.select_related("case").filter(pk=notice_id).first()
        if notice is None:
            return None, f"no notice {notice_id}"
        if original_ids and notice.message_id not in original_ids:
            # Forged, or about an older message of the notice (it was queued again since).
            return None, f"notice {notice_id}: the report is about another Message-ID"
        return notice, ""
    notice = (
        Notice.objects.select_related("case").filter(message_id__in=original_ids).first()
        if original_ids
        else None
    )
    if notice is None:
        return None, "neither the envelope nor the Message-ID names a notice"
    return notice, ""


def _verp_notice_id(message: EmailMessage) -> int | None:
    domain = bounce_domain()
    for name in _ENVELOPE_HEADERS:
        for value in message.get_all(name, []):
            for match in _VERP.finditer(str(value)):
                if match.group(2).lower().rstrip(".") == domain:
                    return int(match.group(1))
    return None


def process_bounces(path: Path) -> list[BounceOutcome]:
    outcomes = []
    for key, raw in read_mailbox(path):
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        outcomes.append(process_bounce(key, message))
    return outcomes


def process_bounce(key: str, message: EmailMessage) -> BounceOutcome:
    parsed = parse_dsn(message)
    if parsed is None:
        return BounceOutcome(key, "not_dsn")
    reports, original_ids = parsed
    failed = [r for r in reports if r.action == "failed"]
    notice, why = find_bounced_notice(message, original_ids)
    if notice is None:
        return BounceOutcome(key, "unmatched", detail=why)
    outcome = BounceOutcome(key, "", notice.pk, [r.reason for r in failed])
    if not failed:
        outcome.result = "delayed" if any(r.action == "delayed" for r in reports) else "ignored"
        return outcome
    outcome.result = record_bounce(notice, failed)
    return outcome


def record_bounce(notice: Notice, failed: list[RecipientReport]) -> str:
    """Log each failed recipient once; the notice is BOUNCED when every address the server
    accepted has bounced. Returns bounced, partial, duplicate or ignored."""
    if notice.status == N.BOUNCED:
        return "duplicate"
    if notice.status == N.NEEDS_CHECK:
        # Only a message the server accepted can bounce: the uncertainty is resolved.
        transition(
            notice,
            N.SENT,
            message="A bounce shows the server had accepted the message.",
            fields={"sent_at": timezone.now()},
        )
    if notice.status != N.SENT:
        return "ignored"
    addresses = recipient_addresses(notice)
    state = delivery_state(notice)
    accepted = [a for a in addresses if state[a].accepted] or addresses
    already = {
        row.data.get("recipient")
        for row in CaseEvent.objects.filter(notice=notice, kind="mail.bounced")
        if row.data.get("message_id") == notice.message_id
    }
    new = [r for r in failed if r.recipient not in already]
    if not new:
        return "duplicate"
    for report in new:
        # A single-address notice owns its bounce even when the report names a forwarded
        # address; with several addresses only a named one counts.
        recipient = addresses[0] if len(addresses) == 1 else report.recipient
        already.add(recipient)
        record_event(
            notice.case,
            "mail.bounced",
            notice=notice,
            message=f"Bounced: {report.reason}",
            data={
                "message_id": notice.message_id,
                "recipient": recipient,
                "status": report.status,
                "diagnostic": report.diagnostic,
            },
        )
    reason = "; ".join(f"{r.recipient}: {r.reason}" for r in new)
    if not set(accepted) <= already:
        Notice.objects.filter(pk=notice.pk).update(last_error=f"Bounced: {reason}"[:2000])
        return "partial"
    transition(
        notice,
        N.BOUNCED,
        message=f"Bounced: {reason}",
        data={"status": [r.status for r in new]},
        fields={"last_error": f"Bounced: {reason}"[:2000]},
    )
    return "bounced"
