"""`/sql`, only with `tgmonitor web --sql`: one read-only statement, its first rows as a table.

A statement runs only from this page's own form: a POST carrying the page's token, from the same
site. A GET (a link, an `<img src=…/sql?sql=…>` on any web page the user visits) only fills the
form in, so another site cannot make the viewer run SQL: browsers send the basic-auth WEB_TOKEN and
reach 127.0.0.1 for any page, but no other site can read this page to learn the form's token, and
`Sec-Fetch-Site`/`Origin`, when sent, must say the request came from here.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from bot.web.state import state_of
from storage.sql_console import MAX_SQL_CHARS, SqlError, SqlResult, run_sql

MAX_ROWS = 1000
MAX_FORM_BYTES = 64 * 1024  # the statement (5,000 characters, up to 9 bytes each once form-encoded) and the token
EXAMPLE = (
    "SELECT c.username, count(*) AS posts FROM posts p JOIN channels c ON c.id = p.channel_id\n"
    "GROUP BY c.id ORDER BY posts DESC"
)


def _cell(value: object) -> str:
    return "" if value is None else str(value)  # bytes and long text are already shown short (sql_console)


def cross_site(request: Request) -> str | None:
    """Why a request did not come from this site's own page, or None."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {fetch_site[:40]}"
    origin = request.headers.get("origin")
    if origin is not None and (origin == "null" or urlsplit(origin).netloc != request.headers.get("host")):
        return f"Origin {origin[:80]} is not this viewer"
    return None


async def _form(request: Request) -> dict[str, str] | None:
    """The url-encoded POST body, None past MAX_FORM_BYTES (python-multipart is not needed for two fields)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=4)
    return {key: values[0] for key, values in fields.items()}


async def sql_page(request: Request) -> Response:
    state = state_of(request)
    result: SqlResult | None = None
    error = None
    status = 200
    if request.method == "POST":
        refusal = cross_site(request)
        form = await _form(request) if refusal is None else {}
        if form is None:
            form, refusal = {}, f"the form is over {MAX_FORM_BYTES // 1024} KB"
        sql = form.get("sql", "").strip()
        if refusal is None and not hmac.compare_digest(form.get("token", "").encode(), state.form_token.encode()):
            refusal = "the form's token is missing or stale (reload the page)"
        if refusal is not None:
            error, status = f"Refused: {refusal}. Run statements from this page's own form.", 403
        elif sql:

            def run() -> SqlResult:
                with state.reading() as reader:
                    return run_sql(reader.store, sql, max_rows=MAX_ROWS)

            try:
                result = await run_in_threadpool(run)
            except SqlError as exc:
                error, status = str(exc), 400
    else:
        sql = (request.query_params.get("sql") or "").strip()[:MAX_SQL_CHARS]  # fills the form; runs nothing
    rows = [[_cell(v) for v in row] for row in result.rows] if result else []
    return state.page(
        "sql.html",
        sql=sql or EXAMPLE,
        ran=result is not None,
        result=result,
        rows=rows,
        error=error,
        max_rows=MAX_ROWS,
        max_chars=MAX_SQL_CHARS,
        token=state.form_token,
        status=status,
    )
