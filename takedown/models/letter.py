"""A team's own letter text per legal regime and language, kept as numbered versions.

Every save is a new version (nothing is overwritten: the history says who wrote which text
when); at most one version per (team, regime, language) is active, and the team's notices use
it in place of the built-in body template. No active version means the built-in template.
takedown.notices.letters writes these rows; takedown.notices.render reads the active one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from takedown.models.case import Team


class LetterTemplate(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="letter_templates")
    regime = models.CharField(max_length=32)
    language = models.CharField(max_length=8)
    number = models.PositiveIntegerField()
    # The body in the placeholder language of takedown.notices.placeholders, never a Django
    # template.
    text = models.TextField()
    # The element check of the text itself, per (category, recipient role) the regime covers:
    # {"combinations": [{"category", "role", "missing": [labels]}], "complete": bool}.
    element_check = models.JSONField(default=dict, blank=True)
    complete = models.BooleanField(default=False)
    active = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["team", "regime", "language", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "regime", "language", "number"], name="letter_template_version"
            ),
            # The backstop behind letters.activate: two admins activating at once leave one.
            models.UniqueConstraint(
                fields=["team", "regime", "language"],
                condition=models.Q(active=True),
                name="letter_template_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.regime}/{self.language} v{self.number} of team {self.team_id}"
