"""Checking links: fetch, decide, record. The caller holds the claim on the links
(takedown.checks.schedule: lease_due_links + claim_leased, or claim_links).

One batch is one event loop: `check_links` fetches every link of the batch at once with the
per-host limits (TAKEDOWN_RECHECK_PER_HOST concurrent requests, TAKEDOWN_RECHECK_POLITENESS_DELAY
seconds between two starts to one host), boils each body down to its hashes as soon as it
arrives (bodies are never stored and never all held at once), and records the results in
chunks while the rest of the batch is still being fetched (see _Fetching), each chunk in one
transaction:

- a LinkCheck per fetch (status, final URL, resolved IP, key headers, hashes, error, reason);
- the link's last_verdict, last_checked_at, removed_streak, check_failures, needs_review and
  next_check_at, and its evidence: the first fetch that showed the image (the reference
  hashes a person or caseworker supplied win over the evidence when comparing);
- status changes through takedown.workflow.transition only: FOUND/NOTIFIED/REAPPEARED ->
  REMOVED once two consecutive checks say removed, FOUND/NOTIFIED -> NEVER_REACHABLE instead
  when no check ever saw the image and there are no reference hashes (and back when it shows
  up), REMOVED -> REAPPEARED when the same image is back; each is told to the person in
  plain words (reopening a closed case and the notice outcomes follow from on_enter hooks in
  takedown.checks.outcomes);
- a redirect to another host that serves the image ("moved") adds the target URL to the case
  as a link of its own, on a Host created or reused as intake does, so the dispatcher resolves
  who is responsible there and a notice can go to them;
- anything a person should look at (a different image, an HTML page, a refused redirect, a
  reappearance) sets needs_review and writes an internal event the first time.

Unreachable links (timeouts, 5xx, resets) are never taken for removed: they keep their streak
and are retried with backoff (schedule.next_check_after).

A fetch takes seconds, and the link may change meanwhile: the batch is recorded with each
link's status as it is then (a notice sent during the fetch makes it NOTIFIED and due daily),
and a link whose claim (its next_check_at) was taken over by another check is not recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import ngettext

from takedown import metrics
from takedown.checks.fetch import FetchResult, fetch_each_async
from takedown.checks.hashing import ImageHashes, image_hashes
from takedown.checks.schedule import RecheckSettings, next_check_after
from takedown.checks.verdict import Decision, Observation, Previous, Reference, decide
from takedown.intake.normalize import InvalidURL, normalize_url
from takedown.models import Case, CaseEvent, FoundLink, Host, LinkCheck, Notice, Verdict
from takedown.resolve.bulk import column_field, insert_returning, update_each, update_matching
from takedown.workflow import (
    CHECKED_CASE_STATUSES,
    ConcurrentChange,
    TransitionNotAllowed,
    record_event,
    transition,
)

log = logging.getLogger(__name__)

L = FoundLink.Status
REMOVABLE = (L.FOUND, L.NOTIFIED, L.REAPPEARED, L.NEVER_REACHABLE)
CHECKED_FIELDS = [
    "last_verdict",
    "last_checked_at",
    "removed_streak",
    "check_failures",
    "needs_review",
    "next_check_at",
    "evidence",
]
CHECK_COLUMNS = [field.name for field in LinkCheck._meta.concrete_fields if not field.primary_key]
# Results recorded per transaction while the rest of a batch is fetched (see _Fetching): at
# least this many, or all that are ready when the previous chunk is recorded.
RECORD_CHUNK = 200


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One link's result, as the command prints it."""

    link_id: int
    url: str
    verdict: str
    status: str
    reason: str
    next_check_at: datetime | None
    check_id: int | None  # None: not fetched (excluded link, withdrawn or paused case)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.link_id,
            "url": self.url,
            "verdict": self.verdict,
            "status": self.status,
            "reason": self.reason,
            "next_check_at": self.next_check_at.isoformat() if self.next_check_at else None,
            "check": self.check_id,
        }


@dataclass(slots=True)
class _Seen:
    """What a fetch left after its body was hashed and dropped."""

    result: FetchResult
    hashes: ImageHashes | None
    byte_count: int | None
    is_html: bool


