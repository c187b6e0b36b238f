"""Sending approved notices: e-mail that is never sent twice and never lost, and the manual
channels. How a message is handed to the mail system is in notices/transports.py; bounces that
come back afterwards (sent -> bounced) are read in notices/bounces.py.

    approved --queue_notice--> queued --claim--> sending --> sent | queued (retry) | failed
    sending --> needs_check --resolve_uncertain--> sent | queued
    approved --queue_notice--> awaiting_manual --mark_submitted--> sent

Persist, claim, act, record. `queue_notice` stores a new Message-ID before the first attempt;
every retry of that notice reuses it. `send_notice` claims the notice with
transition(queued -> sending), which is a conditional update: of two workers given the same
notice exactly one wins, the other returns. Each recipient address gets its own message (one
SMTP transaction), so a refused address is seen and reported instead of being dropped the way
Django's SMTP backend drops partially refused recipient lists (notices/transports.py).

The sent log
------------
Around the one step whose outcome can be lost, the end of DATA, the worker writes CaseEvent
rows of kind `mail.*` for the notice, keyed by its Message-ID and the address, each committed
in its own (durable) transaction:

1. `mail.handover`, after the server answered 354 to DATA and before the message and its
   terminating "." are written to the socket. It is only written while the worker still holds
   its claim: the notice row is locked and must be SENDING with the worker's own claimed_at.
2. The server's reply to the terminating ".": 250 gives `mail.accepted` (with the reply, which
   usually names the server's queue id); 4xx or 5xx gives `mail.refused`; no reply at all
   (connection lost, timeout) gives `mail.uncertain`. Refusals before DATA (connect, MAIL,
   RCPT) are logged as `mail.refused` with their stage and no handover.

A server can accept a message only once it has received the terminating "." (RFC 5321 4.1.1.4),
and the handover row is committed before the "." leaves. So for the current attempt:

- no handover row: nothing was handed over (the worker died before step 1, or the server
  refused earlier in the transaction). Safe to send.
- handover and accepted: the server took it. Never sent again, on any later attempt.
- handover and refused: the server refused the complete message. Retry (4xx) or fail (5xx).
- handover and nothing else, or uncertain: the worker died, or the connection broke, between
  handing the message over and recording the reply. The server may have accepted it. The
  notice goes to NEEDS_CHECK; a human looks for the Message-ID in the server's log and calls
  `resolve_uncertain`. Nothing is resent automatically.

The window that needs a human is therefore only the time between committing the handover row
and committing the accepted row: one network round trip and one commit. A crash anywhere else
is resolved automatically. (A failed write of the message body itself cannot have carried the
terminating ".", which is its last byte, so it counts as refused, not uncertain.)

Reports through Cloudflare's abuse API (notices/cloudflare.py) use the same queue, claim and
sent log, one "recipient" per reported hostname ("cloudflare:<hostname>"): the handover row is
committed before the HTTP request is written, and a request can be acted on only once its
last byte arrived, so the argument above holds with "the request" for "the message" and "the
HTTP answer" for "the reply to the final '.'". An uncertain report is looked for in
Cloudflare's list of reports instead of a mail log. Whether a notice to Cloudflare goes
through the API or its web form is decided when it is queued (the team's API token).

Before the claim of a first attempt, notices/reroute.py resolves the notice's stale hosts
again and takes out links whose party moved (its docstring argues why that keeps these
guarantees and needs no new review); a retry never changes what the first attempt sent.

Size: a notice e-mail is never larger than TAKEDOWN_NOTICE_MAX_MAIL_BYTES. `queue_notice`
refuses a notice that certainly exceeds it (a floor from its number of links,
notices/attachments.wire_floor), with a message that says what to do; `send_notice` renders the
notice, measures the message as the wire would carry it, and, if it is too large, concludes the
attempt as failed (not retried) before any handover: no sent-log row but the failure, nothing
cut, nothing sent. So a notice goes out whole with every link or not at all, and the guarantees
above are untouched: the check sits between the claim and the first handover, where a rendering
failure already concluded an attempt.

Recovery: a notice in SENDING whose claim is older than TAKEDOWN_SEND_CLAIM_TIMEOUT belongs to
a dead worker (the timeout is longer than the send task's hard time limit). `recover_stuck_sending`
concludes it from the sent log with the same function a live worker uses at the end of an
attempt. Concluding locks the notice row and checks the claim in the same transaction as its
decision, and so does writing the handover row: the two cannot interleave, so a worker that
was merely slow finds its claim gone and stops before it hands anything over.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext

from takedown import mandates
from takedown.directory.contacts import NEXT_PURPOSES, best_contact, next_contact
from takedown.errors import NotPossible
from takedown.events import stored
from takedown.models import Case, CaseEvent, Contact, Notice
from takedown.notices import cloudflare
from takedown.notices.attachments import MailTooLarge, too_large, wire_floor
from takedown.notices.render import RenderedNotice, data_file_names, render_notice
from takedown.notices.reroute import refresh_parties
from takedown.notices.transports import DeliveryError, Failure, open_transport, wire_bytes
from takedown.schedule import backoff
from takedown.schedule import lease as lease_rows
from takedown.workflow import ConcurrentChange, record_event, transition

log = logging.getLogger(__name__)

N = Notice.Status
CH = Contact.Channel

# Channels a person has to use by hand: the caseworker gets a task with the PDF and the target.
MANUAL_CHANNELS = frozenset({CH.WEBFORM, CH.POSTAL, CH.API, CH.PHONE})

# Sent at the steps of an attempt whose crash windows matter ("claiming", "claimed",
# "handing_over", "accepted", "logged"), with notice= and recipient=. Tests connect receivers
# that stop the worker there; the product never listens.
send_checkpoint = Signal()


class SendError(NotPossible):
    """The notice cannot be queued or submitted as asked (no address, wrong status ...)."""


class ClaimLost(Exception):
    """Another worker or the recovery took the notice while this worker was sending."""


# --- results -------------------------------------------------------------------------------------


@dataclass
class SendResult:
    notice_id: int
    # The notice's status after the attempt, or "lost" (another worker has it) or "skipped"
    # (it was not queued).
    outcome: str
    accepted: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    next_attempt_at: datetime | None = None
    message: str = ""


# --- addresses and identifiers -------------------------------------------------------------------


def bounce_domain() -> str:
    configured = settings.TAKEDOWN_BOUNCE_DOMAIN
    if configured:
        return configured.lower()
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2].lower() or "localhost"


def envelope_sender(notice: Notice) -> str:
    """bounces+<id>@domain: the address bounces come back to names the notice (VERP)."""
    return f"bounces+{notice.pk}@{bounce_domain()}"


def new_message_id(notice: Notice) -> str:
    return f"<notice-{notice.pk}.{secrets.token_hex(8)}@{bounce_domain()}>"


def organisation_address() -> str:
    addr = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return str(Address(display_name=settings.TAKEDOWN_ORGANISATION, addr_spec=addr))


def reply_domain() -> str:
    return (settings.TAKEDOWN_REPLY_DOMAIN or bounce_domain()).lower()


def new_reply_token() -> str:
    # 192 random bits, hex: some mail systems lower-case local parts on the way.
    return secrets.token_hex(24)


def reply_address(notice: Notice) -> str:
    """replies+<token>@domain: an answer to it names its notice (takedown/replies/inbound.py)."""
    return f"replies+{notice.reply_token}@{reply_domain()}"


def reply_to(notice: Notice) -> str:
    """The notice's own reply address, under the name of the caseworker who signs as authorised
    representative (else the organisation's); notices queued before reply tokens existed keep
    the caseworker's own address."""
    caseworker = notice.case.assigned_to
    name = settings.TAKEDOWN_ORGANISATION
    addr = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    if caseworker is not None and caseworker.email:
        name = f"{caseworker.get_full_name() or caseworker.get_username()} ({name})"
        addr = caseworker.email
    if notice.reply_token:
        addr = reply_address(notice)
    return str(Address(display_name=name, addr_spec=addr))


def recipient_addresses(notice: Notice) -> list[str]:
    """The notice's e-mail addresses (to_address may list several, separated by commas,
    semicolons or lines), else its contact's; normalised, without duplicates. Raises SendError
    when there is none or one cannot be used in an SMTP envelope."""
    raw = notice.to_address.strip()
    if not raw and notice.contact is not None and notice.contact.channel == CH.EMAIL:
        raw = notice.contact.value
    addresses: list[str] = []
    for _name, addr in getaddresses([re.sub(r"[;\n\r]+", ",", raw)]):
        if not addr:
            continue
        normalised = normalise_address(addr)
        if normalised not in addresses:
            addresses.append(normalised)
    if not addresses:
        raise SendError(gettext("notice %(id)s has no e-mail address") % {"id": notice.pk})
    return addresses


def normalise_address(addr: str) -> str:
    local, _, domain = addr.strip().rpartition("@")
    if not local or not domain or not local.isascii() or any(c in addr for c in ' <>"\\'):
        raise SendError(
            gettext("not a usable e-mail address: %(address)s") % {"address": repr(addr)}
        )
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise SendError(
            gettext("not a usable e-mail domain: %(domain)s") % {"domain": repr(domain)}
        ) from None
    return f"{local}@{domain}"


# --- queueing and the manual channels ------------------------------------------------------------


def queue_notice(notice: Notice, *, actor: Any = None) -> str:
    """approved -> queued (e-mail; Cloudflare's abuse API with the team's token) or
    awaiting_manual (web form, post, other APIs). Returns the status.

    Queueing starts a new message: a fresh Message-ID, attempts from zero. A notice that was
    edited after a failure comes back through review and gets a new one here; retries of one
    message never come through here and keep theirs.
    """
    if notice.case.status != Case.Status.OPEN:
        raise SendError(
            gettext("case %(reference)s is “%(status)s”: nothing is sent for it")
            % {"reference": notice.case.reference, "status": notice.case.get_status_display()}
        )
    _choose_cloudflare_channel(notice, actor)
    if notice.channel in MANUAL_CHANNELS and not cloudflare.uses_api(notice):
        target = manual_target(notice)
        if not target:
            raise SendError(
                gettext("notice %(id)s has no form URL or address to submit to") % {"id": notice.pk}
            )
        channel = stored(Contact.Channel(notice.channel).label)
        transition(
            notice,
            N.AWAITING_MANUAL,
            actor=actor,
            message=(
                f"Submit manually ({channel}): {target}. Attach the notice PDF "
                f"(python manage.py render_notice {notice.pk} --pdf FILE), then record the "
                "confirmation number."
            ),
            data={"channel": notice.channel, "target": target},
        )
        return N.AWAITING_MANUAL
    addresses = delivery_targets(notice)
    if not cloudflare.uses_api(notice):
        _refuse_oversized(notice)
    transition(
        notice,
        N.QUEUED,
        actor=actor,
        message="Queued for sending.",
        data={"recipients": len(addresses)},
        fields={
            "message_id": new_message_id(notice),
            # Kept across re-queueing: answers to an earlier message still find the notice.
            "reply_token": notice.reply_token or new_reply_token(),
            "attempts": 0,
            "next_attempt_at": timezone.now(),
            "claimed_at": None,
            "last_error": "",
        },
    )
    return N.QUEUED


def _refuse_oversized(notice: Notice) -> None:
    """Refuse at queueing a notice whose e-mail certainly exceeds TAKEDOWN_NOTICE_MAX_MAIL_BYTES
    (the floor of notices/attachments.py, from the number of links alone), so the caseworker
    learns it now; the exact size is checked before the handover (send_notice)."""
    links = notice.links.filter(case_id=notice.case_id).count()
    floor = wire_floor(links, len(data_file_names(notice)))
    if floor > settings.TAKEDOWN_NOTICE_MAX_MAIL_BYTES:
        raise SendError(too_large(notice.pk, floor))


def _choose_cloudflare_channel(notice: Notice, actor: Any) -> None:
    """Cloudflare takes reports through its abuse API (notices/cloudflare.py) or its web form.
    With the team's API token a notice routed to the web form goes through the API; without
    one, a notice routed to the API goes to the web form, prepared for a caseworker
    (notices/webform.py). A caseworker's override contact is left as chosen."""
    contact = notice.contact
    if contact is None or contact.is_override:
        return
    has_token = cloudflare.credentials(notice.case.team) is not None
    other: Contact | None
    if cloudflare.uses_api(notice) and not has_token:
        other = best_contact(notice.recipient_id, [contact.purpose], [CH.WEBFORM]) or best_contact(
            notice.recipient_id, NEXT_PURPOSES, [CH.WEBFORM]
        )
        if other is None:
            raise SendError(
                gettext(
                    "notice %(id)s: the team has no Cloudflare API token and %(recipient)s has no "
                    "web form in the directory"
                )
                % {"id": notice.pk, "recipient": notice.recipient.name}
            )
        message = (
            "No Cloudflare API token for this team: the notice goes through Cloudflare's web "
            "form instead."
        )
    elif notice.channel == CH.WEBFORM and has_token:
        other = cloudflare.api_contact(notice.recipient_id)
        if other is None:
            return
        message = "Submitted through Cloudflare's abuse-report API with the team's API token."
    else:
        return
    changed = Notice.objects.filter(
        pk=notice.pk, status=N.APPROVED, channel=notice.channel, contact=contact
    ).update(contact=other, channel=other.channel, to_address=other.value)
    if changed != 1:
        raise ConcurrentChange(
            gettext("notice %(id)s changed while it was being queued") % {"id": notice.pk}
        )
    notice.contact, notice.channel, notice.to_address = other, other.channel, other.value
    record_event(
        notice.case,
        "notice.channel",
        actor=actor,
        notice=notice,
        message=message,
        data={"channel": other.channel, "contact": other.pk},
    )


def delivery_targets(notice: Notice) -> list[str]:
    """What an attempt delivers to: the e-mail addresses, or for a notice through Cloudflare's
    abuse API one report per hostname ("cloudflare:<hostname>", notices/cloudflare.py). Both
    share the sent log below, keyed by these names."""
    if cloudflare.uses_api(notice):
        targets = cloudflare.report_targets(notice)
        if not targets:
            raise SendError(gettext("notice %(id)s has no links to report") % {"id": notice.pk})
        return targets
    return recipient_addresses(notice)


def manual_target(notice: Notice) -> str:
    """The exact form URL (or postal address, API endpoint) the caseworker submits to."""
    if notice.to_address.strip():
        return notice.to_address.strip()
    if notice.contact is not None:
        return notice.contact.value.strip()
    return ""


def mark_submitted(notice: Notice, actor: Any, confirmation: str) -> None:
    """The caseworker submitted a manual notice: awaiting_manual -> sent, with the confirmation
    number (ticket id, registered-post number) the recipient gave."""
    confirmation = confirmation.strip()
    if not confirmation:
        raise SendError(gettext("a manual submission needs the confirmation number or reference"))
    now = timezone.now()
    transition(
        notice,
        N.SENT,
        actor=actor,
        message=f"Submitted manually; confirmation {confirmation}.",
        data={"confirmation": confirmation},
        fields={"manual_confirmation": confirmation[:200], "sent_at": now},
    )


def resolve_uncertain(notice: Notice, actor: Any, *, delivered: bool, note: str) -> str:
    """A human checked the mail server's log for a NEEDS_CHECK notice's Message-ID.

    delivered=True: the uncertain addresses count as accepted; the notice is sent, or queued
    again if other addresses still wait for their first successful attempt. delivered=False:
    queued again with the same Message-ID. Returns the new status.
    """
    note = note.strip()
    if not note:
        raise SendError(gettext("say what the check found (e.g. the server's log line)"))
    if notice.status != N.NEEDS_CHECK:
        raise SendError(
            gettext("notice %(id)s is “%(status)s”, not waiting for a check")
            % {"id": notice.pk, "status": notice.get_status_display()}
        )
    now = timezone.now()
    with transaction.atomic():
        if delivered:
            state = delivery_state(notice)
            addresses = delivery_targets(notice)
            for address in addresses:
                if state[address].handed_over and not state[address].accepted:
                    _record(notice, "mail.accepted", address, reply=f"confirmed by a check: {note}")
            state = delivery_state(notice)
            waiting = [a for a in addresses if not state[a].accepted and not state[a].permanent]
            if not waiting:
                transition(
                    notice,
                    N.SENT,
                    actor=actor,
                    message=f"Checked: delivered. {note}",
                    data={"checked": "delivered"},
                    fields={"sent_at": now, "last_error": ""},
                )
                return N.SENT
        transition(
            notice,
            N.QUEUED,
            actor=actor,
            message=f"Checked: {'delivered' if delivered else 'not delivered'}. {note}",
            data={"checked": "delivered" if delivered else "not_delivered"},
            fields={"next_attempt_at": now},
        )
        return N.QUEUED


# --- the worker ----------------------------------------------------------------------------------


def due_notices(*, case: Any = None, now: datetime | None = None) -> Any:
    now = now or timezone.now()
    # A paused case's queued notices wait until the person resumes it.
    due = Notice.objects.filter(status=N.QUEUED, case__status=Case.Status.OPEN).filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True)
    )
    return due.filter(case=case) if case is not None else due


