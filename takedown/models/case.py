"""Cases, the people they are about, and the teams that work them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from takedown.crypto import EncryptedBinaryField, EncryptedTextField


class Team(models.Model):
    """A group of caseworkers. A caseworker sees only the cases of their teams."""

    name = models.CharField(max_length=200, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    # Support services shown to the team's affected people in the portal: a list of
    # {"name", "url", "phone", "description", "language"} (all optional but name; "language"
    # limits an entry to that portal language). Empty: settings.TAKEDOWN_SUPPORT_LINKS.
    support_links = models.JSONField(default=list, blank=True)
    # A reminder states that the deadline has expired and asks for action within this many
    # days; it never grants a new statutory period.
    reminder_grace_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days a reminder gives the recipient to act (the grace period)."
    )
    # Reviewers and admins always sign in with a second factor (takedown.web.twofactor); the
    # team decides for its caseworkers.
    require_two_factor = models.BooleanField(
        default=False, help_text="Caseworkers of this team must sign in with a second factor."
    )
    # takedown.retention: how long a closed case keeps the person's data before it is erased
    # and the case is kept as anonymous statistics.
    retention_months = models.PositiveSmallIntegerField(
        default=12,
        help_text="Months after closing before the person's data in a case is erased.",
    )

    def __str__(self) -> str:
        return self.name


class Counter(models.Model):
    """Named counters (case references per year), incremented with a conditional update."""

    name = models.CharField(max_length=64, primary_key=True)
    value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Case(models.Model):
    class Category(models.TextChoices):
        MEDICAL = "medical", "Medical image"
        INTIMATE = "intimate", "Intimate image"
        PERSONAL = "personal", "Personal photo"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAUSED = "paused", "Paused"
        WITHDRAWN = "withdrawn", "Withdrawn"
        CLOSED = "closed", "Closed"

    # Human reference such as TD-2026-0042; see takedown.cases.next_reference.
    reference = models.CharField(max_length=32, unique=True)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.OTHER)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    # Options that decide the legal route (see takedown.resolve.jurisdiction).
    owns_copyright = models.BooleanField(
        default=False,
        help_text="The affected person owns the copyright (e.g. a selfie): DMCA applies.",
    )
    is_minor = models.BooleanField(default=False, help_text="The affected person is a minor.")
    # Ordered recipient roles to escalate through; empty means the organisation's default ladder.
    escalation_ladder = models.JSONField(default=list, blank=True)
    close_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # A legal hold (litigation, a criminal investigation, an authority's order) keeps the
    # case's personal data past its retention period until an admin lifts it.
    legal_hold = models.BooleanField(default=False)
    legal_hold_reason = models.TextField(blank=True)
    # When takedown.retention erased the person's data; the case remains as statistics.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reference


class AffectedPerson(models.Model):
    """The person the images show. Personal details are encrypted at rest and never logged."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="person")
    name = EncryptedTextField(blank=True)
    email = EncryptedTextField(blank=True)
    phone = EncryptedTextField(blank=True)
    notes = EncryptedTextField(blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    language = models.CharField(max_length=8, default="en")

    def __str__(self) -> str:
        # Never the name: this string ends up in admin logs and error pages.
        return f"Affected person of {self.case.reference}"

    @property
    def has_mandate(self) -> bool:
        return self.case.mandates.filter(revoked_at__isnull=True).exists()


class Mandate(models.Model):
    """The signed authorisation for the organisation to act for the person (GDPR Art. 80(1))."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="mandates")
    signed_document = EncryptedBinaryField()
    content_type = models.CharField(max_length=100, default="application/pdf")
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Mandate for {self.case.reference} ({self.uploaded_at:%Y-%m-%d})"