def check_links(link_ids: list[int], *, conf: RecheckSettings | None = None) -> list[CheckOutcome]:
    """Check the links of `link_ids` once each (claimed by the caller) and record the results."""
    conf = conf or RecheckSettings.load()
    links = list(
        FoundLink.objects.filter(pk__in=link_ids)
        .select_related("case", "host", "evidence")
        .order_by("id")
    )
    now = timezone.now()
    # next_check_at as the caller's claim left it: the token that says the link is still ours
    # when the results are recorded.
    claims = {link.pk: link.next_check_at for link in links}
    outcomes: list[CheckOutcome] = []
    to_fetch: list[FoundLink] = []
    for link in links:
        skipped = _skip(link, now, conf)
        if skipped is None:
            to_fetch.append(link)
        else:
            outcomes.append(skipped)
    with _Fetching(to_fetch, conf) as fetching:
        for chunk in fetching.chunks(RECORD_CHUNK):
            with transaction.atomic():
                outcomes += _record(
                    [to_fetch[index] for index, _ in chunk], [one for _, one in chunk], claims, conf
                )
    outcomes.sort(key=lambda outcome: outcome.link_id)
    return outcomes


def _skip(link: FoundLink, now: datetime, conf: RecheckSettings) -> CheckOutcome | None:
    """Links that must not be fetched now: rescheduled (or dropped) without a check."""
    case_status = link.case.status
    if link.status == L.EXCLUDED or case_status == Case.Status.WITHDRAWN:
        due, reason = None, "not checked: the link is excluded or the case withdrawn"
    elif case_status not in CHECKED_CASE_STATUSES:
        due, reason = now + conf.pending, "not checked: the case is paused"
    else:
        return None
    FoundLink.objects.filter(pk=link.pk, next_check_at=link.next_check_at).update(next_check_at=due)
    return CheckOutcome(link.pk, link.url, link.last_verdict, link.status, reason, due, None)


class _Fetching:
    """The batch's fetches on an event loop in a thread of their own, each result handed over
    as soon as its body is boiled down, so that this thread records results while the rest of
    the batch is still being fetched: the politeness delays (a host's links go out a second
    apart) leave the network idle most of a batch's time, and recording used to wait for the
    last fetch and then hold the batch up by as long again. The database is touched from the
    calling thread only (its connection, its transaction)."""

    def __init__(self, links: list[FoundLink], conf: RecheckSettings) -> None:
        self._links = links
        self._conf = conf
        self._handed: queue.SimpleQueue[tuple[int, _Seen] | BaseException] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._thread = threading.Thread(target=self._run, name="recheck-fetch", daemon=True)

    def __enter__(self) -> _Fetching:
        if self._links:
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        if exc_type is not None:
            self._cancel()  # recording failed: stop fetching what nobody will record
        if self._thread.is_alive():
            self._thread.join()

    def _cancel(self) -> None:
        self._stop.set()
        if self._loop is not None and self._task is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(self._task.cancel)

    def chunks(self, least: int) -> Iterator[list[tuple[int, _Seen]]]:
        """(index in links, what was seen), at least `least` at a time (fewer only at the end),
        and everything that is ready when the recorder comes back for more."""
        left = len(self._links)
        while left:
            chunk = [self._take() for _ in range(min(least, left))]
            while len(chunk) < left:
                try:
                    chunk.append(self._take(block=False))
                except queue.Empty:
                    break
            left -= len(chunk)
            yield chunk

    def _take(self, *, block: bool = True) -> tuple[int, _Seen]:
        item = self._handed.get(block=block)
        if isinstance(item, BaseException):
            raise item
        return item

    def _run(self) -> None:
        try:
            asyncio.run(self._fetch())
        except BaseException as exc:  # the recording thread raises it
            self._handed.put(exc)
        else:
            # Read only if a link was never handed over: the recorder fails instead of
            # waiting for it for ever.
            self._handed.put(RuntimeError("the batch's fetch ended without a result for a link"))

    async def _fetch(self) -> None:
        self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        if self._stop.is_set():
            return
        links = self._links

        def boil_down(index: int, result: FetchResult) -> None:
            body, result.body = result.body, None  # the bytes go no further than this
            content_type = result.headers.get("content-type", "").lower()
            hashes = None
            if body and not result.error:
                hashes = _unchanged(links[index].evidence, body) or image_hashes(body)
            is_html = "html" in content_type or (body or b"")[:200].lstrip()[:1] == b"<"
            seen = _Seen(result, hashes, len(body) if body is not None else None, is_html)
            self._handed.put((index, seen))

        await fetch_each_async(
            [link.url for link in links],
            boil_down,
            per_host=self._conf.per_host,
            concurrency=self._conf.concurrency,
            politeness_delay=self._conf.politeness_delay,
            handle_in_thread=True,
        )


