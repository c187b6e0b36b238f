"""Hosts that serve found links, and what resolution found out about them.

Resolution is shared across cases: one Host row per hostname, one DomainRecord per registered
domain (WHOIS/RDAP is asked once per domain per cache lifetime, however many cases link there).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from takedown.intake.normalize import host_for_display
from takedown.models.directory import Organisation
from takedown.models.roles import party_of


class DomainRecord(models.Model):
    """The cached WHOIS/RDAP answer for one registered domain."""

    registered_domain = models.CharField(max_length=253, unique=True)
    # Set while one worker fetches it; the others wait for its answer (see resolve.cache).
    claimed_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=16, blank=True, help_text="rdap or whois")
    # Parsed facts (registrar, registrant, contacts) and the errors met on the way.
    data = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return self.registered_domain


class NetworkRecord(models.Model):
    """The cached RDAP answer for one IP network, found again by any address inside it.

    Addresses are stored as fixed-width hex keys (32 digits; IPv4 mapped into IPv6) so that
    "which cached network holds this address" is a plain range comparison on any database."""

    start_key = models.CharField(max_length=32)
    end_key = models.CharField(max_length=32)
    fetched_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["start_key", "end_key"], name="network_range")]
        # One row per network: a refresh or a second worker's answer replaces the cached one.
        constraints = [
            models.UniqueConstraint(fields=["start_key", "end_key"], name="unique_network_range")
        ]

    def __str__(self) -> str:
        return str(self.data.get("name") or self.start_key)


class NetworkClaim(models.Model):
    """Single flight for network lookups across processes: the worker that holds a block's
    claim asks RDAP about it, the others wait for its answer in NetworkRecord (see
    resolve.cache). A block is the /24 or /48 an address lies in; its network is not known
    before the answer."""

    block = models.CharField(max_length=64, unique=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.block


class ServerThrottle(models.Model):
    """Politeness towards one WHOIS/RDAP server, shared by every worker (database flavour;
    Redis is used instead when it is the broker)."""

    server = models.CharField(max_length=255, primary_key=True)
    next_slot_at = models.DateTimeField(null=True, blank=True)
    # Set after a quota answer: no query goes to this server before then.
    blocked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.server


class Host(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be resolved")
        RESOLVING = "resolving", _("Resolving")
        RESOLVED = "resolved", _("Resolved")
        PARTIAL = "partial", _("Partly resolved (some sources failed)")
        FAILED = "failed", _("Resolution failed")
        CHANGED = "changed", _("Responsible party changed")

    hostname = models.CharField(max_length=253, unique=True)
    registered_domain = models.CharField(max_length=253, db_index=True)
    platform_suffix = models.CharField(max_length=253, blank=True)
    is_ip = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Due work lives in the database: the dispatcher resolves hosts whose time has come.
    next_resolve_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # When a worker claimed it (PENDING -> RESOLVING); a claim this old belongs to a dead worker.
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    current = models.ForeignKey(
        "HostResolution", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set when a caseworker must decide (conflicting or missing jurisdiction evidence).
    needs_decision = models.BooleanField(default=False)
    # Set when resolution changed the host's first party and its links' stored copy
    # (FoundLink.party) is not written yet: the links table has no index on the host alone, so
    # finding a host's links reads the whole table, and resolution marks the hosts instead
    # and leaves the copying to `store_stale_link_parties`, one pass for many hosts.
    link_party_stale = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_resolve_at"],
                name="host_resolve_due",
                condition=models.Q(next_resolve_at__isnull=False),
            ),
            models.Index(
                fields=["id"],
                name="host_link_party_stale",
                condition=models.Q(link_party_stale=True),
            ),
        ]

    def __str__(self) -> str:
        return self.hostname

    def save(self, *args: Any, **kwargs: Any) -> None:
        adding = self._state.adding
        super().save(*args, **kwargs)
        fields = kwargs.get("update_fields")
        if not adding and (fields is None or "current" in fields):
            # The links' stored party follows the current resolution (FoundLink.party); the
            # resolver's bulk path does the same in resolve.hosts.
            party_id, role = party_of(self.current)
            self.links.exclude(party_id=party_id, party_role=role).update(
                party_id=party_id, party_role=role
            )

    @property
    def display_name(self) -> str:
        """ "münchen.de (xn--mnchen-3ya.de)" for an internationalised name, else the hostname."""
        return host_for_display(self.hostname)


class HostResolution(models.Model):
    """One snapshot of who is responsible for a host, with the evidence for each claim."""

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="resolutions")
    created_at = models.DateTimeField(default=timezone.now)
    ips = models.JSONField(default=list, blank=True)
    cname_chain = models.JSONField(default=list, blank=True)
    platform = models.ForeignKey(
        Organisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hosting = models.ForeignKey(
        Organisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cdn = models.ForeignKey(
        Organisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    registrar = models.ForeignKey(
        Organisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    operator = models.ForeignKey(
        Organisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The full lookup_host result: parties, contacts, jurisdiction, and which source said what.
    data = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.host} at {self.created_at:%Y-%m-%d %H:%M}"
