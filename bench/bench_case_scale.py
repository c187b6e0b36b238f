"""Benchmark: one case with a million links on 100,000 hosts, every step of its life.

    .venv/bin/python bench/bench_case_scale.py                     # 1,000,000 links, 100,000 hosts
    .venv/bin/python bench/bench_case_scale.py --quick              # 20,000 links, 2,000 hosts
    .venv/bin/python bench/bench_case_scale.py --links 200000 --hosts 20000

Issue 16. On PostgreSQL only (BENCH_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432/takedown_scale, recreated). The links are a generated
LAION-layout Parquet file with bench_import's host shape (40% on ten big CDNs and platforms,
the rest on a long tail of small sites, each its own registered domain); --hosts sets the
number of distinct hosts. Each step runs in a fresh child process, so its peak RSS is its own
(target: under 1 GB each):

  import     import_links of the whole file into one case
  resolve    manage.py resolve_hosts --sync of every host against bench_resolve's sandbox
             (WHOIS, RDAP and DNS answering after --latency, 50 ms), cold, then warm; the
             servers count the queries per registered domain: exactly 1 cold, 0 warm
  generate   generate_notices: one notice per recipient, every routed link in exactly one
  dispatch   every link made due, then the dispatcher's first recheck round
             (lease_due_links, what hand_out_rechecks enqueues): no link twice, no host
             over TAKEDOWN_RECHECK_HOST_LINKS, no host split over two batches
  pages      the staff case, links, hosts and notice pages, the reviewer's queue and results,
             the affected person's portal status page: time and SQL queries of each

Not in the default run (--steps ...; see README "Benchmarks"):

  send-big   the dataset maintainer's notice of every link rendered and "sent" to the
             sandbox SMTP server: refused when queued (TAKEDOWN_NOTICE_MAX_MAIL_BYTES), then,
             queued past that check, its zip streamed from the database and found too large
             before the handover: nothing sent. Peak RSS of streaming a million rows.
  send-part  a maintainer's notice of the first --send-links links (default 50,000), which
             fits the limit: rendered (letter without rows, zip) and sent once to the sandbox
             SMTP; the message's zip carries every link exactly once

Exits 1 when a check fails or a step's peak RSS reaches 1 GB.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/takedown_scale")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.bench_import import BIG_HOSTS, TLDS
from bench.bench_resolve import build_world, check, delta, start_servers
from bench.common import BENCH_DIR, POSTGRES_URL, SqlStats, fresh_django
from takedown.sandbox.smtp import SmtpServer

REFERENCE = "TD-SCALE-0001"
PEAK_LIMIT_MB = 1024
ALL_STEPS = ("import", "resolve-cold", "resolve-warm", "generate", "dispatch", "pages")
# Not in the default run: notices written in SQL, for measuring pages without generate_notices.
EXTRA_STEPS = ("resolve-synthetic", "notices-sql", "send-big", "send-part")


# --- the file ----------------------------------------------------------------------------------


def generate(path: Path, links: int, hosts: int, seed: int = 16) -> None:
    """A LAION-layout Parquet file shaped like bench_import's: 40% of the links on the ten big
    hosts, the rest on `hosts - 10` small sites (each appears at least once)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    small = hosts - len(BIG_HOSTS)
    sites = [
        f"{rng.choice(['www.', 'img.', 'static.', ''])}site{n}.{rng.choice(TLDS)}"
        for n in range(small)
    ]
    schema = pa.schema([("SAMPLE_ID", pa.int64()), ("URL", pa.string()), ("TEXT", pa.string())])
    chunk = 100_000
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, links, chunk):
            ids, urls = [], []
            for i in range(start, min(start + chunk, links)):
                if i < small:
                    host = sites[i]  # every small site at least once
                elif rng.random() < 0.4:
                    host = rng.choice(BIG_HOSTS)
                else:
                    host = rng.choice(sites)
                query = f"?v={rng.randrange(10**9)}" if rng.random() < 0.3 else ""
                urls.append(f"https://{host}/files/{i:08d}/{rng.randrange(10**12):x}.jpg{query}")
                ids.append(4_000_000_000 + i)
            writer.write_table(
                pa.table({"SAMPLE_ID": ids, "URL": urls, "TEXT": ["photo"] * len(ids)}, schema)
            )


# --- the steps, each in a child process ----------------------------------------------------------


