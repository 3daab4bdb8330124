"""Open the archive: pragmas for a long-running writer, schema versions applied in order.

Every migration (storage/migrations.py) runs in one transaction with the version bump, so a crash
mid-migration leaves the previous version intact and the next start simply tries again.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import sqlite_utils

from bot.core.textnorm import TextNormaliser
from storage import search_index
from storage.errors import one_line
from storage.migrations import MIGRATIONS, SCHEMA_VERSION

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "ArchiveError",
    "Location",
    "NoArchiveError",
    "as_location",
    "migrate",
    "open_db",
    "schema_version",
    "shown",
    "transaction",
]


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One atomic unit of work; nested use joins the outer transaction."""
    conn = db.conn
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def schema_version(db: sqlite_utils.Database) -> int:
    if "meta" not in db.table_names():
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return version_number(row[0]) if row else 0


def version_number(value: object) -> int:
    """meta's schema_version as a number; SchemaError for anything but ASCII digits (`int()` read '٣' as
    3 and migrated a current archive again from version 4, and raised on 'abc' a message without the file)."""
    text = str(value).strip()
    if not (text.isascii() and text.isdecimal() and len(text) < 10):
        raise SchemaError(f"its schema version {text[:20]!r} is not a number: it is damaged (restore it from a backup)")
    return int(text)


def migrate(db: sqlite_utils.Database) -> int:
    """Apply missing migrations, each in its own transaction with its version bump.

    The version is read again inside each `BEGIN IMMEDIATE` transaction, which holds the write lock:
    two processes opening a fresh or upgraded archive at once (the service and a CLI command) take
    turns, and the second finds the work done instead of failing with "table channels already exists".
    """
    if _read_version(db) == SCHEMA_VERSION:
        return SCHEMA_VERSION  # the common case: no write lock taken just to open the archive
    while True:
        with transaction(db):
            current = _read_version(db)
            if current > SCHEMA_VERSION:
                raise SchemaError(
                    f"its schema version {current} is newer than this tgmonitor ({SCHEMA_VERSION}): upgrade tgmonitor"
                )
            if current == SCHEMA_VERSION:
                return SCHEMA_VERSION
            version = current + 1
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            MIGRATIONS[version - 1](db)
            db.execute(
                "INSERT INTO meta(key, value) VALUES('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [str(version)],
            )


def _read_version(db: sqlite_utils.Database) -> int:
    """Like `schema_version`, in one query that works inside a transaction (no table list)."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return 0
    return version_number(row[0]) if row else 0


def _create_private(path: Path) -> None:
    """A new archive (and its folder) readable by its owner only: it holds every post and the chats' ids.

    SQLite gives the -wal and -shm files the database file's mode, so they follow.
    """
    if path.exists():
        return
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return  # another process created it a moment ago
    os.close(fd)


class ArchiveError(RuntimeError):
    """The archive cannot be opened as asked; the message names the path and says why, in one line."""


class SchemaError(ArchiveError):
    """The archive's schema version is newer than this code, or unreadable; open_db adds the path."""


class NoArchiveError(ArchiveError):
    """Nothing at the path, and the caller only reads: a mistyped --db must not leave an empty archive."""


class ArchiveUnreachableError(ArchiveError):
    """The archive's server could not be reached: unlike the other refusals, trying again later may work."""


def open_db(
    path: Path | str, normaliser: TextNormaliser | None = None, *, create: bool = True
) -> sqlite_utils.Database:
    """Open and migrate; with `create` (commands that write) a missing archive and its folder are made,
    private (0600/0700).

    Without `create` a missing or empty file is NoArchiveError and nothing is written to disk.
    A directory, a file that is not SQLite, another program's SQLite database or a path that
    cannot be written are ArchiveError; ':memory:' works for throwaway use. The search index's SQL
    functions are registered before migrating: its triggers call them on every write.
    """
    if is_postgres_url(str(path)):
        return cast(sqlite_utils.Database, _open_postgres(str(path), create=create))
    if str(path) == ":memory:":
        db = _connect(":memory:", normaliser)
        migrate(db)
        return db
    file = Path(path)
    if file.is_dir():
        raise ArchiveError(
            f"{file} is a directory; --db / DB_PATH names the archive file, e.g. {file / 'tgmonitor.db'}"
        )
    if not file.exists() or (not create and file.stat().st_size == 0):
        if not create:
            raise NoArchiveError(f"no archive at {file}")
        try:
            _create_private(file)
        except OSError as exc:
            blocker = next((p for p in file.parents if p.exists() and not p.is_dir()), None)
            why = f"{blocker} is a file, not a folder" if blocker else (exc.strerror or str(exc))
            raise ArchiveError(f"cannot create the archive {file}: {why}") from exc
    try:
        db = _connect(file, normaliser, wal=False)
    except sqlite3.DatabaseError as exc:
        raise ArchiveError(_why(file, exc)) from exc
    except UnicodeDecodeError:  # SQLite's message quotes a schema line whose bytes were flipped
        raise ArchiveError(f"cannot open the archive {file}: it is damaged (restore it from a backup)") from None
    try:
        # before WAL mode: switching another program's database to WAL would change its file
        if schema_version(db) == 0 and db.table_names():
            raise ArchiveError(f"{file} is an SQLite database of another program, not a tgmonitor archive")
        _wal(db.conn)
        migrate(db)
    except BaseException as exc:
        db.conn.close()
        if isinstance(exc, sqlite3.DatabaseError):
            raise ArchiveError(_why(file, exc)) from exc
        if isinstance(exc, UnicodeDecodeError):
            raise ArchiveError(f"cannot open the archive {file}: it is damaged (restore it from a backup)") from None
        if isinstance(exc, SchemaError):
            raise SchemaError(f"the archive {file}: {exc}") from None
        raise
    return db


