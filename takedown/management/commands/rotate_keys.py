"""manage.py rotate_keys: re-encrypt all personal data with the newest TAKEDOWN_FIELD_KEYS key.

Rotation: put a new key first in TAKEDOWN_FIELD_KEYS (keep the old ones after it), restart,
run this command, then remove the old keys. Values are read with any key and written with the
first, row by row, each in its own small transaction, so it can run while the app is up.
Every model field of the encrypted kinds is covered, so a new encrypted field needs no change
here; so are the recipients' answers the notice.reply events keep sealed for complaints.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import models, transaction

from takedown.crypto import EncryptedBinaryField, EncryptedTextField, rotate
from takedown.models import CaseEvent

ENCRYPTED_FIELDS = (EncryptedTextField, EncryptedBinaryField)


def encrypted_fields(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, ENCRYPTED_FIELDS)]


class Command(BaseCommand):
    help = "Re-encrypt personal data (every encrypted field) with the newest key."

    def handle(self, *args: Any, **options: Any) -> None:
        counts: list[str] = []
        for model in apps.get_app_config("takedown").get_models():
            fields = encrypted_fields(model)
            if not fields:
                continue
            rows = 0
            for pk in model._default_manager.values_list("pk", flat=True).iterator():
                with transaction.atomic():
                    row = model._default_manager.select_for_update().filter(pk=pk).first()
                    if row is None:  # deleted meanwhile
                        continue
                    row.save(update_fields=fields)
                rows += 1
            counts.append(f"{rows} {model._meta.verbose_name_plural}")
        counts.append(f"{_rotate_sealed_answers()} answers kept by events")
        self.stdout.write("re-encrypted " + ", ".join(counts))


def _rotate_sealed_answers() -> int:
    rows = 0
    sealed = CaseEvent.objects.filter(kind="notice.reply").exclude(data__text_sealed="")
    for pk in sealed.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            event = CaseEvent.objects.select_for_update().filter(pk=pk).first()
            token = str(event.data.get("text_sealed") or "") if event else ""
            if event is None or not token:
                continue
            event.data = {**event.data, "text_sealed": rotate(token.encode()).decode()}
            event.save(update_fields=["data"])
        rows += 1
    return rows
