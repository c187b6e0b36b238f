"""Deadlines passed, reminders, and the escalation ladder, until the image is gone.

    sent --deadline passes (mark_overdue)--> overdue --escalate_due--> reminder draft
    reminder sent --its deadline passes--> overdue --escalate_due--> next step of the ladder

The ladder (Case.escalation_ladder, DEFAULT_LADDER when empty) is an ordered list of steps:
site operator -> hosting provider -> CDN -> registrar -> complaint to the data-protection
authority of the controller's country -> a manual legal step (a task for the caseworker, not a
notice). Each link goes to the first later step that has a party for it (a link on a host
without a CDN skips the CDN). Every reminder, escalation and complaint is a draft that goes
through the same four-eyes review as a first notice. A reply "not responsible" or a refusal
moves the ladder on at once, without a reminder.

Every step is claimed with a conditional update on the notice (overdue_at, reminded_at,
escalated_at from null to now), so the daily job, a second worker or a repeated command never
take a step twice. Only open cases move: a paused case waits for the person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from takedown.checks.outcomes import (
    OPEN_LINK_STATUSES,
    UNSENT,
    cancel_unsent,
    close,
    lock_case,
    recompute_outcome,
)
from takedown.models import Case, FoundLink, Notice, Organisation
from takedown.models import RecipientRole as Role
from takedown.notices.clock import extend_deadline
from takedown.notices.generate import draft_follow_up
from takedown.resolve.jurisdiction import EU_EEA
from takedown.workflow import record_event

N, K = Notice.Status, Notice.Kind
Outcome = Notice.Outcome

MANUAL = "manual"
WEB_ROLES = (Role.SITE_OPERATOR, Role.HOSTING, Role.CDN, Role.REGISTRAR)
LADDER_STEPS: tuple[str, ...] = (*WEB_ROLES, Role.DPA, MANUAL)
DEFAULT_LADDER: list[str] = list(LADDER_STEPS)
# Where a party outside the ladder stands in it: a dataset maintainer is no web party, so
# after it come the complaint and the legal step.
_RANK = {step: rank for rank, step in enumerate(LADDER_STEPS)}
_RANK[Role.DATASET_MAINTAINER] = _RANK[Role.REGISTRAR]
# Which HostResolution field names the party of each web role.
_RESOLUTION_FIELDS = {
    Role.SITE_OPERATOR: ("platform", "operator"),
    Role.HOSTING: ("hosting",),
    Role.CDN: ("cdn",),
    Role.REGISTRAR: ("registrar",),
}
REPLY_OUTCOMES = (
    Outcome.PENDING,
    Outcome.COMPLIED,
    Outcome.PARTLY,
    Outcome.REFUSED,
    Outcome.NOT_RESPONSIBLE,
)
# Replies after which waiting and reminding achieve nothing.
MOVES_ON = (Outcome.REFUSED, Outcome.NOT_RESPONSIBLE)
STEP_KINDS = [K.NOTICE, K.ESCALATION, K.COMPLAINT]
# Reminders that never reached the recipient.
UNDELIVERED = [N.CANCELLED, N.FAILED, N.BOUNCED]


class EscalationError(ValueError):
    """A request the escalation cannot carry out; the message says why."""


# --- the ladder -------------------------------------------------------------------------------


def validate_ladder(roles: Any) -> list[str]:
    if not isinstance(roles, list | tuple) or not all(isinstance(r, str) for r in roles):
        raise EscalationError("the ladder must be a list of step names")
    steps = [role.strip() for role in roles]
    if not steps:
        raise EscalationError("the ladder needs at least one step")
    if unknown := [step for step in steps if step not in LADDER_STEPS]:
        raise EscalationError(
            f"unknown ladder step(s) {', '.join(map(repr, unknown))}: "
            f"choose from {', '.join(LADDER_STEPS)}"
        )
    if len(set(steps)) != len(steps):
        raise EscalationError("each ladder step may appear only once")
    if MANUAL in steps and steps[-1] != MANUAL:
        raise EscalationError(f"{MANUAL!r} ends the ladder: it must be the last step")
    return steps


def ladder_of(case: Case) -> list[str]:
    return list(case.escalation_ladder) or list(DEFAULT_LADDER)


def set_ladder(case: Case, roles: list[str], *, actor: Any) -> None:
    """Set the case's ladder (raises ValueError naming the bad step)."""
    steps = validate_ladder(roles)
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(escalation_ladder=steps)
        case.escalation_ladder = steps
        record_event(
            case,
            "case.ladder_changed",
            actor=actor,
            message="Escalation ladder: " + " -> ".join(steps),
            data={"ladder": steps},
        )