def _django() -> None:
    os.environ["DATABASE_URL"] = POSTGRES_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def step_import(parquet: Path) -> dict[str, Any]:
    fresh_django("postgres", "unused.sqlite3")
    from io import StringIO

    from django.core.management import call_command

    from takedown.cases import open_case
    from takedown.intake.store import import_links
    from takedown.models import Host

    call_command("seed_directory", stdout=StringIO())
    case = open_case(reference=REFERENCE, person={"email": "person@example.org"})
    started = time.perf_counter()
    report = import_links(case, [parquet], dataset="laion-5b")
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": report.rows,
        "created": report.created,
        "hosts": Host.objects.count(),
        "rate": f"{report.rows / seconds:,.0f} rows/s",
    }


def step_resolve(phase: str, workers: int, processes: int) -> dict[str, Any]:
    _django()
    from collections import Counter
    from io import StringIO

    from django.core.management import call_command

    from takedown.models import Host
    from takedown.resolve.hosts import request_resolution

    if phase == "warm":
        request_resolution(Host.objects.all())
    # BENCH_PROFILE / BENCH_SQL_STATS (with --processes 1: forked children are not seen): a
    # cProfile of the step under var/bench/, and its statements' database time by shape.
    profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
    sql = SqlStats() if os.environ.get("BENCH_SQL_STATS") else None
    if profile is not None:
        profile.enable()
    if sql is not None:
        sql.__enter__()
    started = time.perf_counter()
    cpu = time.process_time()
    call_command(
        "resolve_hosts",
        "--sync",
        "--workers",
        str(workers),
        "--processes",
        str(processes),
        stdout=StringIO(),
    )
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if sql is not None:
        sql.__exit__(None, None, None)
    if profile is not None:
        profile.disable()
        profile.dump_stats(BENCH_DIR / f"case-scale-resolve-{phase}.prof")
    statuses = Counter(Host.objects.values_list("status", flat=True))
    hosts = sum(statuses.values())
    return {
        "seconds": seconds,
        "statuses": dict(statuses),
        "rate": f"{hosts / seconds:,.0f} hosts/s",
        "CPU s": round(cpu, 1),
        **({"sql": sql.top()} if sql is not None else {}),
    }


def step_generate(twice: bool) -> dict[str, Any]:
    _django()
    from django.db.models import Count

    from takedown.models import Case, FoundLink, Notice, NoticeLink
    from takedown.models import RecipientRole as Role
    from takedown.notices.generate import generate_notices

    case = Case.objects.get(reference=REFERENCE)
    # A reused database (--steps without import) may hold an earlier run's notices: generate
    # from none, as after the import.
    earlier = Notice.objects.filter(case=case).count()
    if earlier:
        NoticeLink.objects.filter(notice__case=case).delete()
        Notice.objects.filter(case=case).delete()

    started = time.perf_counter()
    cpu = time.process_time()
    report = generate_notices(case)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    # Once more on the drafts it made: every draft refreshed, no row written.
    begun = time.perf_counter()
    again = generate_notices(case) if twice else None
    again_seconds = time.perf_counter() - begun
    notices = Notice.objects.filter(case=case)
    per_recipient = (
        notices.values("recipient_id", "recipient_role").annotate(n=Count("id")).filter(n__gt=1)
    )
    # Every link goes to its first party (platform, hosting or CDN) and, being a dataset
    # entry, to the dataset's maintainer as well: exactly once on each side.
    maintainer = Role.DATASET_MAINTAINER
    failures = []
    if per_recipient.exists():
        failures.append(f"{per_recipient.count()} recipients with more than one notice")
    links = FoundLink.objects.filter(case=case).count()
    sides = {
        "first party": NoticeLink.objects.filter(notice__case=case).exclude(
            notice__recipient_role=maintainer
        ),
        "dataset maintainer": NoticeLink.objects.filter(
            notice__case=case, notice__recipient_role=maintainer
        ),
    }
    counted = {}
    for side, rows in sides.items():
        counted[side] = rows.count()
        twice = rows.values("link_id").annotate(n=Count("id")).filter(n__gt=1).count()
        if twice:
            failures.append(f"{twice} links in more than one {side} notice")
    if counted["first party"] + report.unrouted_links != links:
        failures.append(
            f"{counted['first party']} links in first-party notices + {report.unrouted_links} "
            f"unrouted != {links} links"
        )
    if counted["dataset maintainer"] != links:
        failures.append(f"{counted['dataset maintainer']} links to the maintainer, not {links}")
    if again and (again.created, again.refreshed) != (0, report.created):
        failures.append(f"again: {again.created} created, {again.refreshed} refreshed")
    ceiling = _links_ceiling(case)
    return {
        "seconds": seconds,
        "ceiling s": round(ceiling, 1),
        "share of ceiling": f"{ceiling / seconds:.0%}",
        "earlier notices removed": earlier,
        "notices": notices.count(),
        "links in notices": counted,
        "unrouted": report.unrouted_links,
        "rate": f"{links / seconds:,.0f} links/s",
        "CPU s": round(cpu, 1),
        "again s": round(again_seconds, 1) if again else "not run (--once)",
        "failures": failures,
    }