def _unchanged(evidence: LinkCheck | None, body: bytes) -> ImageHashes | None:
    """The evidence's hashes when the host serves exactly the bytes it served then: most
    rechecks of an image still online. Decoding the picture again for its perceptual hashes
    was the largest part of a recheck's CPU, and identical bytes have identical hashes."""
    if evidence is None or not evidence.sha256 or not evidence.phash:
        return None
    if hashlib.sha256(body).hexdigest() != evidence.sha256:
        return None
    return ImageHashes(
        sha256=evidence.sha256,
        phash=evidence.phash,
        pdq=evidence.pdq,
        pdq_quality=evidence.pdq_quality or 0,
        width=0,  # not kept with the evidence, and nothing downstream reads them
        height=0,
        format="",
    )


def reference_for(link: FoundLink) -> Reference:
    """What a check compares against: supplied hashes if any, else the evidence's."""
    if link.ref_sha256 or link.ref_phash or link.ref_pdq:
        return Reference(link.ref_sha256, link.ref_phash, link.ref_pdq, None)
    evidence = link.evidence
    if evidence is not None:
        return Reference(evidence.sha256, evidence.phash, evidence.pdq, evidence.pdq_quality)
    return Reference()


def observation(link: FoundLink, seen: _Seen) -> Observation:
    result = seen.result
    return Observation(
        status_code=result.status if not result.error else None,
        error=result.error or "",
        host=link.host.hostname,
        final_host=_hostname(result.final_url),
        content_type=result.headers.get("content-type", ""),
        hashes=seen.hashes,
        is_html=seen.is_html,
    )


def _record(
    links: list[FoundLink],
    seen: list[_Seen],
    claims: dict[int, datetime | None],
    conf: RecheckSettings,
) -> list[CheckOutcome]:
    now = timezone.now()
    links, seen, outcomes = _still_ours(links, seen, claims)
    decisions: list[Decision] = []
    checks: list[LinkCheck] = []
    for link, one in zip(links, seen, strict=True):
        previous = Previous(
            link.removed_streak,
            link.last_verdict,
            link.status == L.REMOVED,
            seen_online=link.evidence_id is not None,
        )
        decision = decide(observation(link, one), reference_for(link), previous)
        decisions.append(decision)
        checks.append(_link_check(link, one, decision, now))
    _insert_checks(checks)
    metrics.add("link_checks", len(checks))

    review_events = []
    for link, one, decision, check in zip(links, seen, decisions, checks, strict=True):
        if link.evidence_id is None and _is_evidence(decision, one):
            link.evidence = check
        status = _apply_status(link, decision, one, check, now)
        if decision.verdict == Verdict.MOVED and decision.moved_to_host:
            _add_moved_link(link, one.result.final_url, check, now)
        if decision.needs_human and not link.needs_review:
            review_events.append(_review_event(link, decision, check))
        link.needs_review = link.needs_review or decision.needs_human
        failures = link.check_failures + 1 if decision.verdict == Verdict.UNREACHABLE else 0
        link.last_verdict = decision.verdict
        link.last_checked_at = now
        link.removed_streak = decision.removed_streak
        link.check_failures = failures
        link.next_check_at = next_check_after(
            status,
            verdict=decision.verdict,
            confirmed_removed=decision.confirmed_removed,
            failures=failures,
            removed_at=link.removed_at,
            now=now,
            conf=conf,
        )
        outcomes.append(
            CheckOutcome(
                link.pk,
                link.url,
                decision.verdict,
                status,
                decision.reason,
                link.next_check_at,
                check.pk,
            )
        )
    _save_checked(links, claims)
    if review_events:
        CaseEvent.objects.bulk_create(review_events)
    return outcomes


