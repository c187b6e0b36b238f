"""A caseworker's decision about who is responsible for a host, where the machine cannot decide.

One case's decision (hosts are shared across cases, a decision is not): "for this host (or every
host of this registered domain), the party in role R is organisation O", or "take this host's
links out of the case". A decision wins over resolution until a caseworker clears it; clearing
keeps the row (cleared_at, cleared_by) so the audit trail shows who decided what and when, and
each change is also a case event with its author.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from takedown.models.directory import Organisation
from takedown.models.roles import RecipientRole


class PartyDecision(models.Model):
    class Action(models.TextChoices):
        SET = "set", _("Responsible party set")
        EXCLUDE = "exclude", _("Links taken out of the case")

    case = models.ForeignKey("takedown.Case", on_delete=models.CASCADE, related_name="+")
    # The host name, or with `whole_domain` the registered domain whose hosts it covers.
    target = models.CharField(max_length=253)
    whole_domain = models.BooleanField(default=False)
    action = models.CharField(max_length=16, choices=Action.choices)
    role = models.CharField(max_length=24, choices=RecipientRole.choices, blank=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    # The links an exclusion took out, so clearing it puts back exactly those.
    excluded_links = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["case", "target"],
                name="party_decision_active",
                condition=models.Q(cleared_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        scope = f"*.{self.target}" if self.whole_domain else self.target
        if self.action == self.Action.EXCLUDE:
            return f"{scope}: excluded"
        return f"{scope}: {self.role} {self.organisation}"
