"""A PostgreSQL connection with the face of the SQLite one the storage layer was written against.

The storage modules call `db.execute(sql, params)`, `db.query(...)`, `db.conn.executemany(...)`,
`db.conn.in_transaction` and storage/db.transaction's `BEGIN IMMEDIATE`; this module gives them the
same calls on psycopg 3, with the SQL rewritten by storage/pg/dialect.py. Three choices make the
rest of the layer correct unchanged:

* **One writer at a time, as SQLite.**  `BEGIN IMMEDIATE` becomes `BEGIN` plus a transaction-scoped
  advisory lock on one key per database.  Everything the layer does under SQLite's write lock (the
  next post id, "is this digest window claimed", checkpoints that only move forward) keeps its
  meaning with several processes on several hosts; reads never wait for it (MVCC).
* **New ids as SQLite gives them** (max + 1, schema.py's `tg_next_id` trigger under that lock), so
  an archive copied by `migrate-to` keeps its ids and `lastrowid` is read back with `RETURNING id`.
* **SQLite's exception classes as the error vocabulary**: the callers already tell "interrupted",
  "readonly" and integrity errors apart by them, so psycopg's errors are mapped onto them (`_mapped`).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.types.string import ByteaBinaryLoader, ByteaLoader

from storage.pg.dialect import translate
from storage.pg.schema import WRITER_LOCK

DIALECT = "postgresql"
_ID_TABLES = "channels|posts|subscriptions|digests|post_versions|articles|sink_deliveries|alert_rules"
_INSERT_WITH_ID = re.compile(
    rf"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+({_ID_TABLES})\b(?![^;]*\bRETURNING\b)", re.I | re.S
)


_VALUES = re.compile(r"^(\s*INSERT\s+INTO\s.*?\bVALUES\s*)\(", re.IGNORECASE | re.DOTALL)


def _split_values(statement: str) -> tuple[str, str, str] | None:
    """(head up to VALUES, the one row's "(…)", the rest) of a one-row INSERT, or None."""
    match = _VALUES.match(statement)
    if match is None or re.search(r"\bDO\s+UPDATE\b|\bRETURNING\b", statement, re.IGNORECASE):
        return None
    start = match.end() - 1
    depth = 0
    for i in range(start, len(statement)):
        if statement[i] == "(":
            depth += 1
        elif statement[i] == ")":
            depth -= 1
            if depth == 0:
                tail = statement[i + 1 :]
                if tail.lstrip().startswith(","):
                    return None  # already several rows
                return match.group(1), statement[start : i + 1], tail
    return None


class _Bytes(ByteaLoader):
    """bytea as `bytes`, as sqlite3 returns BLOBs (psycopg's default is memoryview)."""

    def load(self, data: Any) -> bytes:
        # the C loader wants bytes; a row's field comes as a memoryview
        return bytes(super().load(bytes(data) if isinstance(data, memoryview) else data))


class _BytesBinary(ByteaBinaryLoader):
    def load(self, data: Any) -> bytes:
        return bytes(super().load(data))


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://…"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _mapped(exc: psycopg.Error) -> sqlite3.Error:
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, pg_errors.QueryCanceled):
        return sqlite3.OperationalError(f"interrupted ({message})")
    if isinstance(exc, pg_errors.IntegrityError):
        return sqlite3.IntegrityError(message)
    if isinstance(exc, pg_errors.ReadOnlySqlTransaction | pg_errors.InsufficientPrivilege):
        return sqlite3.OperationalError(f"attempt to write a readonly database ({message})")
    if isinstance(exc, psycopg.OperationalError | pg_errors.SyntaxError | pg_errors.UndefinedTable):
        return sqlite3.OperationalError(message)
    return sqlite3.DatabaseError(message)


class PgCursor:
    """What the layer reads from a cursor: rows (tuples), rowcount and lastrowid."""

    def __init__(self, cursor: psycopg.Cursor[Any], lastrowid: int | None = None) -> None:
        self._cursor = cursor
        self.lastrowid = lastrowid
        self.rowcount = cursor.rowcount

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchone(self) -> Any:
        return self._cursor.fetchone() if self._cursor.description else None

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall() if self._cursor.description else []

    def fetchmany(self, size: int = 1) -> list[Any]:
        return self._cursor.fetchmany(size) if self._cursor.description else []

    def __iter__(self) -> Iterator[Any]:
        if self._cursor.description:
            yield from self._cursor


