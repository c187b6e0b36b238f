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
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from takedown import tallies
from takedown.complaint_period import deadline_of, needs_date
from takedown.events import event_sentence, person_date
from takedown.models import Case, CaseEvent, CaseTally, FoundLink, Notice, NoticeLink
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
REFUSALS = tallies.REFUSALS
LINKS_PER_PAGE = 50
EVENTS_PER_PAGE = 30


def _visible_links(case: Case) -> Any:
    # Links a caseworker excluded (not the person's image, a duplicate) are not pursued.
    return case.links.exclude(status=FoundLink.Status.EXCLUDED)


def summary(case: Case, tally: CaseTally | None = None) -> dict[str, int]:
    """How many links are in each plain-language state: one query, however many links, or
    none from a large case's last count (`tally`, takedown.tallies)."""
    rows = tally.states if tally else tallies.link_states(_visible_links(case), timezone.now())
    counts = dict.fromkeys(LABELS, 0)
    for row in tallies.visible_states(rows):
        state = _state(
            case.status,
            row["status"],
            row["last_verdict"],
            waiting=row["waiting"],
            has_deadline=row["has_deadline"],
            refused=row["refused"],
        )
        counts[state] += row["links"]
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


def link_page(
    case: Case, page_number: Any, show: int | None = None, tally: CaseTally | None = None
) -> tuple[Page, list[LinkRow]]:
    """One page of the case's links with their state: three queries, whatever the page size
    (two when a large case's last count gives the paginator its number of links).

    The links of a site are together (issue 14: the page groups them by site), in the order of
    the link_case_party index (responsible party, host, id), so that a page reads the index up
    to its rows instead of sorting every link of the case by host name. The paginator pages
    the ids alone and the page's rows are then loaded with their hosts: a far page skips index
    entries, not rows joined to their hosts (7.2 s for the last page of a million links)."""
    ordered = _visible_links(case).order_by(F("party").asc(nulls_last=True), "host", "pk")
    paginator = Paginator(ordered.values_list("pk", flat=True), LINKS_PER_PAGE)
    if tally is not None:
        # Paginator.count is a cached property: the stored number stands in for the COUNT.
        paginator.count = sum(row["links"] for row in tallies.visible_states(tally.states))
    page = paginator.get_page(page_number)
    ids = list(page.object_list)
    found = (
        FoundLink.objects.filter(case=case, pk__in=ids)
        .select_related("host")
        .only("pk", "url", "status", "last_verdict", "removed_at", "host__hostname")
    )
    by_id = {link.pk: link for link in found}
    links = [by_id[pk] for pk in ids if pk in by_id]
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
    for link in links:
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
        when
        for due, extended in case.notices.filter(status=Notice.Status.SENT).values_list(
            "due_at", "extended_until"
        )
        if (when := extended or due) is not None and when > now
    ]
    return min(dues) if dues else None


# --- the timeline -------------------------------------------------------------------------------


def timeline(case: Case, page_number: Any) -> tuple[Page, list[tuple[datetime, str]]]:
    """The events marked visible to the person, newest first, in the active language."""
    events = (
        CaseEvent.objects.filter(case=case, visible_to_person=True)
        .select_related("notice__recipient")
        .only("at", "kind", "message", "sentence", "params", "notice__recipient__name")
        .order_by("-at", "-pk")
    )
    page = Paginator(events, EVENTS_PER_PAGE).get_page(page_number)
    return page, [(event.at, event_sentence(event)) for event in page.object_list]


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


def complaint_deadline(case: Case) -> tuple[str, bool]:
    """StGB §77b in plain words, independent of any notice: (the sentence, whether the person
    is asked for the day they learned of the images). ("", False) where German criminal law is
    not in view."""
    deadline = deadline_of(case)
    if deadline is None:
        if needs_date(case):
            return (
                _(
                    "In Germany, a criminal complaint against whoever shared your images must "
                    "be made within three months of the day you learned of them. Tell us when "
                    "that was, so we can remind you in time."
                ),
                True,
            )
        return "", False
    ends = deadline.ends
    if deadline.passed(timezone.localdate()):
        return (
            _(
                "The three months for a criminal complaint in Germany, counted from the day you "
                "told us you learned of the images, ended on %(date)s. If you learned only later "
                "who shared them, a complaint may still be possible: please ask your caseworker."
            )
            % {"date": person_date(ends)},
            False,
        )
    return (
        _(
            "If you want whoever shared your images to be prosecuted in Germany, a criminal "
            "complaint (Strafantrag) must reach the police or the public prosecutor by "
            "%(date)s. After that day it is too late. This deadline does not depend on our "
            "requests to websites. Your caseworker can tell you how to make the complaint."
        )
        % {"date": person_date(ends)},
        False,
    )
