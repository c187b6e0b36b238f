"""Retention and erasure of the affected person's data in the product's own database.

A case that ended (closed, or withdrawn by the person) keeps the person's data for its team's
`retention_months` (12 by default), so a reappearing image or a recipient's late answer can
still be dealt with. Then `erase_case` removes everything that identifies the person or their
images: their details, portal messages, portal links, signed mandates, the image URLs, captions
and dataset entry ids, the letters' edited texts and the recipients' replies. What remains is
anonymous statistics: which hosts and recipients were asked under which law, when, and whether
the links came down (takedown/stats.py reads nothing that is erased).

Two ways in, one function:
- the daily job (`erase_expired`, beat's "erase-expired"; `manage.py erase_expired`), for
  cases whose period has run out;
- a caseworker confirming the person's deletion request from the portal (GDPR Art. 17), at
  once, whatever the period.

A legal hold (Case.legal_hold, set by an admin with a reason: litigation, an investigation, an
authority's order; Art. 17(3)(e)) stops both. Erasure is idempotent (`erased_at` is claimed
with a conditional update, so two runs at once erase a case once) and its audit event holds
counts and ids only.
"""

from __future__ import annotations

import datetime as dt
from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from takedown.checks.outcomes import close
from takedown.errors import NotPossible
from takedown.models import (
    AffectedPerson,
    Case,
    CaseEvent,
    FoundLink,
    Import,
    LinkCheck,
    Mandate,
    Notice,
    PortalAccess,
    PortalMessage,
    Reply,
    ReplyAttachment,
)
from takedown.workflow import ACTIVE_CASE_STATUSES, record_event

ENDED_STATUSES = (Case.Status.CLOSED, Case.Status.WITHDRAWN)
DELETION_CLOSE_REASON = "The person asked for their data to be deleted."

# Hooks that erase data other modules keep about a case: each is called with the case inside
# erase_case's transaction and returns how many rows it erased, counted under its name.
# HOOK for inbound replies (issue 13, takedown/replies/, not merged when this was written): its
# Other stores of personal data register here (`@register_eraser("name")`); recipients' answers
# are erased by _erase_replies below.
ERASERS: dict[str, Callable[[Case], int]] = {}


def register_eraser(name: str) -> Callable[[Callable[[Case], int]], Callable[[Case], int]]:
    def decorator(function: Callable[[Case], int]) -> Callable[[Case], int]:
        ERASERS[name] = function
        return function

    return decorator


class ErasureRefused(NotPossible):
    """The case is under a legal hold, or still active for the retention job."""


@dataclass
class Erasure:
    case_id: int
    reference: str
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"case": self.reference, "erased": self.counts}


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day and time `months` calendar months earlier (the month's last day where the
    day does not exist: 31 March minus one month is 28 or 29 February)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def _ended_at() -> Coalesce:
    # Closing stores closed_at; a withdrawal is known from its status event only.
    withdrawn = CaseEvent.objects.filter(case=OuterRef("pk"), kind="case.withdrawn").order_by("-at")
    return Coalesce("closed_at", Subquery(withdrawn.values("at")[:1]))


def expired_cases(now: dt.datetime | None = None) -> QuerySet[Case]:
    """Ended cases, not erased, not held, whose team's retention period has run out."""
    now = now or timezone.now()
    cases = (
        Case.objects.filter(status__in=ENDED_STATUSES, erased_at__isnull=True, legal_hold=False)
        .select_related("team")
        .annotate(ended_at=_ended_at())
        .filter(ended_at__isnull=False)
    )
    # One cut-off per retention period in use (a handful: teams choose among few values).
    periods = {12} | set(cases.exclude(team=None).values_list("team__retention_months", flat=True))
    due = Q()
    for months in sorted(periods):
        cutoff = months_before(now, months)
        in_period = Q(team__retention_months=months)
        if months == 12:
            in_period |= Q(team__isnull=True)
        due |= in_period & Q(ended_at__lte=cutoff)
    return cases.filter(due).order_by("pk")


