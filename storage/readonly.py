"""A read-only door into the archive, for readers that run beside the service (the web viewer).

`open_db` creates, migrates and writes; a viewer must do none of that. This opens the file with
SQLite's `mode=ro` plus `PRAGMA query_only`, so no statement can write, and WAL lets it read while the
service keeps writing. Not `immutable=1`: that tells SQLite the file never changes, so it skips
locking and the WAL and would show a stale or torn archive while the service writes.

Each reader gets its own connection (`store()`): a connection costs ~0.1 ms and has no thread
affinity problems, and every page then reads one consistent, current snapshot.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from storage.db import SCHEMA_VERSION
from storage.store import Store

# The columns the readers use (posts.tag_list) arrived with schema 3.
MIN_READ_VERSION = 3
# How often (in SQLite virtual machine steps) a running statement looks at the clock.
_PROGRESS_STEPS = 10_000


class ArchiveError(RuntimeError):
    """The archive is missing, unreadable or of another schema; the message says which and what to do."""


class ReadOnlyArchive:
    """Opens read-only connections to one archive file, checked once when created."""

    def __init__(self, path: Path | str, *, time_limit: float | None = None) -> None:
        self.path = Path(path)
        self.time_limit = time_limit
        db = self.connect()
        try:
            self.schema_version = _check_schema(db, self.path)
        finally:
            db.conn.close()

    def connect(self, *, time_limit: float | None = None) -> sqlite_utils.Database:
        """A fresh read-only connection; statements running past `time_limit` seconds are interrupted."""
        if not self.path.is_file():
            raise ArchiveError(f"archive not found: {self.path} (set DB_PATH or pass --db)")
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot open archive {self.path} read-only: {exc}") from exc
        limit = self.time_limit if time_limit is None else time_limit
        if limit is not None:
            conn.set_progress_handler(_deadline(time.monotonic() + limit), _PROGRESS_STEPS)
        return sqlite_utils.Database(conn, execute_plugins=False)

    def store(self, *, time_limit: float | None = None) -> Store:
        """A Store over a fresh read-only connection (close it when done): every read method works, writes fail."""
        return Store(self.connect(time_limit=time_limit))


def _deadline(at: float) -> Callable[[], int]:
    """A progress handler: a non-zero return makes SQLite stop the statement ('interrupted')."""

    def check() -> int:
        return 1 if time.monotonic() > at else 0

    return check


def table_exists(db: sqlite_utils.Database, name: str) -> bool:
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone()
    return row is not None


def _check_schema(db: sqlite_utils.Database, path: Path) -> int:
    try:
        if not table_exists(db, "meta") or not table_exists(db, "posts"):
            raise ArchiveError(f"{path} is not a tgmonitor archive (no meta/posts tables)")
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error as exc:  # e.g. "file is not a database"
        raise ArchiveError(f"cannot read archive {path}: {exc}") from exc
    version = int(row[0]) if row else 0
    if version < MIN_READ_VERSION:
        raise ArchiveError(
            f"{path} has schema version {version}; the viewer reads version {MIN_READ_VERSION} or later and never "
            "migrates: run any writing command once (e.g. `tgmonitor stats`) or start the service to upgrade it"
        )
    if version > SCHEMA_VERSION:
        raise ArchiveError(
            f"{path} has schema version {version}, newer than this tgmonitor ({SCHEMA_VERSION}): upgrade tgmonitor"
        )
    return version