def lease_due_notices(lease: timedelta, *, case: Any = None, limit: int = 500) -> list[int]:
    """Due notices, each moved forward by the lease with a conditional update, so two
    dispatchers never hand out the same notice and a lost task message only delays it."""
    now = timezone.now()
    due = due_notices(case=case, now=now).values_list("id", "next_attempt_at")[:limit]
    return lease_rows(Notice, due, "next_attempt_at", lease, now, status=N.QUEUED)


def send_notice(notice_id: int) -> SendResult:
    """Claim a queued notice and send it to each of its addresses; record and conclude.

    It does not look at next_attempt_at: whoever hands the notice out (the dispatcher's lease,
    send_notices --sync) has decided that it is due.
    Must not run inside a transaction: the claim and each sent-log row must be committed
    before the next step touches the network (the log writes are durable and refuse).
    """
    notice = _load(notice_id)
    if notice is None or notice.status != N.QUEUED:
        return SendResult(notice_id, "skipped")
    if notice.case.status != Case.Status.OPEN:
        # Paused (or withdrawn) after the notice was handed out: it stays queued.
        return SendResult(notice_id, "skipped")
    # Before the claim and only before a first attempt: see the argument in notices/reroute.py.
    if refresh_parties(notice) == "cancelled":
        return SendResult(notice_id, "skipped", message="every link moved to another party")
    _checkpoint("claiming", notice)
    claim = timezone.now()
    try:
        with transaction.atomic():
            # The mandate is checked again in the claim's transaction (takedown.mandates).
            if not mandates.allows_sending(notice):
                transition(
                    notice,
                    N.DRAFT,
                    message="Not sent: the mandate it needs was revoked.",
                    fields={"approved_by": None, "approved_at": None, "next_attempt_at": None},
                )
                return SendResult(notice_id, N.DRAFT, message="the mandate was revoked")
            transition(
                notice,
                N.SENDING,
                message="Sending.",
                data={"attempt": notice.attempts + 1},
                fields={"claimed_at": claim, "attempts": F("attempts") + 1},
            )
    except ConcurrentChange:
        return SendResult(notice_id, "lost")
    notice.refresh_from_db(fields=["attempts"])
    _checkpoint("claimed", notice)

    try:
        addresses = delivery_targets(notice)
    except SendError as exc:
        return _conclude(notice, claim, error=str(exc))
    state = delivery_state(notice)
    todo = [a for a in addresses if not state[a].accepted and not state[a].permanent]
    failures: list[Failure] = []
    if todo:
        try:
            rendered = _render(notice)
            if not cloudflare.uses_api(notice):
                _check_size(notice, rendered, todo)
        except MailTooLarge as exc:
            # Before any handover: nothing of it was sent. Not retried: it stays too large.
            return _conclude(notice, claim, error=exc.message)
        except Exception as exc:
            # Rendering is deterministic: retrying would fail the same way.
            log.exception("notice %s: rendering failed", notice.pk)
            return _conclude(notice, claim, error=f"rendering failed: {type(exc).__name__}")
        try:
            failures = _deliver_all(notice, claim, rendered, todo)
        except ClaimLost:
            log.warning("notice %s: claim lost during sending; stopped", notice.pk)
            return SendResult(notice_id, "lost")
    result = _conclude(notice, claim)
    result.failures = failures
    return result


