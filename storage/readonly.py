"""A read-only door into the archive, for readers that run beside the service (the web viewer).

`open_db` creates, migrates and writes; a viewer must do none of that. This opens the file with
SQLite's `mode=ro` plus `PRAGMA query_only`, so no statement can write, and WAL lets it read while the
service keeps writing. Not `immutable=1`: that tells SQLite the file never changes, so it skips
locking and the WAL and would show a stale or torn archive while the service writes.

Each reader gets its own connection (`store()`): a connection costs ~0.1 ms and has no thread
affinity problems, and every page then reads one consistent, current snapshot.

On PostgreSQL (a postgresql:// location) the same door is a session with
`default_transaction_read_only` (every statement of it, the SQL console's too, is refused a write)
and `statement_timeout` for the time limit (per statement, where SQLite's progress handler bounds the
connection's whole life); a read-only role (docs/team.md) makes it hold even against a `SET`. A
connection costs a few milliseconds there, still one per page.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import sqlite_utils

from storage.db import SCHEMA_VERSION, Location, SchemaError, as_location, shown, version_number
from storage.errors import one_line
from storage.store import Store

# The columns the readers use (posts.tag_list) arrived with schema 3.
MIN_READ_VERSION = 3
# How often (in SQLite virtual machine steps) a running statement looks at the clock.
_PROGRESS_STEPS = 10_000


class ArchiveError(RuntimeError):
    """The archive is missing, unreadable or of another schema; the message says which and what to do."""


class ReadOnlyArchive:
    """Opens read-only connections to one archive file, checked once when created."""

    def __init__(self, path: Location, *, time_limit: float | None = None) -> None:
        self.path: Location = as_location(path)  # a file, or a postgresql:// URL
        self.time_limit = time_limit
        db = self.connect()
        try:
            self.schema_version = _check_schema(db, shown(self.path))
        finally:
            db.conn.close()

    @property
    def name(self) -> str:
        """What a page calls the archive: the file's name, or the database's (never the URL's password)."""
        if isinstance(self.path, Path):
            return self.path.name
        return urlsplit(self.path).path.strip("/") or "postgresql"

    def shown(self) -> str:
        """The archive for messages: the path, or the URL without its password."""
        return shown(self.path)

    def connect(self, *, time_limit: float | None = None) -> sqlite_utils.Database:
        """A fresh read-only connection; statements running past `time_limit` seconds are interrupted."""
        limit = self.time_limit if time_limit is None else time_limit
        if not isinstance(self.path, Path):
            return _connect_postgres(self.path, limit)
        if not self.path.is_file():
            raise ArchiveError(f"archive not found: {self.path} (set DB_PATH or pass --db)")
        try:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise ArchiveError(f"cannot open archive {self.path} read-only: {exc}") from exc
        if limit is not None:
            conn.set_progress_handler(_deadline(time.monotonic() + limit), _PROGRESS_STEPS)
        return sqlite_utils.Database(conn, execute_plugins=False)

    def store(self, *, time_limit: float | None = None) -> Store:
        """A Store over a fresh read-only connection (close it when done): every read method works, writes fail."""
        return Store(self.connect(time_limit=time_limit))


def _connect_postgres(url: str, limit: float | None) -> sqlite_utils.Database:
    """A read-only session on the PostgreSQL archive (imported only when asked for: psycopg is optional)."""
    try:
        from storage.pg.open import PgArchiveError, open_pg
    except ImportError:
        raise ArchiveError("a postgresql:// archive needs psycopg: pip install 'tgmonitor[postgres]'") from None
    try:
        db = open_pg(url, create=False, read_only=True, statement_seconds=limit)
    except PgArchiveError as exc:
        raise ArchiveError(str(exc)) from None
    return cast(sqlite_utils.Database, db)


def _deadline(at: float) -> Callable[[], int]:
    """A progress handler: a non-zero return makes SQLite stop the statement ('interrupted')."""

    def check() -> int:
        return 1 if time.monotonic() > at else 0

    return check


def table_exists(db: sqlite_utils.Database, name: str) -> bool:
    if getattr(db, "dialect", "sqlite") == "postgresql":
        return bool(db.execute("SELECT to_regclass(?) IS NOT NULL", [name]).fetchone()[0])
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone()
    return row is not None


def _check_schema(db: sqlite_utils.Database, path: str) -> int:
    try:
        if not table_exists(db, "meta") or not table_exists(db, "posts"):
            raise ArchiveError(f"{path} is not a tgmonitor archive (no meta/posts tables)")
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error as exc:  # e.g. "file is not a database"
        raise ArchiveError(f"cannot read archive {path}: {one_line(exc)}") from exc
    except UnicodeDecodeError:  # SQLite's message quotes a damaged schema line
        raise ArchiveError(f"cannot read archive {path}: it is damaged (restore it from a backup)") from None
    try:
        version = version_number(row[0]) if row else 0
    except SchemaError as exc:
        raise ArchiveError(f"the archive {path}: {exc}") from None
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
