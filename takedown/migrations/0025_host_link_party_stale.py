from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("takedown", "0024_tallies"),
    ]

    operations = [
        migrations.AddField(
            model_name="host",
            name="link_party_stale",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="host",
            index=models.Index(
                condition=models.Q(("link_party_stale", True)),
                fields=["id"],
                name="host_link_party_stale",
            ),
        ),
    ]