def _still_ours(
    links: list[FoundLink], seen: list[_Seen], claims: dict[int, datetime | None]
) -> tuple[list[FoundLink], list[_Seen], list[CheckOutcome]]:
    """The links whose claim held through the fetch, with the status, removal time and review
    flag they have now; outcomes for the others, which are left untouched.

    While a link was fetched a notice may have been sent (FOUND -> NOTIFIED: it must now be
    checked daily, not dropped as a FOUND link with evidence), a caseworker may have excluded
    it, or, its claim expired, another check may have taken it over. FOR UPDATE (PostgreSQL;
    SQLite's IMMEDIATE transaction already holds the write lock) keeps them so until commit."""
    current = {
        row[0]: row[1:]
        for row in FoundLink.objects.filter(pk__in=[link.pk for link in links])
        .order_by("id")
        .select_for_update()
        .values_list("pk", "status", "removed_at", "needs_review", "next_check_at")
    }
    kept: list[FoundLink] = []
    kept_seen: list[_Seen] = []
    lost: list[CheckOutcome] = []
    for link, one in zip(links, seen, strict=True):
        if link.pk not in current:
            continue  # deleted with its case meanwhile
        status, removed_at, needs_review, due = current[link.pk]
        if due != claims[link.pk]:
            reason = "not recorded: another check took the link over meanwhile"
            lost.append(CheckOutcome(link.pk, link.url, "", status, reason, due, None))
            continue
        link.status, link.removed_at, link.needs_review = status, removed_at, needs_review
        kept.append(link)
        kept_seen.append(one)
    return kept, kept_seen, lost


def _save_checked(links: list[FoundLink], claims: dict[int, datetime | None]) -> None:
    """The checked columns of every link, in one UPDATE ... FROM VALUES per few hundred links
    (bulk_update's CASE expressions cost milliseconds of Python per link, more than the fetch
    and the hashing together; an UPDATE per link cost the database as much as the rest).

    Each row is updated only while its next_check_at is still the claim's token, so a check
    whose claim was lost cannot overwrite the one that took the link over."""
    attnames = [column_field(FoundLink, name)[0].attname for name in CHECKED_FIELDS]
    claimed, unclaimed = [], []
    for link in links:
        token = claims[link.pk]
        values = [getattr(link, attname) for attname in attnames]
        if token is not None:
            claimed.append((link.pk, token, *values))
        else:  # checked on demand without a due time (tests, the shell)
            unclaimed.append((link.pk, *values))
    saved = update_matching(FoundLink, CHECKED_FIELDS, "next_check_at", claimed)
    if unclaimed:
        # Such a link is unclaimed only while nobody gave it a due time meanwhile.
        saved += update_each(FoundLink, CHECKED_FIELDS, unclaimed, still_null=["next_check_at"])
    if saved != len(links):
        # _still_ours locked the rows, so this is a bug, not a race: record nothing of it.
        changed = len(links) - saved
        raise ConcurrentChange(
            ngettext(
                "%(count)d checked link changed while recorded",
                "%(count)d checked links changed while recorded",
                changed,
            )
            % {"count": changed}
        )


def _insert_checks(checks: list[LinkCheck]) -> None:
    """bulk_create's work without preparing every value through its field (see
    takedown.resolve.bulk): the checks get their ids."""
    attnames = [column_field(LinkCheck, name)[0].attname for name in CHECK_COLUMNS]
    rows = [[getattr(check, attname) for attname in attnames] for check in checks]
    for check, pk in zip(checks, insert_returning(LinkCheck, CHECK_COLUMNS, rows), strict=True):
        check.pk = pk
        check._state.adding, check._state.db = False, connection.alias


def _link_check(link: FoundLink, seen: _Seen, decision: Decision, now: datetime) -> LinkCheck:
    result, hashes = seen.result, seen.hashes
    return LinkCheck(
        link=link,
        checked_at=now,
        verdict=decision.verdict,
        status_code=result.status,
        final_url=result.final_url if result.final_url != link.url else "",
        resolved_ip=result.resolved_ip or None,
        headers=result.headers,
        content_type=result.headers.get("content-type", "")[:200],
        byte_count=seen.byte_count,
        sha256=hashes.sha256 if hashes else "",
        phash=hashes.phash if hashes else "",
        pdq=hashes.pdq if hashes else "",
        pdq_quality=hashes.pdq_quality if hashes else None,
        error=f"{result.error}: {result.message}" if result.error else "",
        reason=decision.reason,
    )


