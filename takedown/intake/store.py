"""Importing found links into a case: read, normalise, deduplicate, store, report.

A LAION metadata shard has millions of rows, so this streams: rows are read in batches,
normalised in the calling thread, and written with executemany (SQLite) or COPY (PostgreSQL).
On PostgreSQL a writer thread owns the connection while the import runs, so the server stores
one batch while this process normalises the next. Deduplication is the database's job
(the unique index on url_sha256 + case, with INSERT OR IGNORE / ON CONFLICT DO NOTHING), so memory
stays bounded however large the file. The whole import is one transaction: a file-level error
rolls everything back, and nothing is half-imported.

On PostgreSQL, an import into a case without links COPYs each batch straight into the links
table instead (see _Writer._store_links_direct): duplicates are then kept out here, by eight
bytes per link sent, and anything that may be a duplicate still goes the ON CONFLICT way.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import json
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from takedown.intake.normalize import InvalidURL, normalize_url
from takedown.intake.readers import IntakeError, Row, detect_format, read_rows
from takedown.models import Case, FoundLink, Host, Import
from takedown.models.link import store_link_parties
from takedown.stored_text import Detail, StoredText
from takedown.tallies import after_import
from takedown.workflow import record_event

BATCH_ROWS = 20_000
MAX_REPORTED_ERRORS = 100
SQLITE_CACHE_KB = 65_536
PROBE_CHUNK = 2_000
# First key of the advisory lock one import into a case holds (the second is the case's id).
_LOCK_SPACE = 0x7D1

__all__ = ["ImportReport", "IntakeError", "import_links"]


# Why a row was not imported, as the readers and normalize_url word it: stored in English in the
# import's report (the commands' JSON, the record), shown on the staff pages in the reader's
# language. A reason no template knows is shown as stored.
_NUMBER = Detail(pattern=r"[\d,]+")
row_error_label = StoredText(
    {
        gettext_noop("no URL in this row"): {},
        gettext_noop("URL is not a string"): {},
        gettext_noop("line is not a JSON object"): {},
        gettext_noop("URL longer than %(limit)s bytes"): {"limit": _NUMBER},
        gettext_noop("URL longer than %(limit)s characters"): {"limit": _NUMBER},
        gettext_noop("entry id longer than %(limit)s characters"): {"limit": _NUMBER},
        gettext_noop("empty URL"): {},
        gettext_noop("URL is not valid Unicode"): {},
        gettext_noop("no scheme (expected http:// or https://)"): {},
        gettext_noop("data: URL: the image itself, not an address it can be removed from"): {},
        gettext_noop("scheme '%(scheme)s' not allowed (only http and https)"): {
            "scheme": Detail(pattern=r"[^']{0,20}")
        },
        gettext_noop("whitespace or control character in host"): {},
        gettext_noop("invalid character in host"): {},
        gettext_noop("invalid international domain name"): {},
        gettext_noop("empty host"): {},
        gettext_noop("host is a single label, not a public domain name"): {},
        gettext_noop("host longer than 253 characters"): {},
        gettext_noop("empty label in host"): {},
        gettext_noop("host label longer than 63 characters"): {},
        gettext_noop("invalid IPv4 address"): {},
        gettext_noop("invalid IPv6 address"): {},
        gettext_noop("invalid port"): {},
        gettext_noop("port out of range"): {},
    }
)


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    duplicates: int = 0
    invalid: int = 0
    hosts: int = 0
    registered_domains: int = 0
    in_other_cases: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add_error(self, row: int, reason: str, source: str | None) -> None:
        self.invalid += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            entry: dict[str, Any] = {"row": row, "reason": reason}
            if source is not None:
                entry["file"] = source
            self.errors.append(entry)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "hosts": self.hosts,
            "registered_domains": self.registered_domains,
            "in_other_cases": self.in_other_cases,
            "errors": self.errors,
            "errors_total": self.invalid,
            "errors_truncated": self.invalid > len(self.errors),
        }


@dataclass
class _Batch:
    # (hostname, registered_domain, platform_suffix, is_ip) for hosts first seen in this batch
    new_hosts: list[tuple[str, str, str, bool]]
    # (hostname, url, original_url, url_sha256, entry_id, caption, extra_json)
    links: list[tuple[Any, ...]]


def import_links(
    case: Case,
    paths: Sequence[str | Path],
    *,
    format: str | None = None,
    dataset: str = "",
    actor: Any = None,
    source_names: Sequence[str] | None = None,
) -> ImportReport:
    """Import every row of `paths` into `case`. Raises IntakeError for file-level problems,
    in which case nothing is stored."""
    report = ImportReport()
    names = list(source_names or [Path(p).name for p in paths])
    formats = [format or detect_format(Path(p)) for p in paths]
    label = (lambda i: names[i]) if len(paths) > 1 else (lambda i: None)

    # Python's cyclic GC walking millions of young tuples costs more than the import itself.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with transaction.atomic():
            _lock_case(case)
            last_id = FoundLink.objects.aggregate(last=models.Max("id"))["last"] or 0
            writer = _Writer(case, dataset)
            writer.start()
            try:
                hosts_seen: set[str] = set()
                domains_seen: set[str] = set()
                for index, path in enumerate(paths):
                    rows = read_rows(Path(path), formats[index])
                    for batch in _batches(
                        rows, report, hosts_seen, domains_seen, source=label(index)
                    ):
                        writer.put(batch)
                writer.finish()
            except BaseException:
                writer.abort()
                raise
            report.created = writer.created
            # Links onto hosts another case had resolved already take their party now.
            store_link_parties(
                FoundLink.objects.filter(
                    case=case, id__gt=last_id, party__isnull=True, host__current__isnull=False
                )
            )
            report.duplicates = report.rows - report.invalid - report.created
            report.hosts = len(hosts_seen)
            report.registered_domains = len(domains_seen)
            report.in_other_cases = (
                _count_in_other_cases(case, last_id) if writer.maybe_elsewhere else 0
            )
            Import.objects.create(
                case=case,
                created_by=actor if getattr(actor, "pk", None) else None,
                source_name=", ".join(names)[:300],
                format=",".join(sorted(set(formats))),
                dataset=dataset,
                report=report.as_dict(),
            )
            record_event(
                case,
                "links.imported",
                actor=actor,
                visible_to_person=report.created > 0,
                sentence="links.imported",
                params={"count": report.created},
                data={k: v for k, v in report.as_dict().items() if k != "errors"},
            )
            if report.created:
                after_import(case)
    finally:
        if gc_was_enabled:
            gc.enable()
    return report


def _lock_case(case: Case) -> None:
    """(PostgreSQL) One import into a case at a time, until its transaction ends: every link of
    a case comes in by an import, so a second import waits here until the first commits and
    then sees its links. Without it both would find the case empty and COPY the same URLs
    straight into the links table (_Writer._store_links_direct), and the second would fail on
    the unique index. Taken before anything is read, so the report (created, in other cases)
    counts this import's links only. SQLite has one writer at a time anyway."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # Two int4 keys; a case id past 2**31 shares its lock with a smaller one.
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s::int4, %s::int4)",
            [_LOCK_SPACE, case.pk % 2_147_483_647],
        )


