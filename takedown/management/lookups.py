"""Finding what a command names, and reading or writing the files it names, with the
one-line error and exit status 2 on a bad name or path."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
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


def day_named(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)", returncode=2) from None


def input_file(name: str) -> Path:
    path = Path(name)
    if path.is_dir():
        raise CommandError(f"{path}: is a folder, not a file", returncode=2)
    if not path.is_file():
        raise CommandError(f"{path}: no such file", returncode=2)
    return path


def write_output(name: str, data: bytes, *, private: bool = False) -> Path:
    """Write `data` to the file `name`; `private` (it names the affected person): readable by
    this user only."""
    path = Path(name)
    try:
        if private:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        else:
            path.write_bytes(data)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}", returncode=2) from None
    return path
