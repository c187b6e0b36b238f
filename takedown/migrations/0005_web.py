# Owned by one line of work (see the name); operations are added here by hand or pasted from
# `manage.py makemigrations --dry-run -v 3`. Kept as a chain so parallel work never forks.
#
# 0005_web: the roles of the web screens as Django groups (see takedown/web/access.py).
from django.db import migrations

# model -> actions, for the app "takedown".
CASEWORKER = {
    "case": ("view", "add", "change"),
    "affectedperson": ("view", "add", "change"),
    "mandate": ("view", "add", "change"),
    "foundlink": ("view", "add", "change"),
    "import": ("view", "add"),
    "notice": ("view", "add", "change"),
    "noticelink": ("view", "add", "change"),
    "caseevent": ("view",),
    "host": ("view",),
    "hostresolution": ("view",),
    "linkcheck": ("view",),
    "organisation": ("view",),
    "contact": ("view",),
    "team": ("view",),
}
REVIEWER = {
    "case": ("view",),
    "notice": ("view", "review"),
    "noticelink": ("view",),
    "foundlink": ("view",),
    "caseevent": ("view",),
    "host": ("view",),
    "hostresolution": ("view",),
    "organisation": ("view",),
    "contact": ("view",),
}


def _codename(action, model):
    # The custom permission of Notice is "review_notice" like the built-in ones.
    return f"{action}_{model}"


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations (post_migrate); a fresh database
    # would have none yet, so create them now for the models as they are at this point.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def grant(name, table):
        group, _ = Group.objects.get_or_create(name=name)
        codenames = [_codename(a, m) for m, actions in table.items() for a in actions]
        perms = list(
            Permission.objects.filter(content_type__app_label="takedown", codename__in=codenames)
        )
        missing = set(codenames) - {p.codename for p in perms}
        if missing:
            raise RuntimeError(f"permissions missing: {sorted(missing)}")
        group.permissions.add(*perms)

    grant("caseworker", CASEWORKER)
    grant("reviewer", REVIEWER)
    admin, _ = Group.objects.get_or_create(name="admin")
    admin.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=["takedown", "auth"])
    )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=["caseworker", "reviewer", "admin"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("takedown", "0004_escalation"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