def _links_ceiling(case: Any) -> float:
    """The floor under generate_notices: its notices' link rows (two per link) written by one
    INSERT ... SELECT into a table with NoticeLink's columns and indexes, with no planning, no
    notice rows and no element checks. Seconds."""
    from django.db import connection, transaction

    from takedown.models import NoticeLink

    table = NoticeLink._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE ceiling_links (LIKE {table} INCLUDING ALL)")
        started = time.perf_counter()
        cursor.execute(
            f"INSERT INTO ceiling_links (notice_id, link_id) SELECT l.notice_id, l.link_id"
            f" FROM {table} l JOIN takedown_notice n ON n.id = l.notice_id WHERE n.case_id = %s",
            [case.pk],
        )
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE ceiling_links")
    return seconds


def step_dispatch() -> dict[str, Any]:
    _django()
    from collections import Counter

    from takedown.checks.schedule import RecheckSettings, lease_due_links, make_due
    from takedown.models import Case, FoundLink

    case = Case.objects.get(reference=REFERENCE)
    conf = RecheckSettings.load()
    started = time.perf_counter()
    due = make_due(FoundLink.objects.filter(case=case))
    made_due = time.perf_counter() - started
    batches, _until = lease_due_links(case=case)
    seconds = time.perf_counter() - started
    ids = [link_id for batch in batches for link_id in batch]
    host_of = dict(FoundLink.objects.filter(pk__in=ids).values_list("pk", "host_id"))
    per_host = Counter(host_of[link_id] for link_id in ids)
    batches_of_host: dict[int, set[int]] = {}
    for n, batch in enumerate(batches):
        for link_id in batch:
            batches_of_host.setdefault(host_of[link_id], set()).add(n)
    failures = []
    if len(ids) != len(set(ids)):
        failures.append(f"{len(ids) - len(set(ids))} links handed out twice")
    over = {h: n for h, n in per_host.items() if n > conf.host_links}
    if over:
        failures.append(f"{len(over)} hosts over {conf.host_links} links")
    split = sum(1 for found in batches_of_host.values() if len(found) > 1)
    if split:
        failures.append(f"{split} hosts split over two batches")
    if len(ids) > conf.dispatch_links:
        failures.append(f"{len(ids)} links, more than {conf.dispatch_links} per round")
    return {
        "seconds": seconds,
        "made due": due,
        "make_due s": round(made_due, 2),
        "handed out": len(ids),
        "batches": len(batches),
        "hosts": len(per_host),
        "failures": failures,
    }


