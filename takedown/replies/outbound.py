"""The caseworker answers the recipient from the conversation: a message (Notice.Kind.MESSAGE)
that goes the way every notice goes (four-eyes review, queue, the claim and the sent log of
notices/send.py: never sent twice, never lost), with the notice's own reply address and
threading headers (send.thread_headers), so the answer to it comes back into the same case.

Every such message is reviewed: what a caseworker writes to a platform may disclose the person
(an identity question answered) or commit the organisation, and the organisation's rule is four
eyes for everything that leaves it.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from takedown.models import Case, Contact, Notice
from takedown.notices.render import render_notice
from takedown.notices.review import submit_for_review
from takedown.notices.send import new_reply_token, recipient_addresses
from takedown.workflow import record_event

_PREFIX = re.compile(r"^\s*((re|aw|antw|fwd?|wg)\s*:\s*)+", re.IGNORECASE)


class AnswerError(ValueError):
    """The answer cannot be drafted as asked."""


def draft_answer(notice: Notice, *, actor: Any, text: str) -> Notice:
    """A message to the recipient of a sent notice, submitted for review. Goes to the address
    of the recipient's latest answer (their ticket system), else to the notice's addresses."""
    text = (text or "").strip()
    if not text:
        raise AnswerError("write the answer first")
    if notice.kind == Notice.Kind.MESSAGE:
        raise AnswerError("answer on the notice the conversation is about")
    if notice.sent_at is None or notice.channel != Contact.Channel.EMAIL:
        raise AnswerError(f"notice {notice.pk} was not sent by e-mail: nothing to answer")
    if notice.case.status != Case.Status.OPEN:
        raise AnswerError(f"case {notice.case.reference} is not open")
    latest = notice.replies.exclude(from_address="").order_by("-received_at", "-pk").first()
    to = latest.from_address if latest is not None else ", ".join(recipient_addresses(notice))
    subject = _PREFIX.sub("", render_notice(notice, with_pdf=False, with_data=False).subject)
    with transaction.atomic():
        if not notice.reply_token:
            # Sent before reply tokens existed: the conversation gets one now.
            token = new_reply_token()
            Notice.objects.filter(pk=notice.pk, reply_token="").update(reply_token=token)
            notice.refresh_from_db(fields=["reply_token"])
        message = Notice.objects.create(
            case=notice.case,
            kind=Notice.Kind.MESSAGE,
            parent=notice,
            recipient=notice.recipient,
            recipient_role=notice.recipient_role,
            contact=notice.contact,
            channel=Contact.Channel.EMAIL,
            to_address=to,
            regime=notice.regime,
            language=notice.language,
            subject=f"Re: {subject}"[:300],
            body_text=text,
            reply_token=notice.reply_token,
            created_by=actor,
        )
        record_event(
            notice.case,
            "notice.message_drafted",
            actor=actor,
            message=f"Answer to {notice.recipient.name} drafted (message {message.pk}).",
            data={"notice": notice.pk, "message": message.pk},
            notice=message,
        )
        submit_for_review(message, actor)
    return message