def steps_after(case: Case, role: str) -> list[str]:
    ladder = ladder_of(case)
    if role in ladder:
        return ladder[ladder.index(role) + 1 :]
    rank = _RANK.get(role, -1)
    return [step for step in ladder if _RANK[step] > rank]


# --- replies and closing ----------------------------------------------------------------------


def record_reply(
    notice: Notice,
    *,
    outcome: str,
    text: str,
    actor: Any,
    extension_until: dt.date | dt.datetime | None = None,
    received_at: dt.datetime | None = None,
    source: dict[str, Any] | None = None,
) -> None:
    """Record the recipient's answer, which reached us at `received_at` (default now); `source`
    names where it came from (an inbound e-mail: {"reply": id}) in the event. A reply
    to a reminder answers the request it reminds of, so it is recorded on both.
    "not_responsible" and "refused" move the ladder on at once; `extension_until` records a
    deadline extension (GDPR Art. 12(3)) with outcome "pending", which counts only if the
    answer came within the first period."""
    if outcome not in REPLY_OUTCOMES:
        raise EscalationError(
            f"unknown reply outcome {outcome!r}: choose from {', '.join(REPLY_OUTCOMES)}"
        )
    text = (text or "").strip()
    if not text:
        raise EscalationError("the reply text is required (what the recipient said)")
    if notice.status != N.SENT:
        raise EscalationError(
            f"notice {notice.pk} is {notice.status}: only a sent notice has replies"
        )
    if extension_until is not None and outcome != Outcome.PENDING:
        raise EscalationError("an extension comes with outcome 'pending' (the answer is still due)")
    step = notice.parent if notice.kind == K.REMINDER and notice.parent else notice
    now = received_at or timezone.now()
    if now > timezone.now():
        raise EscalationError("the reply cannot have arrived in the future")
    with transaction.atomic():
        lock_case(step.case_id)  # before any notice row: see lock_case
        if extension_until is not None:
            extend_deadline(step, extension_until, actor=actor, announced_at=now)
        for target in {step.pk: step, notice.pk: notice}.values():
            Notice.objects.filter(pk=target.pk).update(
                reply_text=text, replied_at=now, reply_outcome=outcome
            )
            target.reply_text, target.replied_at, target.reply_outcome = text, now, outcome
        record_event(
            step.case,
            "notice.reply",
            actor=actor,
            message=f"Reply from {step.recipient.name} recorded: {Outcome(outcome).label}.",
            data={"notice": step.pk, "via": notice.pk, "outcome": outcome, **(source or {})},
            notice=step,
        )
        if message := _reply_message(step, outcome):
            record_event(
                step.case,
                "notice.reply_for_person",
                actor=actor,
                visible_to_person=True,
                message=message,
                data={"notice": step.pk, "outcome": outcome},
                notice=step,
            )
        for target in {step.pk: step, notice.pk: notice}.values():
            recompute_outcome(target, actor=actor)
        if outcome in MOVES_ON:
            cancel_unsent(
                step.follow_ups.filter(kind=K.REMINDER, status__in=UNSENT),
                actor=actor,
                message="The recipient answered: no reminder needed.",
            )
            if step.case.status == Case.Status.OPEN:
                advance(step, actor=actor)


def _reply_message(notice: Notice, outcome: str) -> str:
    name = notice.recipient.name
    if outcome == Outcome.NOT_RESPONSIBLE:
        return (
            f"{name} told us it is not responsible for these images. "
            "We are turning to the next party."
        )
    if outcome == Outcome.REFUSED:
        return f"{name} refused to remove the images. We are preparing the next step."
    if outcome in (Outcome.COMPLIED, Outcome.PARTLY):
        return f"{name} told us it has removed images. We are checking that they are gone."
    return ""


