"""Answers into their cases: store each inbound message once, match it to its notice, and act
on what it means.

    raw message --parse (mail.py)--> classify (classify.py) --> match --> store + act

Matching, in order (the first that finds a notice wins):
1. the reply token: every notice goes out with Reply-To replies+<token>@ the reply domain
   (`reply_address`), a random 192-bit token stored on the notice, so an answer to that
   address names its notice and cannot be forged by guessing;
2. threading: In-Reply-To / References against the Message-IDs of our notices and of answers
   already stored;
3. the case reference (TD-2026-0042) in the subject, narrowed to one notice by the notice
   number in the subject or the sender's domain;
4. the recipient's own ticket number, learnt from an earlier acknowledgement (or the
   confirmation number of a web-form submission).
What matches nothing waits in the unmatched inbox until a caseworker assigns it
(`assign_reply`), and the notice learns the ticket number the message carried.

Acting: a confident classification (classify.CONFIDENT) of an answer is recorded on the notice
by `record_reply`, with the message's Date as the time it reached us and the reply as the
source; an unsure one, a question, or an unclear answer waits for a caseworker's one click
(`confirm_reply`). Auto-replies decide nothing. Delivery failures go to notices/bounces.py.

Why no answer is lost or stored twice
-------------------------------------
- Idempotency by message: each stored message has a unique `message_key`, its Message-ID (or,
  without one, the SHA-256 of its bytes). The row, the match and everything done about it
  (record_reply, the ticket number, the bounce) are written in one transaction; a second copy
  of the message (the same file read twice, an IMAP message seen again, two pollers at once)
  fails on the unique key, its transaction rolls back, and it is reported as a duplicate.
  So a message is either fully stored and acted on, or not at all.
- Store before moving on: the IMAP poller (replies/imap.py) moves a message out of the inbox
  only after the transaction that stored it committed. A crash in between leaves the message
  in the inbox; the next poll finds it stored (duplicate) and moves it then. A message that
  cannot be stored (a bug) stays in the inbox and is logged, never dropped.
- Conditional updates for people: confirming, assigning or dismissing a waiting answer claims
  it with a conditional update on its state (to_confirm/unmatched -> ...), so two caseworkers
  clicking at once record it once; the loser is told someone else decided it. The ticket
  number is learnt only while the notice has none (update ... where recipient_ticket = '').
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from takedown.checks.escalate import EscalationError, record_reply
from takedown.events import stored
from takedown.models import Case, Notice, Reply, ReplyAttachment
from takedown.notices import cloudflare
from takedown.notices.bounces import process_bounce
from takedown.notices.send import SendError, recipient_addresses, reply_domain
from takedown.replies import classify as c
from takedown.replies.mail import ParsedMail, parse_message, read_paths
from takedown.resolve.named import learn_from_cloudflare
from takedown.workflow import record_event

log = logging.getLogger(__name__)

Kind, State, By = Reply.Kind, Reply.State, Reply.MatchedBy
Outcome = Notice.Outcome

# What each kind of answer records on the notice. Questions and unclear answers record
# nothing by themselves: a caseworker reads them.
OUTCOMES: dict[str, str] = {
    Kind.ACKNOWLEDGEMENT: Outcome.PENDING,
    Kind.COMPLIED: Outcome.COMPLIED,
    Kind.PARTLY_COMPLIED: Outcome.PARTLY,
    Kind.REFUSED: Outcome.REFUSED,
    Kind.NOT_RESPONSIBLE: Outcome.NOT_RESPONSIBLE,
}
# What the caseworker is told to do next, per kind.
NEXT_STEPS: dict[str, Promise] = {
    Kind.AUTO_REPLY: gettext_lazy("Nothing: an automatic answer. The deadline runs on."),
    Kind.BOUNCE: gettext_lazy("The address failed: try the next contact of the recipient."),
    Kind.ACKNOWLEDGEMENT: gettext_lazy(
        "Wait for the decision; the recipient's ticket number is kept."
    ),
    Kind.COMPLIED: gettext_lazy("The links are rechecked to confirm the removal."),
    Kind.PARTLY_COMPLIED: gettext_lazy("Check which links are still online; remind for the rest."),
    Kind.REFUSED: gettext_lazy(
        "Decide the next step of the ladder (complaint, authority, legal step)."
    ),
    Kind.NOT_RESPONSIBLE: gettext_lazy(
        "Turn to the party they name, or the next step of the ladder."
    ),
    Kind.NEEDS_INFORMATION: gettext_lazy(
        "Answer their question (identity, mandate, URLs) from the case."
    ),
    Kind.OTHER: gettext_lazy("Read it and record what it means."),
}


class ReplyError(Exception):
    """A caseworker's action on an answer that is not possible now."""