def _load(notice_id: int) -> Notice | None:
    return (
        Notice.objects.select_related("case", "case__assigned_to", "recipient", "contact")
        .filter(pk=notice_id)
        .first()
    )


def _render(notice: Notice) -> RenderedNotice:
    return render_notice(notice, mail_limit=settings.TAKEDOWN_NOTICE_MAX_MAIL_BYTES)


def _check_size(notice: Notice, rendered: RenderedNotice, addresses: list[str]) -> None:
    """The message as the wire carries it must fit TAKEDOWN_NOTICE_MAX_MAIL_BYTES; the messages
    to the addresses differ in the To header alone, so the longest address stands for all."""
    longest = max(addresses, key=len)
    size = len(wire_bytes(build_message(notice, rendered, longest)))
    if size > settings.TAKEDOWN_NOTICE_MAX_MAIL_BYTES:
        raise MailTooLarge(too_large(notice.pk, size))


def _deliver_all(
    notice: Notice, claim: datetime, rendered: RenderedNotice, todo: list[str]
) -> list[Failure]:
    if cloudflare.uses_api(notice):
        reports = cloudflare.ReportSender(notice, rendered, reply_address(notice))
        return _deliver_each(
            notice,
            claim,
            todo,
            reports.deliver,
            lambda target: _remember_report(notice, reports.report_ids.get(target, "")),
        )
    transport = open_transport()
    sender = envelope_sender(notice)

    def deliver(recipient: str, handover: Callable[[], None]) -> str:
        message = build_message(notice, rendered, recipient)
        return transport.deliver(notice, sender, recipient, message, handover=handover)

    try:
        return _deliver_each(notice, claim, todo, deliver)
    finally:
        transport.close()


