"""The legal clock: when a notice is sent, its links count as notified and its response
deadline starts, in the unit its regime sets (hours, calendar days, working days, months)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from takedown.models import FoundLink, Notice
from takedown.notices.regimes import get_regime
from takedown.workflow import on_enter, record_event, transition_many


@on_enter(Notice, Notice.Status.SENT)
def start_clock(notice: Notice, actor: Any) -> None:
    sent_at = notice.sent_at or timezone.now()
    due = get_regime(notice.regime).due_at(sent_at)
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
    local_due = timezone.localtime(due)
    record_event(
        notice.case,
        "notice.sent_to_recipient",
        actor=actor,
        visible_to_person=True,
        message=(
            f"A removal request was sent to {notice.recipient.name}. "
            f"They are expected to respond by {local_due:%d %B %Y}."
        ),
        data={"notice": notice.pk, "due_at": due.isoformat()},
        notice=notice,
    )
