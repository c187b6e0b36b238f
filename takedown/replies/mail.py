"""Reading inbound mail: files (mbox, Maildir, .eml) into raw messages, and a raw message into
the parts the rest needs (addresses, threading headers, the new text apart from what it quotes,
attachments). Speaks no protocol and decides nothing: what an answer means is classify.py.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import mailbox
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

# Headers that say where a message was delivered: a reply token may be in any of them.
RECIPIENT_HEADERS = (
    "To",
    "Cc",
    "Delivered-To",
    "X-Original-To",
    "Envelope-To",
    "X-Envelope-To",
    "X-Forwarded-To",
)
# Headers the classification reads (RFC 3834 and what mail systems use instead).
DECISION_HEADERS = (
    "Auto-Submitted",
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponder",
    "Precedence",
    "X-Precedence",
    "X-MS-Exchange-Generated-Message-Source",
    "X-Auto-Response-Suppress",
    "Return-Path",
    "X-Failed-Recipients",
)


class ReplyInputError(Exception):
    """A file or folder that is not readable mail."""


@dataclass
class MailAttachment:
    filename: str
    content_type: str
    content: bytes


@dataclass
class ParsedMail:
    raw: bytes
    message: EmailMessage = field(repr=False)
    message_id: str
    from_address: str
    subject: str
    date: datetime | None
    thread_ids: list[str]  # In-Reply-To and References, most recent first
    recipients: list[str]
    headers: dict[str, str]
    text: str  # the whole text body
    new_text: str  # what the sender wrote, without the quoted or forwarded history
    attachments: list[MailAttachment]
    is_dsn: bool

    @property
    def message_key(self) -> str:
        """What makes a message the same message: its Message-ID, else its exact bytes."""
        if self.message_id:
            return self.message_id[:300]
        return "sha256:" + hashlib.sha256(self.raw).hexdigest()


# --- files -----------------------------------------------------------------------------------


def read_paths(paths: list[Path]) -> list[tuple[str, bytes]]:
    """(key, raw message) of every message in the paths: .eml files, mbox files, Maildir
    folders or folders of .eml files. Everything is read before anything is returned, so a
    caller can refuse the whole input when one part of it is unreadable."""
    found: list[tuple[str, bytes]] = []
    for path in paths:
        found.extend(_read_path(path))
    for key, raw in found:
        if not _looks_like_mail(raw):
            raise ReplyInputError(f"{key}: not an e-mail message")
    return found


def _read_path(path: Path) -> list[tuple[str, bytes]]:
    try:
        if path.is_dir():
            if (path / "cur").is_dir() and (path / "new").is_dir():
                box = mailbox.Maildir(path, factory=None, create=False)
                try:
                    return [(f"{path}:{key}", box.get_bytes(key)) for key in sorted(box.iterkeys())]
                finally:
                    box.close()
            files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".eml")
            if not files:
                raise ReplyInputError(f"{path} is neither a Maildir nor a folder of .eml files")
            return [(str(p), p.read_bytes()) for p in files]
        if not path.is_file():
            raise ReplyInputError(f"{path} does not exist")
        data = path.read_bytes()
        if data.startswith(b"From "):
            mbox = mailbox.mbox(path, factory=None, create=False)
            try:
                return [(f"{path}:{key}", mbox.get_bytes(key)) for key in mbox.iterkeys()]
            finally:
                mbox.close()
        return [(str(path), data)]
    except (OSError, mailbox.Error) as exc:
        raise ReplyInputError(f"{path}: {exc}") from None


_HEADER_LINE = re.compile(rb"^[!-9;-~]+:", re.MULTILINE)


def _looks_like_mail(raw: bytes) -> bool:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    if not head or b"\x00" in raw[:4096]:
        return False
    lines = head.splitlines()
    return bool(lines) and bool(_HEADER_LINE.match(lines[0])) and b"From:" in head.title()


# --- one message -----------------------------------------------------------------------------


def parse_message(raw: bytes) -> ParsedMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text, attachments, is_dsn = _body(message)
    return ParsedMail(
        raw=raw,
        message=message,
        message_id=_header(message, "Message-ID"),
        from_address=parseaddr(_header(message, "From"))[1].lower(),
        subject=" ".join(_header(message, "Subject").split()),
        date=_date(message),
        thread_ids=_thread_ids(message),
        recipients=_recipients(message),
        headers={
            name.lower(): _header(message, name) for name in DECISION_HEADERS if name in message
        },
        text=text,
        new_text=new_text(text),
        attachments=attachments,
        is_dsn=is_dsn,
    )


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError):  # a header the parser cannot make sense of
        return ""
    return str(value).strip() if value is not None else ""


def _date(message: EmailMessage) -> datetime | None:
    value = _header(message, "Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


_MSGID = re.compile(r"<[^<>\s]+>")


def _thread_ids(message: EmailMessage) -> list[str]:
    ids = _MSGID.findall(_header(message, "In-Reply-To"))
    ids += reversed(_MSGID.findall(_header(message, "References")))
    return list(dict.fromkeys(ids))


def _recipients(message: EmailMessage) -> list[str]:
    values: list[str] = []
    for name in RECIPIENT_HEADERS:
        for value in message.get_all(name, []):
            values.append(str(value))
    found = [addr.lower() for _, addr in getaddresses(values) if "@" in addr]
    return list(dict.fromkeys(found))


def _body(message: EmailMessage) -> tuple[str, list[MailAttachment], bool]:
    is_dsn = message.get_content_type() == "multipart/report" and any(
        part.get_content_type() == "message/delivery-status" for part in message.walk()
    )
    plain: list[str] = []
    html: list[str] = []
    attachments: list[MailAttachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = part.get_content_disposition()
        if disposition == "attachment" or (
            ctype not in ("text/plain", "text/html") and not ctype.startswith("message/")
        ):
            try:
                content = part.get_payload(decode=True) or b""
            except (ValueError, LookupError):
                content = b""
            name = part.get_filename() or f"attachment-{len(attachments) + 1}"
            attachments.append(MailAttachment(name[:200], ctype, bytes(content)))
            continue
        if ctype not in ("text/plain", "text/html"):
            continue
        try:
            content_text = part.get_content()
        except (LookupError, ValueError, AssertionError):
            payload = part.get_payload(decode=True) or b""
            content_text = bytes(payload).decode("utf-8", "replace")
        (plain if ctype == "text/plain" else html).append(str(content_text))
    text = "\n".join(plain) if plain else "\n".join(html_to_text(h) for h in html)
    return text.replace("\r\n", "\n"), attachments, is_dsn


class _TextExtractor(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "blockquote", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skip += 1
        if tag == "blockquote":
            self._quote += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head"):
            self._skip = max(0, self._skip - 1)
        if tag == "blockquote":
            self._quote = max(0, self._quote - 1)
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._quote:
            # Quoted history in HTML mail: keep it, marked the way plain text quotes are.
            data = "\n".join("> " + line for line in data.splitlines())
        self.parts.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = [" ".join(line.split()) for line in "".join(extractor.parts).splitlines()]
    return "\n".join(lines).strip()


# --- what is new in a message, and what it quotes ----------------------------------------------

# A line that starts the quoted or forwarded history, in the forms of common mail programs
# (English and German): "On ... wrote:", Outlook's header block, dashes lines.
_HISTORY = re.compile(
    r"""^\s*(?:
        (?:On|Am)\s.{4,200}?(?:wrote|schrieb)[^\n]{0,80}:\s*$
      | -{2,}\s*(?:Original\s+Message|Ursprüngliche\s+Nachricht|Forwarded\s+message
                  |Weitergeleitete\s+Nachricht|Originalnachricht)\s*-{2,}
      | _{10,}\s*$
      | (?:Begin\s+forwarded\s+message|Anfang\s+der\s+weitergeleiteten\s+Nachricht)\s*:
      | (?:From|Von):\s.+\n\s*(?:Sent|Gesendet|Date|Datum):\s
    )""",
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)
_FORWARD = re.compile(
    r"Forwarded\s+message|Weitergeleitete\s+Nachricht|Begin\s+forwarded|weitergeleiteten",
    re.IGNORECASE,
)
_HEADER_BLOCK_LINE = re.compile(
    r"^\s*(?:From|Von|Sent|Gesendet|Date|Datum|To|An|Cc|Subject|Betreff)\s*:", re.IGNORECASE
)


def new_text(text: str) -> str:
    """The part of a message its sender wrote now: up to the first quoted or forwarded block,
    without ">" lines. A message that is only a forward (nothing written above it) is its
    forwarded message: that is the answer someone passed on to us."""
    match = _HISTORY.search(text)
    head = text[: match.start()] if match else text
    own = _unquoted(head)
    if own or match is None:
        return own
    if not _FORWARD.search(text[match.start() : match.start() + 200]):
        return own
    forwarded = text[match.end() :].splitlines()
    # Skip the forwarded message's header block (From:, Date:, Subject:, To:).
    while forwarded and (not forwarded[0].strip() or _HEADER_BLOCK_LINE.match(forwarded[0])):
        forwarded.pop(0)
    return new_text("\n".join(forwarded))


def _unquoted(text: str) -> str:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()
