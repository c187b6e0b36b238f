"""Finding what a command names, with the one-line error and exit status 2 on a bad name."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from takedown.models import Case


def case_named(reference: str) -> Case:
    case = Case.objects.filter(reference=reference).first()
    if case is None:
        raise CommandError(f"no case {reference!r}", returncode=2)
    return case


def user_named(username: str) -> Any:
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user {username!r}", returncode=2)
    return user
