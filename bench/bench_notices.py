"""Benchmark: generate and render the notices of a case with 1,000 links on 300 recipients.

    .venv/bin/python bench/bench_notices.py                 # SQLite under var/bench/
    .venv/bin/python bench/bench_notices.py --db postgres   # BENCH_POSTGRES_URL, recreated

Prints notices per second (generate + render with PDF), the median milliseconds per PDF page,
and peak RSS. Target (issue 4): at most 150 ms per one-page PDF on a 2-core machine.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import fresh_django  # noqa: E402

COUNTRIES = ["DE", "FR", "NL", "US", "GB", "IE", "JP", "PL", "AT", "SE"]


def setup_case(links: int, recipients: int):  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    from takedown.cases import open_case
    from takedown.models import FoundLink, Host, HostResolution, Organisation

    rng = random.Random(7)
    author = get_user_model().objects.create(username="bench-caseworker", email="cw@example.org")
    case = open_case(reference="TD-BENCH-0002", category="medical", assigned_to=author)
    organisations = []
    for n in range(recipients):
        organisation = Organisation.objects.create(
            name=f"Hoster {n} GmbH", kind=Organisation.Kind.HOSTING, country=COUNTRIES[n % 10]
        )
        organisation.contacts.create(
            purpose="abuse",
            channel="email",
            value=f"abuse@hoster{n}.example",
            source="bench",
            quality="verified",
        )
        organisations.append(organisation)
    for n in range(links):
        organisation = organisations[n % recipients]
        host, created = Host.objects.get_or_create(
            hostname=f"img{n % recipients}.hoster{n % recipients}.example",
            defaults={"registered_domain": f"hoster{n % recipients}.example"},
        )
        if created:
            host.current = HostResolution.objects.create(host=host, hosting=organisation)
            host.save()
        url = f"https://{host.hostname}/photos/{rng.randrange(10**9)}.jpg"
        FoundLink.objects.create(
            case=case,
            host=host,
            url=url,
            url_sha256=hashlib.sha256(url.encode()).hexdigest(),
        )
    return case, author


def run(db: str, links: int, recipients: int) -> None:
    fresh_django(db, "notices.sqlite3")
    from pypdf import PdfReader

    from takedown.notices.generate import generate_notices
    from takedown.notices.render import render_notice

    case, author = setup_case(links, recipients)
    render_notice  # noqa: B018 - imported before timing; WeasyPrint loads on first use
    started = time.perf_counter()
    report = generate_notices(case, actor=author)
    generated = time.perf_counter()
    per_page: list[float] = []
    pages_total = 0
    for notice in report.notices:
        t = time.perf_counter()
        rendered = render_notice(notice, with_pdf=True)
        elapsed = time.perf_counter() - t
        pdf = next(a for a in rendered.attachments if a.mimetype == "application/pdf")
        pages = len(PdfReader(__import__("io").BytesIO(pdf.content)).pages)
        pages_total += pages
        per_page.append(elapsed / pages)
    finished = time.perf_counter()
    notices = len(report.notices)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database            {db}")
    print(f"links / recipients  {links} / {recipients}")
    print(f"notices             {notices} ({pages_total} PDF pages)")
    print(f"generate            {generated - started:.2f} s (with element checks)")
    print(f"render with PDF     {finished - generated:.2f} s")
    print(f"notices per second  {notices / (finished - started):.1f}")
    print(
        f"per PDF page        median {statistics.median(per_page) * 1000:.0f} ms, "
        f"p90 {sorted(per_page)[int(len(per_page) * 0.9)] * 1000:.0f} ms"
    )
    print(f"peak RSS            {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--recipients", type=int, default=300)
    args = parser.parse_args()
    run(args.db, args.links, args.recipients)


if __name__ == "__main__":
    main()
