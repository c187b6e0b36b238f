"""What the affected person may see of their case, in plain language (selectors, read only).

Everything the portal shows or exports is built here, from an allow-list of fields: links
(host only, unless the person asks for one full address), the status of each link, deadlines
of sent notices, and the events marked visible to the person. Internal notes, reviewer
comments, notice texts, other cases and any image never pass through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from takedown.models import (
    Case,
    CaseEvent,
    FoundLink,
    Notice,
    NoticeLink,
    RecipientRole,
)
from takedown.models.link import ONLINE_VERDICTS

FOUND = "found"
NOTICE_SENT = "notice_sent"
WAITING = "waiting"
STILL_ONLINE = "still_online"
REFUSED = "refused"
REMOVED = "removed"
NEVER_REACHABLE = "never_reachable"
PAUSED = "paused"
WITHDRAWN = "withdrawn"
# Order of the summary; labels are lazy so they follow the language of each request.
LABELS = {
    FOUND: gettext_lazy("Found"),
    NOTICE_SENT: gettext_lazy("Notice sent"),
    WAITING: gettext_lazy("Waiting for the host"),
    STILL_ONLINE: gettext_lazy("Still online"),
    REFUSED: gettext_lazy("Refused"),
    REMOVED: gettext_lazy("Removed"),
    NEVER_REACHABLE: gettext_lazy("Never reachable"),
    PAUSED: gettext_lazy("Paused"),
    WITHDRAWN: gettext_lazy("Withdrawn"),
}
# The overview always has these; the others appear when a link is in them.
ALWAYS_SHOWN = frozenset({FOUND, NOTICE_SENT, WAITING, STILL_ONLINE, REMOVED})
# A recipient's answer that ends its part: the link stays online and the caseworker decides.
REFUSALS = [Notice.Outcome.REFUSED, Notice.Outcome.NOT_RESPONSIBLE]
LINKS_PER_PAGE = 50
EVENTS_PER_PAGE = 30


def person_date(value: datetime | None) -> str:
    """A date as people write it in the active language (27 November 2026 / 27. November 2026)."""
    if value is None:
        return ""
    # Translators: a date format for Django's date filter (German: "j. F Y").
    return formats.date_format(timezone.localtime(value), _("j F Y"))


def _visible_links(case: Case) -> Any:
    # Links a caseworker excluded (not the person's image, a duplicate) are not pursued.
    return case.links.exclude(status=FoundLink.Status.EXCLUDED)


def _sent_notice_links() -> Any:
    return NoticeLink.objects.filter(link=OuterRef("pk"), notice__status=Notice.Status.SENT)


def summary(case: Case) -> dict[str, int]:
    """How many links are in each plain-language state: one query, however many links."""
    now = timezone.now()
    rows = (
        _visible_links(case)
        .annotate(
            waiting=Exists(
                _sent_notice_links().filter(
                    Q(notice__due_at__gt=now) | Q(notice__extended_until__gt=now)
                )
            ),
            has_deadline=Exists(_sent_notice_links().filter(notice__due_at__isnull=False)),
            refused=Exists(_sent_notice_links().filter(notice__outcome__in=REFUSALS)),
        )
        .values("status", "last_verdict", "waiting", "has_deadline", "refused")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = dict.fromkeys(LABELS, 0)
    for row in rows:
        state = _state(
            case.status,
            row["status"],
            row["last_verdict"],
            waiting=row["waiting"],
            has_deadline=row["has_deadline"],
            refused=row["refused"],
        )
        counts[state] += row["n"]
    return counts


def _state(
    case_status: str,
    status: str,
    last_verdict: str,
    *,
    waiting: bool,
    has_deadline: bool,
    refused: bool,
) -> str:
    """One link's state as the person reads it. What the checks established comes first (a
    removal, an address that never answered), then what the case and the notices say: a
    withdrawn or paused case, a request still running, a refusal."""
    if status == FoundLink.Status.REMOVED:
        return REMOVED
    if status == FoundLink.Status.NEVER_REACHABLE:
        return NEVER_REACHABLE
    if case_status == Case.Status.WITHDRAWN:
        return WITHDRAWN
    if case_status == Case.Status.PAUSED:
        return PAUSED
    if status == FoundLink.Status.REAPPEARED:
        return STILL_ONLINE
    if status == FoundLink.Status.NOTIFIED:
        if waiting:
            return WAITING
        if refused:
            return REFUSED
        # The deadline passed: "still online" only if the last check saw the image there.
        if has_deadline and last_verdict in ONLINE_VERDICTS:
            return STILL_ONLINE
        return NOTICE_SENT
    return FOUND


@dataclass(frozen=True)
class LinkRow:
    pk: int
    host: str
    state: str
    label: str
    explanation: str
    deadline: datetime | None
    removed_at: datetime | None
    full_url: str  # only for the one link the person asked to see


def link_page(case: Case, page_number: Any, show: int | None = None) -> tuple[Page, list[LinkRow]]:
    """One page of the case's links with their state: two queries, whatever the page size."""
    links = _visible_links(case).select_related("host").order_by("host__hostname", "pk")
    page = Paginator(
        links.only("pk", "url", "status", "last_verdict", "removed_at", "host__hostname"),
        LINKS_PER_PAGE,
    ).get_page(page_number)
    ids = [link.pk for link in page.object_list]
    deadlines: dict[int, list[datetime]] = {}
    refused: set[int] = set()
    for link_id, due_at, extended, outcome in NoticeLink.objects.filter(
        link_id__in=ids, notice__status=Notice.Status.SENT, notice__case=case
    ).values_list("link_id", "notice__due_at", "notice__extended_until", "notice__outcome"):
        if outcome in REFUSALS:
            refused.add(link_id)
        deadline = extended or due_at
        if deadline is not None:
            deadlines.setdefault(link_id, []).append(deadline)
    now = timezone.now()
    rows = []
    for link in page.object_list:
        dues = deadlines.get(link.pk, [])
        future = [d for d in dues if d > now]
        state = _state(
            case.status,
            link.status,
            link.last_verdict,
            waiting=bool(future),
            has_deadline=bool(dues),
            refused=link.pk in refused,
        )
        deadline = min(future) if future else (max(dues) if dues else None)
        rows.append(
            LinkRow(
                pk=link.pk,
                host=link.host.display_name,
                state=state,
                label=str(LABELS[state]),
                explanation=explain(state, deadline, link.removed_at),
                deadline=deadline,
                removed_at=link.removed_at,
                full_url=link.url if show == link.pk else "",
            )
        )
    return page, rows


