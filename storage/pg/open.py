"""Open a PostgreSQL archive: connect, check it is one, apply missing versions under the writer lock."""

from __future__ import annotations

import sqlite3

from storage.migrations import MIGRATIONS, SCHEMA_VERSION
from storage.pg.connection import PgDatabase, connect, redact
from storage.pg.schema import BASELINE, OWN, baseline_statements


class PgArchiveError(RuntimeError):
    """The database cannot be used as an archive; one line naming the (redacted) URL and why."""


class NoPgArchiveError(PgArchiveError):
    """An empty database, and the caller only reads."""


class PgUnreachableError(PgArchiveError):
    """No connection to the server (down, restarting, refused, wrong password): a service retries later."""


def _version(db: PgDatabase) -> int:
    """ASCII digits only, as storage/db.py reads it: `int()` read a damaged '٣' as 3 and migrated again."""
    from storage.db import SchemaError, version_number  # storage.db imports this module when it opens one

    if db.conn.raw.execute("SELECT to_regclass('meta')").fetchone()[0] is None:  # type: ignore[index]
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        return version_number(row[0]) if row else 0
    except SchemaError as exc:
        raise PgArchiveError(f"{redact(db.url)}: {exc}") from None


def migrate(db: PgDatabase) -> int:
    """Every version in its own transaction with its bump, the writer lock held: two processes opening a
    new database at once take turns, and the second finds the work done (as storage/db.migrate)."""
    if _version(db) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    conn = db.conn
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = _version(db)
            if current > SCHEMA_VERSION:
                raise PgArchiveError(
                    f"{redact(db.url)}: archive schema version {current} is newer than this tgmonitor "
                    f"({SCHEMA_VERSION}); upgrade"
                )
            if current == SCHEMA_VERSION:
                conn.commit()
                return SCHEMA_VERSION
            if current == 0:
                if db.table_names():
                    raise PgArchiveError(
                        f"{redact(db.url)} holds tables of another program, not a tgmonitor archive "
                        "(use an empty database or schema)"
                    )
                for statement in baseline_statements():
                    conn.raw.execute(statement)
                version = BASELINE
            else:
                version = current + 1
                step = OWN.get(version)
                if step is not None:
                    step(db)
                else:
                    MIGRATIONS[version - 1](db)  # type: ignore[arg-type]
            db.execute(
                "INSERT INTO meta(key, value) VALUES('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [str(version)],
            )
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def open_pg(
    url: str, *, create: bool = True, read_only: bool = False, statement_seconds: float | None = None
) -> PgDatabase:
    """Connect and migrate (`create`: a new, empty database becomes an archive; otherwise it must be one)."""
    try:
        db = connect(url, read_only=read_only, statement_seconds=statement_seconds)
    except sqlite3.OperationalError as exc:
        raise PgUnreachableError(str(exc)) from None
    try:
        encoding = db.conn.raw.execute("SHOW server_encoding").fetchone()
        if encoding is None or encoding[0] != "UTF8":
            raise PgArchiveError(
                f"{redact(url)}: the database encoding must be UTF8 (it is {encoding and encoding[0]})"
            )
        version = _version(db)
        if version == 0 and (not create or read_only):
            raise NoPgArchiveError(f"no archive at {redact(url)} (an empty database; run a writing command first)")
        if not read_only:
            migrate(db)
        elif version != SCHEMA_VERSION:
            raise PgArchiveError(
                f"{redact(url)}: archive schema version {version}, this tgmonitor reads {SCHEMA_VERSION}; "
                "let a writing command upgrade it"
            )
    except BaseException:
        db.conn.close()
        raise
    return db