def step_notices_sql() -> dict[str, Any]:
    """(--steps notices-sql) The notices generate_notices would leave, written in SQL for the
    page measurements: one draft per first party with a contact, with its links, and the dataset
    maintainer's
    with every link. Not a measurement of generate_notices; replaces earlier notices."""
    _django()
    from django.db import connection
    from django.db.models import Case as When_
    from django.db.models import CharField, Value, When
    from django.db.models.functions import Coalesce

    from takedown.models import Case, FoundLink, Notice, NoticeLink, Organisation
    from takedown.models import RecipientRole as Role
    from takedown.models.roles import FIRST_RECIPIENT_KINDS, ROLE_OF_KIND

    # The first recipient as generate_notices chooses it without decisions.
    kinds = FIRST_RECIPIENT_KINDS
    PARTY = Coalesce(*(f"host__current__{kind}" for kind in kinds))
    PARTY_ROLE = When_(
        *(
            When(**{f"host__current__{kind}__isnull": False}, then=Value(ROLE_OF_KIND[kind]))
            for kind in kinds
        ),
        default=Value(""),
        output_field=CharField(),
    )
    case = Case.objects.get(reference=REFERENCE)
    started = time.perf_counter()
    Notice.objects.filter(case=case).delete()
    parties = (
        FoundLink.objects.filter(case=case, host__current__isnull=False)
        .annotate(first=PARTY, first_role=PARTY_ROLE)
        # generate_notices writes to parties it has an address for.
        .filter(first__in=Organisation.objects.filter(contacts__isnull=False).values("pk"))
        .values_list("first", "first_role")
        .distinct()
    )
    maintainer, _ = Organisation.objects.get_or_create(
        name="LAION e.V.", kind=Organisation.Kind.DATASET_MAINTAINER
    )
    table, links = NoticeLink._meta.db_table, FoundLink._meta.db_table
    Notice.objects.bulk_create(
        Notice(case=case, recipient_id=party, recipient_role=role, regime="gdpr")
        for party, role in [*parties, (maintainer.pk, Role.DATASET_MAINTAINER)]
    )
    # One statement each side: every routed link to its first party's notice, every link to
    # the maintainer's.
    routed = (
        FoundLink.objects.filter(case=case)
        .annotate(first=PARTY, first_role=PARTY_ROLE)
        .filter(first__isnull=False)
        .values("pk", "first", "first_role")
    )
    sql, params = routed.query.sql_with_params()
    notice_table = Notice._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (notice_id, link_id) SELECT notice.id, routed.pk "
            f"FROM ({sql}) AS routed JOIN {notice_table} AS notice ON notice.case_id = %s "
            f"AND notice.recipient_id = routed.first AND notice.recipient_role = routed.first_role",
            [*params, case.pk],
        )
        cursor.execute(
            f"INSERT INTO {table} (notice_id, link_id) SELECT %s, id FROM {links} "
            f"WHERE case_id = %s",
            [Notice.objects.get(case=case, recipient=maintainer).pk, case.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}; ANALYZE {links}")
    return {
        "seconds": time.perf_counter() - started,
        "notices": Notice.objects.filter(case=case).count(),
        "notice links": NoticeLink.objects.filter(notice__case=case).count(),
    }


def step_send(part: int) -> dict[str, Any]:
    """(--steps send-big / send-part) The maintainer's notice (of every link, or a new one of
    the first `part` links) approved and sent to the sandbox SMTP server of EMAIL_URL, through
    queue_notice and send_notice as a worker would."""
    _django()
    import csv
    import email
    import io
    import zipfile

    from django.conf import settings
    from django.db import connection

    from takedown.models import CaseEvent, FoundLink, Mandate, Notice, NoticeLink
    from takedown.models import RecipientRole as Role
    from takedown.notices.send import SendError, queue_notice, send_notice

    case = FoundLink.objects.filter(case__reference=REFERENCE).first().case  # type: ignore[union-attr]
    if not Mandate.objects.filter(case=case, revoked_at__isnull=True).exists():
        Mandate.objects.create(case=case, signed_document=b"%PDF-1.7 bench stand-in")
    whole = Notice.objects.filter(case=case, recipient_role=Role.DATASET_MAINTAINER).order_by("pk")[
        0
    ]
    if part:
        Notice.objects.filter(case=case, regime="gdpr", subject="bench part").delete()
        notice = Notice.objects.create(
            case=case,
            recipient=whole.recipient,
            recipient_role=Role.DATASET_MAINTAINER,
            regime="gdpr",
            subject="bench part",
        )
        links = FoundLink._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {NoticeLink._meta.db_table} (notice_id, link_id) SELECT %s, id "
                f"FROM {links} WHERE case_id = %s ORDER BY created_at, id LIMIT %s",
                [notice.pk, case.pk, part],
            )
    else:
        notice = whole
    Notice.objects.filter(pk=notice.pk).update(
        status=Notice.Status.APPROVED, to_address="dsa@laion.example", channel="email"
    )
    CaseEvent.objects.filter(notice=notice, kind__startswith="mail.").delete()
    notice = Notice.objects.select_related("case").get(pk=notice.pk)
    count = notice.links.count()
    limit = settings.TAKEDOWN_NOTICE_MAX_MAIL_BYTES
    failures = []
    started = time.perf_counter()
    refused = ""
    try:
        queue_notice(notice)
    except SendError as exc:
        refused = str(exc)
        # Queued past the check, as if the limit had been raised meanwhile: the exact check
        # before the handover must stop it too.
        settings.TAKEDOWN_NOTICE_MAX_MAIL_BYTES = 10**12
        queue_notice(notice)
        settings.TAKEDOWN_NOTICE_MAX_MAIL_BYTES = limit
    queued = time.perf_counter() - started
    cpu = time.process_time()
    started = time.perf_counter()
    result = send_notice(notice.pk)
    sent_s, cpu = time.perf_counter() - started, time.process_time() - cpu
    accepted = CaseEvent.objects.filter(notice=notice, kind="mail.accepted").count()
    handed = CaseEvent.objects.filter(notice=notice, kind="mail.handover").count()
    again = send_notice(notice.pk).outcome
    spool = Path(os.environ["BENCH_SMTP_DIR"])
    received = len(list(spool.glob("*.eml")))
    out: dict[str, Any] = {
        "seconds": sent_s,
        "links": count,
        "queue s": round(queued, 2),
        "refused at queueing": bool(refused),
        "outcome": result.outcome,
        "CPU s": round(cpu, 1),
        "handovers": handed,
        "accepted": accepted,
        "again": again,
        "messages the server received": received,
    }
    if part:
        if refused or (result.outcome, handed, accepted, again) != ("sent", 1, 1, "skipped"):
            failures.append(f"not sent once: {out}")
        path = max(Path(os.environ["BENCH_SMTP_DIR"]).glob("*.eml"))
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        zipped = next(
            p for p in message.iter_attachments() if p.get_content_type() == "application/zip"
        )
        content = zipped.get_content()
        out["message MB"] = round(path.stat().st_size / 1e6, 1)
        out["zip MB"] = round(len(content) / 1e6, 1)
        with zipfile.ZipFile(io.BytesIO(content)) as bundle:
            name = next(n for n in bundle.namelist() if n.endswith("-links.csv"))
            urls = [row["url"] for row in csv.DictReader(io.StringIO(bundle.read(name).decode()))]
        if len(urls) != count or len(set(urls)) != count:
            failures.append(f"zip: {len(urls)} rows, {len(set(urls))} distinct, {count} links")
    elif refused:
        out["refusal"] = refused[:60] + "..."
        out["at sending"] = Notice.objects.get(pk=notice.pk).last_error[:110] + "..."
        if result.outcome != "failed" or handed or accepted or received:
            failures.append("the oversized notice was not stopped before the handover")
    elif (result.outcome, handed, accepted, again, received) != ("sent", 1, 1, "skipped", 1):
        # Small enough (--quick): sent, once.
        failures.append(f"not sent once: {out}")
    out["failures"] = failures
    return out


