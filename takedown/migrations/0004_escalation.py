# Owned by one line of work (see the name); operations are added here by hand or pasted from
# `manage.py makemigrations --dry-run -v 3`. Kept as a chain so parallel work never forks.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("takedown", "0003_checks")]

    operations: list = [
        migrations.AddField(
            model_name="notice",
            name="reply_outcome",
            field=models.CharField(
                blank=True,
                choices=[
                    ("pending", "Pending"),
                    ("complied", "Complied"),
                    ("partly", "Partly complied"),
                    ("refused", "Refused"),
                    ("not_responsible", "Says it is not responsible"),
                    ("no_response", "No response"),
                ],
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="notice",
            name="reminded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="notice",
            name="escalated_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
