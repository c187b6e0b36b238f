"""Cases, the people they are about, and the teams that work them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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

    # Cloudflare's abuse-report API (takedown/notices/cloudflare.py): with both set, the team's
    # notices to Cloudflare are submitted through the API; without, through its web form by hand.
    # The token is a secret: encrypted at rest, never shown (manage.py cloudflare_credentials).
    cloudflare_account_id = models.CharField(
        max_length=32, blank=True, help_text="Cloudflare account id for abuse reports."
    )
    cloudflare_api_token = EncryptedTextField(blank=True)

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
        MEDICAL = "medical", _("Medical image")
        INTIMATE = "intimate", _("Intimate image")
        PERSONAL = "personal", _("Personal photo")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PAUSED = "paused", _("Paused")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        CLOSED = "closed", _("Closed")

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
    # The caseworker's answers to the questions the law's conditions need (question key ->
    # true/false; a missing key is not known): see takedown.notices.offences.
    legal_facts = models.JSONField(default=dict, blank=True)
    # Ordered recipient roles to escalate through; empty means the organisation's default ladder.
    escalation_ladder = models.JSONField(default=list, blank=True)
    # StGB §77b: a criminal complaint (KUG §33, StGB §§201a, 184k) must be filed within three
    # months of the day the person learned of the act and of the offender; the period runs
    # whether or not any notice is sent (takedown/complaint_period.py, docs/law/germany.md).
    learned_of_act_on = models.DateField(
        null=True, blank=True, help_text="The day the person learned the images were shared."
    )
    learned_of_offender_on = models.DateField(
        null=True, blank=True, help_text="The day the person learned who shared them (if known)."
    )
    # GDPR Art. 77: a complaint to an authority names the person, which needs their explicit
    # consent (docs/law/gdpr.md). Empty: no consent, and no complaint can be approved.
    complaint_consent_at = models.DateTimeField(null=True, blank=True)
    complaint_consent_how = models.CharField(
        max_length=200, blank=True, help_text="How the consent was given (portal, signed form ...)."
    )
    complaint_consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The caseworker who recorded it; empty when the person gave it in the portal.",
    )
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
    # The authority of the person's residence (GDPR Art. 77(1)) is per state in Germany.
    region = models.CharField(
        max_length=6, blank=True, help_text="ISO 3166-2 subdivision, e.g. DE-BY"
    )
    language = models.CharField(max_length=8, default="en")

    def __str__(self) -> str:
        # Never the name: this string ends up in admin logs and error pages.
        return f"Affected person of {self.case.reference}"

    @property
    def has_mandate(self) -> bool:
        return self.case.mandates.filter(revoked_at__isnull=True).exists()


class Mandate(models.Model):
    """The signed power of attorney for the organisation to act in the person's name (the
    general law of agency; not GDPR Art. 80(1), see docs/law/gdpr.md)."""

    class Source(models.TextChoices):
        PORTAL = "portal", _("Uploaded by the person in the portal")
        STAFF = "staff", _("Uploaded by staff")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="mandates")
    # Always a PDF: photos of the signed paper are put together into one (takedown.mandates).
    signed_document = EncryptedBinaryField()
    content_type = models.CharField(max_length=100, default="application/pdf")
    # Of the signed document; never equal to a generated form's (IssuedMandateForm).
    sha256 = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.STAFF)
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Null with revoked_at set: the person revoked it in the portal.
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"Mandate for {self.case.reference} ({self.uploaded_at:%Y-%m-%d})"


class IssuedMandateForm(models.Model):
    """A mandate form the product generated for signing, by its hash: an upload with this
    hash is the unsigned form, not a signed mandate."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="issued_mandate_forms")
    sha256 = models.CharField(max_length=64, db_index=True)
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "sha256"], name="unique_issued_mandate_form")
        ]

    def __str__(self) -> str:
        return f"Mandate form for {self.case.reference} ({self.issued_at:%Y-%m-%d})"