def step_resolve_synthetic() -> dict[str, Any]:
    """(--steps resolve-synthetic) Every host given a resolution without asking anyone, for
    measuring the pages where a real resolution pass cannot finish (a loaded machine): each
    big host its own platform, the small sites on 100 hosting providers, 45% of them with an
    operator of their own; the platforms and hosting providers have an abuse address. Then the
    links' stored party, as import stores it for hosts already resolved."""
    _django()
    from django.db import connection

    from takedown.models import Case, Contact, FoundLink, Host, HostResolution, Organisation
    from takedown.models.link import store_link_parties

    case = Case.objects.get(reference=REFERENCE)
    started = time.perf_counter()
    kinds = Organisation.Kind
    hosters = Organisation.objects.bulk_create(
        Organisation(name=f"Hoster {n}", kind=kinds.HOSTING, country="DE") for n in range(100)
    )
    platforms = {
        name: Organisation(name=f"Platform {name}", kind=kinds.PLATFORM, country="US")
        for name in BIG_HOSTS
    }
    Organisation.objects.bulk_create(platforms.values())
    Contact.objects.bulk_create(
        Contact(
            organisation=organisation,
            purpose="abuse",
            channel="email",
            value=f"abuse{organisation.pk}@example.net",
            quality="verified",
        )
        for organisation in [*hosters, *platforms.values()]
    )
    hosts = list(Host.objects.order_by("pk").values_list("pk", "hostname"))
    operators = Organisation.objects.bulk_create(
        (
            Organisation(name=f"Operator of {name}", kind=kinds.OPERATOR)
            for n, (_pk, name) in enumerate(hosts)
            if name not in platforms and n % 20 < 9
        ),
        batch_size=5000,
    )
    operator_of = iter(operators)
    resolutions = []
    for n, (pk, name) in enumerate(hosts):
        if name in platforms:
            resolutions.append(HostResolution(host_id=pk, platform=platforms[name]))
            continue
        operator = next(operator_of) if n % 20 < 9 else None
        resolutions.append(
            HostResolution(host_id=pk, hosting=hosters[n % len(hosters)], operator=operator)
        )
    HostResolution.objects.bulk_create(resolutions, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Host._meta.db_table} AS host SET current_id = newest.id, status = %s "
            f"FROM (SELECT host_id, MAX(id) AS id FROM {HostResolution._meta.db_table} "
            f"GROUP BY host_id) AS newest WHERE newest.host_id = host.id",
            [Host.Status.RESOLVED],
        )
        cursor.execute(f"ANALYZE {Host._meta.db_table}; ANALYZE {HostResolution._meta.db_table}")
    resolved = time.perf_counter() - started
    stored = store_link_parties(FoundLink.objects.filter(case=case))
    return {
        "seconds": time.perf_counter() - started,
        "hosts": len(hosts),
        "operators": len(operators),
        "store_link_parties s": round(time.perf_counter() - started - resolved, 1),
        "links": stored,
    }