def _remember_report(notice: Notice, report_id: str) -> None:
    """The first report id becomes the notice's confirmation number: answers quoting it match
    the notice (replies/inbound.py), as for a web form's confirmation."""
    if report_id:
        Notice.objects.filter(pk=notice.pk, manual_confirmation="").update(
            manual_confirmation=report_id[:200]
        )


def _deliver_each(
    notice: Notice,
    claim: datetime,
    todo: list[str],
    deliver: Callable[[str, Callable[[], None]], str],
    accepted: Callable[[str], None] | None = None,
) -> list[Failure]:
    failures: list[Failure] = []
    for index, recipient in enumerate(todo):
        try:
            reply = deliver(recipient, functools.partial(_log_handover, notice, claim, recipient))
        except DeliveryError as err:
            failure = err.failure(recipient)
            kind = "mail.uncertain" if failure.uncertain else "mail.refused"
            _log(notice, kind, recipient, **_failure_data(failure))
            failures.append(failure)
            if err.stage == "connect":
                # The server is unreachable: the other addresses wait for the next attempt.
                for rest in todo[index + 1 :]:
                    failure = err.failure(rest)
                    _log(notice, "mail.refused", rest, **_failure_data(failure))
                    failures.append(failure)
                break
            continue
        _checkpoint("accepted", notice, recipient)
        _log(notice, "mail.accepted", recipient, reply=reply, then=accepted)
        _checkpoint("logged", notice, recipient)
    return failures


