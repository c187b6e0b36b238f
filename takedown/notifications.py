"""What needs a caseworker's attention: new answers, unmatched messages, the person's portal
messages, deletion and withdrawal requests, notices a reviewer returned, deadlines due
tomorrow. Read from the database as it is (no notification rows to keep in step), shown in the
workspace and, for those who ask for it, sent as a daily e-mail digest of counts only: the
e-mail says what kind of thing waits and where, never what anyone wrote.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from takedown.models import (
    CaseEvent,
    DeletionRequest,
    Notice,
    NotificationPreference,
    PortalMessage,
    Reply,
)
from takedown.web.access import cases_for

RECENT = dt.timedelta(days=14)
PER_KIND = 50
# Between two digests of one person: a repeated daily run sends nothing twice.
DIGEST_INTERVAL = dt.timedelta(hours=20)

KINDS = {
    "answer": "New answer from a recipient",
    "unmatched": "Answer that matched no notice",
    "portal_message": "Message from the person",
    "deletion_request": "Deletion request",
    "withdrawal": "The person withdrew the case",
    "returned_notice": "Notice returned by a reviewer",
    "deadline_tomorrow": "Deadline due tomorrow",
}


@dataclass
class Notification:
    kind: str
    at: dt.datetime
    reference: str
    text: str
    url: str

    @property
    def label(self) -> str:
        return KINDS[self.kind]


def notifications_for(user: Any, *, now: dt.datetime | None = None) -> list[Notification]:
    """Everything waiting for this user in the cases they may see, newest first."""
    now = now or timezone.now()
    since = now - RECENT
    cases = cases_for(user)
    items: list[Notification] = []

    answers = (
        Reply.objects.filter(case__in=cases, notice__isnull=False, received_at__gte=since)
        .exclude(kind=Reply.Kind.AUTO_REPLY)
        .select_related("case", "notice__recipient")
        .order_by("-received_at")[:PER_KIND]
    )
    for reply in answers:
        assert reply.case is not None and reply.notice is not None
        items.append(
            Notification(
                "answer",
                reply.received_at,
                reply.case.reference,
                f"{reply.notice.recipient.name}: {reply.get_kind_display()} "
                f"({reply.get_state_display().lower()})",
                reverse("staff:replies", args=[reply.case.reference]) + f"#reply-{reply.pk}",
            )
        )
    unmatched = (
        Reply.objects.filter(state=Reply.State.UNMATCHED)
        .filter(Q(case__isnull=True) | Q(case__in=cases))
        .select_related("case")
        .order_by("-received_at")[:PER_KIND]
    )
    for reply in unmatched:
        items.append(
            Notification(
                "unmatched",
                reply.received_at,
                reply.case.reference if reply.case else "",
                f"From {reply.from_address or 'an unknown sender'}",
                reverse("staff:reply_detail", args=[reply.pk]),
            )
        )
    for message in (
        PortalMessage.objects.filter(case__in=cases, read_at__isnull=True)
        .select_related("case")
        .order_by("-created_at")[:PER_KIND]
    ):
        reference = message.case.reference
        items.append(
            Notification(
                "portal_message",
                message.created_at,
                reference,
                "Unread",
                reverse("staff:messages", args=[reference]),
            )
        )
    for request in (
        DeletionRequest.objects.filter(case__in=cases, handled_at__isnull=True)
        .select_related("case")
        .order_by("-requested_at")[:PER_KIND]
    ):
        reference = request.case.reference
        items.append(
            Notification(
                "deletion_request",
                request.requested_at,
                reference,
                "Not handled yet",
                reverse("staff:messages", args=[reference]),
            )
        )
    for event in (
        CaseEvent.objects.filter(case__in=cases, kind="case.withdrawn", at__gte=since)
        .select_related("case")
        .order_by("-at")[:PER_KIND]
    ):
        assert event.case is not None
        reference = event.case.reference
        items.append(
            Notification(
                "withdrawal",
                event.at,
                reference,
                "All work on the case stops",
                reverse("staff:case", args=[reference]),
            )
        )
    for notice in (
        Notice.objects.filter(case__in=cases, status=Notice.Status.DRAFT)
        .exclude(review_comment="")
        .select_related("case", "recipient")
        .order_by("-updated_at")[:PER_KIND]
    ):
        reference = notice.case.reference
        items.append(
            Notification(
                "returned_notice",
                notice.updated_at,
                reference,
                f"{notice.get_kind_display()} {notice.pk} to {notice.recipient.name}",
                reverse("staff:notice", args=[reference, notice.pk]),
            )
        )
    tomorrow = timezone.localdate(now) + dt.timedelta(days=1)
    start = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time.min))
    end = start + dt.timedelta(days=1)
    for notice in (
        Notice.objects.filter(case__in=cases, status=Notice.Status.SENT, overdue_at__isnull=True)
        .annotate(deadline=Coalesce("extended_until", "due_at"))
        .filter(deadline__gte=start, deadline__lt=end)
        .select_related("case", "recipient")
        .order_by("deadline")[:PER_KIND]
    ):
        reference = notice.case.reference
        items.append(
            Notification(
                "deadline_tomorrow",
                notice.deadline,
                reference,
                f"{notice.get_kind_display()} {notice.pk} to {notice.recipient.name}",
                reverse("staff:notice", args=[reference, notice.pk]),
            )
        )
    items.sort(key=lambda item: item.at, reverse=True)
    return items


def send_digests(*, now: dt.datetime | None = None) -> dict[str, int]:
    """One e-mail per caseworker who asked for it, with counts per kind (no content); each
    claimed with a conditional update, so overlapping runs send it once."""
    now = now or timezone.now()
    sent = skipped = 0
    due = NotificationPreference.objects.filter(email_digest=True).filter(
        Q(last_digest_at__isnull=True) | Q(last_digest_at__lte=now - DIGEST_INTERVAL)
    )
    for preference in due.select_related("user"):
        user = preference.user
        if not user.is_active or not user.email:
            skipped += 1
            continue
        counts = Counter(item.kind for item in notifications_for(user, now=now))
        if not counts:
            skipped += 1
            continue
        claimed = NotificationPreference.objects.filter(
            pk=preference.pk, last_digest_at=preference.last_digest_at
        ).update(last_digest_at=now)
        if not claimed:
            continue  # another run sent it
        lines = [f"- {KINDS[kind]}: {counts[kind]}" for kind in KINDS if counts[kind]]
        url = settings.TAKEDOWN_PUBLIC_URL.rstrip("/") + reverse("staff:notifications")
        send_mail(
            subject=f"{settings.TAKEDOWN_ORGANISATION}: {sum(counts.values())} things wait for you",
            message="Waiting in your cases:\n\n" + "\n".join(lines) + f"\n\nSee them at {url}\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
        )
        sent += 1
    return {"sent": sent, "skipped": skipped}
