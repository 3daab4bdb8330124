"""The archive's upkeep and odds and ends: meta keys, transactions, file locks, optimize, a stable dump."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from storage.db import transaction
from storage.file_lock import ProcessLock, lock_beside


def _is_postgres(db: sqlite_utils.Database) -> bool:
    return getattr(db, "dialect", "sqlite") == "postgresql"


class Housekeeping:
    """Mixed into `Store`; needs `db`."""

    db: sqlite_utils.Database

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several store calls as one atomic unit (nested store transactions join it)."""
        with transaction(self.db):
            yield

    def file_path(self) -> Path | str | None:
        """Where a second connection, e.g. for a worker thread, opens this archive: its file, its
        postgresql:// URL, or None (in memory)."""
        if _is_postgres(self.db):
            return str(getattr(self.db, "url"))  # noqa: B009 - PgDatabase's, not sqlite_utils'
        row = self.db.execute("PRAGMA database_list").fetchone()
        return Path(row[2]) if row is not None and row[2] else None

    def set_deadline(self, deadline: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        """Interrupt any query still running at `deadline` (clock seconds): it raises
        sqlite3.OperationalError("interrupted"). None removes the budget.

        On PostgreSQL the budget left now becomes the session's `statement_timeout` (each statement
        then gets the rest of the budget as of this call, as close as the server comes)."""
        if _is_postgres(self.db):
            left = 0 if deadline is None else max(1, int((deadline - clock()) * 1000))
            self.db.execute("SELECT set_config('statement_timeout', ?, false)", [str(left)])
            return
        if deadline is None:
            self.db.conn.set_progress_handler(None, 0)
            return
        self.db.conn.set_progress_handler(lambda: int(clock() > deadline), 10_000)

    def lock(self, name: str) -> ProcessLock | None:
        """A cross-process lock: a file beside the archive, an advisory lock on PostgreSQL (None for an
        in-memory archive)."""
        return lock_beside(self.db, name)

    def meta_get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def meta_set(self, key: str, value: str) -> None:
        self.meta_set_many({key: value})

    def meta_set_many(self, values: Mapping[str, str]) -> None:
        """All in one transaction: a status snapshot is never half-written."""
        with transaction(self.db):
            self.db.conn.executemany(
                "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

    def meta_delete(self, keys: Sequence[str]) -> int:
        """Delete these keys in one transaction; how many existed."""
        with transaction(self.db):
            return sum(self.db.execute("DELETE FROM meta WHERE key = ?", [k]).rowcount for k in keys)

    def optimize(self) -> tuple[int, int, int]:
        """Upkeep for a long-running writer: fresh planner statistics, and the WAL folded back and reset.

        Without TRUNCATE the -wal file only ever grows to its high-water mark. A reader holding an old
        snapshot makes the checkpoint report busy (first value) instead of blocking the service for
        the usual 30 s busy timeout. Returns SQLite's (busy, wal frames, checkpointed frames).
        On PostgreSQL the server's autovacuum keeps the statistics and checkpoints the WAL itself:
        nothing to do, (0, 0, 0).
        """
        if _is_postgres(self.db):
            return 0, 0, 0
        self.db.execute("PRAGMA optimize")
        self.db.execute("PRAGMA busy_timeout = 1000")
        try:
            row = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            self.db.execute("PRAGMA busy_timeout = 30000")
        return int(row[0]), int(row[1]), int(row[2])

    def dump_json(self) -> str:
        """Content of every table in a stable order: what "the same archive" means in tests."""
        out = {}
        tables = ("channels", "posts", "post_tags", "post_versions", "subscriptions", "digests", "alerts_sent")
        for table in (*tables, "edit_alerts"):
            out[table] = [list(r) for r in self.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
        return json.dumps(out, ensure_ascii=False, sort_keys=True, default=str)
