"""One read-only SQL statement for the web viewer's `--sql` page.

The connection is already `mode=ro` and `query_only`, so nothing can be written; the authorizer also
refuses ATTACH (which would read other database files on the machine), PRAGMAs that are not plain
look-ups, and anything that is not reading. The row count and the time (storage/readonly.py) are
bounded, so a cross join cannot hold the viewer.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from storage.store import Store

MAX_SQL_CHARS = 5000
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
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool  # more rows than max_rows existed


def _authorize(action: int, arg1: str | None, arg2: str | None, db_name: str | None, trigger: str | None) -> int:
    if action in _ALLOWED:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _READ_PRAGMAS and arg2 is not None:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def run_sql(store: Store, sql: str, *, max_rows: int = 1000) -> SqlResult:
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise SqlError("the statement is empty")
    if len(text) > MAX_SQL_CHARS:
        raise SqlError(f"the statement is longer than {MAX_SQL_CHARS} characters")
    conn = store.db.conn
    conn.set_authorizer(_authorize)
    try:
        cur = conn.execute(text)
        rows = cur.fetchmany(max_rows + 1)
    except (sqlite3.Error, sqlite3.Warning) as exc:  # Warning: "You can only execute one statement at a time"
        raise SqlError(str(exc)) from exc
    finally:
        conn.set_authorizer(None)
    columns = tuple(d[0] for d in cur.description or ())
    return SqlResult(columns, tuple(tuple(r) for r in rows[:max_rows]), len(rows) > max_rows)