def close_case(case: Case, *, reason: str, actor: Any) -> None:
    """Close the case by a caseworker's decision; unsent notices are cancelled."""
    reason = (reason or "").strip()
    if not reason:
        raise EscalationError("closing a case needs a reason")
    case = Case.objects.get(pk=case.pk)
    if case.status not in (Case.Status.OPEN, Case.Status.PAUSED):
        raise EscalationError(f"case {case.reference} is {case.status}: it cannot be closed")
    close(
        case,
        reason=reason,
        actor=actor,
        automatic=False,
        message="Your caseworker has closed the case.",
    )


# --- the daily job ----------------------------------------------------------------------------


def mark_overdue(now: dt.datetime | None = None) -> int:
    """Mark the sent notices whose (possibly extended) deadline has passed; returns how many."""
    now = now or timezone.now()
    due = (
        Notice.objects.filter(status=N.SENT, overdue_at__isnull=True, case__status=Case.Status.OPEN)
        .exclude(outcome=Outcome.COMPLIED)
        .exclude(reply_outcome__in=MOVES_ON)
        .annotate(deadline=Coalesce("extended_until", "due_at"))
        .filter(deadline__lte=now)
        .select_related("case", "recipient")
    )
    marked = 0
    for notice in due:
        with transaction.atomic():
            if not Notice.objects.filter(pk=notice.pk, overdue_at__isnull=True).update(
                overdue_at=now
            ):
                continue  # another run marked it first
            notice.overdue_at = now
            marked += 1
            deadline = timezone.localtime(notice.extended_until or notice.due_at)
            record_event(
                notice.case,
                "notice.overdue",
                message=f"No response by the deadline {deadline:%Y-%m-%d %H:%M}.",
                data={"notice": notice.pk, "deadline": deadline.isoformat()},
                notice=notice,
            )
            record_event(
                notice.case,
                "notice.overdue_for_person",
                visible_to_person=True,
                message=_overdue_message(notice, deadline),
                # What the portal renders the sentence from, in the person's language.
                data={"notice": notice.pk, "kind": notice.kind, "deadline": deadline.isoformat()},
                notice=notice,
            )
            recompute_outcome(notice)
    return marked


def _overdue_message(notice: Notice, deadline: dt.datetime) -> str:
    name, by = notice.recipient.name, f"{deadline:%d %B %Y}"
    if notice.kind == K.REMINDER:
        return f"{name} did not answer our reminder by {by}. We are preparing the next step."
    if notice.kind == K.COMPLAINT:
        return f"{name} has not reported back by {by}. We are preparing a reminder."
    return f"{name} did not respond by the deadline of {by}. We are preparing a reminder."


def escalate_due(now: dt.datetime | None = None) -> int:
    """Draft the reminders and ladder steps that are due; returns the drafts created."""
    now = now or timezone.now()
    drafts = 0
    running = Q(case__status=Case.Status.OPEN, status=N.SENT, escalated_at__isnull=True) & ~Q(
        outcome=Outcome.COMPLIED
    )
    for notice in Notice.objects.filter(
        running, kind__in=STEP_KINDS, overdue_at__isnull=False, reminded_at__isnull=True
    ).exclude(reply_outcome__in=MOVES_ON):
        drafts += remind(notice, now=now)
    # A step moves on when its reminder went unanswered, when no reminder reached the
    # recipient (the caseworker cancelled it, or it failed or bounced), or after a reply that
    # moves on.
    unanswered = Q(
        follow_ups__kind=K.REMINDER,
        follow_ups__status=N.SENT,
        follow_ups__overdue_at__isnull=False,
    )
    steps = Notice.objects.filter(running, kind__in=STEP_KINDS).filter(
        unanswered | Q(reply_outcome__in=MOVES_ON) | Q(reminded_at__isnull=False)
    )
    for notice in steps.distinct():
        reminders = notice.follow_ups.filter(kind=K.REMINDER)
        answered_late = reminders.filter(status=N.SENT, overdue_at__isnull=False).exists()
        # An undeliverable reminder counts like a cancelled one: the deadline the law set
        # has already passed without an answer, a reminder is a courtesy the recipient is not
        # owed, and waiting for one that never arrives would stall the ladder for good. The
        # next step is still only a draft: a caseworker who would rather fix the address and
        # resend (failed/bounced -> draft) cancels it in review.
        skipped = (
            notice.overdue_at is not None
            and reminders.exists()
            and not reminders.exclude(status__in=UNDELIVERED).exists()
        )
        if answered_late or skipped or notice.reply_outcome in MOVES_ON:
            drafts += advance(notice, now=now)
    return drafts


