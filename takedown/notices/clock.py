"""The legal clock: when a notice is sent, its links count as notified and its response
deadline starts, in the unit its regime sets (hours, calendar days, working days with the
recipient country's public holidays, months), and a recipient may extend it where the law
allows (GDPR Art. 12(3)). The rules for counting periods, and where this code departs from
them: docs/law/clocks.md."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from takedown.errors import NotPossible
from takedown.models import FoundLink, Notice
from takedown.models import RecipientRole as Role
from takedown.notices.periods import Period, end_of_day, period_end
from takedown.notices.regimes import deadline_basis, get_regime, regime_title
from takedown.notices.zones import recipient_zone
from takedown.workflow import on_enter, record_event, transition, transition_many

# An authority should tell the complainant how the complaint went within three months
# (GDPR Art. 78(2)); the complaint templates state this period.
COMPLAINT_RESPONSE_MONTHS = 3


class DeadlineError(NotPossible):
    """The deadline cannot be changed as asked; the message says why."""


def response_period(notice: Notice, received: dt.datetime) -> Period:
    """The one clock of a notice: how long its recipient, in its country and region, has to
    answer a notice received at `received` (the moment of sending; for web forms and post, the
    moment the caseworker records the submission)."""
    recipient = notice.recipient
    if notice.kind == Notice.Kind.REMINDER:
        # The statutory period has already run out; a reminder gives a short grace period
        # of our own, not a new one (no moving off holidays: it is not a legal period).
        return period_end(
            received,
            grace_days(notice),
            "calendar_days",
            country=recipient.country,
            region=recipient.region,
            default_zone=timezone.get_default_timezone_name(),
        )
    if notice.kind == Notice.Kind.COMPLAINT or notice.recipient_role == Role.DPA:
        return period_end(
            received,
            COMPLAINT_RESPONSE_MONTHS,
            "months",
            country=recipient.country,
            region=recipient.region,
            ends_on_working_day=True,
            default_zone=timezone.get_default_timezone_name(),
        )
    return get_regime(notice.regime).period(
        received, country=recipient.country, region=recipient.region
    )


DEFAULT_GRACE_DAYS = 7


def grace_days(notice: Notice) -> int:
    """The grace period a reminder gives: the case's team's setting."""
    team = notice.case.team
    return team.reminder_grace_days if team is not None else DEFAULT_GRACE_DAYS


def deadline_for(notice: Notice, start: dt.datetime) -> dt.datetime:
    """When the recipient of `notice`, received at `start`, has to answer."""
    return response_period(notice, start).due


def recipient_tz(notice: Notice) -> ZoneInfo:
    recipient = notice.recipient
    return recipient_zone(
        recipient.country, recipient.region, default=timezone.get_default_timezone_name()
    )


def effective_due(notice: Notice) -> dt.datetime | None:
    return notice.extended_until or notice.due_at


@on_enter(Notice, Notice.Status.SENT)
def start_clock(notice: Notice, actor: Any) -> None:
    if notice.kind == Notice.Kind.MESSAGE:
        return  # a message in a conversation asks for nothing by a date
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


def extend_deadline(
    notice: Notice,
    until: dt.date | dt.datetime,
    *,
    actor: Any = None,
    announced_at: dt.datetime | None = None,
) -> dt.datetime:
    """Record that the recipient extended its deadline to `until`, where its regime allows.

    GDPR Art. 12(3): by at most two further months, and only if the controller told the
    person so, with reasons, within the first month. `announced_at` is when the announcement
    reached us (default now). Dates are compared as dates on the recipient's calendar: an
    extension to the last allowed day is accepted, whatever time of day was written. Raises
    DeadlineError with the reason when the regime allows none, the notice is not running, the
    announcement came after the first period ran out, or `until` lies outside what the law
    allows."""
    regime = get_regime(notice.regime)
    zone = recipient_tz(notice)
    until_day = until.astimezone(zone).date() if isinstance(until, dt.datetime) else until
    if isinstance(until, dt.datetime) and timezone.is_naive(until):
        until_day = until.date()
    if notice.status != Notice.Status.SENT or notice.due_at is None or notice.sent_at is None:
        raise DeadlineError(
            gettext("notice %(id)s is “%(status)s”: no deadline is running")
            % {"id": notice.pk, "status": notice.get_status_display()}
        )
    if notice.kind == Notice.Kind.COMPLAINT or not regime.extension_months:
        raise DeadlineError(
            gettext("%(regime)s: the law allows the recipient no extension")
            % {"regime": regime_title(regime)}
        )
    if notice.escalated_at is not None:
        raise DeadlineError(
            gettext("notice %(id)s was already escalated: too late to extend") % {"id": notice.pk}
        )
    first_due = notice.due_at.astimezone(zone).date()
    announced_day = (announced_at or timezone.now()).astimezone(zone).date()
    if announced_day > first_due:
        raise DeadlineError(
            gettext(
                "%(regime)s: an extension counts only if announced by %(due)s, when the first "
                "period ran out (%(basis)s); it was announced on %(announced)s"
            )
            % {
                "regime": regime_title(regime),
                "due": f"{first_due:%Y-%m-%d}",
                "basis": deadline_basis(regime),
                "announced": f"{announced_day:%Y-%m-%d}",
            }
        )
    latest = regime.latest_extension(
        notice.sent_at, country=notice.recipient.country, region=notice.recipient.region
    )
    assert latest is not None
    latest_day = latest.astimezone(zone).date()
    current_day = (notice.extended_until or notice.due_at).astimezone(zone).date()
    if until_day <= current_day:
        raise DeadlineError(
            gettext("the extension must end after the current deadline (%(due)s)")
            % {"due": f"{current_day:%Y-%m-%d}"}
        )
    if until_day > latest_day:
        raise DeadlineError(
            ngettext(
                "%(regime)s: the deadline can be extended to %(latest)s at the latest (%(months)d "
                "further month, %(basis)s)",
                "%(regime)s: the deadline can be extended to %(latest)s at the latest (%(months)d "
                "further months, %(basis)s)",
                regime.extension_months,
            )
            % {
                "regime": regime_title(regime),
                "latest": f"{latest_day:%Y-%m-%d}",
                "months": regime.extension_months,
                "basis": deadline_basis(regime),
            }
        )
    until = end_of_day(until_day, zone)
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
