# Owned by one line of work (see the name); operations are added here by hand or pasted from
# `manage.py makemigrations --dry-run -v 3`. Kept as a chain so parallel work never forks.
from django.db import migrations, models


def drop_duplicate_networks(apps, schema_editor):
    # Before the range was unique, two workers could cache one network twice: keep the newest.
    NetworkRecord = apps.get_model("takedown", "NetworkRecord")
    seen = set()
    for pk, start, end in NetworkRecord.objects.order_by("-fetched_at", "-pk").values_list(
        "pk", "start_key", "end_key"
    ):
        if (start, end) in seen:
            NetworkRecord.objects.filter(pk=pk).delete()
        seen.add((start, end))


class Migration(migrations.Migration):
    dependencies = [("takedown", "0001_initial")]

    operations: list = [
        migrations.RunPython(drop_duplicate_networks, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="networkrecord",
            constraint=models.UniqueConstraint(
                fields=("start_key", "end_key"), name="unique_network_range"
            ),
        ),
        migrations.CreateModel(
            name="NetworkClaim",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("block", models.CharField(max_length=64, unique=True)),
                ("claimed_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
    ]