def explain(state: str, deadline: datetime | None, removed_at: datetime | None) -> str:
    """What happened and what happens next, for one link."""
    if state == REMOVED:
        if removed_at:
            return _("The image was removed from this address on %(date)s.") % {
                "date": person_date(removed_at)
            }
        return _("The image was removed from this address.")
    if state == WAITING:
        return _(
            "We asked the party responsible to remove it. They should respond by %(date)s. "
            "We check the address again after that."
        ) % {"date": person_date(deadline)}
    if state == STILL_ONLINE:
        return _(
            "The image is still online. Your caseworker will send a reminder or take the "
            "request further."
        )
    if state == NOTICE_SENT:
        return _("We sent a removal request. We are waiting for an answer.")
    if state == REFUSED:
        return _(
            "The party we asked refused to remove the image or said it is not responsible. "
            "Your caseworker decides on the next step."
        )
    if state == NEVER_REACHABLE:
        return _(
            "We could never reach the image at this address: it was already gone when we "
            "first checked. We do not count it as removed."
        )
    if state == PAUSED:
        return _("Your case is paused: we send no new requests about this image for now.")
    if state == WITHDRAWN:
        return _("You withdrew your case: we do not act on this image any more.")
    return _("We found this link. Your caseworker is preparing a removal request.")


def next_deadline(case: Case) -> datetime | None:
    """The earliest deadline still ahead among the case's sent notices."""
    now = timezone.now()
    dues = [
        extended or due
        for due, extended in case.notices.filter(status=Notice.Status.SENT).values_list(
            "due_at", "extended_until"
        )
        if (extended or due) is not None and (extended or due) > now
    ]
    return min(dues) if dues else None


def case_state_text(case: Case) -> str:
    if case.status == Case.Status.PAUSED:
        return _("Your case is paused. We do not send any new requests while it is paused.")
    if case.status == Case.Status.WITHDRAWN:
        return _("You withdrew your case. We do not act on it any more.")
    if case.status == Case.Status.CLOSED:
        return _("Your case is closed.")
    return _("Your case is open. We are working on it.")