def erase_case(case: Case, *, actor: Any = None, reason: str) -> Erasure:
    """Erase the person's data from the case; the case stays as anonymous statistics.

    `reason` is "retention" or "deletion_request" (stored in the audit event, with counts).
    Raises ErasureRefused for a case under a legal hold. A case erased before is left alone
    (the counts are empty)."""
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.legal_hold:
            raise _held(locked)
        erasure = Erasure(case_id=locked.pk, reference=locked.reference)
        claimed = Case.objects.filter(pk=locked.pk, erased_at__isnull=True).update(
            erased_at=timezone.now()
        )
        if claimed != 1:
            return erasure
        counts = erasure.counts
        counts["person"] = AffectedPerson.objects.filter(case=locked).update(
            name="", email="", phone="", notes=""
        )
        counts["portal_messages"] = PortalMessage.objects.filter(case=locked).delete()[0]
        counts["portal_links"] = PortalAccess.objects.filter(case=locked).delete()[0]
        counts["mandates"] = Mandate.objects.filter(case=locked).delete()[0]
        links = FoundLink.objects.filter(case=locked)
        counts["links"] = links.update(
            url="",
            original_url="",
            entry_id="",
            caption="",
            extra=None,
            ref_sha256="",
            ref_phash="",
            ref_pdq="",
            # Nothing to fetch any more: the address is gone, and so is the reason to look.
            next_check_at=None,
        )
        counts["link_checks"] = LinkCheck.objects.filter(link__case=locked).update(
            final_url="", headers={}, error="", sha256="", phash="", pdq=""
        )
        counts["imports"] = Import.objects.filter(case=locked).update(source_name="")
        # The letters named the person and quoted recipients' answers; the fields that say
        # who was asked, under which law, when and with what outcome stay for the statistics.
        counts["notices"] = Notice.objects.filter(case=locked).update(
            body_text="", reply_text="", review_comment="", last_error=""
        )
        counts["replies"] = _erase_replies(locked)
        for name, eraser in ERASERS.items():
            counts[name] = eraser(locked)
        record_event(
            locked,
            "case.erased",
            actor=actor,
            message="The person's data was erased; the case remains as anonymous statistics.",
            data={"reason": reason, "counts": dict(counts)},
        )
    return erasure


def erase_on_request(case: Case, *, actor: Any) -> Erasure:
    """The person's deletion request, confirmed by a caseworker: an active case is closed
    first (nothing more can be sent in the name of someone whose details are gone), then
    erased at once, whatever its retention period. A legal hold refuses both."""
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.legal_hold:
            raise _held(locked)
        if locked.status in ACTIVE_CASE_STATUSES:
            close(locked, reason=DELETION_CLOSE_REASON, actor=actor, automatic=False)
        return erase_case(locked, actor=actor, reason="deletion_request")


def erase_expired(now: dt.datetime | None = None, *, dry_run: bool = False) -> list[Erasure]:
    """Erase every case whose retention period has run out (the daily job). With `dry_run`,
    the cases that would be erased, with nothing changed (counts empty)."""
    cases = list(expired_cases(now))
    if dry_run:
        return [Erasure(case_id=case.pk, reference=case.reference) for case in cases]
    done = []
    for case in cases:
        try:
            done.append(erase_case(case, reason="retention"))
        except ErasureRefused:
            # A hold placed between the query and the lock: the hold wins.
            continue
    return done


def _held(case: Case) -> ErasureRefused:
    return ErasureRefused(
        gettext(
            "Case %(reference)s is under a legal hold: its data cannot be erased until an admin "
            "lifts the hold."
        )
        % {"reference": case.reference}
    )


def set_legal_hold(case: Case, *, hold: bool, reason: str, actor: Any) -> None:
    """Place or lift a legal hold. Placing one needs a reason; both are audit events (the
    reason is the admin's words about the proceedings, kept internal)."""
    reason = (reason or "").strip()
    if hold and not reason:
        raise ErasureRefused(gettext("A legal hold needs a reason."))
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if hold and locked.erased_at is not None:
            raise ErasureRefused(
                gettext("Case %(reference)s was already erased.") % {"reference": locked.reference}
            )
        Case.objects.filter(pk=locked.pk).update(
            legal_hold=hold, legal_hold_reason=reason if hold else ""
        )
        record_event(
            locked,
            "case.legal_hold" if hold else "case.legal_hold_lifted",
            actor=actor,
            message="Legal hold placed." if hold else "Legal hold lifted.",
        )
    case.refresh_from_db(fields=["legal_hold", "legal_hold_reason"])


def _erase_replies(case: Case) -> int:
    """Recipients' answers quote the letters and may name the person or show the image: their
    texts, headers and attachments go, and so does the copy of each answer the audit trail
    keeps for complaints (the notice.reply event's text). Which notice an answer was about,
    its kind and when it came stay, for the statistics."""
    ReplyAttachment.objects.filter(reply__case=case).delete()
    erased = Reply.objects.filter(case=case).update(
        from_address="", subject="", text="", raw=b"", evidence={}, ticket=""
    )
    for event in CaseEvent.objects.filter(case=case, kind="notice.reply"):
        if event.data.get("text_sealed"):
            CaseEvent.objects.filter(pk=event.pk).update(data={**event.data, "text_sealed": ""})
    return erased
