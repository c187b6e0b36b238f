"""Search engines: the step that asks them to stop showing a case's links.

Removing an image at its host does not take it out of search results at once, and a host that
refuses leaves it there. So, once a case has links in one of two situations, a caseworker
prepares one web-form request per search engine in the directory (Organisation.Kind
SEARCH_ENGINE, seeded with the forms' fields; docs/law/search-engines.md) and per situation:

- removed: links whose removal at the source the rechecks confirmed. The results may still
  show them: an outdated-content request (regime search_outdated) through the engine's tool
  for it (contact purpose "outdated"). The tools check the address themselves and need no
  ground and no name, so nothing about the person goes out.
- not removed: links still online whose host (or any party a notice went to) refused, said it
  is not responsible, or let its deadline pass. A delisting request (regime search_delisting)
  under GDPR Art. 17 and 21 against the engine as controller (CJEU C-131/12) and the engine's
  own policy, through its form for intimate images shared without consent (purpose "ncii", for
  intimate cases) or its privacy form (purpose "delisting"). Links whose notices are still
  running are left to their hosts: a search engine asks first whether the site was asked.

Each request is an ordinary notice: the element check (the URLs, the person's name with the
disclosure a reviewer confirms, the ground, the lack of consent, the authority to act), the
four-eyes review, queueing as a manual submission, the field values and checklist of
notices/webform.py, and the confirmation number recorded by send.mark_submitted, which later
answers quote (replies/inbound.py). Its outcome is what the engine answers
(checks/outcomes.py): the rechecks see the page, not the results.

Why running the step twice adds nothing: the case row is locked first (checks.outcomes.
lock_case), so two runs take turns; each link goes only into a request of its situation to an
engine that has no live request (not cancelled, failed or bounced) of that regime naming the
link already. New links join the engine's draft of that regime, else start one.

A minor's case is refused: intimate images of a minor go to a hotline, never into a request
that describes them (docs/law/minors.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from takedown.checks.outcomes import lock_case
from takedown.directory.contacts import best_contact
from takedown.errors import NotPossible
from takedown.models import Case, Contact, FoundLink, Notice, NoticeLink, Organisation
from takedown.models import RecipientRole as Role
from takedown.notices.generate import GERMAN_SPEAKING
from takedown.notices.render import store_element_check
from takedown.workflow import DEAD_NOTICE_STATUSES, OPEN_LINK_STATUSES, record_event, transition

Outcome = Notice.Outcome

REMOVED = "removed"
NOT_REMOVED = "not_removed"


@dataclass(frozen=True)
class Situation:
    key: str
    regime: str
    # The engine's form for it, as contact purposes in order of preference.
    purposes: tuple[str, ...]
    label: str


OUTDATED = Situation(
    REMOVED, "search_outdated", (Contact.Purpose.OUTDATED,), "removed at the source"
)
DELISTING = Situation(NOT_REMOVED, "search_delisting", (Contact.Purpose.DELISTING,), "still online")
# An intimate case goes through the engine's form for intimate images first: it applies
# worldwide, where the privacy form covers searches in the EU/EEA only.
DELISTING_INTIMATE = Situation(
    NOT_REMOVED,
    "search_delisting",
    (Contact.Purpose.NCII, Contact.Purpose.DELISTING),
    "still online",
)
# A host's answer or silence after which the results should not wait for it any longer.
GAVE_UP = (Outcome.REFUSED, Outcome.NOT_RESPONSIBLE)


class DelistingError(NotPossible):
    """The step cannot be taken for this case; the message says why."""


@dataclass
class DelistingReport:
    notices: list[Notice] = field(default_factory=list)
    created: int = 0
    extended: int = 0
    unchanged: int = 0
    # Engines without a form for a situation: [{"engine", "situation", "links", "reason"}].
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "extended": self.extended,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "notices": [
                {
                    "id": notice.pk,
                    "engine": notice.recipient.name,
                    "regime": notice.regime,
                    "status": notice.status,
                    "form": notice.to_address,
                    "links": notice.links.count(),
                    "missing": notice.element_check.get("missing", []),
                }
                for notice in self.notices
            ],
        }


def removed_links(case: Case) -> Any:
    """Links whose removal at the source the rechecks confirmed."""
    return FoundLink.objects.filter(case=case, status=FoundLink.Status.REMOVED)


def unremoved_links(case: Case) -> Any:
    """Open links that a sent request (to anyone but a search engine) failed to get removed:
    refused, not responsible, or past its deadline with no answer."""
    failed = (
        Notice.objects.filter(case=case, status=Notice.Status.SENT)
        .exclude(recipient_role=Role.SEARCH_ENGINE)
        .filter(Q(reply_outcome__in=GAVE_UP) | Q(overdue_at__isnull=False))
    )
    return FoundLink.objects.filter(
        case=case, status__in=OPEN_LINK_STATUSES, notices__in=failed
    ).distinct()


def engines() -> list[Organisation]:
    return list(
        Organisation.objects.filter(kind=Organisation.Kind.SEARCH_ENGINE).order_by("name", "pk")
    )


@dataclass
class Offer:
    """Whether the step is offered on a case, and why, in numbers the page turns into words."""

    removed: int
    not_removed: int
    engines: int
    # Of those links, how many no live request to every engine names yet.
    removed_new: int
    not_removed_new: int
    minor: bool
    case_open: bool

    @property
    def offered(self) -> bool:
        return (
            self.case_open
            and not self.minor
            and self.engines > 0
            and (self.removed_new + self.not_removed_new) > 0
        )


def gave_up(notice: Notice) -> bool:
    """Whether this notice failed to get its links removed (see unremoved_links)."""
    return (
        notice.status == Notice.Status.SENT
        and notice.recipient_role != Role.SEARCH_ENGINE
        and (notice.reply_outcome in GAVE_UP or notice.overdue_at is not None)
    )


def offer(
    case: Case, *, removed: int | None = None, notices: Sequence[Notice] | None = None
) -> Offer:
    """What the case page says about the step: at most four queries, whatever the case's size.
    The page passes what it has loaded anyway (the count of removed links, the case's
    notices): a case with no link in either situation then costs none."""
    if removed == 0 and notices is not None and not any(gave_up(n) for n in notices):
        return Offer(0, 0, 0, 0, 0, case.is_minor, case.status == Case.Status.OPEN)
    engine_ids = list(
        Organisation.objects.filter(kind=Organisation.Kind.SEARCH_ENGINE).values_list(
            "pk", flat=True
        )
    )
    removed_ids = list(removed_links(case).values_list("pk", flat=True))
    not_removed = list(unremoved_links(case).values_list("pk", flat=True))
    covered: dict[tuple[int, str], set[int]] = {}
    if engine_ids:
        for engine_id, regime, link_id in NoticeLink.objects.filter(
            notice__in=_live(case)
        ).values_list("notice__recipient_id", "notice__regime", "link_id"):
            covered.setdefault((engine_id, regime), set()).add(link_id)

    def new(link_ids: list[int], regime: str) -> int:
        return sum(
            1
            for link_id in link_ids
            if any(link_id not in covered.get((e, regime), set()) for e in engine_ids)
        )

    return Offer(
        removed=len(removed_ids),
        not_removed=len(not_removed),
        engines=len(engine_ids),
        removed_new=new(removed_ids, OUTDATED.regime),
        not_removed_new=new(not_removed, DELISTING.regime),
        minor=case.is_minor,
        case_open=case.status == Case.Status.OPEN,
    )


def _live(case: Case, regime: str = "") -> Any:
    """The case's requests to search engines that still stand (of `regime`, where given)."""
    live = Notice.objects.filter(case=case, recipient_role=Role.SEARCH_ENGINE).exclude(
        status__in=DEAD_NOTICE_STATUSES
    )
    return live.filter(regime=regime) if regime else live


