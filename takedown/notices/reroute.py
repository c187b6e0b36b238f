"""Before a notice leaves: resolve its hosts again and take out the links whose party moved.

A notice is approved, queued, and sent minutes or days later. A host may have moved meanwhile
(a new hosting provider, a new domain holder, a caseworker's decision). `refresh_parties`,
called by send_notice just before its claim, resolves again every host of the notice whose
resolution is older than TAKEDOWN_RESOLVE_MAX_AGE_HOURS (default 24), takes the links whose
party in the notice's role is no longer the notice's recipient out of the notice, and re-routes
them: a new draft for the new party, which goes through the four-eyes review like any other.
The notice goes out with the rest, or is cancelled when nothing is left.

Why this keeps send.py's guarantees (never sent twice, never lost):

- It runs before the claim (queued -> sending), only on a notice's first attempt (attempts == 0
  and no sent-log row). Once a message may have been handed to a mail server its content is
  fixed: a retry sends exactly what the first attempt sent (or tried to), so no address gets a
  different letter from another, and the sent log's Message-ID stays one message.
- It is safe to repeat. Re-resolution claims each host with resolution's own conditional claim
  (a host another worker is resolving is skipped; its current snapshot is used). Taking links
  out is one transaction that takes the case lock first (checks.outcomes.lock_case, the order
  every notice-changing step uses), re-reads the notice under lock, and acts only while it is
  still QUEUED with attempts == 0: a second worker given the same notice finds the links
  already gone and does nothing; then both race for the claim in send_notice, and one wins.
- Links are never lost: a link moves only when another organisation is now named for it in
  the notice's role (finding nobody is no evidence: a failed lookup keeps the last good
  snapshot), and in the same transaction generate_notices (or, for an escalation, a follow-up
  draft) puts it into a draft for that party. The event on the notice names the links it lost.

Why removing links needs no new review: the reviewer approved this letter to this recipient for
each of its links. The letter's text (the regime, the recipient, the legal grounds, the
reviewer's edits) is unchanged; only the URL table, which is generated from the notice's links
at send time, loses rows. Every statement the reviewer approved stays true of a subset, and
nothing the reviewer did not see is added. Adding links, or a new recipient, always goes
through review: the moved links go into a new draft, never into an approved notice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from takedown.checks.outcomes import lock_case
from takedown.models import CaseEvent, FoundLink, Host, Notice
from takedown.models import RecipientRole as Role
from takedown.notices.generate import draft_follow_up, generate_notices
from takedown.notices.render import store_element_check
from takedown.resolve.decisions import load_decisions, responsible_party
from takedown.resolve.hosts import resolve_batch
from takedown.workflow import OPEN_LINK_STATUSES, record_event, transition

log = logging.getLogger(__name__)

# Roles whose party follows from the host (a dataset's maintainer and a DPA do not).
HOST_ROLES = frozenset({Role.SITE_OPERATOR, Role.HOSTING, Role.CDN, Role.REGISTRAR})
# Reminders refer to a letter already sent to their recipient; complaints are about the
# controller a request went to. Only first notices and escalations are re-routed.
REROUTED_KINDS = frozenset({Notice.Kind.NOTICE, Notice.Kind.ESCALATION})


def stale_hosts(notice: Notice, *, now: Any = None) -> list[int]:
    """The notice's hosts whose last resolution is older than the maximum age. A host never
    resolved has no party to compare with: its notice's recipient came from elsewhere (a
    caseworker's decision), and resolving it now would not tell whether anything moved."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.TAKEDOWN_RESOLVE_MAX_AGE_HOURS)
    return list(
        Host.objects.filter(links__notices=notice, resolved_at__lt=cutoff)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def refresh_parties(notice: Notice) -> str:
    """Resolve the notice's stale hosts again and re-route links whose party moved. Returns
    "unchanged", "rerouted" (some links left, the rest goes out) or "cancelled"."""
    if not _first_attempt(notice) or notice.kind not in REROUTED_KINDS:
        return "unchanged"
    if notice.recipient_role not in HOST_ROLES:
        return "unchanged"
    stale = stale_hosts(notice)
    if stale:
        # refresh: the cached registry answers are as old as the resolution; a move shows
        # only in a fresh answer.
        resolve_batch(stale, refresh=True)
    return _take_out_moved_links(notice.pk)


def _first_attempt(notice: Notice) -> bool:
    return (
        notice.attempts == 0
        and not CaseEvent.objects.filter(notice=notice, kind__startswith="mail.").exists()
    )


def _take_out_moved_links(notice_id: int) -> str:
    with transaction.atomic():
        case_id = Notice.objects.values_list("case_id", flat=True).get(pk=notice_id)
        case = lock_case(case_id)
        notice = Notice.objects.select_for_update().select_related("recipient").get(pk=notice_id)
        if notice.status != Notice.Status.QUEUED or not _first_attempt(notice):
            return "unchanged"
        links = list(
            notice.links.filter(status__in=OPEN_LINK_STATUSES)
            .select_related("host__current")
            .order_by("pk")
        )
        decisions = load_decisions(case)
        moved: dict[int, list[FoundLink]] = {}
        for link in links:
            # Only another named party is a move: finding nobody in the role (a failed lookup
            # keeps the last good snapshot anyway) is no evidence that the recipient is wrong.
            party = responsible_party(link, notice.recipient_role, decisions)
            if party is not None and party.pk != notice.recipient_id:
                moved.setdefault(party.pk, []).append(link)
        if not moved:
            return "unchanged"
        gone = [link for group in moved.values() for link in group]
        left = len(links) - len(gone)
        # Resolution flagged the notice for rerouting when the party changed: done here.
        Notice.objects.filter(pk=notice.pk).update(needs_reroute=False)
        if left:
            notice.links.remove(*gone)
        # else the cancelled notice keeps its links as the record of what it was for.
        hosts = sorted({link.host.hostname for link in gone})
        record_event(
            case,
            "notice.links_rerouted",
            message=(
                f"Before sending: the responsible party of {len(gone)} link(s) on"
                f" {', '.join(hosts)} is no longer {notice.recipient.name}; they were taken"
                " out of this notice and go into a new draft for review."
            ),
            data={"links": [link.pk for link in gone], "hosts": hosts, "left": left},
            notice=notice,
        )
        if left == 0:
            transition(
                notice,
                Notice.Status.CANCELLED,
                message="Cancelled before sending: every link moved to another party.",
            )
        else:
            store_element_check(notice)
        _reroute(notice, moved)
    log.info("notice %s: %d links moved before sending, %d left", notice_id, len(gone), left)
    return "cancelled" if left == 0 else "rerouted"


def _reroute(notice: Notice, moved: dict[int, list[FoundLink]]) -> None:
    """New drafts for the links' new parties (through review like any draft)."""
    if notice.kind == Notice.Kind.NOTICE:
        generate_notices(notice.case)
        return
    decisions = load_decisions(notice.case_id)
    parent = notice.parent or notice
    for links in moved.values():
        organisation = responsible_party(links[0], notice.recipient_role, decisions)
        draft_follow_up(
            parent,
            kind=notice.kind,
            organisation=organisation,
            role=notice.recipient_role,
            links=links,
        )