def _failure_data(failure: Failure) -> dict[str, Any]:
    data = asdict(failure)
    del data["recipient"]
    return data


# --- concluding an attempt (the worker at the end, the recovery for a dead worker) ---------------


def recover_stuck_sending(*, now: datetime | None = None) -> dict[str, int]:
    """Conclude notices whose worker died while sending; counts by the resulting status."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TAKEDOWN_SEND_CLAIM_TIMEOUT)
    counts: Counter[str] = Counter()
    stuck = Notice.objects.filter(status=N.SENDING, claimed_at__lt=cutoff)
    for notice in stuck.select_related("case", "recipient", "contact"):
        assert notice.claimed_at is not None
        result = _conclude(notice, notice.claimed_at, recovering=True)
        counts[result.outcome] += 1
        log.warning("notice %s: recovered from a stopped worker -> %s", notice.pk, result.outcome)
    return dict(counts)


@dataclass
class AddressState:
    accepted: str = ""  # the server's reply, from any attempt of this Message-ID
    permanent: dict[str, Any] | None = None  # a 5xx, from any attempt
    failure: dict[str, Any] | None = None  # the last failure in the current attempt
    handed_over: bool = False  # handed over in the current attempt, reply not yet logged


def delivery_state(notice: Notice) -> dict[str, AddressState]:
    """What the sent log says about each address for the notice's current Message-ID."""
    states: dict[str, AddressState] = {}
    for row in CaseEvent.objects.filter(notice=notice, kind__startswith="mail.").order_by(
        "at", "pk"
    ):
        data = row.data
        if data.get("message_id") != notice.message_id or "recipient" not in data:
            continue
        state = states.setdefault(data["recipient"], AddressState())
        current = data.get("attempt") == notice.attempts
        if row.kind == "mail.accepted":
            state.accepted = data.get("reply", "") or "accepted"
            state.handed_over = False
        elif row.kind == "mail.refused":
            if data.get("permanent"):
                state.permanent = data
            if current:
                state.failure, state.handed_over = data, False
        elif row.kind == "mail.handover" and current:
            state.handed_over = True
        elif row.kind == "mail.uncertain" and current:
            # Stays handed over: the reply never came.
            state.failure = data
    return _DefaultStates(states)


