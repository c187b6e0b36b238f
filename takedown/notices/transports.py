"""Handing one message to the mail system: the transports.

A transport delivers one message to one address and says what happened. `deliver` either
returns the server's reply to the end of the message or raises DeliveryError with the stage it
failed at and whether the refusal is permanent (5xx: never retried) or the outcome uncertain
(no reply to the final "."). The sent log and every decision about retrying live in
notices/send.py; this module only speaks the protocols.

SmtpTransport speaks SMTP itself, one transaction per address, so a refused address is seen and
reported instead of being dropped the way Django's SMTP backend drops partially refused
recipient lists; it also lets the sender record the handover between DATA's 354 and the final
".", the one step whose outcome can be lost.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

if TYPE_CHECKING:
    from takedown.models import Notice

# Serialised once per message; 7-bit so that servers without 8BITMIME take it unchanged.
WIRE_POLICY = email.policy.SMTP.clone(cte_type="7bit")


@dataclass(frozen=True)
class Failure:
    recipient: str
    # connect, mail, rcpt, data (the DATA command or writing the message), end (the reply to
    # the final ".")
    stage: str
    code: int | None
    reply: str
    permanent: bool = False
    uncertain: bool = False

    def __str__(self) -> str:
        code = f"{self.code} " if self.code else ""
        return f"{self.recipient}: {code}{self.reply} (at {self.stage})"


def wire_bytes(message: EmailMultiAlternatives) -> bytes:
    return message.message(policy=WIRE_POLICY).as_bytes()


class DeliveryError(Exception):
    def __init__(
        self,
        stage: str,
        reply: str,
        code: int | None = None,
        *,
        permanent: bool = False,
        uncertain: bool = False,
    ) -> None:
        super().__init__(f"{code or ''} {reply} (at {stage})".strip())
        self.stage, self.reply, self.code = stage, reply, code
        self.permanent, self.uncertain = permanent, uncertain

    def failure(self, recipient: str) -> Failure:
        return Failure(recipient, self.stage, self.code, self.reply, self.permanent, self.uncertain)


class Transport:
    """One attempt's way of handing messages over. `handover` is called right before the point
    after which the message may have been accepted; it may raise ClaimLost to stop."""

    def deliver(
        self,
        notice: Notice,
        sender: str,
        recipient: str,
        message: EmailMultiAlternatives,
        handover: Callable[[], None],
    ) -> str:
        raise NotImplementedError

    def close(self) -> None:
        pass


def open_transport() -> Transport:
    """The transport for MAILERS["default"]: SMTP spoken here (to see each reply), the
    file-based backend as .eml files (the local default), any other backend through Django."""
    backend = mailers["default"]
    if isinstance(backend, SmtpBackend):
        return SmtpTransport(backend)
    if isinstance(backend, FileBackend):
        return OutboxTransport(Path(backend.file_path))
    return BackendTransport(backend)


class SmtpTransport(Transport):
    """SMTP through smtplib on the connection Django's backend opens (TLS, login and timeout
    from EMAIL_URL), one transaction per address, each reply read and classified."""

    def __init__(self, backend: SmtpBackend) -> None:
        self.backend = backend

    def _connection(self) -> smtplib.SMTP:
        if self.backend.connection is None:
            try:
                self.backend.open()
                assert self.backend.connection is not None  # open() sets it or raises
                self.backend.connection.ehlo_or_helo_if_needed()
            except smtplib.SMTPResponseException as exc:
                self._drop()
                # A refused login is our configuration, not the recipient: retry, never fail.
                raise DeliveryError("connect", _text(exc.smtp_error), exc.smtp_code) from exc
            except OSError as exc:
                self._drop()
                raise DeliveryError("connect", _describe(exc)) from exc
        assert self.backend.connection is not None
        return self.backend.connection

    def deliver(
        self,
        notice: Notice,
        sender: str,
        recipient: str,
        message: EmailMultiAlternatives,
        handover: Callable[[], None],
    ) -> str:
        payload = _dot_stuffed(wire_bytes(message))
        conn = self._connection()
        stage = "mail"
        try:
            self._expect(conn.mail(sender), (250,), stage)
            stage = "rcpt"
            self._expect(conn.rcpt(recipient), (250, 251), stage)
            stage = "data"
            self._expect(conn.docmd("data"), (354,), stage)
        except OSError as exc:
            self._drop()
            raise DeliveryError(stage, _describe(exc)) from exc
        try:
            handover()
        except BaseException:
            # Hang up in the middle of DATA: without the final "." the server discards it.
            self._drop()
            raise
        try:
            conn.send(payload)
        except OSError as exc:
            # The "." is the payload's last byte; a failed write never delivered it.
            self._drop()
            raise DeliveryError("data", _describe(exc)) from exc
        try:
            code, reply = conn.getreply()
        except OSError as exc:
            self._drop()
            raise DeliveryError("end", _describe(exc), uncertain=True) from exc
        if code != 250:
            raise DeliveryError("end", _text(reply), code, permanent=code >= 500)
        return f"{code} {_text(reply)}"

    def _expect(self, answer: tuple[int, bytes], codes: tuple[int, ...], stage: str) -> None:
        code, reply = answer
        if code in codes:
            return
        try:
            if self.backend.connection is not None:  # it just answered; _drop() clears it
                self.backend.connection.rset()
        except OSError:
            self._drop()
        raise DeliveryError(stage, _text(reply), code, permanent=code >= 500)

    def _drop(self) -> None:
        # close(), not quit(): in the middle of DATA a QUIT would become part of the message.
        # _partial_connection: Django 6.1's backend's, not (yet) in django-stubs.
        partial = self.backend._partial_connection  # type: ignore[attr-defined]
        for conn in (self.backend.connection, partial):
            if conn is not None:
                conn.close()
        self.backend.connection = None
        self.backend._partial_connection = None  # type: ignore[attr-defined]

    def close(self) -> None:
        try:
            self.backend.close()
        except OSError:
            self._drop()


class OutboxTransport(Transport):
    """The local default: each message as an .eml file, with the envelope as a mailbox would
    show it (Return-Path, Delivered-To). A resend overwrites its own file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def deliver(
        self,
        notice: Notice,
        sender: str,
        recipient: str,
        message: EmailMultiAlternatives,
        handover: Callable[[], None],
    ) -> str:
        payload = wire_bytes(message)
        handover()
        key = hashlib.sha256(f"{notice.message_id} {recipient}".encode()).hexdigest()[:12]
        path = self.directory / f"notice-{notice.pk}-{key}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(
            f"Return-Path: <{sender}>\r\nDelivered-To: {recipient}\r\n".encode() + payload
        )
        tmp.replace(path)
        return f"250 written to {path.name}"


class BackendTransport(Transport):
    """Any other Django backend (locmem in tests, console). It cannot set the envelope sender
    or report refusals; fine for development, not for production."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def deliver(
        self,
        notice: Notice,
        sender: str,
        recipient: str,
        message: EmailMultiAlternatives,
        handover: Callable[[], None],
    ) -> str:
        handover()
        if self.backend.send_messages([message]) != 1:
            raise DeliveryError("end", f"{type(self.backend).__name__} did not send it")
        return f"250 handed to {type(self.backend).__module__}"


def _dot_stuffed(payload: bytes) -> bytes:
    # RFC 5321 4.5.2: a line starting with "." gets another; then the terminating ".".
    stuffed = re.sub(rb"(?m)^\.", b"..", payload)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
