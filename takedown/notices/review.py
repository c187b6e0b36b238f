"""Four-eyes review: draft -> in review -> approved by a different user with the reviewer
permission; a rejection returns the draft with the reviewer's comment; editing an approved
notice withdraws the approval. Every step is a timeline event (internal: the affected person
sees that a notice was sent, not the review)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from takedown.errors import NotPossible
from takedown.models import Notice
from takedown.notices.regimes import IDENTITY, get_regime, regime_title
from takedown.notices.render import (
    finding_label,
    store_element_check,
    with_due_placeholder,
)
from takedown.workflow import ConcurrentChange, record_event, transition

REVIEW_PERMISSION = "takedown.review_notice"


class ReviewError(NotPossible):
    """The step is refused; the message says why, in words for the person who asked."""


def submit_for_review(notice: Notice, actor: Any) -> None:
    """draft -> in review, for a complete draft only: a reviewer's time goes to letters that
    could be sent. The one element a reviewer supplies, the confirmed disclosure of the
    person's name (DMCA), is left to the approval."""
    missing = store_element_check(notice)
    regime = get_regime(notice.regime)
    blocking = [
        label
        for label in missing
        if not (
            label == IDENTITY.label
            and regime.discloses_person
            and notice.disclosure_confirmed_by_id is None
        )
    ]
    if blocking:
        raise ReviewError(
            gettext("cannot submit for review: missing %(missing)s")
            % {"missing": "; ".join(finding_label(label) for label in blocking)}
        )
    transition(
        notice,
        Notice.Status.IN_REVIEW,
        actor=actor,
        message="Submitted for review.",
        data={"missing": missing},
    )


def approve(notice: Notice, reviewer: Any, *, confirm_disclosure: bool = False) -> None:
    if notice.status != Notice.Status.IN_REVIEW:
        raise ReviewError(
            gettext("the notice is no longer in review (it is “%(status)s”)")
            % {"status": notice.get_status_display()}
        )
    _require_reviewer(reviewer, "approve")
    author, submitter = notice.created_by_id, _submitter_id(notice)
    if author is None and submitter is None:
        # Without a recorded author, "someone else" cannot be checked: four eyes need two names.
        raise ReviewError(gettext("the notice has no recorded author: its author must submit it"))
    if reviewer.pk in {author, submitter}:
        raise ReviewError(gettext("a notice must be approved by someone other than its author"))
    if notice.needs_reroute:
        raise ReviewError(
            gettext("the responsible party changed: generate the notices again first")
        )
    regime = get_regime(notice.regime)
    if regime.discloses_person and not notice.disclosure_confirmed_by_id:
        if not confirm_disclosure:
            raise ReviewError(
                gettext(
                    "%(regime)s requires naming the affected person: confirm the disclosure "
                    "explicitly to approve"
                )
                % {"regime": regime_title(regime)}
            )
        with transaction.atomic():
            Notice.objects.filter(pk=notice.pk).update(
                discloses_person=True, disclosure_confirmed_by=reviewer
            )
            notice.discloses_person, notice.disclosure_confirmed_by = True, reviewer
            record_event(
                notice.case,
                "notice.disclosure_confirmed",
                actor=reviewer,
                message="The reviewer confirmed that this notice names the affected person.",
                notice=notice,
            )
    missing = store_element_check(notice)
    if missing:
        raise ReviewError(
            gettext("cannot approve: missing %(missing)s")
            % {"missing": "; ".join(finding_label(label) for label in missing)}
        )
    transition(
        notice,
        Notice.Status.APPROVED,
        actor=reviewer,
        message="Approved.",
        fields={"approved_by": reviewer, "approved_at": timezone.now(), "review_comment": ""},
    )


def reject(notice: Notice, reviewer: Any, comment: str) -> None:
    if not comment.strip():
        raise ReviewError(gettext("a rejection needs a comment for the author"))
    _require_reviewer(reviewer, "reject")
    transition(
        notice,
        Notice.Status.DRAFT,
        actor=reviewer,
        message="Returned to the author.",
        fields={"review_comment": comment.strip()},
        data={"comment": comment.strip()},
    )


def edit(
    notice: Notice, actor: Any, *, subject: str | None = None, body_text: str | None = None
) -> None:
    """Change the text. A notice in review or approved goes back to draft: what a reviewer
    approved is exactly what is sent. The due date the edited text states is kept as a
    placeholder, so the letter states the date its clock tracks when it goes out."""
    if body_text is not None:
        body_text = with_due_placeholder(notice, body_text)
    changes = {
        name: value
        for name, value in (("subject", subject), ("body_text", body_text))
        if value is not None
    }
    with transaction.atomic():
        if notice.status in (Notice.Status.IN_REVIEW, Notice.Status.APPROVED):
            transition(
                notice,
                Notice.Status.DRAFT,
                actor=actor,
                message="Edited: the approval was withdrawn.",
                fields={
                    **changes,
                    "approved_by": None,
                    "approved_at": None,
                    # A confirmation covered the text the reviewer saw, not this one.
                    "discloses_person": False,
                    "disclosure_confirmed_by": None,
                },
            )
        elif notice.status == Notice.Status.DRAFT:
            saved = Notice.objects.filter(pk=notice.pk, status=Notice.Status.DRAFT).update(
                **changes, discloses_person=False, disclosure_confirmed_by=None
            )
            if saved != 1:
                raise ConcurrentChange(
                    gettext("notice %(id)s is no longer a draft: someone changed it meanwhile")
                    % {"id": notice.pk}
                )
            for name, value in changes.items():
                setattr(notice, name, value)
            record_event(notice.case, "notice.edited", actor=actor, notice=notice)
        else:
            raise ReviewError(
                gettext("notice %(id)s is “%(status)s”: it can no longer be edited")
                % {"id": notice.pk, "status": notice.get_status_display()}
            )
        store_element_check(notice)


def _require_reviewer(user: Any, step: str) -> None:
    if not user.has_perm(REVIEW_PERMISSION):
        # Whole sentences per step: translators need them.
        if step == "approve":
            message = gettext("%(user)s may not approve notices (no reviewer permission)")
        else:
            message = gettext("%(user)s may not reject notices (no reviewer permission)")
        raise ReviewError(message % {"user": user})


def _submitter_id(notice: Notice) -> int | None:
    event = (
        notice.case.events.filter(notice=notice, kind="notice.in_review").order_by("-at").first()
    )
    return event.actor_id if event else None