def remind(notice: Notice, *, now: dt.datetime | None = None, actor: Any = None) -> int:
    """Draft the reminder of an overdue notice (once); returns 1 when one was drafted."""
    now = now or timezone.now()
    with transaction.atomic():
        if not Notice.objects.filter(pk=notice.pk, reminded_at__isnull=True).update(
            reminded_at=now
        ):
            return 0
        notice.reminded_at = now
        links = _open_links(notice)
        if not links:
            return 0
        draft_follow_up(
            notice,
            kind=K.REMINDER,
            organisation=notice.recipient,
            role=notice.recipient_role,
            links=links,
            actor=actor,
        )
    return 1


def _open_links(notice: Notice) -> list[FoundLink]:
    return list(
        notice.links.filter(case_id=notice.case_id, status__in=OPEN_LINK_STATUSES)
        .select_related("host__current")
        .order_by("pk")
    )


@dataclass
class _Plan:
    drafts: list[Notice] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def advance(notice: Notice, *, now: dt.datetime | None = None, actor: Any = None) -> int:
    """Take the next step of the ladder after `notice` (once); returns the drafts created."""
    now = now or timezone.now()
    with transaction.atomic():
        # Two notices of one case can move on at once (the daily job, a reply recorded on the
        # web, the escalate command): each claims only its own notice, so both would read
        # _addressed() before either committed and draft the same step to the same party.
        # The case row serialises them, taken before the notice's claim (see lock_case).
        # SQLite ignores FOR UPDATE, but there every transaction begins IMMEDIATE (settings),
        # which already lets one writer in at a time from start to commit.
        case = lock_case(notice.case_id)
        if not Notice.objects.filter(pk=notice.pk, escalated_at__isnull=True).update(
            escalated_at=now
        ):
            return 0
        notice.escalated_at = now
        remaining = _open_links(notice)
        plan = _Plan()
        for step in steps_after(case, notice.recipient_role) if remaining else []:
            if step in WEB_ROLES:
                remaining = _escalate_to_parties(notice, step, remaining, plan, actor)
            elif step == Role.DPA:
                if _complain(notice, remaining, plan, actor):
                    remaining = []
            else:
                _manual_step(notice, remaining, actor, reason="ladder")
                remaining = []
            if not remaining:
                break
        if remaining:
            # The ladder ran out with links still online: a person decides what now.
            _manual_step(notice, remaining, actor, reason="ladder exhausted")
        record_event(
            case,
            "escalation.step",
            actor=actor,
            message=(
                f"Escalated notice {notice.pk}: {len(plan.drafts)} draft(s)"
                + (f"; no party for {', '.join(plan.skipped)}" if plan.skipped else "")
            ),
            data={
                "notice": notice.pk,
                "drafts": [draft.pk for draft in plan.drafts],
                "skipped": plan.skipped,
            },
            notice=notice,
        )
    return len(plan.drafts)


def _addressed(case: Case) -> set[tuple[int, int]]:
    """(organisation, link) pairs some request of this case already went or goes to."""
    return set(
        Notice.objects.filter(case=case, kind__in=[K.NOTICE, K.ESCALATION])
        .exclude(status__in=[N.CANCELLED, N.FAILED, N.BOUNCED])
        .values_list("recipient_id", "links")
    )


