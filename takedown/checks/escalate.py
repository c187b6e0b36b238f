"""Deadlines passed, reminders, and the escalation ladder, until the image is gone.

    sent --deadline passes (mark_overdue)--> overdue --escalate_due--> reminder draft
    reminder sent --its deadline passes--> overdue --escalate_due--> next step of the ladder

The ladder (Case.escalation_ladder, DEFAULT_LADDER when empty) is an ordered list of steps:
site operator -> hosting provider -> CDN -> registrar -> complaint to the competent
data-protection authority -> a manual legal step (a task for the caseworker, not a notice).
Each link goes to the first later step that has a party for it (a link on a host without a CDN
skips the CDN). A step without a legal basis against the recipient is skipped with the reason
recorded: a complaint only about a controller whose GDPR request was refused, partly met or
ran out (docs/law/gdpr.md), to the authority competent for it (docs/law/authorities.md).
Every reminder, escalation and complaint is a draft that goes through the same four-eyes
review as a first notice. A reply "not responsible" or a refusal moves the ladder on at once,
without a reminder.

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
from django.utils.translation import gettext, gettext_lazy, ngettext

from takedown.checks.outcomes import (
    cancel_unsent,
    close,
    lock_case,
    recompute_outcome,
)
from takedown.crypto import seal_text
from takedown.errors import NotPossible
from takedown.events import stored
from takedown.models import AffectedPerson, Case, FoundLink, Notice, Organisation
from takedown.models import RecipientRole as Role
from takedown.models.roles import CONTROLLER_ROLES
from takedown.notices.clock import extend_deadline
from takedown.notices.generate import draft_follow_up, route
from takedown.notices.render import store_element_check
from takedown.resolve.decisions import load_decisions, responsible_party
from takedown.resolve.jurisdiction import EU_EEA
from takedown.workflow import (
    ACTIVE_CASE_STATUSES,
    DEAD_NOTICE_STATUSES,
    OPEN_LINK_STATUSES,
    UNSENT_NOTICE_STATUSES,
    record_event,
)

N, NoticeKind = Notice.Status, Notice.Kind
Outcome = Notice.Outcome

MANUAL = "manual"
WEB_ROLES = (Role.SITE_OPERATOR, Role.HOSTING, Role.CDN, Role.REGISTRAR)
LADDER_STEPS: tuple[str, ...] = (*WEB_ROLES, Role.DPA, MANUAL)
DEFAULT_LADDER: list[str] = list(LADDER_STEPS)
# Where a party outside the ladder stands in it: a dataset maintainer is no web party, so
# after it come the complaint and the legal step.
_RANK = {step: rank for rank, step in enumerate(LADDER_STEPS)}
_RANK[Role.DATASET_MAINTAINER] = _RANK[Role.REGISTRAR]
REPLY_OUTCOMES = (
    Outcome.PENDING,
    Outcome.COMPLIED,
    Outcome.PARTLY,
    Outcome.REFUSED,
    Outcome.NOT_RESPONSIBLE,
)
# How the reply form names the outcome "pending": the recipient has not decided yet.
NO_DECISION_YET = gettext_lazy("No decision yet (e.g. asked for more time)")
# Replies after which waiting and reminding achieve nothing.
MOVES_ON = (Outcome.REFUSED, Outcome.NOT_RESPONSIBLE)
STEP_KINDS = [NoticeKind.NOTICE, NoticeKind.ESCALATION, NoticeKind.COMPLAINT]


class EscalationError(NotPossible):
    """A request the escalation cannot carry out; the message says why."""


# --- the ladder -------------------------------------------------------------------------------


def validate_ladder(roles: Any) -> list[str]:
    if not isinstance(roles, list | tuple) or not all(isinstance(r, str) for r in roles):
        raise EscalationError(gettext("the ladder must be a list of step names"))
    steps = [role.strip() for role in roles]
    if not steps:
        raise EscalationError(gettext("the ladder needs at least one step"))
    if unknown := [step for step in steps if step not in LADDER_STEPS]:
        raise EscalationError(
            ngettext(
                "unknown ladder step %(steps)s: choose from %(choices)s",
                "unknown ladder steps %(steps)s: choose from %(choices)s",
                len(unknown),
            )
            % {"steps": ", ".join(map(repr, unknown)), "choices": ", ".join(LADDER_STEPS)}
        )
    if len(set(steps)) != len(steps):
        raise EscalationError(gettext("each ladder step may appear only once"))
    if MANUAL in steps and steps[-1] != MANUAL:
        raise EscalationError(
            gettext("%(step)s ends the ladder: it must be the last step") % {"step": repr(MANUAL)}
        )
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
    if role == Role.SEARCH_ENGINE:
        # Delisting is no rung of the hosts' ladder (takedown.notices.delisting): after a
        # refusal or silence the caseworker decides (a complaint under GDPR Art. 77).
        return []
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
            gettext("unknown reply outcome %(outcome)s: choose from %(choices)s")
            % {"outcome": repr(outcome), "choices": ", ".join(REPLY_OUTCOMES)}
        )
    text = (text or "").strip()
    if not text:
        raise EscalationError(gettext("the reply text is required (what the recipient said)"))
    if notice.status != N.SENT:
        raise EscalationError(
            gettext("notice %(id)s is “%(status)s”: only a sent notice has replies")
            % {"id": notice.pk, "status": notice.get_status_display()}
        )
    if extension_until is not None and outcome != Outcome.PENDING:
        raise EscalationError(
            gettext(
                "a granted extension means the answer is still due: choose the outcome "
                "“%(pending)s”"
            )
            % {"pending": NO_DECISION_YET}
        )
    step = notice.parent if notice.kind == NoticeKind.REMINDER and notice.parent else notice
    now = received_at or timezone.now()
    if now > timezone.now():
        raise EscalationError(gettext("the reply cannot have arrived in the future"))
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
            message=f"Reply from {step.recipient.name} recorded: {stored(Outcome(outcome).label)}.",
            # Each answer in full, with when it came: a complaint states and attaches them all
            # (takedown.notices.complaint), and a later answer overwrites the notice's copy.
            data={
                "notice": step.pk,
                "via": notice.pk,
                "outcome": outcome,
                # Encrypted like the notice's copy: it may quote the letter and name the person.
                "text_sealed": seal_text(text),
                "received_at": now.isoformat(),
                "extension_until": step.extended_until.isoformat()
                if extension_until is not None and step.extended_until
                else None,
                **(source or {}),
            },
            notice=step,
        )
        if outcome in PERSON_REPLIES:
            record_event(
                step.case,
                "notice.reply_for_person",
                actor=actor,
                visible_to_person=True,
                sentence=f"notice.reply_for_person:{PERSON_REPLIES[outcome]}",
                data={"notice": step.pk, "outcome": outcome},
                notice=step,
            )
        for target in {step.pk: step, notice.pk: notice}.values():
            recompute_outcome(target, actor=actor)
        if outcome in MOVES_ON:
            cancel_unsent(
                step.follow_ups.filter(kind=NoticeKind.REMINDER, status__in=UNSENT_NOTICE_STATUSES),
                actor=actor,
                message="The recipient answered: no reminder needed.",
            )
            if step.case.status == Case.Status.OPEN:
                advance(step, actor=actor)


# Replies the person is told of, by the sentence they read: a partial removal reads like a
# complete one until the rechecks tell what is gone.
PERSON_REPLIES: dict[str, str] = {
    Outcome.NOT_RESPONSIBLE: Outcome.NOT_RESPONSIBLE.value,
    Outcome.REFUSED: Outcome.REFUSED.value,
    Outcome.COMPLIED: Outcome.COMPLIED.value,
    Outcome.PARTLY: Outcome.COMPLIED.value,
}


def close_case(case: Case, *, reason: str, actor: Any) -> None:
    """Close the case by a caseworker's decision; unsent notices are cancelled."""
    reason = (reason or "").strip()
    if not reason:
        raise EscalationError(gettext("closing a case needs a reason"))
    case = Case.objects.get(pk=case.pk)
    if case.status not in ACTIVE_CASE_STATUSES:
        raise EscalationError(
            gettext("case %(reference)s is “%(status)s”: it cannot be closed")
            % {"reference": case.reference, "status": case.get_status_display()}
        )
    close(
        case,
        reason=reason,
        actor=actor,
        automatic=False,
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
                # A first request and an escalation read alike.
                sentence="notice.overdue_for_person:"
                + (
                    notice.kind
                    if notice.kind in (NoticeKind.REMINDER, NoticeKind.COMPLAINT)
                    else NoticeKind.NOTICE
                ),
                params={"date": deadline.isoformat()},
                data={"notice": notice.pk},
                notice=notice,
            )
            recompute_outcome(notice)
    return marked


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
        follow_ups__kind=NoticeKind.REMINDER,
        follow_ups__status=N.SENT,
        follow_ups__overdue_at__isnull=False,
    )
    steps = Notice.objects.filter(running, kind__in=STEP_KINDS).filter(
        unanswered | Q(reply_outcome__in=MOVES_ON) | Q(reminded_at__isnull=False)
    )
    for notice in steps.distinct():
        reminders = notice.follow_ups.filter(kind=NoticeKind.REMINDER)
        answered_late = reminders.filter(status=N.SENT, overdue_at__isnull=False).exists()
        # An undeliverable reminder counts like a cancelled one: the deadline the law set
        # has already passed without an answer, a reminder is a courtesy the recipient is not
        # owed, and waiting for one that never arrives would stall the ladder for good. The
        # next step is still only a draft: a caseworker who would rather fix the address and
        # resend (failed/bounced -> draft) cancels it in review.
        skipped = (
            notice.overdue_at is not None
            and reminders.exists()
            and not reminders.exclude(status__in=DEAD_NOTICE_STATUSES).exists()
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
            kind=NoticeKind.REMINDER,
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
    # Why each skipped step was skipped, in words for the caseworker.
    reasons: dict[str, str] = field(default_factory=dict)

    def skip(self, step: str, reason: str) -> None:
        self.skipped.append(step)
        self.reasons[step] = reason


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
                + "".join(f"; skipped {step}: {why}" for step, why in plan.reasons.items())
            ),
            data={
                "notice": notice.pk,
                "drafts": [draft.pk for draft in plan.drafts],
                "skipped": plan.skipped,
                "skip_reasons": plan.reasons,
            },
            notice=notice,
        )
    return len(plan.drafts)


