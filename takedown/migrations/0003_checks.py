# Owned by one line of work (see the name); operations are added here by hand or pasted from
# `manage.py makemigrations --dry-run -v 3`. Kept as a chain so parallel work never forks.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("takedown", "0002_resolve")]

    operations: list = [
        migrations.AddField(
            model_name="foundlink",
            name="check_failures",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="foundlink",
            name="needs_review",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="linkcheck",
            name="reason",
            field=models.TextField(blank=True),
        ),
    ]