# --- the timeline -------------------------------------------------------------------------------


def timeline(case: Case, page_number: Any) -> tuple[Page, list[tuple[datetime, str]]]:
    """The events marked visible to the person, newest first, in the active language."""
    events = (
        CaseEvent.objects.filter(case=case, visible_to_person=True)
        .select_related("notice__recipient")
        .only("at", "kind", "message", "data", "notice__recipient__name")
        .order_by("-at", "-pk")
    )
    page = Paginator(events, EVENTS_PER_PAGE).get_page(page_number)
    return page, [(event.at, person_message(event)) for event in page.object_list]


def person_message(event: CaseEvent) -> str:
    """The event's sentence in the active language. Events written by the pipeline are
    recognised by their kind and rendered from their data; anything else (a caseworker's own
    sentence, or an event stored before its data carried what the sentence needs) is shown as
    it was written. The stored English message stays what the staff timeline shows."""
    data = event.data or {}
    by_person = data.get("by") == "person"
    kind = event.kind
    if (sentence := _pipeline_sentence(event, kind, data)) is not None:
        return sentence
    if kind == "case.opened":
        return _("Your case was opened.")
    if kind == "links.imported" and isinstance(data.get("created"), int):
        count = data["created"]
        return ngettext(
            "%(count)s link was added to your case.",
            "%(count)s links were added to your case.",
            count,
        ) % {"count": count}
    if kind == "notice.sent_to_recipient" and event.notice_id and data.get("due_at"):
        due = parse_datetime(str(data["due_at"]))
        sentences = {
            "notice": _(
                "A removal request was sent to %(recipient)s. They are expected to respond "
                "by %(date)s."
            ),
            "reminder": _(
                "A reminder was sent to %(recipient)s, who had not answered our request. "
                "They are expected to respond by %(date)s."
            ),
            "escalation": _(
                "Because the images were not removed, a removal request was sent to "
                "%(recipient)s. They are expected to respond by %(date)s."
            ),
            "complaint": _(
                "A complaint was filed with %(recipient)s, the data-protection authority. "
                "Authorities usually report back within three months; we expect news by "
                "%(date)s."
            ),
        }
        sentence = sentences.get(str(data.get("kind", "notice")))
        if due is not None and sentence is not None:
            return sentence % {"recipient": event.notice.recipient.name, "date": person_date(due)}
    if kind == "mandate.uploaded":
        return _("Your signed authorisation was received.")
    if kind == "portal.message_sent":
        return _("You sent a message to your caseworker.")
    if kind == "portal.deletion_requested":
        return _("You asked for your data to be deleted. Your caseworker will contact you.")
    if by_person and kind == "case.paused":
        return _("You paused your case.")
    if by_person and kind == "case.open":
        return _("You resumed your case.")
    if by_person and kind == "case.withdrawn":
        return _("You withdrew your case.")
    return event.message


def _recipient(event: CaseEvent) -> str | None:
    return event.notice.recipient.name if event.notice_id and event.notice else None


