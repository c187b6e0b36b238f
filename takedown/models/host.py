"""Hosts that serve found links, and what resolution found out about them.

Resolution is shared across cases: one Host row per hostname, one DomainRecord per registered
domain (WHOIS/RDAP is asked once per domain per cache lifetime, however many cases link there).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from takedown.models.directory import Organisation


class DomainRecord(models.Model):
    """The cached WHOIS/RDAP answer for one registered domain."""

    registered_domain = models.CharField(max_length=253, unique=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=16, blank=True, help_text="rdap or whois")
    # Parsed facts (registrar, registrant, contacts) and the errors met on the way.
    data = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return self.registered_domain


class Host(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be resolved"
        RESOLVING = "resolving", "Resolving"
        RESOLVED = "resolved", "Resolved"
        PARTIAL = "partial", "Partly resolved (some sources failed)"
        FAILED = "failed", "Resolution failed"
        CHANGED = "changed", "Responsible party changed"

    hostname = models.CharField(max_length=253, unique=True)
    registered_domain = models.CharField(max_length=253, db_index=True)
    platform_suffix = models.CharField(max_length=253, blank=True)
    is_ip = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Due work lives in the database: the dispatcher resolves hosts whose time has come.
    next_resolve_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    current = models.ForeignKey(
        "HostResolution", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set when a caseworker must decide (conflicting or missing jurisdiction evidence).
    needs_decision = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_resolve_at"],
                name="host_resolve_due",
                condition=models.Q(next_resolve_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return self.hostname


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
