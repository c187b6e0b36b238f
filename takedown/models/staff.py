"""What a staff member chose for themselves (the language of the staff pages)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StaffPreferences(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_preferences"
    )
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, blank=True)

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"
