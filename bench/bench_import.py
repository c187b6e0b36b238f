"""Benchmark: import a generated LAION-layout Parquet file into one case.

    .venv/bin/python bench/bench_import.py                 # 1,000,000 rows on SQLite and PostgreSQL
    .venv/bin/python bench/bench_import.py --rows 200000 --db sqlite

Each database runs in its own child process, so the peak RSS printed is that import's alone
(Django, pyarrow and the import; the file is generated beforehand). PostgreSQL is reached at
BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/takedown_bench, recreated).
Targets (issue 2): >= 20,000 rows/s end to end and < 500 MB peak RSS on a 2-core machine.

The ceiling on PostgreSQL (issue 16), measured in the same child after the import: a plain
COPY of the same normalised rows (every column of the links the import stored, dumped to a
file beforehand, untimed) into an empty table with the links table's columns and indexes
(`LIKE ... INCLUDING ALL`). The share printed is ceiling seconds / import seconds (issue 16
target: >= 80%, and >= 27,000 rows/s).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import BENCH_DIR, fresh_django

# Shaped like LAION: a few big CDNs and platforms, and a long tail of small sites.
BIG_HOSTS = [
    "cdn.shopify.com",
    "i0.wp.com",
    "i1.wp.com",
    "d1x2y3z4.cloudfront.net",
    "images-na.ssl-images-amazon.com",
    "example-shop.s3.amazonaws.com",
    "i.pinimg.com",
    "1.bp.blogspot.com",
    "lh3.googleusercontent.com",
    "media.istockphoto.com",
]
TLDS = ["com", "net", "org", "de", "co.uk", "fr", "ru", "com.au", "nl", "it", "pl", "jp"]


def generate(path: Path, rows: int, seed: int = 42) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    small_sites = [
        f"{rng.choice(['www.', 'img.', 'static.', ''])}site{n}.{rng.choice(TLDS)}"
        for n in range(60_000)
    ]
    schema = pa.schema(
        [
            ("SAMPLE_ID", pa.int64()),
            ("URL", pa.string()),
            ("TEXT", pa.string()),
            ("HEIGHT", pa.int32()),
            ("WIDTH", pa.int32()),
            ("LICENSE", pa.string()),
            ("NSFW", pa.string()),
            ("similarity", pa.float64()),
        ]
    )
    words = ["photo", "holiday", "beach", "family", "portrait", "clinic", "patient", "skin"]
    chunk = 100_000
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            ids, urls, texts = [], [], []
            for i in range(start, start + n):
                host = rng.choice(BIG_HOSTS) if rng.random() < 0.4 else rng.choice(small_sites)
                query = f"?v={rng.randrange(10**9)}" if rng.random() < 0.3 else ""
                urls.append(f"https://{host}/files/{i:08d}/{rng.randrange(10**12):x}.jpg{query}")
                ids.append(3_000_000_000 + i)
                texts.append(" ".join(rng.choice(words) for _ in range(rng.randrange(3, 12))))
            table = pa.table(
                {
                    "SAMPLE_ID": ids,
                    "URL": urls,
                    "TEXT": texts,
                    "HEIGHT": [rng.randrange(64, 2048) for _ in range(n)],
                    "WIDTH": [rng.randrange(64, 2048) for _ in range(n)],
                    "LICENSE": ["?"] * n,
                    "NSFW": ["UNLIKELY"] * n,
                    "similarity": [rng.random() * 0.2 + 0.28 for _ in range(n)],
                },
                schema=schema,
            )
            writer.write_table(table)


def child(db: str, parquet: Path, ceiling: bool = True, drop_indexes: str = "") -> None:
    """Runs in a fresh process: set up an empty database, import, print one JSON line."""
    fresh_django(db, "bench.sqlite3")
    from django.db import connection

    with connection.cursor() as cursor:
        for index in filter(None, drop_indexes.split(",")):
            cursor.execute(f"DROP INDEX {index}")  # the import without it, to price an index
    from takedown.cases import open_case
    from takedown.intake.store import import_links

    case = open_case(reference="TD-BENCH-0001")
    started = time.perf_counter()
    report = import_links(case, [parquet], dataset="laion-5b")
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "db": db,
        "rows": report.rows,
        "created": report.created,
        "seconds": round(seconds, 2),
        "rows_per_s": round(report.rows / seconds),
        "peak_rss_mb": round(peak_mb),
    }
    if db == "postgres" and ceiling:
        copy_seconds = copy_ceiling(parquet.with_suffix(".copy"))
        result.update(
            ceiling_seconds=round(copy_seconds, 2),
            ceiling_rows_per_s=round(report.created / copy_seconds),
            share=round(copy_seconds / seconds, 3),
        )
    print(json.dumps(result))


def copy_ceiling(dump: Path) -> float:
    """Seconds for a plain COPY of the links just imported into an empty twin of their table."""
    from django.db import connection

    from takedown.models import FoundLink

    table = FoundLink._meta.db_table
    columns = ", ".join(
        field.column for field in FoundLink._meta.concrete_fields if field.column != "id"
    )
    with connection.cursor() as cursor:
        raw = cursor.connection  # psycopg's connection: its copy() streams without rows
        dumping = f"COPY (SELECT {columns} FROM {table}) TO STDOUT"
        with raw.cursor() as out, dump.open("wb") as file, out.copy(dumping) as copy:
            for block in copy:
                file.write(block)
        cursor.execute("DROP TABLE IF EXISTS bench_copy_ceiling")
        cursor.execute(f"CREATE TABLE bench_copy_ceiling (LIKE {table} INCLUDING ALL)")
    try:
        started = time.perf_counter()
        loading = f"COPY bench_copy_ceiling ({columns}) FROM STDIN"
        with (
            connection.cursor() as cursor,
            cursor.connection.cursor() as into,
            into.copy(loading) as copy,
            dump.open("rb") as file,
        ):
            while block := file.read(1 << 20):
                copy.write(block)
        return time.perf_counter() - started
    finally:
        dump.unlink(missing_ok=True)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_copy_ceiling")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the COPY ceiling")
    parser.add_argument(
        "--drop-index", default="", help="comma-separated indexes to drop before the import"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.file), not args.no_ceiling, args.drop_index)
        return

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    parquet = BENCH_DIR / f"laion-{args.rows}.parquet"
    if not parquet.exists():
        print(f"generating {parquet.name} ({args.rows:,} rows) ...", flush=True)
        generate(parquet, args.rows)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"{'db':<10} {'rows':>10} {'created':>10} {'seconds':>8} {'rows/s':>8} {'peak RSS':>9}")
    for db in dbs:
        out = subprocess.run(
            [sys.executable, __file__, "--child", db, "--file", str(parquet)]
            + (["--no-ceiling"] if args.no_ceiling else [])
            + ["--drop-index", args.drop_index],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(
            f"{db:<10} {result['rows']:>10,} {result['created']:>10,} {result['seconds']:>8} "
            f"{result['rows_per_s']:>8,} {result['peak_rss_mb']:>6} MB",
            flush=True,
        )
        if "share" in result:
            print(
                f"{'':<10} ceiling: plain COPY of the same {result['created']:,} rows "
                f"{result['ceiling_seconds']} s ({result['ceiling_rows_per_s']:,} rows/s); "
                f"the import runs at {result['share']:.0%} of it",
                flush=True,
            )


if __name__ == "__main__":
    main()