def _addressed(case: Case) -> set[tuple[int, int]]:
    """(organisation, link) pairs some request of this case already went or goes to."""
    return set(
        Notice.objects.filter(case=case, kind__in=[NoticeKind.NOTICE, NoticeKind.ESCALATION])
        .exclude(status__in=DEAD_NOTICE_STATUSES)
        .values_list("recipient_id", "links")
    )


def _escalate_to_parties(
    notice: Notice, role: str, links: list[FoundLink], plan: _Plan, actor: Any
) -> list[FoundLink]:
    """Draft one escalation per party of `role` for the links that have one; return the rest."""
    addressed = _addressed(notice.case)
    grouped: dict[int, tuple[Organisation, list[FoundLink]]] = {}
    rest = []
    decisions = load_decisions(notice.case_id)  # a caseworker's decision beats resolution
    for link in links:
        party = responsible_party(link, role, decisions)
        if party is None or (party.pk, link.pk) in addressed:
            rest.append(link)
        else:
            grouped.setdefault(party.pk, (party, []))[1].append(link)
    if not grouped:
        plan.skip(role, "no party of this role is known for the links")
    for organisation, party_links in grouped.values():
        plan.drafts.append(
            draft_follow_up(
                notice,
                kind=NoticeKind.ESCALATION,
                organisation=organisation,
                role=role,
                links=party_links,
                actor=actor,
            )
        )
    return rest


