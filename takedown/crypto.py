"""Encryption at rest for personal data: names, e-mail addresses, phone numbers, signed mandates.

Keys are Fernet keys (AES-128-CBC + HMAC-SHA256) from TAKEDOWN_FIELD_KEYS, newest first. MultiFernet
encrypts with the first key and decrypts with any, so rotation is: prepend a new key, run
`manage.py rotate_keys` (re-encrypts every value with the new key), then drop the old key.

Without TAKEDOWN_FIELD_KEYS a local key is generated once under var/ so the quick start works; in
production (TAKEDOWN_PRODUCTION=1) a missing key is an error.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from config.env import local_secret


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        if settings.PRODUCTION:
            raise ImproperlyConfigured("TAKEDOWN_FIELD_KEYS must be set in production")
        keys = [_local_key()]
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"TAKEDOWN_FIELD_KEYS holds an invalid Fernet key: {exc}"
        ) from None


def _local_key() -> str:
    return local_secret(settings.VAR_DIR / "field-key", lambda: Fernet.generate_key().decode())


def reset_keys() -> None:
    """Forget the loaded keys (after settings change, e.g. in tests of rotation)."""
    _fernet.cache_clear()


def encrypt(data: bytes) -> bytes:
    return _fernet().encrypt(data)


def decrypt(token: bytes) -> bytes:
    try:
        return _fernet().decrypt(token)
    except InvalidToken:
        raise ImproperlyConfigured(
            "A value could not be decrypted with any key in TAKEDOWN_FIELD_KEYS"
        ) from None


def rotate(token: bytes) -> bytes:
    return _fernet().rotate(token)


def seal_text(text: str) -> str:
    """Text for a JSON column (an event's data) as a Fernet token; "" stays ""."""
    return encrypt(text.encode()).decode() if text else ""


def open_text(token: str) -> str:
    return decrypt(token.encode()).decode() if token else ""


class EncryptedTextField(models.TextField):
    """A text column stored as a Fernet token. It cannot be searched or filtered on."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value.encode()).decode()

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value).encode()).decode()


class EncryptedBinaryField(models.BinaryField):
    """Bytes (e.g. a signed mandate PDF) stored as a Fernet token."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> bytes | None:
        if value is None:
            return None
        return decrypt(bytes(value))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        return super().get_db_prep_value(encrypt(bytes(value)), connection, prepared)
