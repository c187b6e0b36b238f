"""Answers from recipients: every inbound message, stored once, with what it was taken to mean.

The full text, the raw message and the attachments are personal data (an answer may quote the
notice, name the person, or carry the image itself) and are encrypted at rest.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from takedown.crypto import EncryptedBinaryField, EncryptedTextField
from takedown.models.case import Case
from takedown.models.notice import Notice


class Reply(models.Model):
    class Kind(models.TextChoices):
        AUTO_REPLY = "auto_reply", _("Auto-reply / out of office")
        BOUNCE = "bounce", _("Delivery failure")
        ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement of receipt")
        COMPLIED = "complied", _("Complied")
        PARTLY_COMPLIED = "partly_complied", _("Partly complied")
        REFUSED = "refused", _("Refused")
        NOT_RESPONSIBLE = "not_responsible", _("Not responsible")
        NEEDS_INFORMATION = "needs_information", _("Asks for identity or more information")
        OTHER = "other", _("Other")

    class State(models.TextChoices):
        # Recorded on the notice (record_reply), by a confident classification or a caseworker.
        APPLIED = "applied", _("Recorded on the notice")
        # Matched, but unsure or asking something: a caseworker confirms with one click.
        TO_CONFIRM = "to_confirm", _("Waiting for a caseworker's confirmation")
        # Matched nothing: in the unmatched inbox until a caseworker assigns it.
        UNMATCHED = "unmatched", _("Not matched to a notice")
        # Auto-replies and bounces: kept in the conversation, decide nothing.
        NOTED = "noted", _("Kept, nothing to decide")
        DISMISSED = "dismissed", _("Dismissed by a caseworker")

    class MatchedBy(models.TextChoices):
        TOKEN = "token", _("Reply address")
        THREAD = "thread", _("In-Reply-To / References")
        SUBJECT = "subject", _("Reference in the subject")
        TICKET = "ticket", _("Recipient's ticket number")
        CASEWORKER = "caseworker", _("Assigned by a caseworker")
        NONE = "", _("Not matched")

    # Idempotency: the Message-ID, or "sha256:<hash of the raw message>" without one.
    message_key = models.CharField(max_length=300, unique=True)
    message_id = models.CharField(max_length=300, blank=True)
    notice = models.ForeignKey(
        Notice, on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    matched_by = models.CharField(max_length=16, choices=MatchedBy.choices, blank=True)
    source = models.CharField(max_length=200, blank=True, help_text="imap:FOLDER, or the file")

    # Usually an organisation's role address, but a small site's operator writes as a person.
    from_address = EncryptedTextField(blank=True)
    subject = EncryptedTextField(blank=True)
    text = EncryptedTextField(blank=True)
    raw = EncryptedBinaryField()
    sent_at = models.DateTimeField(null=True, blank=True, help_text="The message's Date header")
    received_at = models.DateTimeField(default=timezone.now)

    kind = models.CharField(max_length=20, choices=Kind.choices)
    confidence = models.FloatField(default=0.0)
    # The words that decided the class, the reason of a refusal, the party named ...
    evidence = models.JSONField(default=dict, blank=True)
    ticket = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=16, choices=State.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["received_at", "pk"]
        indexes = [models.Index(fields=["state", "received_at"], name="reply_state")]

    def __str__(self) -> str:
        return f"reply {self.pk} ({self.kind}) to notice {self.notice_id}"


class ReplyAttachment(models.Model):
    """Never shown inline: an answer may carry the very image; downloads come with a warning."""

    reply = models.ForeignKey(Reply, on_delete=models.CASCADE, related_name="attachments")
    filename = EncryptedTextField(blank=True)
    content_type = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    content = EncryptedBinaryField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"attachment {self.pk} of reply {self.reply_id}"


class NotificationPreference(models.Model):
    """Whether a caseworker wants the daily e-mail digest (takedown/notifications.py)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_digest = models.BooleanField(default=False)
    # The claim of the last digest sent: a conditional update from its previous value.
    last_digest_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"notification preference of {self.user_id}"
