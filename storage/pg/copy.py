"""`tgmonitor migrate-to postgresql://…`: an SQLite archive copied into a PostgreSQL one, resumably.

* **Table by table, in key order, in batches.** Parents before children (SQLite's foreign keys),
  each table read by its primary key (the rowid where it has none) and written with `COPY`, one
  transaction per batch that also moves the table's mark (`meta` key `migrate.<table>`, the last
  key copied). A kill loses at most the batch in flight; a rerun starts after the mark.
* **Ids kept**: every column is copied as it is, `id` too, so links, digests and bookmarks hold.
* **One source per target**: the target remembers the source's fingerprint (its first channels and
  posts, which later writes do not change). A target holding rows and another fingerprint, or
  rows and none, is refused before anything is written.
* **Derived tables are rebuilt, not copied**: `posts_fts`/`articles_fts` are kept by triggers as
  rows arrive; `posts_norm` (the word-form index) is built afterwards by the resumable backfill.
* **Verified**: per table, the row count and an order-independent checksum (the sum of a hash of
  each row's values, mod 2^64) on both sides; a difference names the table.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlite_utils

from storage.pg.connection import PgDatabase, redact
from storage.pg.search_index import PgSearchIndex

MARK_PREFIX = "migrate."
FINGERPRINT_KEY = "migrate.source"
DONE_KEY = "migrate.done"
DERIVED = frozenset({"posts_fts", "articles_fts", "posts_norm"})
# meta keys that belong to the target itself: its schema, its own search index
OWN_META = ("schema_version", "search_norm_", MARK_PREFIX)
Progress = Callable[[str, int, int], None]  # table, rows copied so far, rows in all


class CopyError(RuntimeError):
    """The copy cannot go on; one line saying why (the URL without its password)."""


@dataclass(frozen=True)
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_sum: int
    target_sum: int

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sum == self.target_sum


@dataclass(frozen=True)
class Plan:
    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # the order of reading; ("rowid",) for a table without a primary key


def _sqlite_tables(source: sqlite_utils.Database) -> list[str]:
    rows = source.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    names = [r[0] for r in rows]
    virtual = {r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL%'")}
    shadows = {n for n in names for v in virtual if n.startswith(f"{v}_")}
    return [n for n in names if n not in virtual and n not in shadows]


def _parents_first(source: sqlite_utils.Database, tables: Sequence[str]) -> list[str]:
    wanted = set(tables)
    parents = {
        t: {r[2] for r in source.execute(f"PRAGMA foreign_key_list({t})") if r[2] in wanted and r[2] != t}
        for t in tables
    }
    ordered: list[str] = []
    while len(ordered) < len(tables):
        ready = sorted(t for t in tables if t not in ordered and parents[t] <= set(ordered))
        if not ready:  # a cycle: take the rest as they come (the copy does not check foreign keys early)
            ready = [t for t in tables if t not in ordered]
        ordered.extend(ready)
    return ordered


def plans(source: sqlite_utils.Database, target: PgDatabase) -> list[Plan]:
    on_target = set(target.table_names()) - DERIVED
    found = [t for t in _sqlite_tables(source) if t not in DERIVED and t != "meta"]
    missing = [t for t in found if t not in on_target]
    if missing:  # another program's tables, or a schema this tgmonitor does not know: never dropped silently
        raise CopyError(f"the archive has tables the PostgreSQL schema lacks: {', '.join(missing)}; nothing copied")
    tables = [t for t in found if t in on_target]
    result = []
    for table in _parents_first(source, tables):
        info = source.execute(f"PRAGMA table_info({table})").fetchall()
        columns = tuple(r[1] for r in info)
        key = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])) or ("rowid",)
        result.append(Plan(table, columns, key))
    return result


def fingerprint(source: sqlite_utils.Database) -> str:
    """What names this archive: its first channels and posts (ids and Telegram ids: never rewritten)."""
    digest = hashlib.sha256()
    for row in source.execute("SELECT id, tg_id, username FROM channels ORDER BY id LIMIT 20"):
        digest.update(repr(tuple(row)).encode())
    for row in source.execute("SELECT id, channel_id, message_id FROM posts ORDER BY id LIMIT 100"):
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()[:32]


def _meta(target: PgDatabase, key: str) -> str | None:
    row = target.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def claim(source: sqlite_utils.Database, target: PgDatabase, plan: Sequence[Plan]) -> None:
    """Refuse a target holding another archive's rows; remember this source on an empty one."""
    mine = fingerprint(source)
    theirs = _meta(target, FINGERPRINT_KEY)
    if theirs == mine:
        return
    holds = [p.table for p in plan if target.execute(f"SELECT 1 FROM {p.table} LIMIT 1").fetchone() is not None]
    if theirs is not None or holds:
        what = "another archive's copy" if theirs is not None else f"rows ({', '.join(holds[:3])}…)"
        raise CopyError(f"{redact(target.url)} already holds {what}, not this archive's: copy into an empty database")
    target.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [FINGERPRINT_KEY, mine])