def is_postgres_url(location: str) -> bool:
    """`postgresql://…` (or `postgres://…`): the shared server archive of storage/pg instead of a file."""
    return location.startswith(("postgresql://", "postgres://"))


# Where an archive is: a file path (SQLite) or a postgresql:// URL. The application passes it along
# without looking inside; `as_location` reads one from a setting or `--db`, `shown` prints one.
Location = Path | str


def as_location(value: str | Path) -> Location:
    """A `--db` / DB_PATH / DATABASE_URL value: a URL stays a string, anything else is a file path."""
    text = str(value)
    return text if is_postgres_url(text) else Path(value)


def is_file_location(location: Location) -> bool:
    return not is_postgres_url(str(location))


def shown(location: Location) -> str:
    """A location for messages, logs and pages: a URL without its password (`:***@`, `password=***`)."""
    text = str(location)
    if not is_postgres_url(text):
        return text
    try:
        parts = urlsplit(text)
        netloc = parts.netloc
        if parts.password is not None:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}:***@{host}"
        query = "&".join(
            f"{k}=***" if k == "password" else f"{k}={v}" for k, v in parse_qsl(parts.query, keep_blank_values=True)
        )
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:
        return text.split("://", 1)[0] + "://…"


def _open_postgres(url: str, *, create: bool) -> Any:
    """storage/pg's archive, imported only when asked for: psycopg is the optional extra `postgres`."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ArchiveError("a postgresql:// archive needs psycopg: pip install 'tgmonitor[postgres]'") from None
    from storage.pg.open import NoPgArchiveError, PgArchiveError, PgUnreachableError, open_pg

    try:
        return open_pg(url, create=create)
    except NoPgArchiveError as exc:
        raise NoArchiveError(str(exc)) from None
    except PgUnreachableError as exc:
        raise ArchiveUnreachableError(str(exc)) from None
    except PgArchiveError as exc:
        raise ArchiveError(str(exc)) from None


def _connect(path: Path | str, normaliser: TextNormaliser | None = None, *, wal: bool = True) -> sqlite_utils.Database:
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    try:
        db = sqlite_utils.Database(conn)
        if wal:
            _wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 30000")
        search_index.register(conn, normaliser or TextNormaliser())
    except BaseException:
        conn.close()
        raise
    return db


def _wal(conn: sqlite3.Connection, patience: float = 30.0) -> None:
    """WAL mode, waiting for other openers: switching an archive from the rollback journal (one written
    by an older tgmonitor or another tool) needs it alone, and SQLite answers "database is locked" at
    once instead of calling the busy handler, so two processes opening it together would fail."""
    waited = 0.0
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or waited >= patience:
                raise
        time.sleep(0.05)
        waited += 0.05


def _why(file: Path, exc: sqlite3.DatabaseError) -> str:
    message = one_line(exc)
    if "not a database" in message or "encrypted" in message:
        return f"{file} is not a tgmonitor archive (not an SQLite database)"
    if "unable to open" in message and file.is_file() and not os.access(file, os.R_OK | os.W_OK):
        return f"cannot open the archive {file}: no permission to read and write it (check its owner and mode)"
    if "unable to open" in message:
        return f"cannot open the archive {file}: check that its folder exists and is writable"
    if "readonly" in message or "read-only" in message:
        return f"cannot write to the archive {file}: the file or its folder is read-only for this user"
    if message.startswith("malformed database schema"):  # it quotes the damaged CREATE statement
        return f"the archive {file} is damaged ({message.split(' - ')[0]}): restore it from a backup"
    return f"cannot open the archive {file}: {message}"
