"""One read-only SQL statement for the web viewer's `--sql` page.

The connection is already `mode=ro` and `query_only`, so nothing can be written; the authorizer also
refuses ATTACH (which would read other database files on the machine), PRAGMAs that are not plain
look-ups, anything that is not reading, and the project's own SQL functions (`tg_*`: the search
index's normaliser, Python called inside one SQLite step that no time limit can interrupt: one call
on a huge argument ran 5.2 s under a 2 s limit). The time (storage/readonly.py) is bounded, and so
is memory: while the statement runs no string or blob may exceed MAX_VALUE_BYTES and no result may
have more than MAX_COLUMNS columns (SQLite's own limits, so `zeroblob(300000000)` or
`printf('%.*c', 200000000, 'x')` fail inside SQLite instead of taking gigabytes); rows are read one at
a time, each value cut to MAX_CELL_CHARS for showing, and reading stops at max_rows rows or
MAX_RESULT_CHARS characters in all, whichever comes first.

On PostgreSQL (storage/pg/console.py) the statement must be one SELECT or WITH, runs in a read-only
transaction of the viewer's read-only session under its statement_timeout, and is read through a
server-side cursor; the same row and character budgets apply.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from storage.store import Store

MAX_SQL_CHARS = 5000
MAX_VALUE_BYTES = 1_000_000  # any string or blob made or read while the statement runs
MAX_COLUMNS = 64
MAX_CELL_CHARS = 2_000  # shown of one value
MAX_RESULT_CHARS = 1_000_000  # shown of all values together
PROJECT_FUNCTION_PREFIX = "tg_"  # storage/search_index.py registers tg_index_text, tg_exact
_ALLOWED = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}
_READ_PRAGMAS = {"table_info", "table_xinfo", "index_list", "index_info", "foreign_key_list"}


class SqlError(ValueError):
    """The statement was refused or failed; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class SqlResult:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]  # numbers as they are; text cut to MAX_CELL_CHARS; bytes as "<N bytes>"
    truncated: bool  # more rows existed than were read (max_rows or MAX_RESULT_CHARS)


def _authorize(action: int, arg1: str | None, arg2: str | None, db_name: str | None, trigger: str | None) -> int:
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower().startswith(PROJECT_FUNCTION_PREFIX):
        return sqlite3.SQLITE_DENY
    if action in _ALLOWED:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _READ_PRAGMAS and arg2 is not None:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def shown(value: Any) -> Any:
    """A value as the page shows it: bytes by their size, long text cut with its length said."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
        return f"{value[:MAX_CELL_CHARS]}… [{len(value):,} characters]"
    return value


def run_sql(store: Store, sql: str, *, max_rows: int = 1000) -> SqlResult:
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise SqlError("the statement is empty")
    if len(text) > MAX_SQL_CHARS:
        raise SqlError(f"the statement is longer than {MAX_SQL_CHARS} characters")
    if getattr(store.db, "dialect", "sqlite") == "postgresql":
        return _run_postgres(store, text, max_rows)
    conn = store.db.conn
    limits = {sqlite3.SQLITE_LIMIT_LENGTH: MAX_VALUE_BYTES, sqlite3.SQLITE_LIMIT_COLUMN: MAX_COLUMNS}
    before = {kind: conn.setlimit(kind, value) for kind, value in limits.items()}
    conn.set_authorizer(_authorize)
    try:
        cur = conn.execute(text)
        rows, truncated = _collect(cur, max_rows)
    except (sqlite3.Error, sqlite3.Warning) as exc:  # Warning: "You can only execute one statement at a time"
        raise SqlError(_explained(exc)) from exc
    finally:
        conn.set_authorizer(None)
        for kind, value in before.items():
            conn.setlimit(kind, value)
    columns = tuple(d[0] for d in cur.description or ())
    return SqlResult(columns, tuple(rows), truncated)


def _collect(cursor: Iterable[Any], max_rows: int) -> tuple[list[tuple[Any, ...]], bool]:
    """Rows one at a time, as shown, until max_rows or MAX_RESULT_CHARS; and whether more were left."""
    rows: list[tuple[Any, ...]] = []
    size = 0
    for row in cursor:
        if len(rows) >= max_rows or size > MAX_RESULT_CHARS:
            return rows, True
        kept = tuple(shown(v) for v in row)
        size += sum(len(v) if isinstance(v, str) else 8 for v in kept)
        rows.append(kept)
    return rows, False


def _explained(exc: BaseException) -> str:
    message = str(exc)
    if "too big" in message:
        message += f" (the console allows {MAX_VALUE_BYTES:,} bytes a value)"
    elif "too many columns" in message:
        message += f" (the console allows {MAX_COLUMNS} columns)"
    return message


def _run_postgres(store: Store, text: str, max_rows: int) -> SqlResult:
    from storage.pg.console import run_query

    try:
        columns, cursor = run_query(store.db, text, max_columns=MAX_COLUMNS)  # type: ignore[arg-type]
        with closing(cursor):
            rows, truncated = _collect(cursor, max_rows)
    except sqlite3.Error as exc:
        raise SqlError(_explained(exc)) from exc
    return SqlResult(columns, tuple(rows), truncated)
