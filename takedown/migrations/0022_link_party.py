# FoundLink.party and party_role: the first recipient resolution names for the link's host,
# stored so that the links page sorts and pages through an index (issue 16).

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value, When
from django.db.models import Case as When_
from django.db.models.functions import Coalesce

# takedown.models.roles as of this migration: the resolution's party fields in the order a
# first recipient is chosen, with the role each stands for.
KINDS = (
    ("platform", "site_operator"),
    ("operator", "site_operator"),
    ("hosting", "hosting"),
    ("cdn", "cdn"),
)


def copy_parties(apps, schema_editor):
    FoundLink = apps.get_model("takedown", "FoundLink")
    Host = apps.get_model("takedown", "Host")
    host = Host.objects.filter(pk=OuterRef("host"))
    party = Coalesce(*(f"current__{kind}" for kind, _role in KINDS))
    role = When_(
        *(When(**{f"current__{kind}__isnull": False}, then=Value(r)) for kind, r in KINDS),
        default=Value(""),
        output_field=models.CharField(),
    )
    FoundLink.objects.filter(host__current__isnull=False).update(
        party=Subquery(host.values(party=party)[:1]),
        party_role=Coalesce(Subquery(host.values(role=role)[:1]), Value("")),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("takedown", "0021_cloudflare"),
    ]

    operations = [
        migrations.AddField(
            model_name="foundlink",
            name="party",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="takedown.organisation",
            ),
        ),
        migrations.AddField(
            model_name="foundlink",
            name="party_role",
            field=models.CharField(blank=True, max_length=24),
        ),
        # Before the index: a million rows update faster without it.
        migrations.RunPython(copy_parties, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="foundlink",
            index=models.Index(fields=["case", "party", "host", "id"], name="link_case_party"),
        ),
        migrations.AddIndex(
            model_name="foundlink",
            index=models.Index(
                condition=models.Q(needs_review=True), fields=["case"], name="link_needs_review"
            ),
        ),
    ]