def prepare_delisting(case: Case, *, actor: Any = None) -> DelistingReport:
    """Draft (or extend) the requests to every search engine for the case's links that were
    removed at their source or that their hosts did not remove. Raises DelistingError when the
    step is not possible: a case that is not open, a minor's case, no search engine known."""
    if case.is_minor:
        raise DelistingError(
            _("A minor's case goes to a hotline, not to search engines: no request is prepared.")
        )
    all_engines = engines()
    if not all_engines:
        raise DelistingError(
            _("No search engine is in the directory: load it first (manage.py seed_directory).")
        )
    report = DelistingReport()
    with transaction.atomic():
        locked = lock_case(case.pk)
        if locked.status != Case.Status.OPEN:
            raise DelistingError(
                _("The case is %(status)s: reopen it first.")
                % {"status": locked.get_status_display().lower()}
            )
        delisting = DELISTING_INTIMATE if case.category == "intimate" else DELISTING
        plan = (
            (OUTDATED, list(removed_links(case).order_by("pk"))),
            (delisting, list(unremoved_links(case).order_by("pk"))),
        )
        _drop_removed_from_delisting_drafts(case)
        for engine in all_engines:
            for situation, links in plan:
                if links:
                    _request(case, engine, situation, links, actor, report)
        if report.created or report.extended:
            record_event(
                case,
                "delisting.prepared",
                actor=actor,
                message=(
                    f"Search-engine requests prepared: {report.created} new,"
                    f" {report.extended} extended."
                ),
                data={
                    "notices": [notice.pk for notice in report.notices],
                    "skipped": report.skipped,
                },
            )
    for notice in report.notices:
        store_element_check(notice)
    return report


