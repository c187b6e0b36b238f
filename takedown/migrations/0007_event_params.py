# Owned by one line of work (see the name); operations are added here by hand or pasted from
# `manage.py makemigrations --dry-run -v 3`. Kept as a chain so parallel work never forks.
"""Events name their sentence (takedown.events.EVENT_TEXTS) and store its parameters.

Visible events written before carry what the portal rendered them from in `data`; they get
the key and parameters that code read, so they keep rendering in the person's language.
Events the old portal showed as written (no data it knew) keep their stored message.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

BATCH = 1000
# The variants of notice.sent_to_recipient, as the notice kinds of that time.
SENT_KINDS = ("notice", "reminder", "escalation", "complaint")
REPLIES = {
    "not_responsible": "not_responsible",
    "refused": "refused",
    "complied": "complied",
    "partly": "complied",
}


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def sentence_of(kind: str, data: dict[str, Any], has_notice: bool) -> tuple[str, dict] | None:
    """The sentence key and parameters of a visible event stored before 0007, from the data
    the portal rendered it from then; None where it showed the stored message."""
    by_person = data.get("by") == "person"
    automatic = data.get("automatic")
    simple = {
        "case.opened",
        "mandate.uploaded",
        "portal.message_sent",
        "portal.deletion_requested",
        "escalation.manual_for_person",
    }
    if kind in simple:
        return kind, {}
    if kind in ("case.paused", "case.open", "case.withdrawn") and by_person:
        return f"{kind}:person", {}
    if kind == "case.open" and automatic is True:
        return "case.open:automatic", {}
    if kind == "case.closed" and isinstance(automatic, bool):
        return f"case.closed:{'automatic' if automatic else 'caseworker'}", {}
    if kind == "links.imported" and (count := _count(data.get("created"))) is not None:
        return kind, {"count": count}
    if kind == "links.reference_hashes" and (count := _count(data.get("updated"))) is not None:
        return kind, {"count": count}
    if kind == "foundlink.removed" and data.get("check") and data.get("host"):
        return kind, {"host": data["host"]}
    if kind == "foundlink.reappeared" and data.get("host"):
        return kind, {"host": data["host"]}
    if not has_notice:
        return None  # the remaining sentences name the notice's recipient
    notice_kind = str(data.get("kind", "notice"))
    if kind == "notice.sent_to_recipient" and data.get("due_at") and notice_kind in SENT_KINDS:
        return f"{kind}:{notice_kind}", {"date": data["due_at"]}
    if kind == "notice.overdue_for_person" and data.get("deadline"):
        variant = notice_kind if notice_kind in ("reminder", "complaint") else "notice"
        return f"{kind}:{variant}", {"date": data["deadline"]}
    if kind == "notice.deadline_extended" and data.get("until"):
        return kind, {"date": data["until"]}
    if kind == "notice.reply_for_person" and data.get("outcome") in REPLIES:
        return f"{kind}:{REPLIES[data['outcome']]}", {}
    if (
        kind == "notice.outcome_for_person"
        and data.get("outcome") in ("complied", "partly")
        and data.get("role")
    ):
        dataset = "_dataset" if data["role"] == "dataset_maintainer" else ""
        return f"{kind}:{data['outcome']}{dataset}", {}
    gone, entries = _count(data.get("gone")), _count(data.get("entries"))
    if kind == "dataset.release_for_person" and gone and entries and data.get("dataset"):
        return kind, {"dataset": data["dataset"], "gone": gone, "entries": entries}
    return None


def name_sentences(apps: Any, schema_editor: Any) -> None:
    CaseEvent = apps.get_model("takedown", "CaseEvent")
    events = CaseEvent.objects.filter(visible_to_person=True, sentence="").only(
        "pk", "kind", "data", "notice_id"
    )
    # In pk batches, not one cursor: SQLite does not isolate a cursor from updates to the
    # rows it is reading.
    last = 0
    while batch := list(events.filter(pk__gt=last).order_by("pk")[:BATCH]):
        last = batch[-1].pk
        changed = []
        for event in batch:
            found = sentence_of(event.kind, event.data or {}, event.notice_id is not None)
            if found is not None:
                event.sentence, event.params = found
                changed.append(event)
        CaseEvent.objects.bulk_update(changed, ["sentence", "params"])


class Migration(migrations.Migration):
    dependencies = [("takedown", "0006_portal")]

    operations = [
        migrations.AddField(
            model_name="caseevent",
            name="sentence",
            field=models.CharField(blank=True, default="", max_length=80),
        ),
        migrations.AddField(
            model_name="caseevent",
            name="params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(name_sentences, migrations.RunPython.noop, elidable=True),
    ]
