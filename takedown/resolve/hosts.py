"""Resolving the hosts of open cases: claim, look up, record a snapshot, notice changes.

State lives in the database: a host is due when `next_resolve_at` has passed. A worker claims
it with a conditional status change (-> RESOLVING), so a duplicate message or a second worker
does nothing; a claim older than CLAIM_TIMEOUT belongs to a dead worker and is released by the
dispatcher. Every snapshot is kept (HostResolution) so the case shows which source said what.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from takedown.models import (
    Case,
    Contact,
    Host,
    HostResolution,
    Notice,
    Organisation,
)
from takedown.models.roles import party_of
from takedown.resolve.bulk import update_matching_ids
from takedown.resolve.facts import Party
from takedown.resolve.lookup import HostLookup, lookup_hosts
from takedown.schedule import backoff
from takedown.workflow import (
    UNSENT_NOTICE_STATUSES,
    ConcurrentChange,
    TransitionNotAllowed,
    check_transition,
    record_event,
    record_moves,
    transition,
    transition_many,
)

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=15)
# Retry a host whose sources all failed transiently after 5, 10, 20 ... minutes, at most a day.
RETRY_BASE = timedelta(minutes=5)
RETRY_MAX = timedelta(days=1)
RESOLVABLE = [Host.Status.PENDING, Host.Status.RESOLVED, Host.Status.PARTIAL, Host.Status.FAILED]
RESOLVABLE += [Host.Status.CHANGED]


def due_hosts(*, case: Case | None = None, now: Any = None) -> Any:
    """Hosts of open cases whose resolution is due, oldest first."""
    now = now or timezone.now()
    hosts = Host.objects.filter(status__in=RESOLVABLE, next_resolve_at__lte=now)
    scope = Q(links__case__status=Case.Status.OPEN)
    if case is not None:
        scope &= Q(links__case=case)
    ids = Host.objects.filter(scope).values("id")
    return hosts.filter(id__in=ids).order_by("next_resolve_at", "id")


def release_stale_claims(now: Any = None) -> int:
    """Hosts stuck in RESOLVING because their worker died go back to PENDING."""
    now = now or timezone.now()
    released = 0
    for host in Host.objects.filter(
        status=Host.Status.RESOLVING, claimed_at__lt=now - CLAIM_TIMEOUT
    ):
        try:
            transition(host, Host.Status.PENDING, fields={"next_resolve_at": now})
            released += 1
        except (ConcurrentChange, TransitionNotAllowed):
            pass
    return released


def prepare_resolution(*, case: Case | None = None, refresh: bool = False) -> None:
    """Before handing out due hosts: take back the claims of dead workers, and with `refresh`
    make every host of the case (or every host) due again now."""
    release_stale_claims()
    if refresh:
        scope = Host.objects.filter(links__case=case) if case is not None else Host.objects.all()
        request_resolution(scope.distinct())


# Hosts per statement group when many are made due at once (SQLite: 999 parameters at most).
REQUEST_CHUNK = 900


def request_resolution(hosts: Iterable[Host] | QuerySet[Host], *, actor: Any = None) -> int:
    """Re-resolution on demand: make these hosts due now (a host being resolved is left to its
    worker). Set-based, a few statements per REQUEST_CHUNK hosts: a refresh of a case of
    100,000 hosts is no 100,000 transitions. Returns how many hosts were made due."""
    if isinstance(hosts, QuerySet):
        rows = list(hosts.values_list("pk", "status"))
    else:
        rows = [(host.pk, host.status) for host in hosts]
    now = timezone.now()
    count = 0
    for start in range(0, len(rows), REQUEST_CHUNK):
        chunk = rows[start : start + REQUEST_CHUNK]
        pending = [pk for pk, status in chunk if status == Host.Status.PENDING]
        others = [pk for pk, status in chunk if status != Host.Status.PENDING]
        if pending:
            count += Host.objects.filter(pk__in=pending, status=Host.Status.PENDING).update(
                next_resolve_at=now
            )
        if others:
            moved = transition_many(
                Host,
                others,
                [status for status in RESOLVABLE if status != Host.Status.PENDING],
                Host.Status.PENDING,
                actor=actor,
                fields={"next_resolve_at": now},
            )
            count += len(moved)
    return count


def resolve_host(host_id: int, *, refresh: bool = False) -> HostResolution | None:
    """Claim one host, look it up and record the result. None when another worker has it."""
    return resolve_batch([host_id], refresh=refresh)[0]


def resolve_batch(host_ids: list[int], *, refresh: bool = False) -> list[HostResolution | None]:
    """Claim these hosts, look them up together and record the results, in the order of
    `host_ids` (None for a host another worker has or that is not resolvable).

    Together: each registered domain and IP network among them is asked about once, all the
    network waits overlap (resolve.lookup.lookup_hosts), and the claim and the record are one
    transaction each for the whole batch, not a handful of queries per host. The two halves
    (`look_up_batch`, `record_batch`) may run on different threads, so that one batch is
    recorded while the next one's lookups wait (resolve_hosts --sync): between them the hosts
    stay claimed (RESOLVING), so a crash in between loses no host (the dispatcher releases the
    claims after CLAIM_TIMEOUT) and no other worker records them."""
    return record_batch(look_up_batch(host_ids, refresh=refresh))


@dataclass
class LookedUp:
    """A claimed batch and its lookups, waiting to be recorded (record_batch)."""

    host_ids: list[int]
    hosts: list[Host]  # the claimed ones, RESOLVING
    results: list[HostLookup]


def look_up_batch(host_ids: list[int], *, refresh: bool = False) -> LookedUp:
    """Claim these hosts (those another worker has are left out) and look them up together.
    On an unexpected failure the claimed hosts are put back (FAILED, retried later)."""
    hosts = {
        host.pk: host
        for host in Host.objects.select_related("current").filter(
            pk__in=host_ids, status__in=RESOLVABLE
        )
    }
    claimed = transition_many(
        Host,
        list(hosts),
        RESOLVABLE,
        Host.Status.RESOLVING,
        fields={"claimed_at": timezone.now(), "attempts": F("attempts") + 1},
    )
    batch = [hosts[pk] for pk in host_ids if pk in claimed]  # lost claims: someone else has them
    for host in batch:
        host.status = Host.Status.RESOLVING
        host.attempts += 1
    results: list[HostLookup] = []
    if batch:
        try:
            results = lookup_hosts(
                [
                    (host.hostname, host.registered_domain, host.platform_suffix, host.is_ip)
                    for host in batch
                ],
                refresh=refresh,
            )
        except Exception:
            # Unexpected failure (a bug, the database): put the hosts back, retry later.
            _fail_unexpectedly(batch)
            raise
    return LookedUp(host_ids, batch, results)


def record_batch(looked_up: LookedUp) -> list[HostResolution | None]:
    """Record the lookups of a claimed batch (record_resolutions), in the order of its
    `host_ids`; on an unexpected failure its hosts are put back (FAILED, retried later)."""
    resolutions: dict[int, HostResolution] = {}
    if looked_up.hosts:
        try:
            resolutions = record_resolutions(looked_up.hosts, looked_up.results)
        except Exception:
            _fail_unexpectedly(looked_up.hosts)
            raise
    return [resolutions.get(pk) for pk in looked_up.host_ids]


def _fail_unexpectedly(hosts: list[Host]) -> None:
    now = timezone.now()
    for attempts in sorted({host.attempts for host in hosts}):
        transition_many(
            Host,
            [host.pk for host in hosts if host.attempts == attempts],
            [Host.Status.RESOLVING],
            Host.Status.FAILED,
            fields={"next_resolve_at": now + _retry_delay(attempts), "claimed_at": None},
            data={"error": "internal error"},
        )


def record_resolution(host: Host, result: HostLookup) -> HostResolution:
    return record_resolutions([host], [result])[host.pk]


def record_resolutions(hosts: list[Host], results: list[HostLookup]) -> dict[int, HostResolution]:
    """Record the lookups of claimed (RESOLVING) hosts in one transaction: a snapshot each,
    directory entries for the parties found, the status change with its event, and notices
    flagged for rerouting where a responsible party changed. Host id -> snapshot."""
    now = timezone.now()
    # Directory entries first, each statement on its own: they are shared by every batch, and
    # inside the transaction below a batch would wait for another's commit to insert the same
    # registrar (PostgreSQL's unique index), serialising the batches on a cold directory.
    directory = _Directory(results)
    with transaction.atomic():
        resolutions = HostResolution.objects.bulk_create(
            [
                HostResolution(
                    host=host,
                    created_at=now,
                    ips=result.ips,
                    cname_chain=result.cname_chain,
                    platform_id=_rule_org_id(result.platform),
                    cdn_id=_rule_org_id(result.cdn),
                    hosting_id=directory.hosting(result.hosting),
                    registrar_id=directory.registrar(result.registrar),
                    operator_id=_rule_org_id(result.platform)
                    or directory.operator(result.operator),
                    data=result.as_dict(),
                    errors=result.errors,
                )
                for host, result in zip(hosts, results, strict=True)
            ]
        )
        moves: dict[str, dict[int, dict[str, Any]]] = {}  # status -> host -> event data
        updates: list[Host] = []
        rerouting: list[tuple[Host, HostResolution | None, set[str]]] = []
        new_party: list[int] = []  # hosts whose links' stored party changes
        status: str  # a Host.Status value
        for host, result, resolution in zip(hosts, results, resolutions, strict=True):
            previous = host.current
            transient = any(error.get("transient") for error in result.errors)
            if not result.found_any_party:
                # Keep the last good snapshot as current: a failed lookup must not unroute the
                # links, and the next success is compared with what was true before it.
                status, changed, current = Host.Status.FAILED, set(), previous or resolution
            else:
                changed = _changed_parties(previous, resolution)
                status = Host.Status.CHANGED if changed else _status_for(result)
                current = resolution
            if transient:
                next_at = now + _retry_delay(host.attempts)
            else:
                next_at = now + timedelta(days=settings.TAKEDOWN_LOOKUP_CACHE_DAYS)
            if party_of(current) != party_of(previous):
                new_party.append(host.pk)
            host.current = current
            host.resolved_at = now
            host.next_resolve_at = next_at
            host.claimed_at = None
            host.needs_decision = bool(result.jurisdiction.get("needs_decision"))
            host.attempts = host.attempts if transient else 0
            updates.append(host)
            moves.setdefault(status, {})[host.pk] = {
                "resolution": resolution.pk,
                "changed": sorted(changed),
            }
            if changed:
                rerouting.append((host, previous, changed))
        # One statement for the whole batch: each host's status change and its fields, only
        # for hosts still ours (RESOLVING): one released as stale meanwhile belongs to its next
        # worker. The links' stored party is copied later, many hosts in one pass over the links
        # (store_stale_link_parties): a mark set here stays set until then.
        for status in moves:
            check_transition(Host, [Host.Status.RESOLVING], status)
        status_of = {pk: status for status, events in moves.items() for pk in events}
        stale = set(new_party)
        moved = set(
            update_matching_ids(
                Host,
                [
                    "status",
                    "current",
                    "resolved_at",
                    "next_resolve_at",
                    "claimed_at",
                    "needs_decision",
                    "attempts",
                    "link_party_stale",
                ],
                "status",
                [
                    (
                        host.pk,
                        Host.Status.RESOLVING,
                        status_of[host.pk],
                        host.current.pk if host.current else None,
                        host.resolved_at,
                        host.next_resolve_at,
                        None,
                        host.needs_decision,
                        host.attempts,
                        # A mark not yet copied stays: the host was claimed with it.
                        host.link_party_stale or host.pk in stale,
                    )
                    for host in sorted(updates, key=lambda host: host.pk)
                ],
            )
        )
        record_moves(
            Host,
            [
                (pk, Host.Status.RESOLVING, status, None)
                for status, events in moves.items()
                for pk in events
                if pk in moved
            ],
            row_data={pk: data for events in moves.values() for pk, data in events.items()},
        )
        for host, previous, changed in rerouting:
            if host.pk in moved:
                _flag_notices_for_rerouting(host, previous, changed)
    statuses: dict[str, int] = {}
    for host, resolution in zip(hosts, resolutions, strict=True):
        for status, events in moves.items():
            if host.pk in events and host.pk in moved:
                host.status = status
                statuses[str(status)] = statuses.get(str(status), 0) + 1
        resolution.host = host
    lost = len(hosts) - len(moved)
    log.info("resolved %d hosts: %s; %d claims lost meanwhile", len(moved), statuses, lost)
    return {host.pk: resolution for host, resolution in zip(hosts, resolutions, strict=True)}


def _status_for(result: HostLookup) -> str:
    if not result.found_any_party:
        return Host.Status.FAILED
    return Host.Status.PARTIAL if result.errors else Host.Status.RESOLVED


def _retry_delay(attempts: int) -> timedelta:
    return backoff(attempts, RETRY_BASE, RETRY_MAX)


def _changed_parties(previous: HostResolution | None, current: HostResolution) -> set[str]:
    if previous is None:
        return set()
    return {
        role
        for role in ("hosting", "registrar", "platform", "operator", "cdn")
        if getattr(previous, f"{role}_id") is not None
        and getattr(current, f"{role}_id") is not None
        and getattr(previous, f"{role}_id") != getattr(current, f"{role}_id")
    }


def _flag_notices_for_rerouting(
    host: Host, previous: HostResolution | None, changed: set[str]
) -> None:
    old_orgs = [getattr(previous, f"{role}_id") for role in changed]
    notices = Notice.objects.filter(
        links__host=host, recipient_id__in=old_orgs, status__in=UNSENT_NOTICE_STATUSES
    ).distinct()
    for notice in notices:
        Notice.objects.filter(pk=notice.pk).update(needs_reroute=True)
        record_event(
            notice.case,
            "notice.reroute",
            message="The responsible party for some links changed; this notice needs rerouting.",
            data={"host": host.pk, "roles": sorted(changed)},
            notice=notice,
            host=host,
        )


# --- directory entries for parties found by RDAP/WHOIS ---------------------------------------


def _rule_org_id(party: Party | None) -> int | None:
    """The directory organisation a rule matched."""
    return party.organisation_id if party else None


@dataclass
class _Entry:
    key: str
    name: str
    kind: str
    country: str
    source: str
    emails: dict[str, str] = field(default_factory=dict)  # e-mail -> source
    region: str = ""
    # An abuse desk for networks and registrars; a holder's own address is a general one.
    purpose: str = Contact.Purpose.ABUSE


class _Directory:
    """The directory organisations (each with its abuse e-mail) of the parties a batch of
    lookups found in RDAP/WHOIS: read and created for the whole batch in a few queries."""

    def __init__(self, results: list[HostLookup]) -> None:
        entries: dict[str, _Entry] = {}
        self._keys: dict[int, str] = {}  # id(party) -> its entry's key
        for result in results:
            for party, entry in (
                (result.hosting, _hosting_entry(result.hosting)),
                (result.registrar, _registrar_entry(result.registrar)),
                (result.operator, _holder_entry(result.operator)),
            ):
                if entry is None:
                    continue
                known = entries.setdefault(entry.key, entry)
                if entry is not known and entry.country and not known.country:
                    known.country = entry.country
                if entry is not known and entry.region and not known.region:
                    known.region = entry.region
                for email, source in entry.emails.items():
                    known.emails.setdefault(email, source)
                self._keys[id(party)] = entry.key
        # In key order: two batches creating the same organisations wait for each other's
        # inserts in the same order, never in a cycle (a deadlock on PostgreSQL).
        self._ids = _upsert_orgs(sorted(entries.values(), key=lambda e: e.key)) if entries else {}

    def hosting(self, party: Party | None) -> int | None:
        if party and party.organisation_id:
            return party.organisation_id
        return self._id(party)

    def registrar(self, party: Party | None) -> int | None:
        return self._id(party)

    def operator(self, party: Party | None) -> int | None:
        if party and party.organisation_id:
            return party.organisation_id
        return self._id(party)

    def _id(self, party: Party | None) -> int | None:
        key = self._keys.get(id(party)) if party else None
        return self._ids.get(key) if key else None


def _hosting_entry(party: Party | None) -> _Entry | None:
    if not party or party.organisation_id:
        return None
    # Keyed by the registry's handle and the name it gives: a name alone is self-declared
    # ("Private Customer") and would merge unrelated networks' abuse contacts into one.
    handle = party.handle or party.network
    name = party.name
    if not (handle or name):
        return None
    return _entry(
        f"hosting:{handle}:{name}".lower()[:200],
        name=name or handle,
        kind=Organisation.Kind.HOSTING,
        country=party.country,
        email=party.email,
        source=party.source,
    )


def _registrar_entry(party: Party | None) -> _Entry | None:
    if not party or not party.name:
        return None
    key = f"iana-registrar:{party.iana_id}" if party.iana_id else None
    country = party.country
    return _entry(
        key or f"registrar:{party.name}".lower()[:200],
        name=party.name,
        kind=Organisation.Kind.REGISTRAR,
        country=country if len(country) == 2 else "",
        email=party.email,
        source=party.source,
    )


def _holder_entry(party: Party | None) -> _Entry | None:
    """The domain holder as a site-operator organisation (resolve.holder decided it is one).
    Keyed by name and country: one company holding several domains is one organisation."""
    if not party or party.organisation_id or not party.name:
        return None
    entry = _entry(
        f"holder:{party.name}:{party.country}".lower()[:200],
        name=party.name,
        kind=Organisation.Kind.OPERATOR,
        country=party.country if len(party.country) == 2 else "",
        email=party.email,
        source=party.source,
    )
    entry.region = party.region
    entry.purpose = Contact.Purpose.GENERAL
    return entry


def _entry(key: str, *, name: str, kind: str, country: str, email: str, source: str) -> _Entry:
    emails = {email: source} if email and "@" in email else {}
    return _Entry(key, name[:300], kind, country, source, emails)


def _upsert_orgs(entries: list[_Entry]) -> dict[str, int]:
    """Organisation id per entry key: existing ones (their missing country filled in), new
    ones created; each with an abuse e-mail contact per address the sources gave."""
    keys = [entry.key for entry in entries]
    orgs = {o.external_key: o for o in Organisation.objects.filter(external_key__in=keys)}
    missing = [entry for entry in entries if entry.key not in orgs]
    if missing:
        # Another worker may create some at the same moment: its row is as good as ours.
        Organisation.objects.bulk_create(
            [
                Organisation(
                    external_key=entry.key,
                    name=entry.name,
                    kind=entry.kind,
                    country=entry.country,
                    region=entry.region,
                    source=entry.source,
                )
                for entry in missing
            ],
            ignore_conflicts=True,
        )
        orgs.update(
            (o.external_key, o)
            for o in Organisation.objects.filter(external_key__in=[e.key for e in missing])
        )
    for entry in entries:
        org = orgs[entry.key]
        if entry.country and not org.country:
            Organisation.objects.filter(pk=org.pk, country="").update(country=entry.country)
        if entry.region and not org.region:
            Organisation.objects.filter(pk=org.pk, region="").update(region=entry.region)
    wanted = {
        (orgs[entry.key].pk, email, entry.purpose): source
        for entry in entries
        for email, source in entry.emails.items()
    }
    if wanted:
        have = set(
            Contact.objects.filter(
                organisation_id__in={org_id for org_id, _, _ in wanted},
                purpose__in={purpose for _, _, purpose in wanted},
                channel=Contact.Channel.EMAIL,
                value__in={email for _, email, _ in wanted},
            ).values_list("organisation_id", "value", "purpose")
        )
        Contact.objects.bulk_create(
            Contact(
                organisation_id=org_id,
                purpose=purpose,
                channel=Contact.Channel.EMAIL,
                value=email,
                source=source,
                quality=Contact.Quality.RDAP if source == "rdap" else Contact.Quality.WHOIS,
            )
            for (org_id, email, purpose), source in wanted.items()
            if (org_id, email, purpose) not in have
        )
    # Looked up by the entries' keys: none is None.
    return {key: org.pk for key, org in orgs.items() if key is not None}