def _root(notice: Notice) -> Notice:
    """The first request of the chain: the controller a complaint is about."""
    seen = {notice.pk}
    while notice.parent_id and notice.parent_id not in seen:
        notice = notice.parent  # type: ignore[assignment]
        seen.add(notice.pk)
    return notice


def authority_for(country: str, region: str = "") -> Organisation | None:
    """The data-protection authority that supervises private bodies in `country`, or in its
    subdivision `region` (ISO 3166-2) where the country's authorities are per subdivision, as
    the German states' are: there, no authority is competent for the country as a whole (the
    BfDI only for federal bodies, telecommunication and postal services), so without the
    region there is no answer. An authority with a limited competence (its notes say
    "Competence: ...": the BfDI, church and broadcasting supervisors) is never chosen
    (docs/law/authorities.md)."""
    country = (country or "").strip().upper()
    if not country:
        return None
    region = (region or "").strip().upper()
    if region and "-" not in region:
        region = f"{country}-{region}"
    authorities = _authorities()
    wanted = region if _regional(country, authorities) else country
    if not wanted:
        return None
    for org, codes in authorities:
        if wanted in codes and "Competence:" not in (org.notes or ""):
            return org
    return None


def has_regional_authorities(country: str) -> bool:
    return _regional((country or "").strip().upper(), _authorities())