def _escalate_to_parties(
    notice: Notice, role: str, links: list[FoundLink], plan: _Plan, actor: Any
) -> list[FoundLink]:
    """Draft one escalation per party of `role` for the links that have one; return the rest."""
    addressed = _addressed(notice.case)
    grouped: dict[int, tuple[Organisation, list[FoundLink]]] = {}
    rest = []
    for link in links:
        party = _party(link, role)
        if party is None or (party.pk, link.pk) in addressed:
            rest.append(link)
        else:
            grouped.setdefault(party.pk, (party, []))[1].append(link)
    if not grouped:
        plan.skipped.append(role)
    for organisation, party_links in grouped.values():
        plan.drafts.append(
            draft_follow_up(
                notice,
                kind=K.ESCALATION,
                organisation=organisation,
                role=role,
                links=party_links,
                actor=actor,
            )
        )
    return rest


def _party(link: FoundLink, role: str) -> Organisation | None:
    resolution = link.host.current
    if resolution is None:
        return None
    for name in _RESOLUTION_FIELDS[role]:
        organisation = getattr(resolution, name)
        if organisation is not None:
            return organisation
    return None


def _root(notice: Notice) -> Notice:
    """The first request of the chain: the controller a complaint is about."""
    seen = {notice.pk}
    while notice.parent_id and notice.parent_id not in seen:
        notice = notice.parent  # type: ignore[assignment]
        seen.add(notice.pk)
    return notice


def authority_for(country: str) -> Organisation | None:
    """The data-protection authority that supervises private bodies in `country`: one whose
    territory is exactly the country, a general one before one with a limited competence."""
    country = (country or "").upper()
    if not country:
        return None
    candidates = [
        org
        for org in Organisation.objects.filter(kind=Organisation.Kind.DPA).order_by("pk")
        if country in [str(code).upper() for code in org.supervises or []]
    ]
    candidates.sort(key=lambda org: "Competence:" in (org.notes or ""))
    return candidates[0] if candidates else None


def complaint_regime(country: str) -> str | None:
    if country == "GB":
        return "uk_gdpr"
    return "gdpr" if country in EU_EEA else None


def _complain(notice: Notice, links: list[FoundLink], plan: _Plan, actor: Any) -> bool:
    """Draft a complaint about the chain's controller to the authority of its country, or of
    the person's country (GDPR Art. 77(1) lets the person choose either)."""
    controller = _root(notice)
    person_country = getattr(getattr(notice.case, "person", None), "country", "") or ""
    for country in dict.fromkeys([controller.recipient.country.upper(), person_country.upper()]):
        authority = authority_for(country)
        regime = complaint_regime(country)
        if authority is None or regime is None:
            continue
        plan.drafts.append(
            draft_follow_up(
                controller,
                kind=K.COMPLAINT,
                organisation=authority,
                role=Role.DPA,
                links=links,
                regime_code=regime,
                actor=actor,
            )
        )
        # The complaint hangs off the controller's request (its text cites that request);
        # the step it continues is recorded here so the chain can be followed.
        record_event(
            notice.case,
            "escalation.complaint",
            actor=actor,
            data={"notice": notice.pk, "complaint": plan.drafts[-1].pk, "country": country},
            notice=plan.drafts[-1],
        )
        return True
    plan.skipped.append(Role.DPA)
    return False


def _manual_step(notice: Notice, links: list[FoundLink], actor: Any, *, reason: str) -> None:
    """The caseworker's task: legal steps no notice covers (court, police, a lawyer)."""
    record_event(
        notice.case,
        "task.manual_legal_step",
        actor=actor,
        message=(
            f"Manual legal step needed: {len(links)} link(s) still online after notice "
            f"{notice.pk} to {notice.recipient.name}. Consider a criminal complaint, a civil "
            "injunction or a lawyer."
        ),
        data={"notice": notice.pk, "links": [link.pk for link in links], "reason": reason},
        notice=notice,
    )
    record_event(
        notice.case,
        "escalation.manual_for_person",
        actor=actor,
        visible_to_person=True,
        message=(
            "The parties we wrote to have not removed all the images. Your caseworker will "
            "contact you about the legal steps that remain."
        ),
        data={"notice": notice.pk},
        notice=notice,
    )
