"""Run the web app, a Celery worker and the Celery beat scheduler together, for `make run`.

Each runs as a child process in its own process group, so a Ctrl-C in the terminal reaches
only this command, which then asks each child to stop the way it stops cleanly, waits, and
kills what is still running after a grace period (or a second Ctrl-C). Their output
is merged into ours with a name in front of every line. If one of them dies, the others are
stopped too and the command fails: a half-running system that looks healthy is worse.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from takedown.sandbox.world import DEFAULT_PORTS, start_sandbox
from takedown.tasks import dispatch_due_work

POLL_SECONDS = 0.2


@dataclass
class Child:
    name: str
    argv: list[str]
    # What makes it stop cleanly: runserver exits 0 on SIGINT but dies of SIGTERM; a Celery
    # worker shuts down warmly (finishing its running tasks) on SIGTERM to its main process,
    # while SIGINT to the whole group also interrupts its pool processes mid-task.
    stop_signal: signal.Signals = signal.SIGTERM
    process: subprocess.Popen[bytes] = field(init=False, repr=False)  # set when started
    pump: threading.Thread | None = field(default=None, repr=False)


class Command(BaseCommand):
    help = "Run the web app, a Celery worker and Celery beat together; Ctrl-C stops all."
    # runserver runs the checks itself; skipping them here keeps the start fast.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="web port on 127.0.0.1")
        parser.add_argument("--no-worker", action="store_true", help="do not start a worker")
        parser.add_argument("--no-beat", action="store_true", help="do not start beat")
        parser.add_argument(
            "--sandbox",
            action="store_true",
            help="also run the local sandbox (WHOIS, RDAP, DNS, image hosts, SMTP) and point "
            "the web app and workers at it: the demo, on a machine without internet",
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help="with --sandbox: carry the demo case through the pipeline first "
            "(resolve, notices, approval, sending to the sandbox's SMTP server)",
        )
        parser.add_argument(
            "--grace",
            type=float,
            default=20.0,
            help="seconds the children get to stop before they are killed",
        )

    def handle(self, *args: object, **options: object) -> None:
        port = int(str(options["port"]))
        if not 0 < port < 65536:
            raise CommandError(f"--port must be 1-65535, not {port}")
        prepare_folders()
        children = plan_children(port, worker=not options["no_worker"], beat=not options["no_beat"])
        env: dict[str, str] = {}
        sandbox = None
        if options["sandbox"]:
            try:
                sandbox = start_sandbox(
                    Path(settings.VAR_DIR) / "sandbox",
                    removal_delay=settings.TAKEDOWN_SANDBOX_REMOVAL_SECONDS
                    if options["demo"]
                    else None,
                )
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                ports = ", ".join(f"{name} {port}" for name, port in DEFAULT_PORTS.items())
                raise CommandError(
                    f"a port of the sandbox ({ports}) is taken: is another `make run` or "
                    "`manage.py sandbox` still running? Stop it, or run without the sandbox: "
                    "TAKEDOWN_SANDBOX=0 make run"
                ) from None
            env = sandbox.env()
            if options["demo"]:
                env.update(sandbox.demo_env())
            self.stdout.write(
                "runall: sandbox running (WHOIS, RDAP, DNS, image hosts, SMTP on 127.0.0.1); "
                f"mail it receives lands in {sandbox.var_dir / 'mail'}"
            )
            if sandbox.imap is not None:
                self.stdout.write(
                    f"runall: reply mailbox (IMAP) on {sandbox.imap.address}: the demo host's "
                    "answers land in their case within a minute"
                )
            else:
                self.stdout.write(
                    "runall: no reply mailbox: dovecot is not installed "
                    "(scripts/system-deps.sh install)"
                )
            if options["demo"]:
                self._run_demo(env)
                self.stdout.write(
                    "runall: the demo sites take some images down "
                    f"{settings.TAKEDOWN_SANDBOX_REMOVAL_SECONDS:g} s after their notice arrives;"
                    " the rechecks mark them removed within minutes"
                )
        if not options["no_worker"]:
            # Kick the dispatcher once so due work (the demo case) starts now, not after the
            # first beat interval.
            dispatch_due_work.delay()
        try:
            code = Supervisor(children, grace=float(str(options["grace"])), env=env).run()
        finally:
            if sandbox is not None:
                sandbox.stop()
        if code:
            sys.exit(code)

    def _run_demo(self, env: dict[str, str]) -> None:
        # A child process, so the sandbox's settings apply to it as they do to the workers.
        demo = subprocess.run(  # noqa: S603 - fixed argv
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "setup_demo",
                "--pipeline",
            ],
            cwd=settings.BASE_DIR,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        for line in demo.stdout.splitlines():
            self.stdout.write(f"runall: {line}")
        if demo.returncode:
            self.stderr.write(f"runall: the demo pipeline failed:\n{demo.stderr[-2000:]}")


def prepare_folders() -> None:
    """Create what the embedded defaults write to; the filesystem broker fails without it."""
    folders = [Path(settings.VAR_DIR), Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).parent]
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        if key in options:
            folders.append(Path(str(options[key])))
    outbox = settings.MAILERS["default"].get("OPTIONS", {}).get("file_path")
    if outbox:
        folders.append(Path(outbox))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)


def plan_children(port: int, *, worker: bool, beat: bool) -> list[Child]:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "config"]
    # --insecure: serve the admin's static files although DEBUG is off; it only listens on
    # loopback. --noreload: a reloader would fork a second server outside our control.
    web = [python, str(Path(settings.BASE_DIR) / "manage.py"), "runserver"]
    children = [
        Child("web", [*web, f"127.0.0.1:{port}", "--noreload", "--insecure"], signal.SIGINT)
    ]
    if worker:
        # Prefork with two processes works on the filesystem broker too: only the parent
        # process reads the queue folder and hands messages to the pool.
        children.append(
            Child(
                "worker",
                [
                    *celery,
                    "worker",
                    "--queues",
                    ",".join(settings.TAKEDOWN_QUEUES),
                    "--concurrency",
                    "2",
                    "--loglevel",
                    "INFO",
                ],
            )
        )
    if beat:
        schedule = str(settings.CELERY_BEAT_SCHEDULE_FILENAME)
        children.append(
            Child("beat", [*celery, "beat", "--loglevel", "INFO", "--schedule", schedule])
        )
    return children


class Supervisor:
    def __init__(
        self, children: list[Child], *, grace: float, env: dict[str, str] | None = None
    ) -> None:
        self.children = children
        self.env = env or {}
        self.grace = grace
        self.width = max(len("runall"), *(len(child.name) for child in children))
        self.output_lock = threading.Lock()
        self.signals: list[int] = []

    def run(self) -> int:
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for child in self.children:
                self._start(child)
            return self._watch()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.signals.append(signum)

    def _start(self, child: Child) -> None:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        # S603: the argv is built from fixed parts above, no user input.
        child.process = subprocess.Popen(  # noqa: S603
            child.argv,
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=_die_with_parent if _LIBC is not None else None,
        )
        child.pump = threading.Thread(
            target=self._pump, args=(child.name, child.process.stdout), daemon=True
        )
        child.pump.start()
        self._say(f"started {child.name} (pid {child.process.pid}): {' '.join(child.argv[1:])}")

    def _pump(self, name: str, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        prefix = f"{name:<{self.width}} | ".encode()
        for line in iter(stream.readline, b""):
            self._write(prefix + line if line.endswith(b"\n") else prefix + line + b"\n")
        stream.close()

    def _write(self, data: bytes) -> None:
        with self.output_lock:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()

    def _say(self, message: str) -> None:
        self._write(f"{'runall':<{self.width}} | {message}\n".encode())

    def _watch(self) -> int:
        """Wait for a signal or a child's death, then stop everything; return the exit code."""
        while True:
            if self.signals:
                name = signal.Signals(self.signals[0]).name
                self._say(f"{name} received: stopping all")
                code = 0
                break
            dead = [child for child in self.children if child.process.poll() is not None]
            if dead:
                child = dead[0]
                returncode = child.process.returncode
                self._say(f"{child.name} exited with code {returncode}: stopping the others")
                # A child that exits with 0 on its own has still stopped serving.
                code = returncode if returncode > 0 else 1
                break
            time.sleep(POLL_SECONDS)
        self._stop_all()
        return code

    def _stop_all(self) -> None:
        for child in self.children:
            if child.process.poll() is None:
                self._signal(child, child.stop_signal, group=False)
        seen = len(self.signals)
        deadline = time.monotonic() + self.grace
        running = {child.name for child in self.children if child.process.poll() is None}
        while running:
            for child in self.children:
                if child.name in running and child.process.poll() is not None:
                    running.discard(child.name)
                    self._say(f"{child.name} stopped (code {child.process.returncode})")
            if running and (len(self.signals) > seen or time.monotonic() > deadline):
                self._say(
                    f"killing {', '.join(sorted(running))}: not stopped in time or Ctrl-C again"
                )
                self._signal_all(signal.SIGKILL)
                break
            time.sleep(POLL_SECONDS)
        for child in self.children:
            child.process.wait()
            # Leftovers of a child that exited without its own children (a pool process).
            self._signal(child, signal.SIGKILL, group=True)
            if child.pump is not None:
                child.pump.join(timeout=2)
        self._say("all stopped")

    def _signal_all(self, signum: int) -> None:
        for child in self.children:
            if child.process.poll() is None:
                self._signal(child, signum, group=True)

    @staticmethod
    def _signal(child: Child, signum: int, *, group: bool) -> None:
        # It may have exited between poll() and here.
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(child.process.pid, signum)
            else:
                os.kill(child.process.pid, signum)


# Loaded here, not in the forked child: importing or loading libraries between fork and exec
# of a threaded process can deadlock.
_LIBC = ctypes.CDLL(None) if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGTERM it when this command dies, even by SIGKILL.

    Without it a killed `runall` would leave a worker and a server running in their own groups.
    """
    if _LIBC is not None:  # only Linux has it; elsewhere this is not called
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
