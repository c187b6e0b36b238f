"""The affected person's portal: access links, device codes, and what the person sends us.

A portal link carries a long random token; only its SHA-256 is stored, so a copy of the
database does not open anyone's portal. A browser that has not been seen with a link before
must also enter a one-time code sent to the person's e-mail address: a forwarded or leaked link
alone does not show the case.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from takedown.crypto import EncryptedTextField
from takedown.models.case import Case


class PortalAccess(models.Model):
    """One link sent to the affected person. Expiring and revocable."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="portal_accesses")
    # SHA-256 (hex) of the token in the link: the token has 256 random bits, so a plain hash
    # cannot be reversed by trying tokens.
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"portal access {self.pk} to {self.case_id}"

    def is_live(self, now: object = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now  # type: ignore[operator]


class PortalDevice(models.Model):
    """A browser that proved, with a one-time code, that it belongs to the person."""

    access = models.ForeignKey(PortalAccess, on_delete=models.CASCADE, related_name="devices")
    # SHA-256 of the random value in the device cookie.
    cookie_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"portal device {self.pk} of access {self.access_id}"


class PortalCode(models.Model):
    """A one-time code e-mailed to the person; a new code replaces the older ones."""

    access = models.ForeignKey(PortalAccess, on_delete=models.CASCADE, related_name="codes")
    # HMAC-SHA256 keyed with SECRET_KEY and this row's salt: six digits are few enough to try
    # them all against a plain hash.
    code_hash = models.CharField(max_length=64)
    salt = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"portal code {self.pk} of access {self.access_id}"


class PortalMessage(models.Model):
    """A message between the affected person and their caseworker, encrypted at rest."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="portal_messages")
    body = EncryptedTextField()
    # The caseworker who answered; null for the person's own messages.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"portal message {self.pk} on {self.case_id}"


class DeletionRequest(models.Model):
    """The person asked for their data to be deleted (GDPR Art. 17); a caseworker acts on it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="deletion_requests")
    requested_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"deletion request {self.pk} on {self.case_id}"
