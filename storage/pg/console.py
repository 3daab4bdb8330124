"""The web viewer's SQL console on PostgreSQL: one SELECT (or WITH … SELECT), read-only, time-limited.

SQLite's console leans on an authorizer and per-connection limits (storage/sql_console.py); the
server has neither, so the guarantees come from elsewhere:

* **Read-only**: the viewer's session has `default_transaction_read_only` (storage/readonly.py) and
  the statement runs in a `READ ONLY` transaction that is rolled back; a read-only role (docs/team.md)
  holds even if both were lifted.
* **One statement**: it must start with SELECT or WITH and becomes the body of `DECLARE … CURSOR FOR`,
  which takes a single query and nothing else, sent by the extended protocol (which refuses a second
  statement).
* **Time**: the session's `statement_timeout` (the viewer's --query-seconds) cancels it.
* **Rows and memory**: a server-side cursor read `FETCH_ROWS` at a time, stopping at max_rows or the
  caller's character budget. One value can still be as large as PostgreSQL allows (1 GB): bound it
  with a read-only role's own `statement_timeout`/limits; SQLite's per-value cap has no equivalent.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Generator
from typing import Any

import psycopg

from storage.pg.connection import PgDatabase, _mapped

FETCH_ROWS = 200
_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_FIRST_WORD = re.compile(r"\(*\s*(select|with)\b", re.I)


def is_single_query(sql: str) -> bool:
    """Starts (after comments and opening parentheses) with SELECT or WITH."""
    rest = sql[_COMMENTS.match(sql).end() :]  # type: ignore[union-attr]
    return _FIRST_WORD.match(rest) is not None


def run_query(db: PgDatabase, sql: str, *, max_columns: int) -> tuple[tuple[str, ...], Generator[tuple[Any, ...]]]:
    """Column names, and the rows as a generator; raises sqlite3.Error (the console's vocabulary).

    Run the generator to its end or close it: either ends the transaction."""
    if not is_single_query(sql):
        raise sqlite3.OperationalError("not authorized: the console runs one statement, a SELECT (or WITH … SELECT)")
    raw = db.conn.raw
    try:
        raw.execute("BEGIN READ ONLY")
        cursor = raw.cursor(name="tgmonitor_console")
        cursor.execute(sql.replace("%", "%%"), [])
        columns = tuple(d.name for d in cursor.description or ())
    except psycopg.Error as exc:
        with contextlib.suppress(psycopg.Error):
            raw.execute("ROLLBACK")
        if "multiple commands" in str(exc):
            raise sqlite3.OperationalError("You can only execute one statement at a time") from exc
        raise _mapped(exc) from exc
    if len(columns) > max_columns:
        raw.execute("ROLLBACK")
        raise sqlite3.OperationalError(f"too many columns in the result ({len(columns)})")

    def rows() -> Generator[tuple[Any, ...]]:
        try:
            while True:
                batch = cursor.fetchmany(FETCH_ROWS)
                yield from (tuple(r) for r in batch)
                if len(batch) < FETCH_ROWS:
                    return
        except psycopg.Error as exc:
            raise _mapped(exc) from exc
        finally:
            with contextlib.suppress(psycopg.Error):
                cursor.close()
            with contextlib.suppress(psycopg.Error):
                raw.execute("ROLLBACK")

    return columns, rows()
