"""The notice's letter text and recipient's answer, and the answer each notice.reply event keeps
for complaints, are encrypted at rest like the rest of the personal data (takedown.crypto).

The plain values are sealed while the columns are still plain text to the historical models,
then the fields become EncryptedTextField (same column type: no schema change)."""

from collections.abc import Callable
from typing import Any

from django.db import migrations

import takedown.crypto
from takedown.crypto import open_text, seal_text

BATCH = 500


def _convert(apps: Any, text: Callable[[str], str], old_key: str, new_key: str) -> None:
    """Pass both notice texts and each notice.reply event's answer through `text` (seal or
    open), moving the answer from data[old_key] to data[new_key]."""
    Notice = apps.get_model("takedown", "Notice")
    CaseEvent = apps.get_model("takedown", "CaseEvent")
    rows = Notice.objects.exclude(body_text="", reply_text="").values_list(
        "pk", "body_text", "reply_text"
    )
    for pk, body, reply in rows.iterator(chunk_size=BATCH):
        Notice.objects.filter(pk=pk).update(body_text=text(body), reply_text=text(reply))
    for event in CaseEvent.objects.filter(kind="notice.reply").iterator(chunk_size=BATCH):
        data = dict(event.data)
        if old_key in data:
            data[new_key] = text(str(data.pop(old_key) or ""))
            CaseEvent.objects.filter(pk=event.pk).update(data=data)


def _seal(apps: Any, schema_editor: Any) -> None:
    _convert(apps, seal_text, "text", "text_sealed")


def _open(apps: Any, schema_editor: Any) -> None:
    _convert(apps, open_text, "text_sealed", "text")


class Migration(migrations.Migration):
    dependencies = [("takedown", "0017_security")]

    operations = [
        migrations.RunPython(_seal, _open),
        migrations.AlterField(
            model_name="notice",
            name="body_text",
            field=takedown.crypto.EncryptedTextField(
                blank=True, help_text="Edited body; empty means the template's"
            ),
        ),
        migrations.AlterField(
            model_name="notice",
            name="reply_text",
            field=takedown.crypto.EncryptedTextField(blank=True),
        ),
    ]
