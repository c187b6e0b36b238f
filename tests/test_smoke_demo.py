"""The demo pipeline on the embedded defaults (SQLite, no broker server), as `make run` does it:
separate processes, the product pointed at a running sandbox through its settings alone."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from takedown.sandbox.world import start_sandbox
from tests.test_settings import ROOT, embedded_env

pytestmark = pytest.mark.smoke


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_demo_case_is_imported_and_resolved_on_embedded_defaults(tmp_path: Path):
    ports = {name: 0 for name in ("smtp", "whois", "dns", "http", "rdap", "imap", "cloudflare")}
    with start_sandbox(tmp_path / "sandbox", ports=ports) as sandbox:
        env = {**embedded_env(tmp_path / "var"), **sandbox.env()}
        manage(env, "migrate", "--noinput", "-v", "0")

        demo = manage(env, "setup_demo")
        again = manage(env, "setup_demo")
        resolved = manage(env, "resolve_hosts", "--sync")
        lookup = manage(env, "lookup_host", "--json", "img.picshare-demo.com")
        pipeline = manage(env, "setup_demo", "--pipeline")
        mail = sandbox.smtp.wait_for(2, timeout=10)
        # The demo hosting provider acknowledges its notice into the reply mailbox; the poll the
        # dispatcher runs every minute stores it in its case.
        answered = sandbox.imap is not None and wait_for_answer(sandbox)
        polled = manage(
            env,
            "shell",
            "-c",
            "import json; from takedown.replies.imap import poll_mailbox; "
            "from takedown.models import Reply; print(json.dumps(poll_mailbox())); "
            "print(json.dumps([(r.kind, r.notice.recipient.name, r.notice.recipient_ticket, "
            "r.matched_by) for r in Reply.objects.all()]))",
        )
        logins = dict(
            pair.split(" / ")
            for pair in re.search(r"demo: web logins \(username / password\): (.*)", demo)
            .group(1)
            .split(", ")
        )
        signed_in = manage(
            env,
            "shell",
            "-c",
            "from django.test import Client; print(Client().login("
            f"username='demo-reviewer', password='{logins['demo-reviewer']}'))",
        )

    assert "demo: opened case TD-DEMO-0001 with 11 links on 3 hosts" in demo
    assert "demo: case TD-DEMO-0001 is already there" in again
    assert set(logins) == {"demo-caseworker", "demo-reviewer"}
    # The same logins every time, and they work.
    assert f"demo-reviewer / {logins['demo-reviewer']}" in again
    assert signed_in.strip().splitlines()[-1] == "True"
    assert resolved.splitlines()[0] == "resolving 3 hosts on 3 registered domains"
    assert resolved.splitlines()[-1] == "done: 3 resolved"
    assert '"hosting": {"name": "Demo Hosting GmbH"' in lookup
    assert (tmp_path / "var" / "takedown.sqlite3").exists()
    sent = [line for line in pipeline.splitlines() if line.startswith("demo: notice")]
    assert len(sent) == 2
    assert all(": sent; PDF " in line for line in sent)
    recipients = sorted(address for message in mail for address in message.rcpt_tos)
    assert recipients == ["abuse@hoster-demo.de", "contact@laion.ai"]
    assert all(message.mail_from.startswith("bounces+") for message in mail)
    assert len(list((tmp_path / "var" / "demo").glob("notice-*.pdf"))) == 2
    if answered:
        counts, replies = (json.loads(line) for line in polled.strip().splitlines()[-2:])
        assert counts == {"recorded": 1}
        assert replies == [["acknowledgement", "Demo Hosting GmbH", "2026-4711", "token"]]


def test_demo_case_moves_links_become_removed_after_their_notice(tmp_path: Path):
    """`make run`'s world: the image host is fetchable with the sandbox on, and some images
    are taken down a short while after their notice arrives; the scheduled rechecks see it."""
    import json
    import time

    ports = {name: 0 for name in ("smtp", "whois", "dns", "http", "rdap", "imap", "cloudflare")}
    with start_sandbox(tmp_path / "sandbox", ports=ports, removal_delay=1.0) as sandbox:
        env = {**embedded_env(tmp_path / "var"), **sandbox.env(), **sandbox.demo_env()}
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "setup_demo")
        before = json.loads(
            manage(env, "recheck_links", "--case", "TD-DEMO-0001", "--sync", "--json")
        )
        # The demo's schedule, faster still: rechecks a second apart.
        env |= {
            "TAKEDOWN_RECHECK_PENDING_HOURS": "0.0003",
            "TAKEDOWN_RECHECK_CONFIRM_HOURS": "0.0003",
        }
        manage(env, "setup_demo", "--pipeline")
        status: dict[str, tuple[str, str]] = {}
        deadline = time.monotonic() + 90
        live = sandbox.demo_urls["live photo"]
        while status.get(live, ("", ""))[1] != "removed" and time.monotonic() < deadline:
            time.sleep(1.2)
            for item in json.loads(manage(env, "recheck_links", "--sync", "--json")):
                status[item["url"]] = (item["verdict"], item["status"])
        removed = sorted(sandbox.removals.removed)

    verdicts = {item["url"]: item["verdict"] for item in before}
    urls = sandbox.demo_urls
    assert verdicts[urls["live photo"]] == "online_same"
    assert not any("port" in item["reason"] for item in before)
    assert removed == sorted(
        urls[label] for label in ("live photo", "photo (PNG copy)", "other photo (re-encoded)")
    )
    assert status[urls["live photo"]] == ("removed", "removed")
    assert status[urls["smaller re-upload"]][0] == "online_same"


def wait_for_answer(sandbox) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if sandbox.imap.messages():
            return True
        time.sleep(0.2)
    raise AssertionError("the demo helpdesk did not answer")