class _DefaultStates(dict[str, AddressState]):
    def __missing__(self, key: str) -> AddressState:
        return AddressState()


def _conclude(
    notice: Notice, claim: datetime, *, recovering: bool = False, error: str = ""
) -> SendResult:
    with transaction.atomic(durable=True):
        if not _owns(notice.pk, claim):
            return SendResult(notice.pk, "lost")
        notice.status = N.SENDING
        now = timezone.now()
        try:
            addresses = delivery_targets(notice)
        except SendError as exc:
            addresses, error = [], error or str(exc)
        state = delivery_state(notice)
        accepted = [a for a in addresses if state[a].accepted]
        uncertain = [a for a in addresses if not state[a].accepted and state[a].handed_over]
        permanent = [a for a in addresses if not state[a].accepted and state[a].permanent]
        pending = [a for a in addresses if a not in {*accepted, *uncertain, *permanent}]
        reasons = {a: _reason(state[a], recovering) for a in addresses if a not in accepted}
        if error:
            # Not retried: the next attempt would fail the same way.
            reasons.update({a: error for a in pending})
            permanent, pending = [*permanent, *pending], []
        result = SendResult(notice.pk, "", accepted=accepted)
        data: dict[str, Any] = {
            "attempt": notice.attempts,
            "accepted": len(accepted),
            "recovered": recovering,
        }

        if uncertain:
            why = "; ".join(reasons[a] for a in uncertain)
            where = (
                cloudflare.where_to_check(notice)
                if cloudflare.uses_api(notice)
                else f"Look for Message-ID {notice.message_id} in the mail server's log"
            )
            text = (
                f"Delivery uncertain for {', '.join(uncertain)}: the message was handed to the "
                f"server but its answer was not recorded ({why}). "
                f"{where}, then record whether it was delivered. It will not be resent "
                "automatically."
            )
            return _finish(notice, N.NEEDS_CHECK, text, {"last_error": text}, data, result)

        if pending and notice.attempts < settings.TAKEDOWN_SEND_MAX_ATTEMPTS:
            delay = timedelta(0) if recovering else retry_delay(notice.attempts)
            result.next_attempt_at = now + delay
            text = "; ".join(f"{a}: {reasons[a]}" for a in pending)
            fields = {"next_attempt_at": result.next_attempt_at, "last_error": text[:2000]}
            message = (
                f"Will retry (attempt {notice.attempts + 1}) at "
                f"{result.next_attempt_at:%Y-%m-%d %H:%M} UTC: {text}"
            )
            return _finish(notice, N.QUEUED, message, fields, data, result)

        undelivered = [*permanent, *pending]
        lines = [f"Not delivered to {a}: {reasons[a]}" for a in undelivered] or [error]
        if accepted:
            text = "\n".join(lines)
            message = f"Sent to {', '.join(accepted)}." + (f" {text}" if text else "")
            fields = {"sent_at": now, "last_error": text[:2000]}
            return _finish(notice, N.SENT, message, fields, data, result)

        suggestion = next_contact(notice.recipient_id, set(undelivered))
        if suggestion is not None:
            lines.append(
                f"Next contact to try: {stored(suggestion.get_purpose_display())} via "
                f"{stored(suggestion.get_channel_display())}: {suggestion.value}"
                f" (contact {suggestion.pk})"
            )
            data["next_contact"] = suggestion.pk
        text = "\n".join(lines)
        return _finish(notice, N.FAILED, text, {"last_error": text[:2000]}, data, result)


