"""The organisation's results, read-only: how many links were found and removed, how fast each
recipient removed them, which notices are overdue, and who answers at all.

Selectors only: nothing here writes. Each function takes `cases`, the cases the viewer may see
(`takedown.web.access.cases_for(user)`), or None for every case, and costs a fixed number of
queries whatever the number of rows: counts are aggregated in SQL; medians, which SQLite cannot
compute, come from one pass over `values_list()` rows.

Definitions (shown on the results page, so that a reader knows what a figure means):
- A link is *removed* while its status is "removed"; a link that reappeared counts as online
  again, and its earlier removal is not counted in any week. Links a caseworker excluded are not
  counted at all. *Still online* is a link not removed whose last check found the image online;
  *never reachable* links were gone before any check saw them (so they are no removal); the
  rest are *not seen online*: not checked yet, or their last check could not tell (unreachable,
  blocked, an HTML page). Each week's *not removed* is every link found by its end and not
  removed by then (what each link's last check found is not known for past weeks).
- *Time to removal* is measured per link, from the sending of a notice (or escalation) that
  named it to its confirmed removal. Reminders are left out: they repeat a notice to the same
  recipient and would count the same removal again with a shorter clock. A link removed before
  a notice went out counts for no recipient.
- A notice is *overdue* when it was sent, its deadline (extended deadline if any) has passed or
  the escalation clock marked it overdue (`overdue_at`), its case is still open (or paused),
  and links it named are still online: its outcome is pending, no response (what marking it
  overdue records) or partly. A partly complied notice counts, because the rest of its links
  are still online past the deadline and the escalation reminds about them; complied, refused
  and not-responsible ones do not (the ladder has moved on). `overdue_notices_qs` is the one
  definition: the reviewer's list and the caseworker's queue both use it.
- The scoreboard counts sent notices per recipient. *Complied* and *ignored* are shares of the
  notices that are *settled*: an outcome was recorded, or the deadline passed without one. A
  notice overdue without any outcome counts as ignored, like an explicit "no response".
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from takedown import tallies
from takedown.models import Case, CaseTally, FoundLink, Notice, NoticeLink, RecipientRole
from takedown.models.link import ONLINE_VERDICTS
from takedown.notices.regimes import regime_name
from takedown.workflow import ACTIVE_CASE_STATUSES

# Notice kinds whose sending starts a removal clock for the recipient (see the module text).
CLOCKED_KINDS = (Notice.Kind.NOTICE, Notice.Kind.ESCALATION)
Outcome = Notice.Outcome


@dataclass(frozen=True)
class Week:
    """One week (Monday to Sunday, in the site's time zone)."""

    start: date
    found: int  # links first found in the week
    removed: int  # links whose removal was confirmed in the week
    not_removed: int  # links found up to the week's end and not removed by then


@dataclass(frozen=True)
class Median:
    key: str  # organisation id, country code or regime code ("" when unknown)
    label: str
    median: timedelta
    links: int  # removals the median is taken over


@dataclass(frozen=True)
class RemovalTimes:
    by_recipient: list[Median]
    by_country: list[Median]
    by_regime: list[Median]
    overall: timedelta | None
    links: int


@dataclass(frozen=True)
class OverdueNotice:
    notice_id: int
    case_reference: str
    recipient: str
    regime: str
    sent_at: datetime | None
    due: datetime | None
    overdue_for: timedelta  # since the deadline (or since it was marked overdue)


@dataclass(frozen=True)
class Responsiveness:
    organisation_id: int
    organisation: str
    country: str
    sent: int
    settled: int  # outcome recorded, or deadline passed without one
    complied: int
    partly: int
    refused: int
    ignored: int
    pending: int  # sent, no outcome, deadline not yet passed
    median_removal: timedelta | None

    @property
    def complied_share(self) -> float | None:
        return self.complied / self.settled if self.settled else None

    @property
    def ignored_share(self) -> float | None:
        return self.ignored / self.settled if self.settled else None


@dataclass(frozen=True)
class Results:
    weeks: list[Week]
    totals: dict[str, int]  # see link_totals
    removal: RemovalTimes
    overdue: list[OverdueNotice]
    scoreboard: list[Responsiveness]
    generated_at: datetime = field(default_factory=timezone.now)
    # The oldest of the stored counts of large cases the figures include (takedown.tallies).
    counted_at: datetime | None = None


def _notices(cases: QuerySet[Case] | None) -> QuerySet[Notice]:
    # A caseworker's message in a conversation is no request: not counted as one.
    notices = Notice.objects.filter(status=Notice.Status.SENT, sent_at__isnull=False).exclude(
        kind=Notice.Kind.MESSAGE
    )
    return notices if cases is None else notices.filter(case__in=cases.values("pk"))


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _split(cases: QuerySet[Case] | None) -> Split:
    """The links of `cases` to count live, and the stored counts of the large cases among
    them (takedown.tallies), whose links are not counted again. Two queries."""
    counted = tallies.counted_cases()
    if cases is not None:
        counted = counted.filter(case__in=cases.values("pk"))
    stored = list(counted)
    # The live cases' ids, not a subquery and not NOT IN over the links: PostgreSQL cannot
    # tell how few cases a subquery leaves and scanned every link of the large case (0.2 s at
    # 200,000 links); with the ids the (case, host) index finds each live case's links.
    live_ids = list(
        (Case.objects.all() if cases is None else cases)
        .exclude(pk__in=[tally.case_id for tally in stored])
        .values_list("pk", flat=True)
        .order_by()
    )
    return FoundLink.objects.filter(case__in=live_ids), stored


Split = tuple[QuerySet[FoundLink], list[CaseTally]]


def link_weeks(
    cases: QuerySet[Case] | None = None,
    *,
    weeks: int = 12,
    now: datetime | None = None,
    split: Split | None = None,
) -> list[Week]:
    """The last `weeks` weeks up to the current one, oldest first. Three queries."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    now = now or timezone.now()
    live, stored = split or _split(cases)
    counts = tallies.weekly(live.exclude(status=FoundLink.Status.EXCLUDED))
    for name, by_week in tallies.stored_weeks(stored).items():
        for week, n in by_week.items():
            counts[name][week] = counts[name].get(week, 0) + n
    found, removed = counts["found"], counts["removed"]
    last = _week_start(timezone.localtime(now).date())
    starts = [last - timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]
    # Everything before the window still counts towards "still online".
    found_total = sum(n for week, n in found.items() if week < starts[0])
    removed_total = sum(n for week, n in removed.items() if week < starts[0])
    result = []
    for start in starts:
        found_total += found.get(start, 0)
        removed_total += removed.get(start, 0)
        result.append(
            Week(start, found.get(start, 0), removed.get(start, 0), found_total - removed_total)
        )
    return result


def link_totals(
    cases: QuerySet[Case] | None = None, *, split: Split | None = None
) -> dict[str, int]:
    """found (not excluded), removed, still_online, never_reachable, not_seen_online (the rest
    of found) and excluded. Two queries."""
    S = FoundLink.Status
    live, stored = split or _split(cases)
    rows: list[tuple[str, str, int]] = list(
        live.values("status", "last_verdict")
        .annotate(n=Count("pk"))
        .values_list("status", "last_verdict", "n")
        .order_by()
    )
    rows += [(row[0], row[1], row[-1]) for tally in stored for row in tally.states]
    counts = dict.fromkeys(("all", "removed", "online", "never", "excluded"), 0)
    for status, verdict, n in rows:
        counts["all"] += n
        if status == S.REMOVED:
            counts["removed"] += n
        elif status == S.NEVER_REACHABLE:
            counts["never"] += n
        elif status == S.EXCLUDED:
            counts["excluded"] += n
        elif status in (S.FOUND, S.NOTIFIED, S.REAPPEARED) and verdict in ONLINE_VERDICTS:
            counts["online"] += n
    found = counts["all"] - counts["excluded"]
    return {
        "found": found,
        "removed": counts["removed"],
        "still_online": counts["online"],
        "never_reachable": counts["never"],
        "not_seen_online": found - counts["removed"] - counts["online"] - counts["never"],
        "excluded": counts["excluded"],
    }


def _removal_rows(cases: QuerySet[Case] | None) -> list[tuple[int, str, str, str, timedelta]]:
    """(organisation id, organisation name, country, regime, time to removal): one query."""
    rows = NoticeLink.objects.filter(
        notice__status=Notice.Status.SENT,
        notice__sent_at__isnull=False,
        notice__kind__in=CLOCKED_KINDS,
        link__status=FoundLink.Status.REMOVED,
        link__removed_at__isnull=False,
    ).exclude(
        # A search engine delists results; the image's removal at its host is not its doing
        # (takedown.notices.delisting).
        notice__recipient_role=RecipientRole.SEARCH_ENGINE
    )
    if cases is not None:
        rows = rows.filter(notice__case__in=cases.values("pk"))
    result = []
    for org_id, name, country, regime, sent_at, removed_at in rows.values_list(
        "notice__recipient_id",
        "notice__recipient__name",
        "notice__recipient__country",
        "notice__regime",
        "notice__sent_at",
        "link__removed_at",
    ).order_by():
        # Both are non-null by the filter above; the stubs cannot know.
        if removed_at is not None and sent_at is not None and removed_at >= sent_at:
            result.append((org_id, name, country, regime, removed_at - sent_at))
    return result


def _median(values: list[timedelta]) -> timedelta:
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


def _medians(groups: dict[tuple[str, str], list[timedelta]]) -> list[Median]:
    rows = [
        Median(key, label, _median(times), len(times)) for (key, label), times in groups.items()
    ]
    # Fastest first; ties by name so the order is stable for readers and tests.
    return sorted(rows, key=lambda row: (row.median, row.label))


def removal_times(cases: QuerySet[Case] | None = None) -> RemovalTimes:
    """Median time to removal by recipient, by the recipient's country and by regime. One query."""
    return _removal_times(_removal_rows(cases))


def _removal_times(rows: Iterable[tuple[int, str, str, str, timedelta]]) -> RemovalTimes:
    by_recipient: dict[tuple[str, str], list[timedelta]] = defaultdict(list)
    by_country: dict[tuple[str, str], list[timedelta]] = defaultdict(list)
    by_regime: dict[tuple[str, str], list[timedelta]] = defaultdict(list)
    everything = []
    for org_id, name, country, regime, elapsed in rows:
        by_recipient[(str(org_id), name)].append(elapsed)
        by_country[(country, country or "unknown")].append(elapsed)
        by_regime[(regime, regime_name(regime))].append(elapsed)
        everything.append(elapsed)
    return RemovalTimes(
        by_recipient=_medians(by_recipient),
        by_country=_medians(by_country),
        by_regime=_medians(by_regime),
        overall=_median(everything) if everything else None,
        links=len(everything),
    )


def _deadline() -> Coalesce:
    return Coalesce("extended_until", "due_at")


def _past_deadline_q(now: datetime) -> Q:
    # Needs the `deadline` annotation.
    return Q(overdue_at__isnull=False, overdue_at__lte=now) | Q(
        overdue_at__isnull=True, deadline__lt=now
    )


def _unanswered_past_deadline_q(now: datetime) -> Q:
    # The scoreboard's "ignored": nothing came of the notice although its time is up, whether
    # or not the daily job has marked it yet (marking it records no_response).
    return Q(outcome=Outcome.PENDING) & _past_deadline_q(now)


# Outcomes under which a notice past its deadline is still waited for (see the module text).
OVERDUE_OUTCOMES = (Outcome.PENDING, Outcome.NO_RESPONSE, Outcome.PARTLY)


def overdue_notices_qs(
    cases: QuerySet[Case] | None = None, *, now: datetime | None = None
) -> QuerySet[Notice]:
    """The overdue notices (module text), annotated with `deadline`: the one definition for
    every list and count of them."""
    now = now or timezone.now()
    # Status alone, like mark_overdue: sending sets sent_at, but the clock does not need it.
    notices = Notice.objects.filter(status=Notice.Status.SENT)
    if cases is not None:
        notices = notices.filter(case__in=cases.values("pk"))
    return (
        notices.filter(
            outcome__in=OVERDUE_OUTCOMES,
            case__status__in=ACTIVE_CASE_STATUSES,
        )
        .annotate(deadline=_deadline())
        .filter(_past_deadline_q(now))
    )


def overdue_notices(
    cases: QuerySet[Case] | None = None, *, now: datetime | None = None, limit: int | None = None
) -> list[OverdueNotice]:
    """The overdue notices, longest overdue first. One query."""
    now = now or timezone.now()
    rows = (
        overdue_notices_qs(cases, now=now)
        .annotate(since=Coalesce("overdue_at", "deadline"))
        .order_by("since", "pk")
        .values_list(
            "pk", "case__reference", "recipient__name", "regime", "sent_at", "deadline", "since"
        )
    )
    if limit is not None:
        rows = rows[:limit]
    return [
        OverdueNotice(pk, reference, recipient, regime, sent_at, deadline, now - (since or now))
        for pk, reference, recipient, regime, sent_at, deadline, since in rows
    ]


def scoreboard(
    cases: QuerySet[Case] | None = None,
    *,
    now: datetime | None = None,
    removal: RemovalTimes | None = None,
) -> list[Responsiveness]:
    """Per recipient organisation: sent notices and what came of them, with the median time to
    removal. One query (two without `removal`). Most notices first."""
    now = now or timezone.now()
    overdue = _unanswered_past_deadline_q(now)
    rows = (
        _notices(cases)
        .filter(kind__in=CLOCKED_KINDS)
        .annotate(deadline=_deadline())
        .values("recipient_id", "recipient__name", "recipient__country")
        .annotate(
            sent=Count("pk"),
            complied=Count("pk", filter=Q(outcome=Outcome.COMPLIED)),
            partly=Count("pk", filter=Q(outcome=Outcome.PARTLY)),
            refused=Count("pk", filter=Q(outcome__in=[Outcome.REFUSED, Outcome.NOT_RESPONSIBLE])),
            ignored=Count("pk", filter=Q(outcome=Outcome.NO_RESPONSE) | overdue),
            settled=Count("pk", filter=~Q(outcome=Outcome.PENDING) | overdue),
        )
        .order_by()
    )
    removal = removal if removal is not None else removal_times(cases)
    medians = {int(row.key): row.median for row in removal.by_recipient}
    board = [
        Responsiveness(
            organisation_id=row["recipient_id"],
            organisation=row["recipient__name"],
            country=row["recipient__country"],
            sent=row["sent"],
            settled=row["settled"],
            complied=row["complied"],
            partly=row["partly"],
            refused=row["refused"],
            ignored=row["ignored"],
            pending=row["sent"] - row["settled"],
            median_removal=medians.get(row["recipient_id"]),
        )
        for row in rows
    ]
    return sorted(board, key=lambda r: (-r.sent, r.organisation, r.organisation_id))


def results(
    cases: QuerySet[Case] | None = None,
    *,
    now: datetime | None = None,
    weeks: int = 12,
) -> Results:
    """Everything the results page shows, in eight queries."""
    now = now or timezone.now()
    removal = removal_times(cases)
    split = _split(cases)
    stored = split[1]
    return Results(
        weeks=link_weeks(cases, weeks=weeks, now=now, split=split),
        totals=link_totals(cases, split=split),
        removal=removal,
        overdue=overdue_notices(cases, now=now),
        scoreboard=scoreboard(cases, now=now, removal=removal),
        generated_at=now,
        counted_at=min((tally.counted_at for tally in stored if tally.counted_at), default=None),
    )


def with_link_counts(
    notices: Iterable[Notice], counted: Mapping[str, int] | None = None
) -> list[Notice]:
    """`notices`, each with its number of links as `link_count`, counted in one grouped query
    that reads only the (notice, link) index: a join with COUNT per notice row grouped the
    notices' every column over all their link rows (2.8 s for a 200,000-link case). Notices
    in `counted` (a large case's stored counts, by notice id: takedown.tallies) are not
    counted again."""
    notices = list(notices)
    counted = counted or {}
    known = {pk: counted[str(pk)] for pk in (notice.pk for notice in notices) if str(pk) in counted}
    rest = [notice.pk for notice in notices if notice.pk not in known]
    if rest:
        known.update(
            NoticeLink.objects.filter(notice__in=rest)
            .order_by()
            .values("notice")
            .annotate(n=Count("*"))
            .values_list("notice", "n")
        )
    for notice in notices:
        notice.link_count = known.get(notice.pk, 0)  # type: ignore[attr-defined]
    return notices