def _select(plan: Plan, after: Sequence[Any] | None, batch: int) -> tuple[str, list[Any]]:
    columns = ", ".join(plan.columns) if plan.key != ("rowid",) else "rowid, " + ", ".join(plan.columns)
    order = ", ".join(plan.key)
    where = ""
    params: list[Any] = []
    if after is not None:
        where = f" WHERE ({order}) > ({', '.join('?' * len(plan.key))})"
        params = list(after)
    return f"SELECT {columns} FROM {plan.table}{where} ORDER BY {order} LIMIT ?", [*params, batch]


def copy_table(
    source: sqlite_utils.Database,
    target: PgDatabase,
    plan: Plan,
    *,
    batch: int = 5000,
    progress: Progress | None = None,
    stop_after: int | None = None,
) -> int:
    """Copy what the mark says is missing; returns the rows copied by this call.

    `stop_after`: batches to copy before returning (tests interrupt a copy with it)."""
    mark_key = f"{MARK_PREFIX}{plan.table}"
    raw = target.conn.raw
    mark = _meta(target, mark_key)
    after: list[Any] | None = json.loads(mark) if mark else None
    total = int(source.execute(f"SELECT count(*) FROM {plan.table}").fetchone()[0])
    done_before = int(target.conn.raw.execute(f"SELECT count(*) FROM {plan.table}").fetchone()[0])  # type: ignore[index]
    copied = 0
    batches = 0
    by_rowid = plan.key == ("rowid",)
    key_at = [plan.columns.index(k) for k in plan.key] if not by_rowid else []
    while stop_after is None or batches < stop_after:
        sql, params = _select(plan, after, batch)
        rows = source.execute(sql, params).fetchall()
        if not rows:
            break
        last = rows[-1]
        after = [last[0]] if by_rowid else [last[i] for i in key_at]
        values = [r[1:] for r in rows] if by_rowid else rows
        try:
            with raw.transaction():
                with raw.cursor().copy(f"COPY {plan.table} ({', '.join(plan.columns)}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
                raw.execute(
                    "INSERT INTO meta(key, value) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [mark_key, json.dumps(after)],
                )
        except psycopg.Error as exc:  # nothing of the batch is kept; say which rows and why, in one line
            first = rows[0][0] if by_rowid else [rows[0][i] for i in key_at]
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CopyError(f"{plan.table}: the batch from {plan.key} = {first} was refused: {why}") from exc
        copied += len(rows)
        batches += 1
        if progress is not None:
            progress(plan.table, done_before + copied, total)
        if len(rows) < batch:
            break
    return copied


def copy_meta(source: sqlite_utils.Database, target: PgDatabase) -> None:
    """The source's notes (service state, learned settings) except the target's own keys."""
    rows = [(k, v) for k, v in source.execute("SELECT key, value FROM meta").fetchall() if not k.startswith(OWN_META)]
    target.conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", rows)


def _canonical(value: Any) -> bytes:
    if value is None:
        return b"N"
    if isinstance(value, bool):
        return b"i%d" % int(value)
    if isinstance(value, int):
        return b"i%d" % value
    if isinstance(value, float):
        return b"i%d" % int(value) if value.is_integer() else b"f" + repr(value).encode()
    if isinstance(value, bytes | memoryview):
        return b"b" + bytes(value)
    return b"s" + str(value).encode("utf-8", "surrogatepass")


def _row_hash(row: Iterable[Any]) -> int:
    digest = hashlib.blake2b(b"\x1f".join(_canonical(v) for v in row), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


def _checksum(rows: Iterable[Sequence[Any]]) -> tuple[int, int]:
    count = total = 0
    for row in rows:
        count += 1
        total = (total + _row_hash(row)) % (1 << 64)
    return count, total


def verify(source: sqlite_utils.Database, target: PgDatabase, plan: Sequence[Plan]) -> list[TableCheck]:
    """Counts and order-independent checksums of every copied table (and meta's copied keys)."""
    checks = []
    for p in plan:
        select = f"SELECT {', '.join(p.columns)} FROM {p.table}"
        s_rows, s_sum = _checksum(source.execute(select))
        raw = target.conn.raw
        with raw.transaction(), raw.cursor(name=f"verify_{p.table}") as cursor:  # server-side: bounded memory
            cursor.itersize = 5000
            t_rows, t_sum = _checksum(cursor.execute(select))
        checks.append(TableCheck(p.table, s_rows, t_rows, s_sum, t_sum))
    return checks


def build_search_index(target: PgDatabase, index: PgSearchIndex, progress: Callable[[int, int], None] | None) -> int:
    """posts_norm from the copied posts: marked all pending once, then the resumable backfill."""
    if _meta(target, f"{MARK_PREFIX}search_index") != "started":
        index._forget_all()
        target.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [f"{MARK_PREFIX}search_index", "started"]
        )
    return index.backfill(progress=progress)


def check_source(source: sqlite_utils.Database) -> None:
    try:
        source.execute("SELECT 1 FROM posts LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        raise CopyError(f"the source is not a tgmonitor archive: {exc}") from exc


@dataclass(frozen=True)
class Report:
    copied: dict[str, int]  # rows copied by this run, per table
    indexed: int
    checks: list[TableCheck]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def migrate_to(
    source: sqlite_utils.Database,
    target: PgDatabase,
    index: PgSearchIndex,
    *,
    batch: int = 5000,
    progress: Progress | None = None,
    index_progress: Callable[[int, int], None] | None = None,
    stop_after: int | None = None,
    clock: Callable[[], float] | None = None,
) -> Report:
    """The whole copy, resumable at any point; one copy at a time into one target (an advisory lock)."""
    import time

    from storage.pg.locks import AdvisoryLock

    now = clock or time.monotonic
    started = now()
    check_source(source)
    lock = AdvisoryLock(target, "migrate-to")
    if not lock.try_acquire():
        raise CopyError(f"another migrate-to is copying into {redact(target.url)}; wait for it")
    try:
        plan = plans(source, target)
        claim(source, target, plan)
        copied: dict[str, int] = {}
        left = stop_after
        for p in plan:
            copied[p.table] = copy_table(source, target, p, batch=batch, progress=progress, stop_after=left)
            if left is not None:
                left -= -(-copied[p.table] // batch)
                if left <= 0:
                    return Report(copied, 0, [], now() - started)
        copy_meta(source, target)
        indexed = build_search_index(target, index, index_progress)
        checks = verify(source, target, plan)
        target.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [DONE_KEY, "1"])
        return Report(copied, indexed, checks, now() - started)
    finally:
        lock.release()
