"""A real IMAP server on loopback for tests and the demo: Debian's dovecot with a generated
configuration, run in the foreground as a child process.

Why dovecot and not a Python package: the inbound path (takedown/replies/imap.py) must be
tested against the protocol as real mail servers speak it (UIDs, MOVE, folder creation,
literal handling), and no maintained pure-Python IMAP server exists on PyPI. dovecot is in
Debian (`dovecot-imapd`, installed by scripts/system-deps.sh) and runs from a private
configuration without touching the system's: its own base_dir, a passwd-file with one user,
maildirs under a folder of ours, plain IMAP on 127.0.0.1 only.

Run as root (CI, the demo in a container) the login processes must not be root: they run as
Debian's `dovenull` and the mail processes as `dovecot`, which then owns the mail folder. Run
as an ordinary user, everything runs as that user.
"""

from __future__ import annotations

import ctypes
import imaplib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from takedown.sandbox.base import free_port

DOVECOT = "dovecot"

# Loaded here, not in the forked child: loading a library between fork and exec of a threaded
# process can deadlock (as in the runall command).
_LIBC = ctypes.CDLL(None) if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: Linux sends it SIGTERM when the starting process dies."""
    assert _LIBC is not None
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def dovecot_binary() -> str | None:
    """The dovecot executable, or None when it is not installed."""
    return shutil.which(DOVECOT) or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if Path(p).exists()), None
    )


class ImapServer:
    """dovecot serving one mailbox (`user` / `password`) on a free loopback port."""

    scheme = "imap"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        mail_dir: Path | str | None = None,
        user: str = "takedown",
        password: str = "sandbox-imap",  # noqa: S107 - a loopback test server
        tls: bool = False,
    ) -> None:
        self.host, self.port = host, port
        # IMAP over TLS (imaps://) with a certificate made for 127.0.0.1 at start; clients
        # trust it through `ca_file`, as production trusts a real one.
        self.tls = tls
        self.user, self.password = user, password
        self._mail_dir = Path(mail_dir) if mail_dir else None
        self._run_dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, folder: str = "INBOX") -> str:
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}:{self.password}@{self.host}:{self.port}/{folder}"

    @property
    def ca_file(self) -> Path:
        assert self._run_dir is not None
        return self._run_dir / "cert.pem"

    @property
    def log_path(self) -> Path:
        assert self._run_dir is not None
        return self._run_dir / "dovecot.log"

    # --- lifecycle ---

    def start(self, timeout: float = 15.0) -> Self:
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError(
                "dovecot is not installed: apt-get install dovecot-imapd "
                "(scripts/system-deps.sh install does it)"
            )
        if self._process is not None:
            raise RuntimeError("ImapServer is already running")
        if self.port:
            # Taken: say so as the other servers do (OSError EADDRINUSE), not as a dead dovecot.
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((self.host, self.port))
        # Short: dovecot's unix sockets live here and their paths are limited to 108 bytes.
        self._run_dir = Path(tempfile.mkdtemp(prefix="td-imap-"))
        if self._mail_dir is None:
            self._mail_dir = self._run_dir / "mail"
        self._mail_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port(self.host)
        config = self._run_dir / "dovecot.conf"
        config.write_text(self._config(), encoding="utf-8")
        (self._run_dir / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        if self.tls:
            self._write_certificate()
        self._grant_access()
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv
            [binary, "-F", "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            # A killed test run or `make run` must not leave dovecot running on its port.
            preexec_fn=_die_with_parent if _LIBC is not None else None,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                log = self.log_path.read_text() if self.log_path.exists() else ""
                self.stop()
                raise RuntimeError(f"dovecot exited at start:\n{log[-2000:]}")
            try:
                with self.connect():
                    break
            except (OSError, imaplib.IMAP4.error):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("dovecot did not answer in time") from None
                time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._run_dir is not None:
            shutil.rmtree(self._run_dir, ignore_errors=True)
            self._run_dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the mailbox, over IMAP like any client ---

    def connect(self) -> imaplib.IMAP4:
        client: imaplib.IMAP4
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.ca_file))
            client = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context, timeout=10)
        else:
            client = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            client.login(self.user, self.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message into a folder, as the mail system's delivery agent would."""
        with self.connect() as client:
            if folder != "INBOX":
                client.create(folder)
            status, answer = client.append(folder, "", None, raw)
            if status != "OK":
                raise RuntimeError(f"APPEND failed: {answer!r}")

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """The raw messages in a folder (empty if it does not exist)."""
        with self.connect() as client:
            status, _ = client.select(folder, readonly=True)
            if status != "OK":
                return []
            _, data = client.uid("SEARCH", None, "ALL")  # type: ignore[arg-type]
            raws = []
            for uid in data[0].split() if data and data[0] else []:
                _, fetched = client.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
                for item in fetched:
                    if isinstance(item, tuple):
                        raws.append(item[1])
            return raws

    def reset(self) -> None:
        """Empty every folder (fixtures call this between tests)."""
        with self.connect() as client:
            _, folders = client.list()
            for line in folders or []:
                name = line.decode().rsplit(' "." ', 1)[-1].strip().strip('"')  # type: ignore[union-attr]
                status, count = client.select(name)
                if status != "OK":
                    continue
                if count and count[0] and int(count[0]) > 0:
                    client.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                    client.expunge()
                client.close()
                if name != "INBOX":
                    client.delete(name)

    # --- configuration ---

    def _accounts(self) -> tuple[str, str, int, int]:
        """(login user, internal user, mail uid, mail gid)."""
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.geteuid()).pw_name
            return me, me, os.geteuid(), os.getegid()
        # dovecot refuses to run its login processes or mail access as root.
        mail = pwd.getpwnam("dovecot")
        return "dovenull", "dovecot", mail.pw_uid, mail.pw_gid

    def _grant_access(self) -> None:
        _, _, uid, gid = self._accounts()
        assert self._run_dir is not None and self._mail_dir is not None
        # dovecot's unprivileged processes must reach their sockets here.
        os.chmod(self._run_dir, 0o755)  # noqa: S103
        if os.geteuid() == 0:
            for path in (self._mail_dir, *self._mail_dir.rglob("*")):
                os.chown(path, uid, gid)
            # The mail processes must be able to walk down to the mail folder.
            for parent in self._mail_dir.parents:
                if parent == Path("/") or parent.stat().st_mode & 0o005 == 0o005:
                    break
                if parent.stat().st_uid == 0:
                    os.chmod(parent, parent.stat().st_mode | 0o005)

    def _write_certificate(self) -> None:
        """A self-signed certificate for 127.0.0.1 (the key readable by dovecot only)."""
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        assert self._run_dir is not None
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "takedown sandbox IMAP")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address(self.host)), x509.DNSName("localhost")]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.ca_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path = self._run_dir / "key.pem"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)

    def _config(self) -> str:
        login_user, internal_user, uid, gid = self._accounts()
        run, mail = self._run_dir, self._mail_dir
        plain, secure = (0, self.port) if self.tls else (self.port, 0)
        ssl_lines = (
            f"ssl = required\nssl_cert = <{run}/cert.pem\nssl_key = <{run}/key.pem\n"
            if self.tls
            else "ssl = no\n"
        )
        return f"""\
protocols = imap
listen = {self.host}
base_dir = {run}/run
state_dir = {run}/state
instance_name = takedown-sandbox-{self.port}
log_path = {run}/dovecot.log
{ssl_lines}disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {run}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {self.host}
    port = {plain}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {secure}
    ssl = yes
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""
