"""The case event log: the audit trail and, where marked visible, the affected person's timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from takedown.models.case import Case


class CaseEvent(models.Model):
    # Null for events about shared objects (a host's resolution changed), which concern no one case.
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="events", null=True, blank=True
    )
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # Dotted names such as "link.status", "notice.status", "case.opened", "person.revealed".
    kind = models.CharField(max_length=64)
    # Shown to the affected person in the portal only when True; internal by default.
    visible_to_person = models.BooleanField(default=False)
    # Plain-language sentence, in English. For events with a `sentence` it is that sentence
    # rendered when the event was written (takedown.events); the portal renders the same
    # sentence in the person's language.
    message = models.TextField(blank=True)
    # The key of the event's sentence in takedown.events.EVENT_TEXTS ("" for none) and the
    # sentence's parameters (hosts, counts, ISO dates; no personal data).
    sentence = models.CharField(max_length=80, blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    # Machine-readable details: ids, old and new status. No personal data.
    data = models.JSONField(default=dict, blank=True)
    link = models.ForeignKey(
        "takedown.FoundLink", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    notice = models.ForeignKey(
        "takedown.Notice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    host = models.ForeignKey(
        "takedown.Host", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["case", "at"], name="event_case_time"),
            # The staff queue looks for open tasks of a kind (e.g. a manual legal step) per case.
            models.Index(fields=["case", "kind"], name="event_case_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.case_id} at {self.at:%Y-%m-%d %H:%M}"
