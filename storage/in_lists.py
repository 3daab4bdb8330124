"""Rows for a long list of values, read with `IN (...)` lists of a bounded length.

Why bounded: a statement takes at most 32,766 bound parameters on SQLite (65,535 on PostgreSQL), and
a batch, an edit storm or a re-cleaning can name more posts than that; 500 per list keeps each
statement small on both engines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, TypeVar

CHUNK = 500  # values per IN (...) list
T = TypeVar("T")


class Executes(Protocol):
    """sqlite3.Connection, sqlite_utils.Database or storage/pg's connection: all take `execute(sql, params)`."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def rows_in(db: Executes, sql: str, values: Sequence[Any], after: Sequence[Any] = ()) -> list[Any]:
    """Every row of `sql` over `values`: its `{in}` becomes one list's placeholders, `after` the
    parameters that follow the list (the same for every list)."""
    rows: list[Any] = []
    for chunk in chunks(values):
        rows += db.execute(sql.replace("{in}", ",".join("?" * len(chunk))), [*chunk, *after]).fetchall()
    return rows
