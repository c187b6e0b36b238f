"""What every benchmark needs: an empty, migrated database of the chosen kind."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "var" / "bench"
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/takedown_bench"
)


def fresh_django(db: str, sqlite_name: str) -> None:
    """Point Django at an empty SQLite file under var/bench/ or a recreated PostgreSQL
    database (BENCH_POSTGRES_URL), set it up and migrate."""
    if db == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        path = BENCH_DIR / sqlite_name
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    else:
        os.environ["DATABASE_URL"] = POSTGRES_URL
        recreate_postgres_database(POSTGRES_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def recreate_postgres_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


class SqlStats:
    """Time and count every SQL statement this process sends (all threads), grouped by its text
    with the literal values and the lengths of IN lists taken out: where a step's database time
    goes, without pg_stat_statements (a server setting)."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.totals: dict[str, list[float]] = {}  # shape -> [seconds, calls]

    def __enter__(self) -> SqlStats:
        from django.db.backends import utils

        self._saved = (utils.CursorWrapper._execute, utils.CursorWrapper._executemany)
        stats = self

        def timed(original: Any) -> Any:
            def run(cursor: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return original(cursor, sql, *args, **kwargs)
                finally:
                    stats.add(sql, time.perf_counter() - started)

            return run

        utils.CursorWrapper._execute = timed(self._saved[0])  # type: ignore[method-assign]
        utils.CursorWrapper._executemany = timed(self._saved[1])  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        from django.db.backends import utils

        utils.CursorWrapper._execute, utils.CursorWrapper._executemany = self._saved  # type: ignore[method-assign]

    def add(self, sql: str, seconds: float) -> None:
        shape = re.sub(r"(%s, )+%s|'[^']*'|\b\d+\b", "?", sql)[:160]
        with self.lock:
            entry = self.totals.setdefault(shape, [0.0, 0])
            entry[0] += seconds
            entry[1] += 1

    def top(self, count: int = 15) -> list[str]:
        ranked = sorted(self.totals.items(), key=lambda item: -item[1][0])
        total = sum(seconds for seconds, _ in self.totals.values())
        calls = sum(int(n) for _, n in self.totals.values())
        lines = [f"{total:.1f} s in {calls} statements"]
        lines += [f"{s:7.2f} s {int(n):6} x {shape}" for shape, (s, n) in ranked[:count]]
        return lines