def _authorities() -> list[tuple[Organisation, list[str]]]:
    """Every authority of the directory with the codes it supervises, in upper case."""
    return [
        (org, [str(code).upper() for code in org.supervises or []])
        for org in Organisation.objects.filter(kind=Organisation.Kind.DPA).order_by("pk")
    ]


def _regional(country: str, authorities: list[tuple[Organisation, list[str]]]) -> bool:
    """Whether `country` has authorities per subdivision (a code such as DE-BY)."""
    return any(code.startswith(country + "-") for _, codes in authorities for code in codes)


def complaint_regime(country: str) -> str | None:
    country = (country or "").upper()
    if country == "GB":
        return "uk_gdpr"
    return "gdpr" if country in EU_EEA else None


# The requests a complaint can rest on: GDPR (or UK GDPR) requests.
COMPLAINT_REGIMES = ("gdpr", "uk_gdpr")
Basis = Notice.AuthorityBasis


@dataclass(frozen=True)
class AuthorityChoice:
    """Where a complaint goes, why, and under which law. `authority` None: nowhere."""

    authority: Organisation | None
    basis: str
    regime: str | None
    reason: str


def complaint_ground(request: Notice) -> tuple[str | None, str]:
    """Why a complaint about `request` may be lodged ("refused", "partly", "ran_out"), or None
    and the reason it may not: only a GDPR request to a controller that refused, complied only
    in part, or let its deadline (extension included) run out (docs/law/gdpr.md)."""
    name = request.recipient.name
    if request.recipient_role not in CONTROLLER_ROLES:
        role = Role(request.recipient_role).label.lower()
        return None, (
            f"{name} received the request as {role}, not as the controller (GDPR Art. 4(7)): "
            "a complaint to an authority is about a controller"
        )
    if request.regime not in COMPLAINT_REGIMES:
        return None, (
            f"the request to {name} was made under {request.regime}, not the GDPR: "
            "a complaint needs a GDPR request the controller did not meet"
        )
    if request.status != N.SENT:
        return None, f"the request to {name} was never sent"
    if request.reply_outcome == Outcome.REFUSED:
        return "refused", ""
    if request.reply_outcome == Outcome.PARTLY:
        return "partly", ""
    if request.overdue_at is not None:
        return "ran_out", ""
    return None, f"{name} has not refused and its deadline (extension included) has not run out"


def _residence(case: Case) -> tuple[str, str]:
    person = AffectedPerson.objects.filter(case=case).only("country", "region").first()
    return (person.country.upper(), person.region.upper()) if person else ("", "")


def residence_authority(case: Case) -> Organisation | None:
    """The authority of the person's habitual residence (GDPR Art. 77(1))."""
    country, region = _residence(case)
    return authority_for(country, region) if complaint_regime(country) else None


def competent_authority(controller: Organisation, case: Case) -> AuthorityChoice:
    """The authority a complaint about `controller` goes to: the one supervising the
    controller's seat (in Germany its state's), in the EU/EEA and the UK; for a controller
    elsewhere, the one of the person's residence (Art. 77(1)). Where the seat's authority
    cannot be told, the draft goes provisionally to the residence authority, PENDING until a
    caseworker chooses (choose_authority)."""
    country, region = controller.country.upper(), controller.region.upper()
    residence = residence_authority(case)
    residence_regime = complaint_regime(_residence(case)[0])
    regime = complaint_regime(country)
    if regime is None:
        where = country or "an unknown country"
        if residence is None:
            return AuthorityChoice(
                None,
                "",
                None,
                f"{controller.name} is in {where}, outside the EU/EEA and the UK, and no "
                "authority of the person's residence is known (record the person's country, "
                "and in Germany their state)",
            )
        return AuthorityChoice(
            residence,
            Basis.RESIDENCE,
            residence_regime,
            f"{controller.name} is in {where}, outside the EU/EEA and the UK: the authority of "
            "the person's residence (GDPR Art. 77(1))",
        )
    if (authority := authority_for(country, region)) is not None:
        return AuthorityChoice(
            authority, Basis.SEAT, regime, f"supervises {controller.name} ({region or country})"
        )
    if has_regional_authorities(country) and not region:
        reason = (
            f"the state of {controller.name}'s seat is not recorded: choose the authority of "
            "that state, or the person's residence authority (GDPR Art. 77(1))"
        )
    else:
        reason = f"the directory has no authority for {region or country}: choose one"
    if residence is None:
        return AuthorityChoice(None, "", None, reason)
    return AuthorityChoice(residence, Basis.PENDING, residence_regime, reason)


