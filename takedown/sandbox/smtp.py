"""An SMTP server that captures every message and can be told to refuse, for retry tests.

Failures are programmable the way real mail servers fail: `reject_recipient` refuses one
address with a 5xx while others are accepted (a partial refusal, which Django's backend
silently ignores); `fail_next` answers the next N transactions with a 4xx (greylisting,
a full queue) and then recovers; `fail_all` refuses everything (554) until `reset`.
"""

from __future__ import annotations

import email
import email.policy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from takedown.sandbox.base import free_port

Stage = Literal["mail", "rcpt", "data"]

# aiosmtpd logs every sender and recipient at INFO; the demo console should not fill with them.
logging.getLogger("mail.log").setLevel(logging.WARNING)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CapturedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message: EmailMessage = field(repr=False)


@dataclass(frozen=True)
class _Failure:
    code: int
    text: str
    stage: Stage

    @property
    def reply(self) -> str:
        return f"{self.code} {self.text}"


class SmtpServer:
    scheme = "smtp"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, eml_dir: Path | str | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.eml_dir = Path(eml_dir) if eml_dir else None
        self._messages: list[CapturedMessage] = []
        self._rejected: dict[str, str] = {}
        self._failure: _Failure | None = None
        self._failures_left: int | None = 0  # None: for ever
        self._changed = threading.Condition()
        self._controller: Any = None
        # Called with each accepted message, in the server's thread: the demo world's sites
        # react to the notices they receive (takedown.sandbox.world.Removals) and its
        # recipients answer through it. Not cleared by reset().
        self.listeners: list[Callable[[CapturedMessage], None]] = []

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    # --- programming failures ---

    def reject_recipient(
        self, address: str, code: int = 550, text: str = "5.1.1 Mailbox unavailable"
    ) -> None:
        with self._changed:
            self._rejected[address.lower()] = f"{code} {text}"

    def fail_next(
        self,
        count: int,
        code: int = 451,
        text: str = "4.3.0 Try again later",
        stage: Stage = "data",
    ) -> None:
        """Answer the next `count` transactions with `code` at MAIL, RCPT or end of DATA."""
        if count < 1:
            raise ValueError("count must be at least 1")
        self._set_failure(_Failure(code, text, stage), count)

    def fail_all(
        self, code: int = 554, text: str = "5.7.1 Transaction failed", stage: Stage = "data"
    ) -> None:
        """Answer every transaction with `code` until reset()."""
        self._set_failure(_Failure(code, text, stage), None)

    def _set_failure(self, failure: _Failure | None, count: int | None) -> None:
        with self._changed:
            self._failure, self._failures_left = failure, count

    # --- reading what arrived ---

    @property
    def messages(self) -> list[CapturedMessage]:
        with self._changed:
            return list(self._messages)

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[CapturedMessage]:
        """Block until at least `count` messages arrived (for mail sent by a worker thread)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(f"{len(self._messages)} of {count} messages arrived")
            return list(self._messages)

    def reset(self) -> None:
        """Forget messages, rejections and failures (fixtures call this between tests)."""
        with self._changed:
            self._messages.clear()
            self._rejected.clear()
        self._set_failure(None, 0)

    # --- aiosmtpd handler hooks, called in the server's event-loop thread ---

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self._changed:
            failure = self._failure
            if failure is not None and self._failures_left is not None:
                self._failures_left -= 1
                if self._failures_left == 0:
                    self._failure = None
        # The envelope is this transaction's; later stages read the verdict from it.
        envelope.sandbox_failure = failure
        if failure is not None and failure.stage == "mail":
            return failure.reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        failure = getattr(envelope, "sandbox_failure", None)
        if failure is not None and failure.stage == "rcpt":
            return failure.reply
        with self._changed:
            rejection = self._rejected.get(address.lower())
        if rejection:
            return rejection
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        failure = getattr(envelope, "sandbox_failure", None)
        if failure is not None and failure.stage == "data":
            return failure.reply
        data: bytes = envelope.original_content
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        captured = CapturedMessage(envelope.mail_from, tuple(envelope.rcpt_tos), data, parsed)
        with self._changed:
            self._messages.append(captured)
            number = len(self._messages)
            self._changed.notify_all()
        if self.eml_dir is not None:
            self.eml_dir.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            (self.eml_dir / f"{stamp}-{number:04d}.eml").write_bytes(data)
        for listener in list(self.listeners):
            try:
                listener(captured)
            except Exception:
                # A listener's bug must not turn an accepted message into a refused one.
                log.exception("sandbox SMTP listener failed")
        return "250 Message accepted for delivery"

    # --- lifecycle ---

    def start(self) -> Self:
        from aiosmtpd.controller import Controller

        if self._controller is not None:
            raise RuntimeError("SmtpServer is already running")
        port = self.port or free_port(self.host)
        # server_hostname: the default calls socket.getfqdn(), which can stall without DNS.
        self._controller = Controller(
            self, hostname=self.host, port=port, server_hostname="sandbox.smtp.test"
        )
        self._controller.start()
        self.port = port
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
