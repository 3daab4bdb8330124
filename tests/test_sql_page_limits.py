"""Issue #27 item 4: the `--sql` page bounds memory, response size and CPU, keeps the project's own
SQL functions out, and runs nothing a page on another site asks for. Served by uvicorn on
127.0.0.1; the archive is filled by the real pipeline."""

from __future__ import annotations

import re
import resource
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from storage.readonly import ReadOnlyArchive
from storage.sql_console import MAX_CELL_CHARS, MAX_COLUMNS, MAX_RESULT_CHARS, SqlError, run_sql
from tests.web_archive import fill_archive
from tests.web_server import client as client_for

ROWS = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {n}) "


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_archive(tmp_path_factory.mktemp("sql") / "archive.db")


@pytest.fixture(scope="module")
def http(archive_path: Path) -> Iterator[httpx.Client]:
    with client_for(archive_path, allow_sql=True, query_seconds=2.0) as client:
        yield client


def token_of(http: httpx.Client) -> str:
    found = re.search(r'name="token" value="([^"]+)"', http.get("/sql").text)
    assert found is not None
    return found.group(1)


def run(http: httpx.Client, sql: str, **headers: str) -> httpx.Response:
    return http.post("/sql", data={"token": token_of(http), "sql": sql}, headers=headers)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_huge_values_fail_inside_sqlite_and_memory_stays_flat(http: httpx.Client) -> None:
    before = rss_mb()
    page = run(http, ROWS.format(n=10) + "SELECT zeroblob(300000000) FROM r")  # took the viewer to 3.3 GB
    assert page.status_code == 400 and "string or blob too big" in page.text and "1,000,000 bytes" in page.text
    page = run(http, ROWS.format(n=5) + "SELECT printf('%.*c', 200000000, 'x') FROM r")  # was a 1 GB response
    assert page.status_code in (200, 400) and len(page.content) < 100_000
    assert rss_mb() - before < 200


def test_the_response_is_capped_while_rows_are_read(http: httpx.Client) -> None:
    page = run(http, ROWS.format(n=100_000) + "SELECT n, printf('%.*c', 900000, 'x') FROM r")
    assert page.status_code == 200
    assert len(page.content) < MAX_RESULT_CHARS + 200_000  # not 1,000 rows of 900 KB
    assert "(more not shown)" in page.text
    assert "… [900,000 characters]" in page.text
    assert page.text.count("x" * MAX_CELL_CHARS) < 600


@pytest.mark.parametrize(
    "call", ["tg_index_text('x', 'en')", "TG_EXACT('a b', 'a')", "tg_index_text(zeroblob(9), 'en')"]
)
def test_project_functions_are_not_callable_from_the_console(http: httpx.Client, call: str) -> None:
    page = run(http, f"SELECT {call}")
    assert page.status_code == 400 and "not authorized to use function" in page.text


def test_columns_are_bounded(archive_path: Path) -> None:
    store = ReadOnlyArchive(archive_path).store(time_limit=2)
    try:
        with pytest.raises(SqlError, match=f"allows {MAX_COLUMNS} columns"):
            run_sql(store, "SELECT " + ", ".join(["1"] * (MAX_COLUMNS + 1)))
        assert run_sql(store, "SELECT count(*) FROM posts").rows == ((12,),)  # the limits are restored after
        assert store.db.conn.getlimit(0) > 1_000_000  # SQLITE_LIMIT_LENGTH back to the default
    finally:
        store.close()


def test_a_link_only_fills_the_form_in(http: httpx.Client) -> None:
    """`<img src=http://127.0.0.1:8001/sql?sql=…>` on any site: a GET runs nothing."""
    page = http.get("/sql", params={"sql": "SELECT count(*) AS n FROM posts"})
    assert page.status_code == 200 and "SELECT count(*) AS n FROM posts</textarea>" in page.text
    assert "<table" not in page.text


@pytest.mark.parametrize(
    ("headers", "token", "reason"),
    [
        ({}, "", "token is missing or stale"),
        ({}, "forged-token", "token is missing or stale"),
        ({"Sec-Fetch-Site": "cross-site"}, None, "Sec-Fetch-Site is cross-site"),
        ({"Sec-Fetch-Site": "same-site"}, None, "Sec-Fetch-Site is same-site"),
        ({"Origin": "https://evil.example"}, None, "is not this viewer"),
        ({"Origin": "null"}, None, "is not this viewer"),
    ],
)
def test_a_post_from_another_site_is_refused(
    http: httpx.Client, headers: dict[str, str], token: str | None, reason: str
) -> None:
    form = {"token": token_of(http) if token is None else token, "sql": "SELECT count(*) AS n FROM posts"}
    page = http.post("/sql", data=form, headers=headers)
    assert page.status_code == 403 and reason in page.text and "<table" not in page.text


def test_the_own_form_runs(http: httpx.Client) -> None:
    origin = str(http.base_url).rstrip("/")
    page = run(http, "SELECT count(*) AS n FROM posts", **{"Sec-Fetch-Site": "same-origin", "Origin": origin})
    assert page.status_code == 200 and '<td dir="auto">12</td>' in page.text
    too_big = http.post(
        "/sql", content=b"sql=" + b"x" * 70_000, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert too_big.status_code == 403 and "over 64 KB" in too_big.text
