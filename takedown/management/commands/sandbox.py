"""`manage.py sandbox`: run the local WHOIS, RDAP, DNS, HTTP, SMTP and IMAP servers for the demo.

Default ports: SMTP 8025, WHOIS 8043, DNS 8053 (UDP and TCP), HTTP image hosts 8080,
RDAP 8081, IMAP (the reply mailbox, dovecot, when installed) 8143, Cloudflare's abuse-report
API 8044 (sandbox/cloudflare.py).
It prints the settings that point Takedown at them and writes the same lines to
<var-dir>/sandbox.env; mail that arrives lands in <var-dir>/mail/*.eml.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from takedown.sandbox.world import DEFAULT_PORTS, start_sandbox


class Command(BaseCommand):
    help = "Run local WHOIS, RDAP, DNS, HTTP and SMTP servers with a demo world until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        for name, port in DEFAULT_PORTS.items():
            parser.add_argument(f"--{name}-port", type=int, default=port, metavar="PORT")
        parser.add_argument(
            "--var-dir",
            type=Path,
            default=None,
            help="where the RDAP bootstrap, sandbox.env and captured mail go (default var/sandbox)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        var_dir = options["var_dir"] or Path(settings.VAR_DIR) / "sandbox"
        ports = {name: options[f"{name}_port"] for name in DEFAULT_PORTS}
        stop = threading.Event()
        # SIGTERM (docker stop, a process manager) should shut down as cleanly as Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())

        removal = settings.TAKEDOWN_SANDBOX_REMOVAL_SECONDS
        with start_sandbox(var_dir, ports=ports, removal_delay=removal) as sandbox:
            env_lines = [f"{key}={value}" for key, value in sandbox.env().items()]
            (var_dir / "sandbox.env").write_text("\n".join(env_lines) + "\n")
            self.stdout.write("Sandbox running. Point Takedown at it with these settings:\n")
            self.stdout.write("\n".join(env_lines) + "\n")
            self.stdout.write(f"(also written to {var_dir / 'sandbox.env'})\n")
            self.stdout.write("\nDemo image URLs (names resolve through the sandbox DNS):\n")
            for label, url in sandbox.demo_urls.items():
                self.stdout.write(f"  {url}  ({label})\n")
            whois_names = len(sandbox.whois.names)
            self.stdout.write(f"\nWHOIS knows {whois_names} names. Ctrl-C stops.\n")
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass
        self.stdout.write("Sandbox stopped.\n")