def _finish(
    notice: Notice,
    to: str,
    message: str,
    fields: dict[str, Any],
    data: dict[str, Any] | None = None,
    result: SendResult | None = None,
) -> SendResult:
    transition(notice, to, message=message, data=data, fields={"claimed_at": None, **fields})
    result = result or SendResult(notice.pk, "")
    result.outcome, result.message = to, message
    log.info("notice %s: attempt %s -> %s", notice.pk, notice.attempts, to)
    return result


def _reason(state: AddressState, recovering: bool) -> str:
    data = state.failure or state.permanent
    if data is not None:
        code = f"{data['code']} " if data.get("code") else ""
        return f"{code}{data.get('reply', '')} (at {data.get('stage', '?')})".strip()
    if state.handed_over:
        return "the worker stopped after handing the message over"
    return "the worker stopped before sending" if recovering else "not attempted"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: base, 2 x base, 4 x base ..., at most six hours."""
    return backoff(
        attempts, timedelta(seconds=settings.TAKEDOWN_SEND_RETRY_SECONDS), timedelta(hours=6)
    )


# --- the sent log --------------------------------------------------------------------------------


def _owns(notice_id: int, claim: datetime) -> bool:
    """True while this worker's claim stands. Locks the notice row until the transaction ends
    (SQLite: the IMMEDIATE transaction already holds the database's write lock)."""
    return bool(
        list(
            Notice.objects.select_for_update()
            .filter(pk=notice_id, status=N.SENDING, claimed_at=claim)
            .values_list("pk", flat=True)
        )
    )


def _log_handover(notice: Notice, claim: datetime, recipient: str) -> None:
    with transaction.atomic(durable=True):
        if not _owns(notice.pk, claim):
            raise ClaimLost(f"notice {notice.pk}")
        _record(notice, "mail.handover", recipient)
    _checkpoint("handing_over", notice, recipient)


def _log(
    notice: Notice,
    kind: str,
    recipient: str,
    *,
    then: Callable[[str], None] | None = None,
    **data: Any,
) -> None:
    # Durable: the row must be on disk before the worker goes on; the server's 250 may already
    # have been given and this row is the only memory of it. `then` writes in the same
    # transaction (the report id of an accepted API report).
    with transaction.atomic(durable=True):
        _record(notice, kind, recipient, **data)
        if then is not None:
            then(recipient)


def _record(notice: Notice, kind: str, recipient: str, **data: Any) -> None:
    # Recipients are organisations' role addresses (abuse@...), not the affected person's.
    record_event(
        notice.case,
        kind,
        notice=notice,
        data={
            "message_id": notice.message_id,
            "attempt": notice.attempts,
            "recipient": recipient,
            **({"channel": CH.API} if recipient.startswith(cloudflare.TARGET_PREFIX) else {}),
            **data,
        },
    )


def _checkpoint(step: str, notice: Notice, recipient: str = "") -> None:
    send_checkpoint.send(sender=Notice, step=step, notice=notice, recipient=recipient)


# --- building messages ---------------------------------------------------------------------------


def thread_headers(notice: Notice) -> dict[str, str]:
    """A caseworker's message answers the conversation of its parent notice: In-Reply-To names
    the recipient's latest answer before it (else the notice), References the notice and the
    answers, so the recipient's mail program and ticket system thread it."""
    if notice.kind != Notice.Kind.MESSAGE or notice.parent is None:
        return {}
    root = notice.parent
    answers = [
        message_id
        for message_id in root.replies.filter(received_at__lte=notice.created_at)
        .exclude(message_id="")
        .order_by("received_at", "pk")
        .values_list("message_id", flat=True)
    ]
    chain = [mid for mid in [root.message_id, *answers[-10:]] if mid]
    if not chain:
        return {}
    return {"In-Reply-To": chain[-1], "References": " ".join(chain)}


def build_message(
    notice: Notice, rendered: RenderedNotice, recipient: str
) -> EmailMultiAlternatives:
    """The message for one address: built once, then serialised for the wire or the outbox."""
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=organisation_address(),
        to=[recipient],
        reply_to=[reply_to(notice)],
        headers={
            "Message-ID": notice.message_id,
            "Date": format_datetime(timezone.now()),
            **thread_headers(notice),
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    for attachment in rendered.attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    return message
