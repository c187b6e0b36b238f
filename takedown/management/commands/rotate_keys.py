"""manage.py rotate_keys: re-encrypt all personal data with the newest TAKEDOWN_FIELD_KEYS key.

Rotation: put a new key first in TAKEDOWN_FIELD_KEYS (keep the old ones after it), restart,
run this command, then remove the old keys. Values are read with any key and written with the
first, row by row, each in its own small transaction, so it can run while the app is up.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from takedown.models import AffectedPerson, Mandate

PERSON_FIELDS = ["name", "email", "phone", "notes"]


class Command(BaseCommand):
    help = "Re-encrypt personal data (affected people, signed mandates) with the newest key."

    def handle(self, *args: Any, **options: Any) -> None:
        people = mandates = 0
        for pk in AffectedPerson.objects.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                person = AffectedPerson.objects.select_for_update().get(pk=pk)
                person.save(update_fields=PERSON_FIELDS)
            people += 1
        for pk in Mandate.objects.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                mandate = Mandate.objects.select_for_update().get(pk=pk)
                mandate.save(update_fields=["signed_document"])
            mandates += 1
        self.stdout.write(f"re-encrypted {people} people and {mandates} mandates")