def step_migrate() -> dict[str, Any]:
    """A reused database gets the migrations added since it was imported (--steps)."""
    _django()
    from io import StringIO

    from django.core.management import call_command

    started = time.perf_counter()
    out = StringIO()
    call_command("migrate", stdout=out)
    applied = [line.split()[1] for line in out.getvalue().splitlines() if "OK" in line]
    return {"seconds": time.perf_counter() - started, "applied": applied}


def step_pages(slowest: int = 0, only: str = "") -> dict[str, Any]:
    _django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from takedown import tallies
    from takedown.models import Case, FoundLink, Host, HostResolution, Notice, NoticeLink, Team
    from takedown.web.portal.access import issue_portal_link
    from takedown.web.portal.views import SESSION_ACCESS, SESSION_VERIFIED

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # As in the tests: the second factor is tested on its own, not measured here.
    settings.TAKEDOWN_TWO_FACTOR = False
    case = Case.objects.get(reference=REFERENCE)
    team, _ = Team.objects.get_or_create(name="Scale")
    case.team = team
    case.save(update_fields=["team"])
    user, _ = get_user_model().objects.get_or_create(username="scale-staff")
    user.groups.add(*Group.objects.filter(name__in=["caseworker", "reviewer"]))
    team.members.add(user)
    # The reviewer's queue and results have rows: a third of the notices in review.
    notices = list(Notice.objects.filter(case=case).order_by("pk").values_list("pk", flat=True))
    Notice.objects.filter(pk__in=notices[::3]).update(status=Notice.Status.IN_REVIEW)
    biggest = Notice.objects.filter(case=case).order_by("-pk").first()
    last = (FoundLink.objects.filter(case=case).count() + 99) // 100
    portal_last = (
        FoundLink.objects.filter(case=case).exclude(status=FoundLink.Status.EXCLUDED).count() + 49
    ) // 50
    staff = Client()
    staff.force_login(user)
    issue_portal_link(case, actor=None)
    portal = Client()
    session = portal.session
    session[SESSION_ACCESS] = case.portal_accesses.get(revoked_at=None).pk
    session[SESSION_VERIFIED] = True
    session.save()
    pages = [
        ("case", staff, reverse("staff:case", args=[REFERENCE])),
        ("links", staff, reverse("staff:links", args=[REFERENCE])),
        ("links (last page)", staff, reverse("staff:links", args=[REFERENCE]) + f"?page={last}"),
        ("hosts", staff, reverse("staff:hosts", args=[REFERENCE])),
        ("review queue", staff, reverse("review:index")),
        ("review results", staff, reverse("review:results")),
        ("portal status", portal, reverse("portal:home")),
        ("portal last page", portal, reverse("portal:home") + f"?page={portal_last}"),
    ]
    if biggest is not None:
        pages.insert(4, ("notice", staff, reverse("staff:notice", args=[REFERENCE, biggest.pk])))
    # The dataset maintainer's notice of every link (issue 16): its letter states their number.
    whole = (
        Notice.objects.filter(case=case, recipient_role="dataset_maintainer").order_by("pk").first()
    )
    if whole is not None:
        pages += [
            ("maintainer notice", staff, reverse("staff:notice", args=[REFERENCE, whole.pk])),
            ("review: maintainer", staff, reverse("review:notice", args=[whole.pk])),
        ]
    if only:
        pages = [page for page in pages if page[0] in only.split(",")]
    # What autovacuum does to a table after a million inserts or updates: the visibility map
    # that lets counts read an index alone, and fresh statistics for the planner.
    vacuumed = time.perf_counter()
    with connection.cursor() as cursor:
        for model in (FoundLink, Host, HostResolution, NoticeLink, Notice):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    vacuum_seconds = time.perf_counter() - vacuumed
    # A large case's pages read its counts as the background recount stores them
    # (takedown.tallies); the bench has no worker, so it recounts here, and the views must not
    # find the counts stale while it runs.
    settings.TAKEDOWN_TALLY_MAX_AGE = 24 * 3600
    recounted = time.perf_counter()
    tally = tallies.recount(case.pk)
    recount_seconds = time.perf_counter() - recounted
    staff.get(reverse("staff:case", args=[REFERENCE]))  # the first open writes an event
    results: dict[str, Any] = {}
    failures = []
    started = time.perf_counter()
    for name, client, url in pages:
        begun = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        if response.status_code != 200:
            failures.append(f"{name}: HTTP {response.status_code}")
        results[name] = {"seconds": round(time.perf_counter() - begun, 3), "queries": len(queries)}
        if slowest:
            ranked = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
            results[name]["slowest"] = [f"{q['time']} s {q['sql'][:300]}" for q in ranked[:slowest]]
    return {
        "seconds": time.perf_counter() - started,
        "vacuum s": round(vacuum_seconds, 1),
        "recount s": round(recount_seconds, 2),
        "counted": "stored" if tally else "live (below TAKEDOWN_TALLY_THRESHOLD)",
        "pages": results,
        "failures": failures,
    }


