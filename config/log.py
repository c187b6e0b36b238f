"""Logging filters for config/settings.py's LOGGING: no personal data in the logs."""

from __future__ import annotations

import logging
import re

# /p/ at the start of a path (after a space, a quote or a URL's host), not /static/p/...
PORTAL_TOKEN_IN_PATH = re.compile(r"(^|[\s\"'(=]|://[^/\s\"']+)/p/[^/\s?#\"']{16,}")


def redact_portal_tokens(record: logging.LogRecord) -> bool:
    """Logging filter (through django.utils.log.CallbackFilter): a portal link /p/<token>/ is
    the affected person's key to their case, so request lines show /p/<redacted>/ instead.
    Only a first segment of at least 16 characters counts as a token (tokens are 43): the
    portal's own pages (/p/status/, /p/code/ ...) keep their paths."""
    message = record.getMessage()
    redacted = PORTAL_TOKEN_IN_PATH.sub(r"\1/p/<redacted>", message)
    if redacted != message:
        record.msg, record.args = redacted, ()
    return True
