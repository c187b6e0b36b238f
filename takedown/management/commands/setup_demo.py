"""manage.py setup_demo: the directory seed, a demo team and a demo case whose links point at
the sandbox's demo world (`manage.py sandbox`). Safe to run again: it changes nothing twice."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from takedown.cases import open_case
from takedown.intake.store import import_links
from takedown.models import Case, Team
from takedown.sandbox.world import demo_urls

DEMO_REFERENCE = "TD-DEMO-0001"


class Command(BaseCommand):
    help = "Load the directory seed and a demo case that points at the sandbox's demo world."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("seed_directory", verbosity=0)
        team, _ = Team.objects.get_or_create(name="Demo team")
        admin = get_user_model().objects.filter(username="admin").first()
        if admin is not None:
            team.members.add(admin)
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
                for number, (label, url) in enumerate(demo_urls().items(), start=1):
                    writer.writerow([f"demo-{number:03d}", url, label])
            report = import_links(case, [found], dataset="laion-5b", source_names=["demo"])
        self.stdout.write(
            f"demo: opened case {DEMO_REFERENCE} with {report.created} links "
            f"on {report.hosts} hosts (served by `manage.py sandbox`)"
        )
