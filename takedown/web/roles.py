"""The admin role keeps every permission of the takedown and auth apps.

Migration 0005_web created the role groups and gave "admin" the permissions that existed then.
A migration only sees the models of its own moment, so models added later (the portal's in
0006, anything after) would be missing from the admin group for ever. After every `migrate`
(post_migrate, which also runs on a fresh test database), `grant_admin_permissions` creates
the permissions of those apps and adds whatever the admin group lacks. Idempotent; it never
takes a permission away, so an administrator's deliberate additions stay.
"""

from __future__ import annotations

from typing import Any

ADMIN_GROUP = "admin"
ADMIN_APPS = ("takedown", "auth")


def grant_admin_permissions(*, apps: Any = None, using: str = "default", **_: Any) -> int:
    """Give the admin group every permission of ADMIN_APPS; returns how many were added."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    apps = apps or global_apps
    try:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
        apps.get_model("contenttypes", "ContentType")
    except LookupError:
        return 0  # migrating auth or contenttypes away: nothing to grant to
    # post_migrate runs once per app, in INSTALLED_APPS order: create the permissions of both
    # apps now rather than rely on auth's handler having run for them already.
    for label in ADMIN_APPS:
        try:
            app_config = global_apps.get_app_config(label)
        except LookupError:
            continue
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    group, _created = Group.objects.using(using).get_or_create(name=ADMIN_GROUP)
    missing = (
        Permission.objects.using(using)
        .filter(content_type__app_label__in=ADMIN_APPS)
        .exclude(group=group)
    )
    missing_ids = list(missing.values_list("pk", flat=True))
    if missing_ids:
        group.permissions.add(*missing_ids)
    return len(missing_ids)


def on_post_migrate(sender: Any, **kwargs: Any) -> None:
    # Connected for the takedown app only: once per migrate run, after its models exist.
    grant_admin_permissions(apps=kwargs.get("apps"), using=kwargs.get("using", "default"))