def _request(
    case: Case,
    engine: Organisation,
    situation: Situation,
    links: list[FoundLink],
    actor: Any,
    report: DelistingReport,
) -> None:
    contact = best_contact(engine, purposes=situation.purposes, channels=[Contact.Channel.WEBFORM])
    if contact is None:
        report.skipped.append(
            {
                "engine": engine.name,
                "situation": situation.key,
                "links": len(links),
                "reason": "the directory has no web form of this search engine for it",
            }
        )
        return
    live = _live(case, situation.regime).filter(recipient=engine)
    covered = set(NoticeLink.objects.filter(notice__in=live).values_list("link_id", flat=True))
    new = [link for link in links if link.pk not in covered]
    if not new:
        report.unchanged += 1
        return
    draft = (
        live.filter(status=Notice.Status.DRAFT, kind=Notice.Kind.NOTICE)
        .select_for_update()
        .order_by("-created_at", "-pk")
        .first()
    )
    if draft is not None:
        draft.links.add(*new)
        report.extended += 1
        report.notices.append(draft)
        return
    notice = Notice.objects.create(
        case=case,
        kind=Notice.Kind.NOTICE,
        recipient=engine,
        recipient_role=Role.SEARCH_ENGINE,
        regime=situation.regime,
        language="de" if engine.country in GERMAN_SPEAKING else "en",
        contact=contact,
        channel=Contact.Channel.WEBFORM,
        to_address=contact.value,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    notice.links.set(new)
    report.created += 1
    report.notices.append(notice)
    record_event(
        case,
        "notice.drafted",
        actor=actor,
        message=f"Draft request to {engine.name} for {len(new)} link(s) {situation.label}.",
        data={"regime": situation.regime, "links": len(new), "situation": situation.key},
        notice=notice,
    )


def _drop_removed_from_delisting_drafts(case: Case) -> None:
    """A link removed since its delisting draft was prepared belongs in an outdated-content
    request instead; a draft left with no link is cancelled."""
    for draft in _live(case, DELISTING.regime).filter(status=Notice.Status.DRAFT):
        gone = list(draft.links.exclude(status__in=OPEN_LINK_STATUSES))
        if not gone:
            continue
        draft.links.remove(*gone)
        if not draft.links.exists():
            transition(draft, Notice.Status.CANCELLED, message="No link left online.")