@dataclass
class InboundResult:
    """One message, as `process_replies --json` prints it."""

    message_id: str
    notice: int | None
    case: int | None
    kind: str
    confidence: float
    reference: str
    matched_by: str
    action: str  # recorded, to_confirm, noted, bounce, unmatched, duplicate

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# --- the reply address -----------------------------------------------------------------------

_TOKEN = re.compile(r"replies\+([0-9a-f]{32,64})@([^\s>,;]+)", re.IGNORECASE)


def _case_reference() -> re.Pattern[str]:
    prefix = re.escape(settings.TAKEDOWN_CASE_PREFIX)
    return re.compile(rf"\b{prefix}-[A-Z0-9]+-\d{{3,}}\b", re.IGNORECASE)


_NOTICE_NUMBER = re.compile(r"(?:notice|meldung|mitteilung|nr\.?|no\.?)\s*#?\s*(\d{1,12})\b", re.I)


# --- receiving -------------------------------------------------------------------------------


def receive(raw: bytes, *, source: str = "") -> InboundResult:
    """Store one message and act on it, in one transaction; a copy already stored is reported
    as a duplicate and changes nothing."""
    return receive_parsed(parse_message(raw), source=source)


def receive_parsed(parsed: ParsedMail, *, source: str = "") -> InboundResult:
    key = parsed.message_key
    existing = Reply.objects.filter(message_key=key).select_related("case").first()
    if existing is not None:
        return _result(existing, "duplicate")
    try:
        with transaction.atomic():
            return _store_and_act(parsed, key, source)
    except IntegrityError:
        # Stored meanwhile by another poller: its transaction did everything.
        stored = Reply.objects.select_related("case").filter(message_key=key).first()
        if stored is None:
            raise
        return _result(stored, "duplicate")


def _store_and_act(parsed: ParsedMail, key: str, source: str) -> InboundResult:
    references = [m.upper() for m in _case_reference().findall(f"{parsed.subject}\n{parsed.text}")]
    verdict = c.classify(
        parsed.headers,
        parsed.subject,
        parsed.new_text,
        is_dsn=parsed.is_dsn,
        from_address=parsed.from_address,
        ignore_tickets=references,
    )
    tickets = c.find_tickets(f"{parsed.subject}\n{parsed.new_text}", ignore=references)
    notice, case, matched_by = match(parsed, tickets)
    now = timezone.now()
    evidence: dict[str, Any] = {"words": verdict.evidence}
    if verdict.reason:
        evidence["reason"] = verdict.reason
    if verdict.party:
        evidence["party"] = verdict.party
    reply = Reply.objects.create(
        message_key=key,
        message_id=parsed.message_id[:300],
        notice=notice,
        case=case,
        matched_by=matched_by,
        source=source[:200],
        from_address=parsed.from_address[:320],
        subject=parsed.subject,
        text=parsed.text,
        raw=parsed.raw,
        sent_at=parsed.date,
        received_at=now,
        kind=verdict.kind,
        confidence=verdict.confidence,
        evidence=evidence,
        ticket=verdict.ticket[:100],
        state=State.UNMATCHED,
    )
    ReplyAttachment.objects.bulk_create(
        ReplyAttachment(
            reply=reply,
            filename=a.filename,
            content_type=a.content_type[:200],
            size=len(a.content),
            content=a.content,
        )
        for a in parsed.attachments
    )
    if verdict.kind == Kind.BOUNCE:
        action = _bounce(reply, parsed)
    elif reply.notice is None:
        action = "unmatched"
    else:
        if case is not None:
            record_event(
                case,
                "reply.received",
                # The sender's address stays in the (encrypted) reply: it may name a person.
                message=f"Answer from {reply.notice.recipient.name}: "
                f"{stored(Kind(reply.kind).label)} ({reply.confidence:.0%}).",
                data={"reply": reply.pk, "kind": reply.kind, "matched_by": matched_by},
                notice=reply.notice,
            )
        _learn_ticket(reply.notice, reply.ticket)
        if cloudflare.is_to_cloudflare(reply.notice):
            learn_from_cloudflare(reply.notice, parsed.text, source=f"answer {reply.pk}")
        action = _act(reply, actor=None)
    return _result(reply, action)