def _batches(
    rows: Iterable[Row],
    report: ImportReport,
    hosts_seen: set[str],
    domains_seen: set[str],
    *,
    source: str | None,
) -> Iterator[_Batch]:
    links: list[tuple[Any, ...]] = []
    new_hosts: list[tuple[str, str, str, bool]] = []
    for row in rows:
        report.rows += 1
        if row.url is None:  # the readers give the reason in row.error
            report.add_error(row.number, row.error, source)
            continue
        try:
            norm = normalize_url(row.url)
        except InvalidURL as exc:
            report.add_error(row.number, str(exc), source)
            continue
        hostname = norm.hostname
        if hostname not in hosts_seen:
            hosts_seen.add(hostname)
            domains_seen.add(norm.registered_domain)
            new_hosts.append((hostname, norm.registered_domain, norm.platform_suffix, norm.is_ip))
        original = row.url if row.url != norm.url else ""
        extra = _extra_json(row.extra) if row.extra else None
        links.append(
            (hostname, norm.url, original, norm.url_sha256, row.entry_id, row.caption, extra)
        )
        if len(links) >= BATCH_ROWS:
            yield _Batch(new_hosts, links)
            links, new_hosts = [], []
    if links or new_hosts:
        yield _Batch(new_hosts, links)


class _Writer(threading.Thread):
    """Owns the database connection while the import runs; see the module docstring."""

    def __init__(self, case: Case, dataset: str) -> None:
        super().__init__(name="intake-writer", daemon=True)
        # Two batches in flight bound the memory, whatever the file size.
        self._queue: queue.Queue[_Batch | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._aborted = threading.Event()
        self._host_ids: dict[str, int] = {}
        # (PostgreSQL) Hosts that existed before this import: only their links can be in
        # another case. A host this import inserted has no links anywhere else.
        self._old_hosts: set[int] = set()
        # (PostgreSQL) True while links go straight into the links table by COPY (the case had
        # no links when the import began); `_seen` then holds hash() of every url_sha256 sent.
        self._direct = False
        self._seen = _SeenKeys()
        self._deferred: list[str] = []
        self.created = 0
        self.maybe_elsewhere = 0  # 0 means no link of this import can be in another case
        self._raw = connection.connection  # the transaction's own DB-API connection
        self._postgres = connection.vendor == "postgresql"
        self._case_id = case.pk
        # PostgreSQL works in its own process while we wait on the socket, so normalising the
        # next batch in this thread overlaps with it. SQLite works inside this process and takes
        # the GIL back for every row it binds: a second thread only adds contention there.
        self._threaded = self._postgres
        now = timezone.now()
        self._link_columns, self._link_constants = _constant_columns(
            FoundLink,
            variable=(
                "host",
                "url",
                "original_url",
                "url_sha256",
                "entry_id",
                "caption",
                "extra",
                "in_other_case",
            ),
            values={"case": case.pk, "dataset": dataset, "created_at": now},
        )
        self._host_columns, self._host_constants = _constant_columns(
            Host,
            variable=("hostname", "registered_domain", "platform_suffix", "is_ip"),
            values={"next_resolve_at": now},
        )

    def put(self, batch: _Batch) -> None:
        if not self._threaded:
            self._store(self._cursor, batch)
            return
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue

    def start(self) -> None:
        if self._threaded:
            super().start()
        else:
            self._cursor = self._prepare()

    def finish(self) -> None:
        if self._threaded:
            self._queue.put(None)
            self.join()
        self._restore()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        if self._threaded:
            self._aborted.set()
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            self.join()
        # A failed statement leaves the transaction unusable until it is rolled back, which
        # undoes these settings anyway; the import's own error is the one to raise.
        with contextlib.suppress(Exception):
            self._restore()

    def _restore(self) -> None:
        """Undo the import's tuning: the caller's transaction goes on after the import."""
        cursor = self._raw.cursor()
        if self._postgres:
            cursor.execute("RESET enable_hashjoin")
            cursor.execute("RESET enable_mergejoin")
            if self._deferred:
                cursor.execute(f"SET CONSTRAINTS {', '.join(self._deferred)} DEFERRED")
        else:
            cursor.execute("PRAGMA cache_size = -2000")
        cursor.close()

    def run(self) -> None:
        try:
            cursor = self._prepare()
            while (batch := self._queue.get()) is not None:
                if self._aborted.is_set():
                    return
                self._store(cursor, batch)
        except BaseException as exc:  # handed to the importing thread, which re-raises it
            self._error = exc
            # Drain so a producer blocked on put() wakes up and sees the error.
            while not self._queue.empty():
                self._queue.get_nowait()

    def _prepare(self) -> Any:
        cursor = self._raw.cursor()
        if self._postgres:
            # The planner sees neither the temporary table's size nor the rows this transaction
            # added, and picks hash joins that scan the whole link table for every batch. Each
            # probe here is one lookup in the url_sha256 index: make it use that.
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
            # The foreign keys of a link (case, host) are checked per row, deferred to COMMIT
            # by Django: millions of index probes after the last batch, with nothing to
            # overlap them. Checked at the end of each statement instead, the server does them
            # while this process normalises the next batch. Restored in _restore().
            cursor.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
                "AND contype = 'f' AND condeferrable AND condeferred",
                [FoundLink._meta.db_table],
            )
            self._deferred = [_quote(name) for (name,) in cursor.fetchall()]
            if self._deferred:
                cursor.execute(f"SET CONSTRAINTS {', '.join(self._deferred)} IMMEDIATE")
            # import_links holds the case's import lock (_lock_case): the links seen here are
            # every link another import committed.
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {FoundLink._meta.db_table} WHERE case_id = %s)",
                [self._case_id],
            )
            self._direct = not cursor.fetchone()[0]
        else:
            # SQLite's default page cache is 2 MB; random inserts into the url_sha256 index
            # then spill pages to the WAL again and again.
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
        return cursor

    def _store(self, cursor: Any, batch: _Batch) -> None:
        self._store_hosts(cursor, batch.new_hosts)
        self._store_links(cursor, batch.links)

    def _store_hosts(self, cursor: Any, hosts: list[tuple[str, str, str, bool]]) -> None:
        if not hosts:
            return
        table = Host._meta.db_table
        columns = ", ".join(self._host_columns)
        rows = [self._host_constants + host for host in hosts]
        names = [host[0] for host in hosts]
        if self._postgres:
            self._copy(cursor, "intake_hosts", table, self._host_columns, rows)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM intake_hosts "
                f"ON CONFLICT (hostname) DO NOTHING RETURNING hostname, id"
            )
            inserted = dict(cursor.fetchall())
            self._host_ids.update(inserted)
            old = [name for name in names if name not in inserted]
            if old:
                cursor.execute(f"SELECT hostname, id FROM {table} WHERE hostname = ANY(%s)", [old])
                found = cursor.fetchall()
                self._host_ids.update(found)
                self._old_hosts.update(host_id for _, host_id in found)
            return
        marks = ", ".join(["?"] * len(self._host_columns))
        cursor.executemany(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})", rows)
        for start in range(0, len(names), PROBE_CHUNK):
            chunk = names[start : start + PROBE_CHUNK]
            marks = ", ".join(["?"] * len(chunk))
            cursor.execute(f"SELECT hostname, id FROM {table} WHERE hostname IN ({marks})", chunk)
            self._host_ids.update(cursor.fetchall())

    def _store_links(self, cursor: Any, links: list[tuple[Any, ...]]) -> None:
        if not links:
            return
        if self._direct:
            self._store_links_direct(cursor, links)
        elif self._postgres:
            self._store_links_postgres(cursor, links)
        else:
            self._store_links_sqlite(cursor, links)

    def _store_links_direct(self, cursor: Any, links: list[tuple[Any, ...]]) -> None:
        """(PostgreSQL, a case without links) COPY straight into the links table: no
        temporary table and no INSERT ... SELECT ... ON CONFLICT, the database's work is the
        COPY's. Duplicates are kept out here: a link whose url_sha256 hashes like one already
        sent goes the ON CONFLICT way instead (the same URL again, or, once in billions, a
        hash() collision between two URLs, which that way is still stored). Only links on
        hosts that existed before the import are looked up in other cases."""
        host_ids = self._host_ids
        old_hosts = self._old_hosts
        fresh: list[tuple[Any, ...]] = []
        again: list[tuple[Any, ...]] = []
        probe: list[str] = []
        for link, repeated in zip(links, self._seen.add([link[3] for link in links]), strict=True):
            if repeated:
                again.append(link)
                continue
            host_id = host_ids[link[0]]
            fresh.append((host_id, *link[1:]))
            if host_id in old_hosts:
                probe.append(link[3])
        elsewhere = self._flag_elsewhere(cursor, probe) if probe else set()
        constants = self._link_copy_constants
        columns = ", ".join(self._link_columns)
        with cursor.copy(f"COPY {FoundLink._meta.db_table} ({columns}) FROM STDIN") as copy:
            write = copy.write_row
            if elsewhere:
                for row in fresh:
                    write((*constants, *row, row[3] in elsewhere))
            else:
                for row in fresh:
                    write((*constants, *row, False))
        self.created += len(fresh)
        if again:
            self._store_links_postgres(cursor, again)

    def _flag_elsewhere(self, cursor: Any, hashes: list[str]) -> set[str]:
        """(PostgreSQL) Which of these URLs other cases hold; flag those cases' links too."""
        table = FoundLink._meta.db_table
        cursor.execute(
            f"SELECT id, url_sha256, in_other_case FROM {table} "
            f"WHERE url_sha256 = ANY(%s) AND case_id <> %s",
            [hashes, self._case_id],
        )
        found = cursor.fetchall()
        if not found:
            return set()
        unflagged = [other_id for other_id, _, flagged in found if not flagged]
        if unflagged:
            cursor.execute(
                f"UPDATE {table} SET in_other_case = TRUE WHERE id = ANY(%s)", [unflagged]
            )
        self.maybe_elsewhere += 1
        return {sha for _, sha, _ in found}

    @cached_property
    def _link_copy_constants(self) -> tuple[Any, ...]:
        """The constant columns as the text COPY reads, converted once, not once per row."""
        return tuple(_copy_text(value) for value in self._link_constants)

    def _store_links_postgres(self, cursor: Any, links: list[tuple[Any, ...]]) -> None:
        """COPY into a temporary table; one pass through the url_sha256 index finds the URLs
        other cases hold, which flags both sides; then insert what is new."""
        host_ids = self._host_ids
        rows = [(host_ids[link[0]], *link[1:], False) for link in links]
        table = FoundLink._meta.db_table
        insert, variable_columns = self._links_insert
        self._copy(cursor, "intake_links", table, variable_columns, rows)
        cursor.execute("DROP TABLE IF EXISTS intake_elsewhere")
        cursor.execute(
            f"CREATE TEMPORARY TABLE intake_elsewhere ON COMMIT DROP AS "
            f"SELECT other.id, other.url_sha256, other.in_other_case FROM {table} AS other "
            f"JOIN intake_links AS new ON other.url_sha256 = new.url_sha256 "
            f"AND other.case_id <> %s",
            [self._case_id],
        )
        if cursor.rowcount:
            cursor.execute(
                f"UPDATE {table} SET in_other_case = TRUE WHERE id IN "
                f"(SELECT id FROM intake_elsewhere WHERE NOT in_other_case)"
            )
            cursor.execute(
                "UPDATE intake_links SET in_other_case = TRUE "
                "WHERE url_sha256 IN (SELECT url_sha256 FROM intake_elsewhere)"
            )
            self.maybe_elsewhere += 1
        cursor.execute(insert, list(self._link_constants))
        self.created += cursor.rowcount

    @cached_property
    def _links_insert(self) -> tuple[str, list[str]]:
        """(PostgreSQL) The INSERT from the COPY table, built once per import, and the columns
        that vary. Only those go through COPY; the constants (a dozen of them: case, status,
        empty hashes, timestamps) are written once, as parameters of the INSERT, typed so that
        a NULL constant is a NULL of the column's type, not of type text."""
        columns = self._link_columns
        count = len(self._link_constants)
        constant_columns, variable_columns = columns[:count], columns[count:]
        types = _column_types(FoundLink)
        placeholders = ", ".join(f"CAST(%s AS {types[column]})" for column in constant_columns)
        insert = (
            f"INSERT INTO {FoundLink._meta.db_table} ({', '.join(columns)}) "
            f"SELECT {placeholders}, {', '.join(variable_columns)} FROM intake_links "
            f"ON CONFLICT (url_sha256, case_id) DO NOTHING"
        )
        return insert, variable_columns

    def _store_links_sqlite(self, cursor: Any, links: list[tuple[Any, ...]]) -> None:
        host_ids = self._host_ids
        constants = self._link_constants
        elsewhere = self._flag_other_cases(cursor, {link[3] for link in links})
        rows = [(*constants, host_ids[link[0]], *link[1:], link[3] in elsewhere) for link in links]
        self.maybe_elsewhere += len(elsewhere)
        table = FoundLink._meta.db_table
        columns = ", ".join(self._link_columns)
        marks = ", ".join(["?"] * len(self._link_columns))
        cursor.executemany(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})", rows)
        self.created += cursor.rowcount

    @staticmethod
    def _copy(
        cursor: Any, temp: str, table: str, columns: list[str], rows: list[tuple[Any, ...]]
    ) -> None:
        column_list = ", ".join(columns)
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} ON COMMIT DROP "
            f"AS SELECT {column_list} FROM {table} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {temp}")
        with cursor.copy(f"COPY {temp} ({column_list}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _flag_other_cases(self, cursor: Any, hashes: set[str]) -> set[str]:
        """(SQLite) Which of these URLs other cases hold already; flag those other cases' links
        too. The caseworker learns only the fact, nothing of the other case. Probing in sorted
        order keeps the index pages being read close together."""
        table = FoundLink._meta.db_table
        found: set[str] = set()
        other_ids: list[int] = []
        ordered = sorted(hashes)
        for start in range(0, len(ordered), PROBE_CHUNK):
            chunk = ordered[start : start + PROBE_CHUNK]
            marks = ", ".join(["?"] * len(chunk))
            cursor.execute(
                f"SELECT id, url_sha256, in_other_case FROM {table} "
                f"WHERE url_sha256 IN ({marks}) AND case_id <> ?",
                [*chunk, self._case_id],
            )
            for other_id, sha, flagged in cursor.fetchall():
                found.add(sha)
                if not flagged:
                    other_ids.append(other_id)
        for start in range(0, len(other_ids), PROBE_CHUNK):
            ids = other_ids[start : start + PROBE_CHUNK]
            marks = ", ".join(["?"] * len(ids))
            cursor.execute(
                f"UPDATE {table} SET in_other_case = ? WHERE id IN ({marks})",
                [True, *ids],
            )
        return found


class _SeenKeys:
    """hash() of every url_sha256 a direct import has sent, in 8 bytes each (a Python set of
    a million ints takes 76 MB; this, 8): sorted numpy runs, the newest smallest, two runs
    merged whenever the older is less than twice the newer, so there are about log2(n) runs
    and each key is merged about log2(n) times."""

    def __init__(self) -> None:
        self._runs: list[Any] = []

    def add(self, hashes: list[str]) -> list[bool]:
        """Add the keys of `hashes`; per hash, whether its key was there before (sent in an
        earlier batch, or earlier in this one)."""
        import numpy as np

        keys = np.fromiter(map(hash, hashes), dtype=np.int64, count=len(hashes))
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        repeated = np.zeros(len(keys), dtype=bool)
        repeated[order[1:]] = ordered[1:] == ordered[:-1]
        for run in self._runs:
            found = np.searchsorted(run, keys)
            np.minimum(found, len(run) - 1, out=found)
            repeated |= run[found] == keys
        run = _distinct(ordered)
        while self._runs and len(self._runs[-1]) < 2 * len(run):
            # Timsort ("stable") finds the two sorted halves and merges them in one pass.
            run = _distinct(np.sort(np.concatenate((self._runs.pop(), run)), kind="stable"))
        self._runs.append(run)
        result: list[bool] = repeated.tolist()
        return result


def _distinct(ordered: Any) -> Any:
    """A sorted numpy array without its repeats (np.unique would hash and sort again)."""
    import numpy as np

    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered if keep.all() else ordered[keep]


# JSON text of an extras dict per tuple of its keys, with a %r for each value (there are a
# handful: the readers' keys in their order, some left out where a row has no value).
_EXTRA_TEMPLATES: dict[tuple[str, ...], str] = {}
_EXTRA_TEMPLATES_MAX = 64


def _extra_json(extra: dict[str, int | float]) -> str:
    """json.dumps(extra, separators=(",", ":")) in a third of its time. The readers give
    exact ints and finite floats only (readers._int_value, _float_value), whose repr() is
    their JSON text."""
    keys = tuple(extra)
    template = _EXTRA_TEMPLATES.get(keys)
    if template is None:
        if len(_EXTRA_TEMPLATES) >= _EXTRA_TEMPLATES_MAX:
            return json.dumps(extra, separators=(",", ":"))
        template = "{" + ",".join(json.dumps(key).replace("%", "%%") + ":%r" for key in keys) + "}"
        _EXTRA_TEMPLATES[keys] = template
    return template % tuple(extra.values())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_text(value: Any) -> str | None:
    """A constant as PostgreSQL's COPY text format reads it for any column type."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def _constant_columns(
    model: type[models.Model], *, variable: Sequence[str], values: dict[str, Any]
) -> tuple[list[str], tuple[Any, ...]]:
    """Column names (constants first, then `variable` in order) and the constant values, taken
    from `values` or the model's field defaults, so the raw INSERT follows the model."""
    constant_columns: list[str] = []
    constants: list[Any] = []
    variable_columns: dict[str, str] = {}
    for model_field in model._meta.concrete_fields:
        column = model_field.column
        assert column is not None  # concrete fields have a column
        if model_field.primary_key:
            continue
        if model_field.name in variable:
            variable_columns[model_field.name] = column
            continue
        # get_default() is the field's default, or "" / None for fields without one.
        value = values.get(model_field.name, model_field.get_default())
        constant_columns.append(column)
        constants.append(model_field.get_db_prep_save(value, connection))
    columns = constant_columns + [variable_columns[name] for name in variable]
    return columns, tuple(constants)


def _column_types(model: type[models.Model]) -> dict[str, str]:
    """Column name -> the database type of its field (for casts in raw SQL)."""
    return {
        field.column: field.db_type(connection) or "text"
        for field in model._meta.concrete_fields
        if not field.primary_key and field.column is not None
    }


def _count_in_other_cases(case: Case, after_id: int) -> int:
    """How many of the links this import created are also in another case."""
    return FoundLink.objects.filter(case=case, id__gt=after_id, in_other_case=True).count()
