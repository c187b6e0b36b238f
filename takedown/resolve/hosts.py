"""Resolving the hosts of open cases: claim, look up, record a snapshot, notice changes.

State lives in the database: a host is due when `next_resolve_at` has passed. A worker claims
it with a conditional status change (-> RESOLVING), so a duplicate message or a second worker
does nothing; a claim older than CLAIM_TIMEOUT belongs to a dead worker and is released by the
dispatcher. Every snapshot is kept (HostResolution) so the case shows which source said what.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from takedown.models import Case, Contact, Host, HostResolution, Notice, Organisation
from takedown.resolve.lookup import HostLookup, lookup_host
from takedown.schedule import backoff
from takedown.workflow import ConcurrentChange, TransitionNotAllowed, record_event, transition

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=15)
# Retry a host whose sources all failed transiently after 5, 10, 20 ... minutes, at most a day.
RETRY_BASE = timedelta(minutes=5)
RETRY_MAX = timedelta(days=1)
OPEN_NOTICE_STATUSES = [
    Notice.Status.DRAFT,
    Notice.Status.IN_REVIEW,
    Notice.Status.APPROVED,
    Notice.Status.QUEUED,
    Notice.Status.AWAITING_MANUAL,
]
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


def request_resolution(hosts: Iterable[Host], *, actor: Any = None) -> int:
    """Re-resolution on demand: make these hosts due now."""
    count = 0
    for host in hosts:
        if host.status == Host.Status.RESOLVING:
            continue
        if host.status == Host.Status.PENDING:
            Host.objects.filter(pk=host.pk).update(next_resolve_at=timezone.now())
        else:
            transition(
                host, Host.Status.PENDING, actor=actor, fields={"next_resolve_at": timezone.now()}
            )
        count += 1
    return count


def resolve_host(host_id: int, *, refresh: bool = False) -> HostResolution | None:
    """Claim one host, look it up and record the result. None when another worker has it."""
    host = Host.objects.select_related("current").filter(pk=host_id).first()
    if host is None or host.status not in RESOLVABLE:
        return None
    try:
        transition(
            host,
            Host.Status.RESOLVING,
            fields={"claimed_at": timezone.now(), "attempts": host.attempts + 1},
        )
    except (ConcurrentChange, TransitionNotAllowed):
        return None  # lost the claim: someone else resolves it
    try:
        result = lookup_host(host.hostname, refresh=refresh)
    except Exception:
        # Unexpected failure (a bug, the database): put the host back, retry later.
        transition(
            host,
            Host.Status.FAILED,
            fields={"next_resolve_at": timezone.now() + _retry_delay(host.attempts)},
            data={"error": "internal error"},
        )
        raise
    return record_resolution(host, result)


def record_resolution(host: Host, result: HostLookup) -> HostResolution:
    previous = host.current
    now = timezone.now()
    with transaction.atomic():
        orgs = {
            "platform": _rule_org(result.platform),
            "cdn": _rule_org(result.cdn),
            "hosting": _hosting_org(result.hosting),
            "registrar": _registrar_org(result.registrar),
        }
        resolution = HostResolution.objects.create(
            host=host,
            ips=result.ips,
            cname_chain=result.cname_chain,
            platform=orgs["platform"],
            cdn=orgs["cdn"],
            hosting=orgs["hosting"],
            registrar=orgs["registrar"],
            operator=orgs["platform"],
            data=result.as_dict(),
            errors=result.errors,
        )
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
        transition(
            host,
            status,
            fields={
                "current": current,
                "resolved_at": now,
                "next_resolve_at": next_at,
                "claimed_at": None,
                "needs_decision": bool(result.jurisdiction.get("needs_decision")),
                "attempts": host.attempts if transient else 0,
            },
            data={"resolution": resolution.pk, "changed": sorted(changed)},
        )
        if changed:
            _flag_notices_for_rerouting(host, previous, changed)
    log.info("host %s resolved: %s, %d errors", host.pk, status, len(result.errors))
    return resolution


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
        for role in ("hosting", "registrar", "platform", "cdn")
        if getattr(previous, f"{role}_id") is not None
        and getattr(current, f"{role}_id") is not None
        and getattr(previous, f"{role}_id") != getattr(current, f"{role}_id")
    }


def _flag_notices_for_rerouting(
    host: Host, previous: HostResolution | None, changed: set[str]
) -> None:
    old_orgs = [getattr(previous, f"{role}_id") for role in changed]
    notices = Notice.objects.filter(
        links__host=host, recipient_id__in=old_orgs, status__in=OPEN_NOTICE_STATUSES
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


def _rule_org(party: dict[str, Any] | None) -> Organisation | None:
    """The directory organisation a rule matched (only its id is needed for the snapshot)."""
    if party and party.get("organisation_id"):
        return Organisation(pk=party["organisation_id"])
    return None


def _hosting_org(party: dict[str, Any] | None) -> Organisation | None:
    if not party:
        return None
    if party.get("organisation_id"):
        return _rule_org(party)
    # Keyed by the registry's handle and the name it gives: a name alone is self-declared
    # ("Private Customer") and would merge unrelated networks' abuse contacts into one.
    handle = party.get("handle") or party.get("network") or ""
    name = party.get("name") or ""
    if not (handle or name):
        return None
    return _upsert_org(
        f"hosting:{handle}:{name}".lower()[:200],
        name=name or handle,
        kind=Organisation.Kind.HOSTING,
        country=party.get("country", ""),
        email=party.get("abuse_email", ""),
        purpose=Contact.Purpose.ABUSE,
        source=party.get("source", "rdap"),
    )


def _registrar_org(party: dict[str, Any] | None) -> Organisation | None:
    if not party or not party.get("name"):
        return None
    key = f"iana-registrar:{party['iana_id']}" if party.get("iana_id") else None
    key = key or f"registrar:{party['name']}".lower()[:200]
    return _upsert_org(
        key,
        name=party["name"],
        kind=Organisation.Kind.REGISTRAR,
        country=party.get("country", "") if len(party.get("country", "")) == 2 else "",
        email=party.get("abuse_email", ""),
        purpose=Contact.Purpose.ABUSE,
        source=party.get("source", ""),
    )


def _upsert_org(
    key: str, *, name: str, kind: str, country: str, email: str, purpose: str, source: str
) -> Organisation:
    org, created = Organisation.objects.get_or_create(
        external_key=key,
        defaults={"name": name[:300], "kind": kind, "country": country, "source": source},
    )
    if not created and country and not org.country:
        Organisation.objects.filter(pk=org.pk).update(country=country)
    quality = Contact.Quality.RDAP if source == "rdap" else Contact.Quality.WHOIS
    if email and "@" in email:
        Contact.objects.get_or_create(
            organisation=org,
            purpose=purpose,
            channel=Contact.Channel.EMAIL,
            value=email,
            defaults={"source": source, "quality": quality},
        )
    return org