def _bounce(reply: Reply, parsed: ParsedMail) -> str:
    outcome = process_bounce(reply.message_key, parsed.message)
    fields: dict[str, Any] = {"state": State.NOTED}
    reply.evidence = {**reply.evidence, "bounce": outcome.result, "reasons": outcome.reasons}
    fields["evidence"] = reply.evidence
    if outcome.notice_id is not None and reply.notice_id is None:
        notice = Notice.objects.select_related("case").get(pk=outcome.notice_id)
        reply.notice, reply.case = notice, notice.case
        fields.update(notice=notice, case=notice.case)
    if reply.notice is None and reply.case is None:
        fields["state"] = reply.state = State.UNMATCHED
        Reply.objects.filter(pk=reply.pk).update(**fields)
        return "unmatched"
    reply.state = State.NOTED
    Reply.objects.filter(pk=reply.pk).update(**fields)
    return "bounce"


def _act(reply: Reply, *, actor: Any, kind: str | None = None) -> str:
    """Record a matched answer on its notice when it is sure enough (or a caseworker says so:
    `kind` given); otherwise leave it to confirm. Returns the action."""
    assert reply.notice is not None
    decided = kind is not None
    kind = kind or reply.kind
    if kind in (Kind.AUTO_REPLY, Kind.BOUNCE):
        return "noted" if _set_state(reply, State.NOTED, actor, decided=decided) else ""
    outcome = OUTCOMES.get(kind)
    if outcome is None or not (decided or reply.confidence >= c.CONFIDENT):
        _set_state(reply, State.TO_CONFIRM, actor, decided=False)
        return "to_confirm"
    try:
        with transaction.atomic():
            record_reply(
                reply.notice,
                outcome=outcome,
                text=_summary(reply, kind),
                actor=actor,
                received_at=_received_at(reply),
                source={"reply": reply.pk, "kind": kind},
            )
    except EscalationError as exc:
        if decided:
            raise ReplyError(str(exc)) from None
        reply.evidence = {**reply.evidence, "not_recorded": str(exc)}
        Reply.objects.filter(pk=reply.pk).update(evidence=reply.evidence)
        _set_state(reply, State.TO_CONFIRM, actor, decided=False)
        return "to_confirm"
    _set_state(reply, State.APPLIED, actor, decided=True, kind=kind)
    return "recorded"


def _set_state(
    reply: Reply, state: str, actor: Any, *, decided: bool, kind: str | None = None
) -> bool:
    fields: dict[str, Any] = {"state": state}
    if decided:
        fields.update(decided_at=timezone.now(), decided_by=actor if actor else None)
    if kind is not None and kind != reply.kind:
        fields["kind"] = kind
    Reply.objects.filter(pk=reply.pk).update(**fields)
    for name, value in fields.items():
        setattr(reply, name, value)
    return True