def child(step: str, args: argparse.Namespace) -> None:
    if step == "import":
        result = step_import(Path(args.file))
    elif step in ("resolve-cold", "resolve-warm"):
        result = step_resolve(step.split("-")[1], args.workers, args.processes)
    elif step == "generate":
        result = step_generate(not args.once)
    elif step == "dispatch":
        result = step_dispatch()
    elif step == "migrate":
        result = step_migrate()
    elif step == "resolve-synthetic":
        result = step_resolve_synthetic()
    elif step == "notices-sql":
        result = step_notices_sql()
    elif step in ("send-big", "send-part"):
        result = step_send(args.send_links if step == "send-part" else 0)
    else:
        result = step_pages(args.slowest, args.pages)
    peaks = [_own_peak_kb(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]
    result["peak_rss_mb"] = round(max(peaks) / 1024)
    print(json.dumps(result, default=str))


def _own_peak_kb() -> int:
    """This process's peak RSS in KiB. Linux carries ru_maxrss over exec, so a step's child
    would report the parent's size at fork (the sandbox world: 600 MB at a million links);
    VmHWM counts this program's own memory only."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_child(step: str, args: argparse.Namespace, env: dict[str, str], parquet: Path) -> Any:
    command = [sys.executable, __file__, "--child", step, "--file", str(parquet)]
    command += ["--workers", str(args.workers), "--processes", str(args.processes)]
    command += ["--once"] if args.once else []
    command += ["--slowest", str(args.slowest), "--pages", args.pages]
    command += ["--send-links", str(args.send_links)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-5000:])
        raise SystemExit(f"step {step} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- main ----------------------------------------------------------------------------------------


def report(step: str, result: dict[str, Any], failures: list[str]) -> None:
    details = {
        k: v
        for k, v in result.items()
        if k not in ("seconds", "peak_rss_mb", "failures", "pages", "sql")
    }
    print(
        f"{step:<14} {result['seconds']:>8.1f} s {result['peak_rss_mb']:>6} MB peak  "
        + ", ".join(f"{k}: {v}" for k, v in details.items()),
        flush=True,
    )
    for name, page in result.get("pages", {}).items():
        print(f"{'':<16}{name:<18} {page['seconds']:>7.3f} s {page['queries']:>4} queries")
        for query in page.get("slowest", []):
            print(f"{'':<20}{query}")
    for line in result.get("sql", []):
        print(f"{'':<16}{line}")
    failures += [f"{step}: {failure}" for failure in result.get("failures", [])]
    if result["peak_rss_mb"] >= PEAK_LIMIT_MB:
        failures.append(f"{step}: peak RSS {result['peak_rss_mb']} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--hosts", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="20,000 links on 2,000 hosts")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per sandbox query")
    parser.add_argument("--workers", type=int, default=16, help="resolve_hosts --workers")
    parser.add_argument("--processes", type=int, default=2, help="resolve_hosts --processes")
    parser.add_argument(
        "--steps",
        default=",".join(ALL_STEPS),
        help="comma-separated subset of " + ",".join(ALL_STEPS + EXTRA_STEPS) + "; without "
        "import the database of an earlier run is reused (migrated first)",
    )
    parser.add_argument(
        "--slowest", type=int, default=0, help="print each page's N slowest SQL queries"
    )
    parser.add_argument("--pages", default="", help="comma-separated page names (default all)")
    parser.add_argument(
        "--once", action="store_true", help="generate the notices once (not again on its drafts)"
    )
    parser.add_argument(
        "--send-links", type=int, default=50_000, help="links of the send-part notice"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return
    if args.quick:
        args.links, args.hosts = 20_000, 2_000
    if not len(BIG_HOSTS) < args.hosts <= args.links:
        raise SystemExit("--hosts must be more than the ten big hosts and at most --links")

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    parquet = BENCH_DIR / f"case-scale-{args.links}-{args.hosts}.parquet"
    if not parquet.exists():
        print(f"generating {parquet.name} ...", flush=True)
        generate(parquet, args.links, args.hosts)
    _django()  # the readers behind build_world read their limits from the settings
    world = build_world(parquet)
    servers = start_servers(world, args.latency, args.latency)
    env = {
        **os.environ,
        **servers.env(),
        "TAKEDOWN_RDAP_INTERVAL": "0",
        "TAKEDOWN_WHOIS_INTERVAL": "0",
    }
    print(
        f"{len(world.url_domains):,} links on {len(world.hosts):,} hosts "
        f"({len(world.domains):,} registered domains), PostgreSQL {POSTGRES_URL}; sandbox "
        f"latency {args.latency * 1000:g} ms; resolve_hosts --workers {args.workers} "
        f"--processes {args.processes}; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    steps = args.steps.split(",")
    failures: list[str] = []
    try:
        if "import" in steps:
            result = run_child("import", args, env, parquet)
            report("import", result, failures)
            if result["hosts"] != len(world.hosts):
                failures.append(f"import: {result['hosts']} hosts, not {len(world.hosts)}")
        else:
            report("migrate", run_child("migrate", args, env, parquet), failures)
        for phase in ("cold", "warm"):
            if f"resolve-{phase}" not in steps:
                continue
            before = servers.counts()
            result = run_child(f"resolve-{phase}", args, env, parquet)
            queries = delta(servers.counts(), before)
            domain_queries = sum(queries["domain"].values())
            result["domain queries"] = domain_queries
            result["per domain"] = round(domain_queries / len(world.domains), 3)
            report(f"resolve {phase}", result, failures)
            failures += check("postgres", phase, world, result, queries)
        for step in ("resolve-synthetic", "generate", "notices-sql", "dispatch", "pages"):
            if step in steps:
                report(step, run_child(step, args, env, parquet), failures)
        for step in ("send-big", "send-part"):
            if step in steps:
                # The server in this process: what it holds is not the step's memory.
                spool = BENCH_DIR / f"smtp-{step}"
                shutil.rmtree(spool, ignore_errors=True)
                with SmtpServer(eml_dir=spool) as smtp:
                    mail = {"EMAIL_URL": f"{smtp.url}?timeout=120", "BENCH_SMTP_DIR": str(spool)}
                    report(step, run_child(step, args, {**env, **mail}, parquet), failures)
    finally:
        servers.stop()
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        raise SystemExit(1)
    print("all checks held")


if __name__ == "__main__":
    main()
