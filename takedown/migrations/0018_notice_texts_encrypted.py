"""The notice's letter text and recipient's answer, and the answer each notice.reply event keeps
for complaints, are encrypted at rest like the rest of the personal data (takedown.crypto).

The plain values are sealed while the columns are still plain text to the historical models,
then the fields become EncryptedTextField (same column type: no schema change)."""

from typing import Any

from django.db import migrations

import takedown.crypto
from takedown.crypto import open_text, seal_text

BATCH = 500


def _seal(apps: Any, schema_editor: Any) -> None:
    Notice = apps.get_model("takedown", "Notice")
    CaseEvent = apps.get_model("takedown", "CaseEvent")
    rows = Notice.objects.exclude(body_text="", reply_text="").values_list(
        "pk", "body_text", "reply_text"
    )
    for pk, body, reply in rows.iterator(chunk_size=BATCH):
        Notice.objects.filter(pk=pk).update(body_text=seal_text(body), reply_text=seal_text(reply))
    for event in CaseEvent.objects.filter(kind="notice.reply").iterator(chunk_size=BATCH):
        data = dict(event.data)
        if "text" in data:
            data["text_sealed"] = seal_text(str(data.pop("text") or ""))
            CaseEvent.objects.filter(pk=event.pk).update(data=data)


def _open(apps: Any, schema_editor: Any) -> None:
    Notice = apps.get_model("takedown", "Notice")
    CaseEvent = apps.get_model("takedown", "CaseEvent")
    rows = Notice.objects.exclude(body_text="", reply_text="").values_list(
        "pk", "body_text", "reply_text"
    )
    for pk, body, reply in rows.iterator(chunk_size=BATCH):
        Notice.objects.filter(pk=pk).update(body_text=open_text(body), reply_text=open_text(reply))
    for event in CaseEvent.objects.filter(kind="notice.reply").iterator(chunk_size=BATCH):
        data = dict(event.data)
        if "text_sealed" in data:
            data["text"] = open_text(str(data.pop("text_sealed") or ""))
            CaseEvent.objects.filter(pk=event.pk).update(data=data)


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