def _summary(reply: Reply, kind: str) -> str:
    # The notice's copy is a summary: the recipient, the class and the deciding words; the full
    # text, its attachments and the sender's address stay in the reply.
    words = "; ".join(reply.evidence.get("words", [])[:4])
    extra = []
    if reason := reply.evidence.get("reason"):
        extra.append(f"reason: {reason}")
    if party := reply.evidence.get("party"):
        extra.append(f"names: {party}")
    if reply.ticket:
        extra.append(f"their ticket: {reply.ticket}")
    tail = f" ({', '.join(extra)})" if extra else ""
    said = f': "{words}"' if words else ""
    assert reply.notice is not None
    sender = reply.notice.recipient.name
    return f"E-mail answer {reply.pk} from {sender}: {stored(Kind(kind).label)}{said}{tail}"


def _received_at(reply: Reply) -> dt.datetime:
    now = timezone.now()
    if reply.sent_at is None:
        return reply.received_at or now
    # A sender's clock ahead of ours must not make the answer arrive in the future.
    return min(reply.sent_at, now)


def _learn_ticket(notice: Notice | None, ticket: str) -> None:
    if notice is None or not ticket:
        return
    if Notice.objects.filter(pk=notice.pk, recipient_ticket="").update(recipient_ticket=ticket):
        notice.recipient_ticket = ticket


def _result(reply: Reply, action: str) -> InboundResult:
    return InboundResult(
        message_id=reply.message_id,
        notice=reply.notice_id,
        case=reply.case_id,
        kind=reply.kind if reply.notice_id or reply.kind == Kind.BOUNCE else "unmatched",
        confidence=round(reply.confidence, 2),
        reference=reply.case.reference if reply.case is not None else "",
        matched_by=reply.matched_by,
        action=action,
    )


# --- matching --------------------------------------------------------------------------------


def match(parsed: ParsedMail, tickets: list[str]) -> tuple[Notice | None, Case | None, str]:
    """(notice, case, how) for a message, in the order of the module docstring."""
    notices = Notice.objects.select_related("case", "recipient", "contact")
    domain = reply_domain()
    for address in parsed.recipients:
        for token, at in _TOKEN.findall(address):
            if at.lower().rstrip(".") != domain:
                continue
            # A caseworker's message carries its notice's token: the notice comes first.
            if found := notices.filter(reply_token=token.lower()).order_by("pk").first():
                found = _root(found)
                return found, found.case, By.TOKEN
    if parsed.thread_ids:
        if found := notices.filter(message_id__in=parsed.thread_ids).first():
            found = _root(found)
            return found, found.case, By.THREAD
        earlier = (
            Reply.objects.filter(message_id__in=parsed.thread_ids, notice__isnull=False)
            .order_by("-pk")
            .first()
        )
        if earlier is not None and earlier.notice_id is not None:
            found = notices.get(pk=earlier.notice_id)
            return found, found.case, By.THREAD
    for reference in _case_reference().findall(parsed.subject):
        case = Case.objects.filter(reference__iexact=reference).first()
        if case is not None:
            return _notice_in_case(case, parsed), case, By.SUBJECT
    if tickets:
        candidates = list(
            notices.annotate(confirmation=Upper("manual_confirmation"))
            .filter(Q(recipient_ticket__in=tickets) | Q(confirmation__in=tickets))
            .order_by("-sent_at", "-pk")[:20]
        )
        found = _by_sender(candidates, parsed.from_address) or (
            candidates[0] if candidates else None
        )
        if found is not None:
            return found, found.case, By.TICKET
    return None, None, By.NONE


def _root(notice: Notice) -> Notice:
    """An answer to the caseworker's message belongs to the notice the conversation is about."""
    if notice.kind == Notice.Kind.MESSAGE and notice.parent_id is not None:
        return Notice.objects.select_related("case", "recipient", "contact").get(
            pk=notice.parent_id
        )
    return notice


def _notice_in_case(case: Case, parsed: ParsedMail) -> Notice | None:
    sent = list(
        case.notices.select_related("case", "recipient", "contact")
        .filter(sent_at__isnull=False)
        .exclude(kind=Notice.Kind.MESSAGE)
        .order_by("-sent_at", "-pk")
    )
    numbers = {int(n) for n in _NOTICE_NUMBER.findall(parsed.subject)}
    named = [n for n in sent if n.pk in numbers]
    if len(named) == 1:
        return named[0]
    if len(sent) == 1:
        return sent[0]
    return _by_sender(sent, parsed.from_address)


