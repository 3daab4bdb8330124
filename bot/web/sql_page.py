"""`/sql`, only with `tgmonitor web --sql`: one read-only statement, its first rows as a table."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bot.web.app import state_of
from storage.sql_console import MAX_SQL_CHARS, SqlError, SqlResult, run_sql

MAX_ROWS = 1000
EXAMPLE = (
    "SELECT c.username, count(*) AS posts FROM posts p JOIN channels c ON c.id = p.channel_id\n"
    "GROUP BY c.id ORDER BY posts DESC"
)


def _cell(value: object) -> str:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return "" if value is None else str(value)


def sql_page(request: Request) -> Response:
    state = state_of(request)
    sql = (request.query_params.get("sql") or "").strip()
    result: SqlResult | None = None
    error = None
    if sql:
        with state.reading() as reader:
            try:
                result = run_sql(reader.store, sql, max_rows=MAX_ROWS)
            except SqlError as exc:
                error = str(exc)
    rows = [[_cell(v) for v in row] for row in result.rows] if result else []
    return state.page(
        "sql.html",
        sql=sql or EXAMPLE,
        ran=bool(sql),
        result=result,
        rows=rows,
        error=error,
        max_rows=MAX_ROWS,
        max_chars=MAX_SQL_CHARS,
        status=400 if error else 200,
    )
