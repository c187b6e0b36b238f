"""manage.py setup_demo [--pipeline]: the directory seed, a demo team and a demo case whose links
point at the sandbox's demo world (`manage.py sandbox`). Safe to run again.

With --pipeline (run against a running sandbox: `make run` does it) the demo case is carried
through the whole pipeline: resolve, generate notices, four-eyes approval by a second user,
send. The mail arrives at the sandbox's SMTP server; PDFs are written to var/demo/.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import tempfile
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from takedown.cases import open_case
from takedown.intake.store import import_links
from takedown.models import Case, Mandate, Notice, Team
from takedown.notices.generate import generate_notices
from takedown.notices.render import notice_pdf, render_mandate
from takedown.notices.review import approve, submit_for_review
from takedown.notices.send import SendError, queue_notice, send_notice
from takedown.sandbox.world import DEMO_CLOUDFLARE_ACCOUNT, DEMO_CLOUDFLARE_TOKEN, demo_urls

DEMO_REFERENCE = "TD-DEMO-0001"


class Command(BaseCommand):
    help = "Load the directory seed and a demo case that points at the sandbox's demo world."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pipeline",
            action="store_true",
            help="resolve, generate, approve and send the demo notices (needs the sandbox)",
        )
        parser.add_argument(
            "--sandbox",
            action="store_true",
            help="the demo team reports to the sandbox's Cloudflare API (its demo account)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.sandbox = bool(options["sandbox"])
        self.load_case()
        if options["pipeline"]:
            self.run_pipeline()

    def load_case(self) -> None:
        call_command("seed_directory", stdout=StringIO())
        team, _ = Team.objects.get_or_create(name="Demo team")
        admin = get_user_model().objects.filter(username="admin").first()
        if admin is not None:
            team.members.add(admin)
        _demo_users(team)
        _demo_cloudflare(team, sandbox=self.sandbox)
        logins = ", ".join(f"{name} / {password}" for name, password in demo_passwords().items())
        self.stdout.write(f"demo: web logins (username / password): {logins}")
        if Case.objects.filter(reference=DEMO_REFERENCE).exists():
            self.stdout.write(f"demo: case {DEMO_REFERENCE} is already there")
            return
        with transaction.atomic(), tempfile.TemporaryDirectory() as folder:
            case = open_case(
                reference=DEMO_REFERENCE,
                category=Case.Category.MEDICAL,
                team=team,
                assigned_to=admin,
                person={
                    "name": "Demo Person",
                    "email": "demo.person@example.org",
                    "country": "DE",
                    "language": "de",
                },
            )
            found = Path(folder) / "demo-links.csv"
            with found.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["SAMPLE_ID", "URL", "TEXT"])
                urls = demo_urls(settings.TAKEDOWN_SANDBOX_HTTP_PORT)
                for number, (label, url) in enumerate(urls.items(), start=1):
                    writer.writerow([f"demo-{number:03d}", url, label])
            report = import_links(case, [found], dataset="laion-5b", source_names=["demo"])
        self.stdout.write(
            f"demo: opened case {DEMO_REFERENCE} with {report.created} links "
            f"on {report.hosts} hosts (served by `manage.py sandbox`)"
        )

    def run_pipeline(self) -> None:
        case = Case.objects.get(reference=DEMO_REFERENCE)
        caseworker, reviewer = _demo_users(case.team)
        if not case.mandates.exists():
            # The demo person "signs" the generated mandate; a real one is uploaded signed.
            Mandate.objects.create(
                case=case, signed_document=render_mandate(case), uploaded_by=caseworker
            )
        call_command("resolve_hosts", "--case", DEMO_REFERENCE, "--sync", stdout=StringIO())
        report = generate_notices(case, actor=caseworker)
        out_dir = Path(settings.VAR_DIR) / "demo"
        out_dir.mkdir(parents=True, exist_ok=True)
        for notice in report.notices:
            if notice.status == Notice.Status.DRAFT and not notice.element_check.get("missing"):
                submit_for_review(notice, caseworker)
                approve(notice, reviewer)
            if notice.status == Notice.Status.APPROVED:
                try:
                    queue_notice(notice, actor=reviewer)
                except SendError as exc:
                    self.stdout.write(f"demo: notice {notice.pk} not queued: {exc}")
            if notice.status == Notice.Status.QUEUED:
                send_notice(notice.pk)
            notice.refresh_from_db()
            pdf = out_dir / f"notice-{notice.pk}.pdf"
            pdf.write_bytes(notice_pdf(notice))
            self.stdout.write(
                f"demo: notice {notice.pk} to {notice.recipient.name} ({notice.regime}): "
                f"{notice.status}; PDF {pdf}"
            )


DEMO_USERS = {"demo-caseworker": "caseworker", "demo-reviewer": "reviewer"}


def demo_passwords() -> dict[str, str]:
    """The demo users' passwords: made once, kept in VAR_DIR/demo-passwords.json (mode 0600),
    so `make run` prints the same logins every time. Local demo accounts only."""
    path = Path(settings.VAR_DIR) / "demo-passwords.json"
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        known = {}
    if set(DEMO_USERS) <= set(known):
        return known
    known = {name: known.get(name) or secrets.token_urlsafe(12) for name in DEMO_USERS}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(known, handle)
    return known


def _demo_cloudflare(team: Team, *, sandbox: bool) -> None:
    """With the sandbox the demo team has the sandbox Cloudflare API's demo account, so its
    notices to Cloudflare go through the API; without, that account (which exists nowhere
    else) is removed again and they go through the web form."""
    if sandbox:
        team.cloudflare_account_id = DEMO_CLOUDFLARE_ACCOUNT
        team.cloudflare_api_token = DEMO_CLOUDFLARE_TOKEN
    elif team.cloudflare_account_id == DEMO_CLOUDFLARE_ACCOUNT:
        team.cloudflare_account_id, team.cloudflare_api_token = "", ""
    else:
        return
    team.save(update_fields=["cloudflare_account_id", "cloudflare_api_token"])


def _demo_users(team: Team | None) -> tuple[Any, Any]:
    """A caseworker who drafts and a reviewer who approves: four eyes, even in the demo. They
    can sign in to the web app with the passwords of demo_passwords()."""
    users = get_user_model().objects
    passwords = demo_passwords()
    made = {}
    for username, group_name in DEMO_USERS.items():
        user, _ = users.get_or_create(username=username)
        if not user.check_password(passwords[username]):
            user.set_password(passwords[username])
            user.save()
        group = Group.objects.filter(name=group_name).first()
        if group is not None:
            user.groups.add(group)
        if team is not None:
            team.members.add(user)
        made[username] = user
    made["demo-reviewer"].user_permissions.add(Permission.objects.get(codename="review_notice"))
    # Fresh instances: permission caches are per instance.
    return users.get(pk=made["demo-caseworker"].pk), users.get(pk=made["demo-reviewer"].pk)
