"""Reading the environment for config/settings.py: small typed helpers that fail loudly.

Each helper reads one variable or parses one URL and raises ImproperlyConfigured, naming the
variable, on a value it does not understand: a typo must stop the process at start, not
turn into a default that nobody chose. The defaults themselves live in settings.py only.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}")


def envchoice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name) or default
    if raw not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def envint(name: str, default: int) -> int:
    return _envparsed(name, default, int, "an integer")


def envfloat(name: str, default: float) -> float:
    return _envparsed(name, default, float, "a number")


def _envparsed[T](name: str, default: T, parse: Callable[[str], T], what: str) -> T:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {what}, not {raw!r}") from None


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def envintlist(name: str, default: str) -> list[int]:
    """Comma-separated integers (ports)."""
    try:
        return [int(item) for item in envlist(name, default)]
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be comma-separated integers, not {os.environ.get(name)!r}"
        ) from None


def envjson(name: str, default: Any) -> Any:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} must be JSON: {exc}") from None


def proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """ "HTTP_X_FORWARDED_PROTO=https" -> ("HTTP_X_FORWARDED_PROTO", "https"), Django's
    SECURE_PROXY_SSL_HEADER; empty means no proxy tells us about HTTPS."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    header, sep, value = (part.strip() for part in raw.partition("="))
    header = header.upper()
    if not sep or not value or not header.startswith("HTTP_") or len(header) == len("HTTP_"):
        raise ImproperlyConfigured(
            f"{name} must look like HTTP_X_FORWARDED_PROTO=https (the header as Django's "
            f"request.META names it, '=', the value meaning HTTPS), not {raw!r}"
        )
    return header, value


def networklist(name: str) -> list[str]:
    """Comma-separated IP addresses and CIDR networks, each checked, in canonical form."""
    networks = []
    for item in envlist(name):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list IP addresses or networks (10.0.0.5, 10.0.0.0/8), not {item!r}"
            ) from None
    return networks


# --- URLs -----------------------------------------------------------------------------------


def query_options(query: str) -> dict[str, str]:
    """?a=1&b=2 -> {"a": "1", "b": "2"}; a repeated key keeps its last value."""
    return {key: values[-1] for key, values in parse_qs(query).items()}


def database_from_url(url: str, default_sqlite: Path) -> dict[str, Any]:
    """DATABASE_URL (postgres://user:pass@host:port/name or sqlite:///path) in Django's form;
    sqlite:// without a path is `default_sqlite`."""
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        # JIT compilation off (unless the URL says otherwise): PostgreSQL compiles a query whose
        # estimated cost is high, and for a page's counts over a million-link case that took
        # about a second, longer than running them (issue 16, bench_case_scale).
        options = {"options": "-c jit=off", **query_options(parts.query)}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    if parts.scheme == "sqlite":
        # sqlite:///relative/path, sqlite:////absolute/path
        path = unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)
        return sqlite_database(Path(path) if path else default_sqlite)
    raise ImproperlyConfigured(f"DATABASE_URL: unsupported scheme {parts.scheme!r}")


def sqlite_database(path: Path) -> dict[str, Any]:
    # SQLite cannot create its folder; this is the embedded default, so make the quick start work.
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # WAL lets the web app, the worker and the scheduler read while one of them writes;
        # IMMEDIATE transactions make a writer wait for the lock instead of failing mid-way.
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        # Tests use a file, not :memory:, so a Celery worker thread sees the same database.
        "TEST": {"NAME": str(path.with_name("test-" + path.name))},
    }


def mailer_from_url(url: str) -> dict[str, Any]:
    """EMAIL_URL (smtp://user:pass@host:587?tls=1, smtps://...) as a Django 6.1 MAILERS entry."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ImproperlyConfigured(f"EMAIL_URL: unsupported scheme {parts.scheme!r}")
    query = query_options(parts.query)
    return {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": parts.hostname or "localhost",
            "port": parts.port or (465 if parts.scheme == "smtps" else 25),
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_ssl": parts.scheme == "smtps",
            "use_tls": query.get("tls", "0").lower() in ("1", "true", "yes"),
            "timeout": int(query.get("timeout", "30")),
        },
    }


def file_mailer(outbox: Path) -> dict[str, Any]:
    """The embedded default: every message an .eml file in `outbox`."""
    return {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": str(outbox)},
    }


def cache_from_url(name: str, url: str) -> dict[str, Any]:
    """A redis://, rediss:// or unix:// URL as Django's Redis cache; empty is a cache per
    process (fine for one process only: see TAKEDOWN_CACHE_URL in settings.py)."""
    if not url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "takedown"}
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ImproperlyConfigured(
            f"{name} must be a redis://, rediss:// or unix:// URL, not {url!r}"
        )
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}


def celery_transport_options(broker_url: str, folder: Path) -> dict[str, Any]:
    """Kombu's options for the broker: the filesystem broker's folders under `folder`, created
    here (Kombu does not, and a worker, beat or `.delay()` must work on a fresh checkout)."""
    if broker_url.startswith("filesystem://"):
        for name in ("queue", "processed", "control"):
            (folder / name).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    if broker_url.startswith(("redis://", "rediss://")):
        # Longer than any task may run, so a message of a live worker is never redelivered.
        return {"visibility_timeout": 3600}
    return {}


# --- secrets kept under var/ (outside production only) ------------------------------------------


def local_secret(path: Path, generate: Callable[[], str]) -> str:
    """The secret stored at `path`, generated once and written there (mode 0600) on first use.

    For installations outside production only: each gets its own secret instead of one written
    into the code, which anyone could read and use to forge sessions and portal codes. Two
    processes starting at once both try O_EXCL; the loser reads the winner's file.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(generate())
    return path.read_text().strip()
