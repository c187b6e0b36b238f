"""`manage.py check --deploy`: what would make this installation lose notices or data.

Production (TAKEDOWN_PRODUCTION=1) refuses to start without each of these (config/settings.py);
the checks report the same for a deployment that forgot the flag, so each is an error, not a
warning. Registered by takedown.apps.TakedownConfig.ready().
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def check_deployment(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if not settings.EMAIL_URL:
        errors.append(
            Error(
                "EMAIL_URL is not set: notices are written to files under var/outbox/ and "
                "never reach their recipients.",
                hint="Set EMAIL_URL=smtp://user:pass@host:587?tls=1 (or smtps://).",
                id="takedown.E001",
            )
        )
    if not settings.FIELD_ENCRYPTION_KEYS:
        errors.append(
            Error(
                "TAKEDOWN_FIELD_KEYS is not set: personal data is encrypted with a key "
                "generated under var/, beside the data it protects.",
                hint="Set TAKEDOWN_FIELD_KEYS to Fernet keys kept outside the server's disk.",
                id="takedown.E002",
            )
        )
    if _secret_key_is_local():
        errors.append(
            Error(
                "TAKEDOWN_SECRET_KEY is not set: sessions and portal codes are signed with a "
                "key generated under var/.",
                hint="Set TAKEDOWN_SECRET_KEY to a long random value of this deployment's own.",
                id="takedown.E003",
            )
        )
    if not settings.TAKEDOWN_CACHE_URL:
        errors.append(
            Error(
                "TAKEDOWN_CACHE_URL is not set: every web process counts login and portal "
                "attempts on its own, so each rate limit is multiplied by their number.",
                hint="Set TAKEDOWN_CACHE_URL=redis://host:6379/N.",
                id="takedown.E004",
            )
        )
    if not settings.TAKEDOWN_TWO_FACTOR:
        errors.append(
            Error(
                "TAKEDOWN_TWO_FACTOR is off: reviewers and admins sign in with a password alone.",
                hint="Unset TAKEDOWN_TWO_FACTOR (it is on by default).",
                id="takedown.E005",
            )
        )
    return errors


def _secret_key_is_local() -> bool:
    path = settings.SECRET_KEY_FILE
    return path.exists() and path.read_text().strip() == settings.SECRET_KEY
