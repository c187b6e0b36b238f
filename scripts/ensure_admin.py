"""Create the local admin login once and print it.

The password is generated on the first run and kept in VAR_DIR/admin-password (mode 0600), so
running `make run` again prints the same login. An admin whose password was since changed in
the web interface is left alone.

Run with the project's Python: .venv/bin/python scripts/ensure_admin.py
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

USERNAME = "admin"


def read_or_create_password(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(15)
    # O_EXCL: two concurrent first runs must not end up with different passwords on disk.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return password


def ensure_admin() -> tuple[str, str, bool]:
    """Return (username, password, password_still_valid); creates the user if absent."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    password_file = Path(settings.VAR_DIR) / "admin-password"
    password = read_or_create_password(password_file)
    # The umask or an earlier tool may have left it readable by others.
    password_file.chmod(0o600)
    user_model = get_user_model()
    user = user_model.objects.filter(username=USERNAME).first()
    if user is None:
        user_model.objects.create_superuser(USERNAME, email="", password=password)
        return USERNAME, password, True
    return USERNAME, password, user.check_password(password)


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    username, password, valid = ensure_admin()
    if valid:
        print(f"Admin login: username {username}  password {password}")
    else:
        print(
            f"Admin login: username {username}; its password was changed since it was "
            "generated, so var/admin-password is out of date"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
