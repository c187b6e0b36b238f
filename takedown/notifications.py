"""What needs a caseworker's attention: new answers, unmatched messages, the person's portal
messages, deletion and withdrawal requests, notices a reviewer returned, deadlines due
tomorrow. Read from the database as it is (no notification rows to keep in step), shown in the
workspace and, for those who ask for it, sent as a daily e-mail digest of counts only: the
e-mail says what kind of thing waits and where, never what anyone wrote.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy, ngettext

from takedown.models import (
    Case,
    CaseEvent,
    DeletionRequest,
    Notice,
    NotificationPreference,
    PortalMessage,
    Reply,
    StaffPreferences,
)
from takedown.web.access import cases_for

RECENT = dt.timedelta(days=14)
PER_KIND = 50
# Between two digests of one person: a repeated daily run sends nothing twice.
DIGEST_INTERVAL = dt.timedelta(hours=20)

KINDS = {
    "answer": gettext_lazy("New answer from a recipient"),
    "unmatched": gettext_lazy("Answer that matched no notice"),
    "portal_message": gettext_lazy("Message from the person"),
    "deletion_request": gettext_lazy("Deletion request"),
    "withdrawal": gettext_lazy("The person withdrew the case"),
    "returned_notice": gettext_lazy("Notice returned by a reviewer"),
    "deadline_tomorrow": gettext_lazy("Deadline due tomorrow"),
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
        return str(KINDS[self.kind])


@dataclass(frozen=True)
class Source:
    """Where one kind of notification comes from: the rows (newest first), when each happened,
    what the list says of it (in the reader's language) and where it leads."""

    kind: str
    rows: Callable[[QuerySet[Case], dt.datetime], QuerySet[Any]]
    at: Callable[[Any], dt.datetime]
    text: Callable[[Any], str]
    url: Callable[[Any], str]


def _notice_text(notice: Notice) -> str:
    return gettext("%(kind)s %(id)s to %(recipient)s") % {
        "kind": notice.get_kind_display(),
        "id": notice.pk,
        "recipient": notice.recipient.name,
    }


def _notice_url(notice: Notice) -> str:
    return reverse("staff:notice", args=[notice.case.reference, notice.pk])


def _due_tomorrow(cases: QuerySet[Case], now: dt.datetime) -> QuerySet[Notice]:
    tomorrow = timezone.localdate(now) + dt.timedelta(days=1)
    start = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time.min))
    return (
        Notice.objects.filter(case__in=cases, status=Notice.Status.SENT, overdue_at__isnull=True)
        .annotate(deadline=Coalesce("extended_until", "due_at"))
        .filter(deadline__gte=start, deadline__lt=start + dt.timedelta(days=1))
        .select_related("case", "recipient")
        .order_by("deadline")
    )


SOURCES = (
    Source(
        "answer",
        lambda cases, now: (
            Reply.objects.filter(
                case__in=cases, notice__isnull=False, received_at__gte=now - RECENT
            )
            .exclude(kind=Reply.Kind.AUTO_REPLY)
            .select_related("case", "notice__recipient")
            .order_by("-received_at")
        ),
        lambda reply: reply.received_at,
        lambda reply: (
            gettext("%(recipient)s: %(kind)s (%(state)s)")
            % {
                "recipient": reply.notice.recipient.name,
                "kind": reply.get_kind_display(),
                "state": reply.get_state_display().lower(),
            }
        ),
        lambda reply: reverse("staff:replies", args=[reply.case.reference]) + f"#reply-{reply.pk}",
    ),
    Source(
        "unmatched",
        lambda cases, now: (
            Reply.objects.filter(state=Reply.State.UNMATCHED)
            .filter(Q(case__isnull=True) | Q(case__in=cases))
            .select_related("case")
            .order_by("-received_at")
        ),
        lambda reply: reply.received_at,
        lambda reply: (
            gettext("From %(sender)s") % {"sender": reply.from_address}
            if reply.from_address
            else gettext("From an unknown sender")
        ),
        lambda reply: reverse("staff:reply_detail", args=[reply.pk]),
    ),
    Source(
        "portal_message",
        lambda cases, now: (
            PortalMessage.objects.filter(case__in=cases, read_at__isnull=True)
            .select_related("case")
            .order_by("-created_at")
        ),
        lambda message: message.created_at,
        lambda message: gettext("Unread"),
        lambda message: reverse("staff:messages", args=[message.case.reference]),
    ),
    Source(
        "deletion_request",
        lambda cases, now: (
            DeletionRequest.objects.filter(case__in=cases, handled_at__isnull=True)
            .select_related("case")
            .order_by("-requested_at")
        ),
        lambda request: request.requested_at,
        lambda request: gettext("Not handled yet"),
        lambda request: reverse("staff:messages", args=[request.case.reference]),
    ),
    Source(
        "withdrawal",
        lambda cases, now: (
            CaseEvent.objects.filter(case__in=cases, kind="case.withdrawn", at__gte=now - RECENT)
            .select_related("case")
            .order_by("-at")
        ),
        lambda event: event.at,
        lambda event: gettext("All work on the case stops"),
        lambda event: reverse("staff:case", args=[event.case.reference]),
    ),
    Source(
        "returned_notice",
        lambda cases, now: (
            Notice.objects.filter(case__in=cases, status=Notice.Status.DRAFT)
            .exclude(review_comment="")
            .select_related("case", "recipient")
            .order_by("-updated_at")
        ),
        lambda notice: notice.updated_at,
        _notice_text,
        _notice_url,
    ),
    Source(
        "deadline_tomorrow",
        _due_tomorrow,
        lambda notice: notice.deadline,
        _notice_text,
        _notice_url,
    ),
)


def notifications_for(user: Any, *, now: dt.datetime | None = None) -> list[Notification]:
    """Everything waiting for this user in the cases they may see, newest first, at most
    PER_KIND of each kind."""
    now = now or timezone.now()
    cases = cases_for(user)
    items = [
        Notification(
            source.kind,
            source.at(row),
            row.case.reference if row.case else "",
            source.text(row),
            source.url(row),
        )
        for source in SOURCES
        for row in source.rows(cases, now)[:PER_KIND]
    ]
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
        language = StaffPreferences.objects.filter(user=user).values_list("language", flat=True)
        with translation.override(language.first() or settings.LANGUAGE_CODE):
            subject, body = _digest(counts)
        send_mail(
            subject=subject,
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
        )
        sent += 1
    return {"sent": sent, "skipped": skipped}


def _digest(counts: Counter[str]) -> tuple[str, str]:
    """The digest's subject and text, in the active language: counts per kind, a link."""
    total = sum(counts.values())
    subject = ngettext(
        "%(organisation)s: %(count)s thing waits for you",
        "%(organisation)s: %(count)s things wait for you",
        total,
    ) % {"organisation": settings.TAKEDOWN_ORGANISATION, "count": total}
    lines = [f"- {KINDS[kind]}: {counts[kind]}" for kind in KINDS if counts[kind]]
    url = settings.TAKEDOWN_PUBLIC_URL.rstrip("/") + reverse("staff:notifications")
    body = "\n".join(
        [
            gettext("Waiting in your cases:"),
            "",
            *lines,
            "",
            gettext("See them at %(url)s") % {"url": url},
        ]
    )
    return subject, body + "\n"