class PgConnection:
    """sqlite3.Connection's calls the storage layer makes, on one psycopg connection (autocommit
    outside the transactions storage/db.transaction opens)."""

    dialect = DIALECT

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        raw.adapters.register_loader("bytea", _Bytes)
        raw.adapters.register_loader("bytea", _BytesBinary)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        statement = translate(sql)
        returning = bool(_INSERT_WITH_ID.match(sql)) and re.search(r"\bVALUES\b", sql, re.I) is not None
        if returning:
            statement = statement.rstrip().rstrip(";") + " RETURNING id"
        try:
            cursor = self.raw.cursor()
            cursor.execute(statement, list(params or ()))
            if statement == "BEGIN":
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [WRITER_LOCK])
            lastrowid = None
            if returning:
                row = cursor.fetchone()
                lastrowid = int(row[0]) if row else None
            return PgCursor(cursor, lastrowid)
        except psycopg.Error as exc:
            raise _mapped(exc) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        """Like sqlite3's; an `INSERT … VALUES (…)` goes as multi-row statements instead.

        Why: SQLite runs each row in-process, PostgreSQL is a round trip away. psycopg's executemany
        pipelines the rows but still has the server run one statement per row; the near-duplicate
        bands and the tags of a batch are thousands of rows (bench/backends.py: ingest). ON CONFLICT
        DO UPDATE keeps the row-by-row form: a multi-row one fails when two rows share a key."""
        batch = [list(r) for r in rows]
        cursor = self.raw.cursor()
        if not batch:
            return PgCursor(cursor)
        statement = translate(sql)
        parts = _split_values(statement) if len(batch) > 1 else None
        try:
            if parts is None:
                cursor.executemany(statement, batch)
                return PgCursor(cursor)
            head, marks, tail = parts
            per = max(1, min(1000, 65_535 // max(1, len(batch[0]))))
            total = 0
            for start in range(0, len(batch), per):
                chunk = batch[start : start + per]
                cursor.execute(head + ", ".join([marks] * len(chunk)) + tail, [v for row in chunk for v in row])
                total += max(0, cursor.rowcount)
        except psycopg.Error as exc:
            raise _mapped(exc) from exc
        result = PgCursor(cursor)
        result.rowcount = total
        return result

    def getlimit(self, category: int) -> int:
        """sqlite3's limits the layer sizes statements by: PostgreSQL binds at most 65,535 parameters."""
        if category == sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER:
            return 65_535
        raise sqlite3.NotSupportedError(f"no PostgreSQL counterpart for SQLite limit {category}")

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        self.raw.close()

    def create_function(self, name: str, nargs: int, func: Any, **_: Any) -> None:
        """SQLite calls Python from SQL; PostgreSQL cannot, so schema.py defines each `tg_*` function
        the layer calls in SQL (PL/pgSQL), and the search index writes the tokens itself."""


class PgDatabase:
    """The `sqlite_utils.Database` calls the storage layer makes (execute, query, conn, table_names)."""

    dialect = DIALECT

    def __init__(self, conn: PgConnection, url: str) -> None:
        self.conn = conn
        self.url = url

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgCursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> Iterator[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [d.name for d in cursor.description or ()]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    def table_names(self) -> list[str]:
        rows = self.conn.raw.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    def view_names(self) -> list[str]:
        rows = self.conn.raw.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = current_schema()"
        ).fetchall()
        return [r[0] for r in rows]


def connect(url: str, *, read_only: bool = False, statement_seconds: float | None = None) -> PgDatabase:
    """A connection to the archive at `url`; sqlite3.OperationalError names the (redacted) URL."""
    try:
        given = conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise sqlite3.OperationalError(f"not a PostgreSQL URL: {redact(url)}") from exc
    options = [str(given.get("options") or "")]
    if read_only:
        options.append("-c default_transaction_read_only=on")
    if statement_seconds:
        options.append(f"-c statement_timeout={int(statement_seconds * 1000)}")
    try:
        raw = psycopg.connect(
            url,
            autocommit=True,
            application_name="tgmonitor",
            connect_timeout=10,
            options=" ".join(o for o in options if o) or None,
        )
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or ["connection failed"])[0]
        raise sqlite3.OperationalError(f"cannot connect to {redact(url)}: {first}") from exc
    return PgDatabase(PgConnection(raw), url)


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))