def choose_authority(notice: Notice, authority: Organisation, *, actor: Any) -> Notice:
    """Address a complaint draft to `authority`: the caseworker's choice, e.g. the person's
    residence authority instead of the seat's (Art. 77(1) gives the person that choice)."""
    if notice.kind != NoticeKind.COMPLAINT or notice.status != N.DRAFT:
        raise EscalationError(gettext("notice %(id)s is not a complaint draft") % {"id": notice.pk})
    if authority.kind != Organisation.Kind.DPA:
        raise EscalationError(
            gettext("%(name)s is not a data-protection authority") % {"name": authority.name}
        )
    regime = complaint_regime(authority.country)
    if regime is None:
        raise EscalationError(
            gettext(
                "%(name)s is not an authority of the EU/EEA or the UK (its country: %(country)s)"
            )
            % {"name": authority.name, "country": authority.country or gettext("unknown")}
        )
    residence = residence_authority(notice.case)
    basis = (
        Basis.RESIDENCE
        if residence is not None and residence.pk == authority.pk
        else (Basis.CHOSEN)
    )
    person_country = _residence(notice.case)[0]
    fields = route(notice.case, authority, Role.DPA, person_country, regime_code=regime)
    with transaction.atomic():
        if not Notice.objects.filter(pk=notice.pk, status=N.DRAFT).update(
            recipient=authority, authority_basis=basis, **fields
        ):
            raise EscalationError(gettext("notice %(id)s is no longer a draft") % {"id": notice.pk})
        notice.refresh_from_db()
        record_event(
            notice.case,
            "escalation.authority_chosen",
            actor=actor,
            message=f"Complaint {notice.pk} addressed to {authority.name} ({stored(basis.label)}).",
            data={"notice": notice.pk, "authority": authority.pk, "basis": basis.value},
            notice=notice,
        )
        store_element_check(notice)
    return notice


def _complain(notice: Notice, links: list[FoundLink], plan: _Plan, actor: Any) -> bool:
    """Draft a complaint about the chain's controller, once its GDPR request was refused,
    partly met or ran out, to the competent authority (competent_authority)."""
    request = _root(notice)
    ground, why_not = complaint_ground(request)
    if ground is None:
        plan.skip(Role.DPA, why_not)
        return False
    choice = competent_authority(request.recipient, notice.case)
    if choice.authority is None or choice.regime is None:
        plan.skip(Role.DPA, choice.reason)
        return False
    draft = draft_follow_up(
        request,
        kind=NoticeKind.COMPLAINT,
        organisation=choice.authority,
        role=Role.DPA,
        links=links,
        regime_code=choice.regime,
        actor=actor,
    )
    Notice.objects.filter(pk=draft.pk).update(authority_basis=choice.basis)
    draft.authority_basis = choice.basis
    store_element_check(draft)
    plan.drafts.append(draft)
    # The complaint hangs off the controller's request (its text cites that request);
    # the step it continues is recorded here so the chain can be followed.
    record_event(
        notice.case,
        "escalation.complaint",
        actor=actor,
        message=(
            f"Complaint about {request.recipient.name} drafted to {choice.authority.name}: "
            f"{choice.reason}."
        ),
        data={
            "notice": notice.pk,
            "complaint": draft.pk,
            "country": choice.authority.country,
            "basis": choice.basis,
            "ground": ground,
        },
        notice=draft,
    )
    return True


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
        sentence="escalation.manual_for_person",
        data={"notice": notice.pk},
        notice=notice,
    )
