"""Notices: one per recipient per case, through four-eyes review to sending and an outcome."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from takedown.crypto import EncryptedTextField
from takedown.models.case import Case
from takedown.models.directory import Contact, Organisation
from takedown.models.link import FoundLink
from takedown.models.roles import RecipientRole


class Notice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        APPROVED = "approved", _("Approved")
        QUEUED = "queued", _("Queued for sending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        BOUNCED = "bounced", _("Bounced")
        # A worker died between handing the message to the server and recording it: a human
        # checks the server's log before anything is sent again.
        NEEDS_CHECK = "needs_check", _("Delivery uncertain: check before resending")
        AWAITING_MANUAL = "awaiting_manual", _("Waiting for manual submission")
        CANCELLED = "cancelled", _("Cancelled")

    class Kind(models.TextChoices):
        NOTICE = "notice", _("Notice")
        REMINDER = "reminder", _("Reminder")
        ESCALATION = "escalation", _("Escalation")
        COMPLAINT = "complaint", _("Complaint to an authority")
        # The caseworker's message in the conversation about a notice (its parent): reviewed
        # and sent like a notice, with the parent's reply address; it starts no clock.
        MESSAGE = "message", _("Message to the recipient")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        COMPLIED = "complied", _("Complied")
        PARTLY = "partly", _("Partly complied")
        REFUSED = "refused", _("Refused")
        NOT_RESPONSIBLE = "not_responsible", _("Says it is not responsible")
        NO_RESPONSE = "no_response", _("No response")

    class AuthorityBasis(models.TextChoices):
        SEAT = "seat", _("Authority of the controller's seat")
        RESIDENCE = "residence", _("Authority of the person's residence (Art. 77(1))")
        CHOSEN = "chosen", _("Chosen by the caseworker")
        # The product could not tell (a German controller whose state is not recorded): the
        # draft is addressed provisionally and cannot be approved until a caseworker chooses.
        PENDING = "pending", _("To be chosen by the caseworker")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NOTICE)
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_ups"
    )
    recipient = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="notices")
    recipient_role = models.CharField(max_length=24, choices=RecipientRole.choices)
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True)
    channel = models.CharField(
        max_length=16, choices=Contact.Channel.choices, default=Contact.Channel.EMAIL
    )
    to_address = models.TextField(blank=True, help_text="E-mail address, or form URL for manual")
    regime = models.CharField(max_length=32, help_text="Code of a regime in takedown.notices")
    language = models.CharField(max_length=8, default="en")
    # A caseworker chose the regime (e.g. a KUG demand instead of or beside GDPR): generating
    # the notices again keeps it.
    regime_chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A GDPR request that also asks, under Art. 15, where the data came from and to whom they
    # were disclosed.
    access_request = models.BooleanField(default=False)
    links = models.ManyToManyField(FoundLink, through="NoticeLink", related_name="notices")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # The missing required elements found by the last element check; empty means complete.
    element_check = models.JSONField(default=dict, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    # The letter and the recipient's answer name the person or describe the pictures: encrypted.
    body_text = EncryptedTextField(blank=True, help_text="Edited body; empty means the template's")

    # The person's name and contact are withheld unless the regime needs them and a reviewer
    # confirmed the disclosure.
    discloses_person = models.BooleanField(default=False)
    disclosure_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)

    # Sending: the Message-ID is generated and stored before the first attempt, reused on retries.
    message_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    manual_confirmation = models.CharField(max_length=200, blank=True)
    # Answers: the random part of replies+<token>@ the reply domain (256 bits, so not guessed),
    # and the recipient's own ticket number, learnt from an acknowledgement (takedown/replies).
    reply_token = models.CharField(max_length=64, blank=True, db_index=True)
    recipient_ticket = models.CharField(max_length=100, blank=True, db_index=True)
    # Set when re-resolution found that another party now hosts or registers the links.
    needs_reroute = models.BooleanField(default=False)

    # A complaint's authority: why it is competent (takedown.checks.escalate.competent_authority).
    authority_basis = models.CharField(max_length=16, choices=AuthorityBasis.choices, blank=True)

    # Legal clock and result.
    due_at = models.DateTimeField(null=True, blank=True)
    extended_until = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    reply_text = EncryptedTextField(blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    # What the recipient said (an Outcome value, "" before any reply); `outcome` is what the
    # links show, see takedown.checks.escalate.
    reply_outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    # Escalation claims (conditional updates from null): the reminder for this overdue notice
    # was drafted; the next step of the ladder was taken.
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("review_notice", "Can approve or reject notices (four-eyes review)")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notice_send_due"),
            models.Index(fields=["due_at"], name="notice_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} ({self.case.reference}, {self.regime})"


class NoticeLink(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE)
    link = models.ForeignKey(FoundLink, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["notice", "link"], name="unique_notice_link"),
        ]

    def __str__(self) -> str:
        return f"link {self.link_id} in notice {self.notice_id}"