def _by_sender(notices: Sequence[Notice], sender: str) -> Notice | None:
    """The one notice whose recipient shares the sender's domain, if exactly one does."""
    domain = parseaddr(sender)[1].rpartition("@")[2].lower()
    if not domain:
        return None
    same = []
    for notice in notices:
        try:
            addresses = recipient_addresses(notice)
        except SendError:
            continue
        if any(_same_site(a.rpartition("@")[2], domain) for a in addresses):
            same.append(notice)
    return same[0] if len({n.recipient_id for n in same}) == 1 else None


def _same_site(a: str, b: str) -> bool:
    a, b = a.lower(), b.lower()
    return a == b or a.endswith("." + b) or b.endswith("." + a)


# --- files -----------------------------------------------------------------------------------


def process_files(paths: list[Path]) -> list[InboundResult]:
    """Every message in the files, all or nothing: unreadable input raises ReplyInputError
    before anything is stored, and the messages are stored in one transaction."""
    messages = [(key, parse_message(raw)) for key, raw in read_paths(paths)]
    with transaction.atomic():
        return [receive_parsed(parsed, source=f"file:{key}"[:200]) for key, parsed in messages]


# --- the caseworker's actions ----------------------------------------------------------------


def confirm_reply(reply: Reply, *, actor: Any, kind: str | None = None) -> str:
    """One click: record a waiting answer as classified (or as the caseworker says)."""
    kind = kind or reply.kind
    if kind not in Kind.values:
        raise ReplyError(f"unknown kind {kind!r}")
    if reply.notice_id is None:
        raise ReplyError("assign the answer to a notice first")
    with transaction.atomic():
        # The claim: of two caseworkers confirming at once, one records it.
        if not Reply.objects.filter(pk=reply.pk, state=State.TO_CONFIRM).update(
            state=State.APPLIED
        ):
            raise ReplyError("this answer has already been decided")
        reply = Reply.objects.select_related("notice", "notice__case", "case").get(pk=reply.pk)
        reply.state = State.TO_CONFIRM
        if kind not in OUTCOMES:
            _set_state(reply, State.NOTED, actor, decided=True, kind=kind)
            return "noted"
        return _act(reply, actor=actor, kind=kind)


def assign_reply(reply: Reply, notice: Notice, *, actor: Any) -> str:
    """One action: an unmatched answer belongs to this notice. The notice learns the ticket
    number the answer carries; a confident answer is then recorded, others wait to confirm."""
    with transaction.atomic():
        if not Reply.objects.filter(pk=reply.pk, state=State.UNMATCHED).update(
            notice=notice, case=notice.case, matched_by=By.CASEWORKER, state=State.TO_CONFIRM
        ):
            raise ReplyError("this answer is no longer waiting to be assigned")
        reply = Reply.objects.select_related("notice", "notice__case", "case").get(pk=reply.pk)
        record_event(
            notice.case,
            "reply.assigned",
            actor=actor,
            message=f"Answer {reply.pk} assigned to notice {notice.pk}.",
            data={"reply": reply.pk, "kind": reply.kind},
            notice=notice,
        )
        _learn_ticket(reply.notice, reply.ticket)
        if reply.kind == Kind.BOUNCE:
            return "noted" if _set_state(reply, State.NOTED, actor, decided=True) else ""
        return _act(reply, actor=actor)


def dismiss_reply(reply: Reply, *, actor: Any) -> None:
    with transaction.atomic():
        if not Reply.objects.filter(
            pk=reply.pk, state__in=[State.TO_CONFIRM, State.UNMATCHED]
        ).update(state=State.DISMISSED, decided_by=actor, decided_at=timezone.now()):
            raise ReplyError("this answer has already been decided")