def _is_evidence(decision: Decision, seen: _Seen) -> bool:
    # With supplied reference hashes, a fetch is evidence only when it shows that image.
    return decision.is_evidence or (
        seen.hashes is not None and decision.verdict == Verdict.ONLINE_SAME
    )


def _apply_status(
    link: FoundLink, decision: Decision, seen: _Seen, check: LinkCheck, now: datetime
) -> str:
    """Status changes the decision calls for; returns the link's status afterwards."""
    host = link.host.hostname
    try:
        if decision.confirmed_removed and link.status in REMOVABLE:
            transition(
                link,
                L.REMOVED,
                sentence="foundlink.removed",
                params={"host": host},
                visible_to_person=True,
                data={"check": check.pk, "reason": decision.reason},
                fields={"removed_at": now},
            )
        elif decision.never_reachable and link.status in (L.FOUND, L.NOTIFIED):
            transition(
                link,
                L.NEVER_REACHABLE,
                sentence="foundlink.never_reachable",
                params={"host": host},
                visible_to_person=True,
                data={"check": check.pk, "reason": decision.reason},
            )
        elif link.status == L.NEVER_REACHABLE and _is_evidence(decision, seen):
            # Online after all: it goes back to where it was, and is followed up from there.
            notified = link.notices.filter(status=Notice.Status.SENT).exists()
            transition(
                link,
                L.NOTIFIED if notified else L.FOUND,
                message=f"Link {link.pk} on {host} is online after all: {decision.reason}.",
                data={"check": check.pk, "reason": decision.reason, "host": host},
            )
        elif decision.reappeared and link.status == L.REMOVED:
            transition(
                link,
                L.REAPPEARED,
                sentence="foundlink.reappeared",
                params={"host": host},
                visible_to_person=True,
                data={"check": check.pk, "reason": decision.reason},
            )
            record_event(
                link.case,
                "link.reappeared",
                message=(
                    f"Link {link.pk} on {host} serves the removed image again "
                    f"({decision.reason}). It is reopened: a new notice is needed."
                ),
                data={"check": check.pk, "link": link.pk},
                link=link,
            )
    except (ConcurrentChange, TransitionNotAllowed) as exc:
        # A person excluded the link, or another check moved it, while this one fetched.
        log.info("link %s: status not changed after check %s: %s", link.pk, check.pk, exc)
        link.status = FoundLink.objects.values_list("status", flat=True).get(pk=link.pk)
    return link.status


def _review_event(link: FoundLink, decision: Decision, check: LinkCheck) -> Any:
    return CaseEvent(
        case_id=link.case_id,
        kind="link.needs_review",
        message=f"Link {link.pk} needs a look: {decision.reason}.",
        data={"check": check.pk, "verdict": decision.verdict, "link": link.pk},
        link=link,
    )


def _add_moved_link(link: FoundLink, target: str, check: LinkCheck, now: datetime) -> None:
    """The image is served from another host now: track that URL in the case as well."""
    try:
        normal = normalize_url(target)
    except InvalidURL:
        return  # the fetcher followed it, so this is rare; the check row keeps the URL
    host, _ = Host.objects.get_or_create(
        hostname=normal.hostname,
        defaults={
            "registered_domain": normal.registered_domain,
            "platform_suffix": normal.platform_suffix,
            "is_ip": normal.is_ip,
        },
    )
    reference = reference_for(link)
    moved, created = FoundLink.objects.get_or_create(
        case_id=link.case_id,
        url_sha256=normal.url_sha256,
        defaults={
            "host": host,
            "url": normal.url,
            "dataset": link.dataset,
            "extra": {"moved_from": link.pk},
            # The evidence of the original is what the new place must be compared with.
            "ref_sha256": reference.sha256,
            "ref_phash": reference.phash,
            "ref_pdq": reference.pdq,
            "next_check_at": now,
        },
    )
    if created:
        record_event(
            link.case,
            "link.moved",
            message=(
                f"Link {link.pk} redirects to {normal.hostname}, which serves the image: "
                f"added as link {moved.pk}; its host is being looked up."
            ),
            data={"check": check.pk, "link": link.pk, "new_link": moved.pk, "host": host.pk},
            link=link,
            host=host,
        )


def _hostname(url: str) -> str:
    from yarl import URL

    try:
        return (URL(url).raw_host or "").lower()
    except (TypeError, ValueError):
        return ""