def _date(value: Any) -> str | None:
    parsed = parse_datetime(str(value)) if value else None
    return person_date(parsed) if parsed is not None else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pipeline_sentence(event: CaseEvent, kind: str, data: dict[str, Any]) -> str | None:
    """Sentences of the escalation, the rechecks and the dataset comparison (takedown.checks,
    takedown.notices.clock); None when the event is not one of them or lacks its data."""
    recipient = _recipient(event)
    if kind == "foundlink.removed" and data.get("check") and data.get("host"):
        return _(
            "An image in your case is no longer online at %(host)s. "
            "Two checks in a row found it gone."
        ) % {"host": data["host"]}
    if kind == "foundlink.reappeared" and data.get("host"):
        return _(
            "An image that had been removed from %(host)s is online again. "
            "We are asking for its removal again."
        ) % {"host": data["host"]}
    if kind == "notice.overdue_for_person" and recipient and (date := _date(data.get("deadline"))):
        if data.get("kind") == Notice.Kind.REMINDER:
            sentence = _(
                "%(recipient)s did not answer our reminder by %(date)s. "
                "We are preparing the next step."
            )
        elif data.get("kind") == Notice.Kind.COMPLAINT:
            sentence = _(
                "%(recipient)s has not reported back by %(date)s. We are preparing a reminder."
            )
        else:
            sentence = _(
                "%(recipient)s did not respond by the deadline of %(date)s. "
                "We are preparing a reminder."
            )
        return sentence % {"recipient": recipient, "date": date}
    if kind == "notice.reply_for_person" and recipient:
        replies = {
            Notice.Outcome.NOT_RESPONSIBLE: _(
                "%(recipient)s told us it is not responsible for these images. "
                "We are turning to the next party."
            ),
            Notice.Outcome.REFUSED: _(
                "%(recipient)s refused to remove the images. We are preparing the next step."
            ),
            Notice.Outcome.COMPLIED: _(
                "%(recipient)s told us it has removed images. We are checking that they are gone."
            ),
        }
        replies[Notice.Outcome.PARTLY] = replies[Notice.Outcome.COMPLIED]
        if (reply := replies.get(data.get("outcome"))) is not None:
            return reply % {"recipient": recipient}
    if kind == "notice.outcome_for_person" and recipient and data.get("role"):
        dataset = data["role"] == RecipientRole.DATASET_MAINTAINER
        outcomes = {
            (Notice.Outcome.COMPLIED, True): _(
                "All the entries we reported to %(recipient)s are gone from its dataset."
            ),
            (Notice.Outcome.PARTLY, True): _(
                "Some of the entries we reported to %(recipient)s are gone from its dataset; "
                "we keep following up on the rest."
            ),
            (Notice.Outcome.COMPLIED, False): _(
                "All the images we reported to %(recipient)s are no longer online."
            ),
            (Notice.Outcome.PARTLY, False): _(
                "Some of the images we reported to %(recipient)s are no longer online; "
                "we keep following up on the rest."
            ),
        }
        if (outcome := outcomes.get((data.get("outcome"), dataset))) is not None:
            return outcome % {"recipient": recipient}
    if kind == "notice.deadline_extended" and recipient and (date := _date(data.get("until"))):
        return _(
            "%(recipient)s has extended its deadline to respond until %(date)s, as the law allows."
        ) % {"recipient": recipient, "date": date}
    if kind == "escalation.manual_for_person":
        return _(
            "The parties we wrote to have not removed all the images. Your caseworker will "
            "contact you about the legal steps that remain."
        )
    if kind == "case.closed" and data.get("automatic") is True:
        return _("All the images we reported have been removed. Your case is closed.")
    if kind == "case.closed" and data.get("automatic") is False:
        return _("Your caseworker has closed the case.")
    if kind == "case.open" and data.get("automatic") is True:
        return _(
            "An image that had been removed is online again. "
            "Your case has been reopened and we are following up."
        )
    gone, entries = _count(data.get("gone")), _count(data.get("entries"))
    if (
        kind == "dataset.release_for_person"
        and recipient
        and gone
        and entries
        and data.get("dataset")
    ):
        return ngettext(
            "The newest release of the dataset %(dataset)s no longer lists the entry we asked "
            "%(recipient)s to remove.",
            "The newest release of the dataset %(dataset)s no longer lists %(gone)s of the "
            "%(entries)s entries we asked %(recipient)s to remove.",
            entries,
        ) % {"dataset": data["dataset"], "gone": gone, "entries": entries, "recipient": recipient}
    if kind == "links.reference_hashes" and (updated := _count(data.get("updated"))) is not None:
        return ngettext(
            "Fingerprints of your images were added for %(count)s link, so we can recognise "
            "them. The images themselves were not shared with us.",
            "Fingerprints of your images were added for %(count)s links, so we can recognise "
            "them. The images themselves were not shared with us.",
            updated,
        ) % {"count": updated}
    return None


def support_links(case: Case, language: str) -> list[dict[str, str]]:
    """The support services for this case's organisation: the team's list, else the setting."""
    entries = (case.team.support_links if case.team else None) or settings.TAKEDOWN_SUPPORT_LINKS
    shown = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        if entry.get("language") and entry["language"] != language:
            continue
        url = str(entry.get("url", ""))
        shown.append(
            {
                "name": str(entry["name"]),
                # Only web addresses become links: a javascript: URL in the setting must not.
                "url": url if url.startswith(("https://", "http://")) else "",
                "phone": str(entry.get("phone", "")),
                "description": str(entry.get("description", "")),
            }
        )
    return shown
