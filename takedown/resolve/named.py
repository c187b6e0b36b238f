"""Parties that others name for us: the hosting provider Cloudflare names in its answer to an
abuse report (notices/cloudflare.py reads the answer; this module decides what it means).

A proxy CDN hides the site's hosting provider; Cloudflare tells the reporter who it is. That is
better evidence than our own resolution, which only sees Cloudflare's addresses, so it is
recorded as the case's decision for the hosting role of the reported hostnames (set_party, with
an event naming the answer), and the next round of notices goes to the real host. A
caseworker's own decision for that host and role is never replaced.
"""

from __future__ import annotations

from django.db import transaction

from takedown.models import Contact, Notice, Organisation, PartyDecision
from takedown.models import RecipientRole as Role
from takedown.notices.cloudflare import HostingProvider, hosting_provider, target_hostname
from takedown.notices.cloudflare import report_targets as cloudflare_targets
from takedown.resolve.decisions import DecisionRefused, set_party


def learn_from_cloudflare(notice: Notice, text: str, *, source: str) -> list[str]:
    """Record the hosting provider a Cloudflare answer to `notice` names, for each reported
    hostname without a caseworker's decision. Returns the hostnames decided."""
    provider = hosting_provider(text)
    if provider is None:
        return []
    hostnames = [target_hostname(t) for t in cloudflare_targets(notice)]
    decided: list[str] = []
    with transaction.atomic():
        organisation = _organisation(provider, source)
        for hostname in hostnames:
            own = PartyDecision.objects.filter(
                case=notice.case, target=hostname, role=Role.HOSTING, created_by__isnull=False
            )
            if own.exists():
                continue
            try:
                # Its own savepoint: a refusal (the host left the case) must not undo the
                # answer's storing around it (replies/inbound.py: no answer is lost).
                with transaction.atomic():
                    set_party(
                        notice.case,
                        hostname,
                        role=Role.HOSTING,
                        organisation=organisation,
                        reason=f"Named by Cloudflare as the hosting provider ({source}).",
                    )
            except DecisionRefused:
                continue
            decided.append(hostname)
    return decided


def _organisation(provider: HostingProvider, source: str) -> Organisation:
    """The directory's hosting provider of that name, else a new one with the abuse address
    Cloudflare gave."""
    found = (
        Organisation.objects.filter(name__iexact=provider.name, kind=Organisation.Kind.HOSTING)
        .order_by("pk")
        .first()
    )
    if found is None:
        found = Organisation.objects.create(
            name=provider.name,
            kind=Organisation.Kind.HOSTING,
            source=f"Cloudflare abuse report answer ({source})"[:200],
        )
    if (
        provider.email
        and not found.contacts.filter(
            channel=Contact.Channel.EMAIL, value__iexact=provider.email
        ).exists()
    ):
        Contact.objects.create(
            organisation=found,
            purpose=Contact.Purpose.ABUSE,
            channel=Contact.Channel.EMAIL,
            value=provider.email,
            source=f"Cloudflare abuse report answer ({source})"[:300],
            quality=Contact.Quality.IMPORTED,
        )
    return found
