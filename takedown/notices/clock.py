"""The legal clock: when a notice is sent, its links count as notified and its response
deadline starts, in the unit its regime sets (hours, calendar days, working days with the
recipient country's public holidays, months), and a recipient may extend it where the law
allows (GDPR Art. 12(3))."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from takedown.models import FoundLink, Notice
from takedown.models import RecipientRole as Role
from takedown.notices.regimes import deadline, get_regime
from takedown.workflow import on_enter, record_event, transition, transition_many

# An authority should tell the complainant how the complaint went within three months
# (GDPR Art. 78(2)); the complaint templates state this period.
COMPLAINT_RESPONSE_MONTHS = 3


class DeadlineError(ValueError):
    """The deadline cannot be changed as asked; the message says why."""


def deadline_for(notice: Notice, start: dt.datetime) -> dt.datetime:
    """When the recipient of `notice`, received at `start`, has to answer."""
    country = notice.recipient.country
    if notice.kind == Notice.Kind.COMPLAINT or notice.recipient_role == Role.DPA:
        return deadline(
            start, COMPLAINT_RESPONSE_MONTHS, "months", country=country, ends_on_working_day=True
        )
    return get_regime(notice.regime).due_at(start, country=country)


def effective_due(notice: Notice) -> dt.datetime | None:
    return notice.extended_until or notice.due_at


@on_enter(Notice, Notice.Status.SENT)
def start_clock(notice: Notice, actor: Any) -> None:
    sent_at = notice.sent_at or timezone.now()
    due = deadline_for(notice, sent_at)
    Notice.objects.filter(pk=notice.pk).update(due_at=due)
    notice.due_at = due
    # One conditional update: a dataset notice and a hosting notice can cover the same links
    # and be sent at the same moment; whichever comes second finds them notified already.
    transition_many(
        FoundLink,
        list(notice.links.filter(case=notice.case).values_list("pk", flat=True)),
        [FoundLink.Status.FOUND, FoundLink.Status.REAPPEARED],
        FoundLink.Status.NOTIFIED,
        actor=actor,
        data={"notice": notice.pk},
    )
    record_event(
        notice.case,
        "notice.sent_to_recipient",
        actor=actor,
        visible_to_person=True,
        sentence=f"notice.sent_to_recipient:{notice.kind}",
        params={"date": due.isoformat()},
        data={"notice": notice.pk, "due_at": due.isoformat(), "kind": notice.kind},
        notice=notice,
    )


def end_of_day(day: dt.date) -> dt.datetime:
    """The last second of `day` on the local calendar: a date named in a letter means the
    whole of that day."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


def extend_deadline(
    notice: Notice, until: dt.date | dt.datetime, *, actor: Any = None
) -> dt.datetime:
    """Record that the recipient extended its deadline to `until`, where its regime allows
    (GDPR Art. 12(3): by at most two further months, said within the first month). Raises
    DeadlineError when the regime allows none, the notice is not running, or `until` lies
    outside what the law allows."""
    regime = get_regime(notice.regime)
    if not isinstance(until, dt.datetime):
        until = end_of_day(until)
    elif timezone.is_naive(until):
        until = timezone.make_aware(until)
    if notice.status != Notice.Status.SENT or notice.due_at is None or notice.sent_at is None:
        raise DeadlineError(f"notice {notice.pk} is {notice.status}: no deadline is running")
    if notice.kind == Notice.Kind.COMPLAINT or not regime.extension_months:
        raise DeadlineError(f"{regime.title}: the law allows the recipient no extension")
    if notice.escalated_at is not None:
        raise DeadlineError(f"notice {notice.pk} was already escalated: too late to extend")
    latest = regime.latest_extension(notice.sent_at, country=notice.recipient.country)
    assert latest is not None
    if until <= notice.due_at:
        raise DeadlineError(
            f"the extension must end after the current deadline "
            f"({timezone.localtime(notice.due_at):%Y-%m-%d %H:%M})"
        )
    if until > latest:
        raise DeadlineError(
            f"{regime.title}: the deadline can be extended to "
            f"{timezone.localtime(latest):%Y-%m-%d} at the latest "
            f"({regime.extension_months} further months, {regime.deadline_basis})"
        )
    with transaction.atomic():
        # The overdue mark and an unsent reminder were premature: the recipient is in time.
        Notice.objects.filter(pk=notice.pk).update(extended_until=until, overdue_at=None)
        notice.extended_until, notice.overdue_at = until, None
        for reminder in notice.follow_ups.filter(
            kind=Notice.Kind.REMINDER,
            status__in=[Notice.Status.DRAFT, Notice.Status.IN_REVIEW, Notice.Status.APPROVED],
        ):
            transition(
                reminder,
                Notice.Status.CANCELLED,
                actor=actor,
                message="The recipient extended its deadline.",
            )
        if (
            not notice.follow_ups.filter(kind=Notice.Kind.REMINDER)
            .exclude(status=Notice.Status.CANCELLED)
            .exists()
        ):
            Notice.objects.filter(pk=notice.pk).update(reminded_at=None)
            notice.reminded_at = None
        record_event(
            notice.case,
            "notice.deadline_extended",
            actor=actor,
            visible_to_person=True,
            sentence="notice.deadline_extended",
            params={"date": until.isoformat()},
            data={"notice": notice.pk, "until": until.isoformat()},
            notice=notice,
        )
    return until
