"""PostgreSQL as the team's archive, end to end on a real server: DATABASE_URL and --db URLs, status,
the read-only viewer under a real read-only role (its SQL console too), named locks and upkeep, and
`migrate-to` (resumable, refusing another archive's target, verified by counts and checksums).

Runs in the ordinary (SQLite) test run with a server of its own (tools/pg_local.py); skips with the
reason where there are no PostgreSQL server binaries.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg (the `postgres` extra)")

import psycopg

from bot.cli import main
from bot.config import Settings
from storage.db import shown
from storage.migrate_to import CopyError, copy_archive
from storage.readonly import ArchiveError, ReadOnlyArchive
from storage.sql_console import SqlError, run_sql
from storage.status import read_status
from storage.store import Store
from tests.web_archive import fill_archive

PASSWORD = "s3cret-Viewer-pw"
_names = itertools.count(1)


class Server:
    def __init__(self, local: Any) -> None:
        self.local = local
        self.admin = psycopg.connect(local.url, autocommit=True)

    def new_database(self) -> str:
        name = f"wire{next(_names)}"
        self.admin.execute(f"CREATE DATABASE {name}")
        return self.local.url_for(name)

    def viewer_url(self, url: str) -> str:
        """A login role that may only read (docs/team.md's recipe), for the database at `url`."""
        database = url.rsplit("/", 1)[1]
        if self.admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'viewer'").fetchone() is None:
            self.admin.execute(f"CREATE ROLE viewer LOGIN PASSWORD '{PASSWORD}'")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"GRANT CONNECT ON DATABASE {database} TO viewer")
            conn.execute("GRANT USAGE ON SCHEMA public TO viewer")
            conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO viewer")
            conn.execute("ALTER ROLE viewer SET default_transaction_read_only = on")
        return self.local.url_for(database, user="viewer", password=PASSWORD)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    from tools.pg_local import NoServer, start_server

    try:
        local = start_server()
    except NoServer as exc:
        pytest.skip(f"PostgreSQL: {exc}")
    made = Server(local)
    try:
        yield made
    finally:
        made.admin.close()
        local.stop()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite archive filled by the ingest path (the samples and hostile posts, near-duplicates folded)."""
    return fill_archive(tmp_path_factory.mktemp("source") / "archive.db")


@pytest.fixture(scope="module")
def copied(server: Server, source: Path) -> str:
    url = server.new_database()
    report = copy_archive(source, url)
    assert report.ok
    return url


# ------------------------------------------------------------------ settings and the command line
def test_database_url_selects_postgresql_and_its_password_is_a_secret() -> None:
    url = f"postgresql://team:{PASSWORD}@db.example.org:5432/tgmonitor"
    settings = Settings.from_mapping({"DATABASE_URL": url, "DB_PATH": "x/archive.db"})
    assert settings.archive == url and PASSWORD in settings.secrets
    assert PASSWORD not in repr(settings)
    assert settings.with_archive(Path("other.db")).archive == Path("other.db")
    assert Settings.from_mapping({"DB_PATH": "x/archive.db"}).archive == Path("x/archive.db")
    with pytest.raises(ValueError, match="DATABASE_URL") as bad:
        Settings.from_mapping({"DATABASE_URL": f"mysql://team:{PASSWORD}@db/x"})
    assert PASSWORD not in str(bad.value)
    assert shown(url) == "postgresql://team:***@db.example.org:5432/tgmonitor"
    assert shown(f"postgresql://db/x?password={PASSWORD}&sslmode=require") == (
        "postgresql://db/x?password=***&sslmode=require"
    )


def test_status_and_search_through_a_url(copied: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", copied, "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["posts"] == 12
    status = read_status(copied, now=_now(), poll_interval=300)
    assert status["db"]["path"] == shown(copied) and status["db"]["total_bytes"] > 0
    assert [c["posts"] for c in status["channels"]] == [c["posts"] for c in _sqlite_status(copied)]


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _sqlite_status(url: str) -> list[dict[str, Any]]:
    store = Store.open(url)
    try:
        rows = store.db.execute("SELECT channel_id, count(*) FROM posts GROUP BY channel_id").fetchall()
        counts = dict(rows)
        ids = [r[0] for r in store.db.execute("SELECT id FROM channels ORDER BY id").fetchall()]
    finally:
        store.close()
    return [{"posts": counts.get(i, 0)} for i in ids]


def test_a_wrong_password_is_never_shown(server: Server, copied: str, capsys: pytest.CaptureFixture[str]) -> None:
    database = copied.rsplit("/", 1)[1]
    wrong = server.local.url_for(database, user="nobody", password=PASSWORD)
    assert main(["--db", wrong, "status"]) == 1
    assert main(["--db", wrong, "stats"]) == 1
    out = capsys.readouterr()
    assert PASSWORD not in out.out + out.err and "nobody:***@" in out.err
    with pytest.raises(ArchiveError) as error:
        ReadOnlyArchive(wrong)
    assert PASSWORD not in str(error.value)


# ------------------------------------------------------------------ the read-only viewer
def test_the_viewer_role_reads_and_cannot_write_even_through_the_console(server: Server, copied: str) -> None:
    archive = ReadOnlyArchive(server.viewer_url(copied), time_limit=2)
    assert archive.name == copied.rsplit("/", 1)[1] and PASSWORD not in archive.shown()
    store = archive.store()
    try:
        assert store.stats()["posts"] == 12
        assert run_sql(store, "SELECT count(*) FROM posts").rows == ((12,),)
        with_cte = run_sql(store, "WITH c AS (SELECT id FROM channels) SELECT count(*) FROM c")
        assert with_cte.rows[0][0] >= 1
        refused = [
            "DELETE FROM posts",
            "UPDATE channels SET title = 'x'",
            "CREATE TABLE t(x int)",
            "SET default_transaction_read_only = off",
            "COPY posts TO STDOUT",
            "WITH gone AS (DELETE FROM posts RETURNING id) SELECT count(*) FROM gone",
            "SELECT 1; DELETE FROM posts",
            "SELECT set_config('default_transaction_read_only', 'off', false); DELETE FROM posts",
        ]
        for sql in refused:
            with pytest.raises(SqlError):
                run_sql(store, sql)
        with pytest.raises(SqlError, match="one statement"):
            run_sql(store, "SELECT 1; SELECT 2")
        with pytest.raises(SqlError, match="interrupted"):
            run_sql(store, "SELECT count(*) FROM generate_series(1, 1000000000)")
        assert run_sql(store, "SELECT 'ok'").rows == (("ok",),)  # the session is fine afterwards
        # past the console too: the role itself may not write, whatever the session says
        store.db.conn.raw.execute("SET default_transaction_read_only = off")
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.db.execute("DELETE FROM channels")
    finally:
        store.close()
    check = Store.open(copied)
    assert check.stats()["posts"] == 12
    check.close()


def test_the_viewer_session_alone_is_read_only_and_time_limited(copied: str) -> None:
    """Without a read-only role (the archive owner's URL), the session still refuses every write."""
    db = ReadOnlyArchive(copied, time_limit=0.2).connect()
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            db.execute("DELETE FROM channels")
        with pytest.raises(sqlite3.OperationalError, match="interrupted"):
            db.execute("SELECT count(*) FROM generate_series(1, 1000000000)").fetchone()
    finally:
        db.conn.close()


def test_an_empty_database_is_no_archive_for_the_viewer(server: Server) -> None:
    with pytest.raises(ArchiveError, match="no archive"):
        ReadOnlyArchive(server.new_database())


def test_the_viewer_reads_beside_an_open_write_transaction(copied: str) -> None:
    writer = Store.open(copied)
    archive = ReadOnlyArchive(copied)
    try:
        with writer.transaction():
            writer.db.execute("UPDATE channels SET last_error = 'busy' WHERE id = 1")
            reading = archive.connect()
            assert reading.execute("SELECT last_error FROM channels WHERE id = 1").fetchone() == (None,)
            reading.conn.close()
            raise_rollback = True
            if raise_rollback:
                writer.db.conn.rollback()
    finally:
        writer.close()


# ------------------------------------------------------------------ upkeep and named locks
def test_upkeep_locks_and_deadlines_on_the_server(copied: str) -> None:
    one, two = Store.open(copied), Store.open(copied)
    try:
        assert one.optimize() == (0, 0, 0)
        assert one.file_path() == copied
        first, second = one.lock("digest-1"), two.lock("digest-1")
        assert first is not None and second is not None and "digest-1" in str(first.path)
        assert first.try_acquire() and first.try_acquire()
        assert not second.try_acquire()
        assert two.lock("digest-2").try_acquire()  # type: ignore[union-attr]
        first.release()
        assert second.try_acquire()
        second.release()
        one.set_deadline(time.monotonic() + 0.2)
        with pytest.raises(sqlite3.OperationalError, match="interrupted"):
            one.db.execute("SELECT count(*) FROM generate_series(1, 1000000000)").fetchone()
        one.set_deadline(None)
        assert one.db.execute("SELECT 1").fetchone() == (1,)
    finally:
        one.close()
        two.close()


# ------------------------------------------------------------------ migrate-to
def _ids(location: Any, table: str) -> list[Any]:
    store = Store.open(location)
    try:
        return [r[0] for r in store.db.execute(f"SELECT id FROM {table} ORDER BY id").fetchall()]
    finally:
        store.close()


QUERIES = ("Kosovo", "Lavrov", "Вучич", '"peace talks"', "Serbia -Kosovo", "переговоры")


def test_the_copy_keeps_ids_and_counts_what_the_source_finds(copied: str, source: Path) -> None:
    for table in ("channels", "posts", "subscriptions", "articles"):
        assert _ids(copied, table) == _ids(source, table), table
    here, there = Store.open(source), Store.open(copied)
    try:
        assert there.search_index.pending() == 0
        counts = [here.count_matches(q) for q in QUERIES]
        assert [there.count_matches(q) for q in QUERIES] == counts and any(counts)
    finally:
        here.close()
        there.close()


@pytest.mark.xfail(
    importlib.util.find_spec("storage.pg.snippet") is None,
    raises=sqlite3.DatabaseError,
    reason="Store.search attaches article hits with FTS5's snippet(): ported on PostgreSQL by storage/pg/snippet.py "
    "(branch pgcore); until it is merged, search fails there",
)
def test_the_copy_finds_the_same_posts(copied: str, source: Path) -> None:
    here, there = Store.open(source), Store.open(copied)
    try:
        for query in QUERIES:
            assert [p.id for p in there.search(query, limit=50)] == [p.id for p in here.search(query, limit=50)], query
    finally:
        here.close()
        there.close()


def test_an_interrupted_copy_resumes_and_loses_at_most_a_batch(
    server: Server, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server.new_database()
    partial = copy_archive(source, url, batch=2, stop_after=3)  # three batches, then stop
    assert not partial.checks and 0 < sum(partial.copied.values()) <= 6
    # killed inside a batch, its rows already sent: the rows and the table's mark roll back together
    from storage.pg import copy as pg_copy

    marks = itertools.count()

    class Dying:
        @staticmethod
        def dumps(value: Any) -> str:
            if next(marks) == 2:
                raise KeyboardInterrupt
            return json.dumps(value)

        loads = staticmethod(json.loads)

    monkeypatch.setattr(pg_copy, "json", Dying)
    with pytest.raises(KeyboardInterrupt):
        copy_archive(source, url, batch=2)
    monkeypatch.undo()
    on_target = _row_counts(url)
    report = copy_archive(source, url, batch=2)
    assert report.ok and report.indexed > 0
    total = {c.table: c.source_rows for c in report.checks}
    assert all(report.copied[t] == total[t] - on_target[t] for t in total)  # each row copied once in all
    again = copy_archive(source, url, batch=2)  # nothing left: a rerun copies nothing and verifies
    assert again.ok and sum(again.copied.values()) == 0


def _row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}  # type: ignore[index]


def test_verification_catches_a_tampered_row(server: Server, source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.new_database()
    assert main(["--db", str(source), "migrate-to", url]) == 0
    out = capsys.readouterr().out
    assert "rows/s" in out and "verified" in out and " posts " in out
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE posts SET views = coalesce(views, 0) + 1 WHERE id = 3")
    assert main(["--db", str(source), "migrate-to", url]) == 1
    captured = capsys.readouterr()
    assert "DIFFERS" in captured.out and "differs from the source in: posts" in captured.err


def test_a_target_holding_another_archive_is_refused(
    server: Server, copied: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.db"
    store = Store.open(other)
    store.db.execute("INSERT INTO channels(id, tg_id, username, title) VALUES (1, 99, 'other', 'Other')")
    store.close()
    with pytest.raises(CopyError, match="already holds another archive's copy"):
        copy_archive(other, copied)
    assert main(["--db", str(other), "migrate-to", copied]) == 1
    err = capsys.readouterr().err
    assert "already holds" in err and "Traceback" not in err
    assert main(["--db", str(other), "migrate-to", "sqlite:///x.db"]) == 2


def test_a_real_export_copies_and_verifies(server: Server, tmp_path: Path) -> None:
    shared = Path(__file__).resolve().parents[2] / "shared"
    exports = sorted(shared.glob("real-exports/*/result.json")) if shared.is_dir() else []
    if not exports:
        pytest.skip("no Telegram Desktop exports in ../shared")
    archive = tmp_path / "real.db"
    imported = time.monotonic()
    for export in exports:
        assert main(["--db", str(archive), "import", str(export)]) == 0
    imported = time.monotonic() - imported
    url = server.new_database()
    started = time.monotonic()
    report = copy_archive(archive, url)
    seconds = time.monotonic() - started
    rows = sum(c.source_rows for c in report.checks)
    assert report.ok and rows > 0, [c for c in report.checks if not c.ok]
    print(
        f"\nmigrate-to: {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s, search index and "
        f"checks included); the import that built the archive took {imported:.1f} s ({seconds / imported:.2f}x)"
    )


# ------------------------------------------------------------------ the service on the server
@pytest.mark.slow
def test_two_services_write_one_database_and_status_reads_it(server: Server, tmp_path: Path) -> None:
    """`tgmonitor run` with DATABASE_URL (a password in it, never logged), two at once on other
    channels: both archive into one database, upkeep runs, SIGTERM stops each cleanly."""
    import os
    import signal
    import subprocess
    import sys

    from bot.config import SETTING_NAMES
    from tests.test_service import FakeChannel, FakeTme

    database = server.new_database().rsplit("/", 1)[1]
    url = server.local.url_for(database, password=PASSWORD)  # trust auth: the password is only carried
    Store.open(url).close()
    with psycopg.connect(url, autocommit=True) as conn:  # a subscriber of the team's bot: not the listeners' job
        conn.execute(
            "INSERT INTO subscriptions(chat_id, time, tz, created_at) VALUES (-100777, '08:00', 'UTC', '2026-12-01')"
        )
    channels = {"alpha_news": FakeChannel([1, 2, 3]), "beta_news": FakeChannel([7, 8])}
    repo = Path(__file__).resolve().parents[1]
    with FakeTme(channels) as tme:
        services = []
        for name in channels:
            env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
            env.update(
                PYTHONPATH=str(repo), TZ="UTC", DATA_DIR=str(tmp_path / name), CHANNELS=f"@{name}",
                WEB_PREVIEW_BASE=tme.base, POLL_INTERVAL="1", DIGEST_OUTPUT="off", DATABASE_URL=url,
            )  # fmt: skip
            log = (tmp_path / f"{name}.log").open("wb")
            command = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "run"]
            services.append((subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log), log))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if _stored(url) == {"alpha_news": [1, 2, 3], "beta_news": [7, 8]}:
                break
            time.sleep(0.3)
        codes = []
        for process, log in services:
            process.send_signal(signal.SIGTERM)
            codes.append(process.wait(timeout=20))
            log.close()
    logs = "".join((tmp_path / f"{name}.log").read_text(encoding="utf-8") for name in channels)
    assert _stored(url) == {"alpha_news": [1, 2, 3], "beta_news": [7, 8]}, logs
    assert codes == [0, 0], logs
    assert PASSWORD not in logs and "tgmonitor:***@" in logs
    assert logs.count("digests: off here (no BOT_TOKEN and DIGEST_OUTPUT=off") == 2, logs
    status = read_status(url, now=_now(), poll_interval=300)
    assert {c["channel"]: c["posts"] for c in status["channels"]} == {"@alpha_news": 3, "@beta_news": 2}


def _stored(url: str) -> dict[str, list[int]]:
    try:
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT c.username, p.message_id FROM posts p JOIN channels c ON c.id = p.channel_id ORDER BY 1, 2"
            ).fetchall()
    except psycopg.Error:
        return {}
    found: dict[str, list[int]] = {}
    for channel, message_id in rows:
        found.setdefault(channel, []).append(message_id)
    return found


def test_the_services_upkeep_runs_on_the_server(copied: str) -> None:
    """The hourly maintenance (near-duplicate catch-up and pruning, index merging, optimize) without errors."""
    import asyncio

    from bot.app.archive import Archive
    from bot.service.run import Service

    settings = Settings.from_mapping({"DATABASE_URL": copied, "DIGEST_OUTPUT": "off"})
    archive = Archive.open(settings)
    try:
        assert archive.path == copied
        service = Service(settings, archive)
        asyncio.run(service._maintain())
    finally:
        archive.close()


def test_export_and_feeds_read_the_server_as_they_read_the_file(
    copied: str, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = {}
    for name, where in (("file", str(source)), ("server", copied)):
        assert (
            main(["--db", where, "export", "--format", "jsonl", "--include-deleted", "-o", str(tmp_path / name)]) == 0
        )
        outputs[name] = (tmp_path / name).read_text(encoding="utf-8")
        site = tmp_path / f"site-{name}"
        assert main(["--db", where, "feeds", "build", str(site), "--base-url", "https://feeds.example.org/"]) == 0
        outputs[f"{name} feeds"] = sorted(p.name for p in site.rglob("*") if p.is_file())
    capsys.readouterr()
    assert outputs["server"] == outputs["file"] and outputs["server"].count("\n") == 12
    assert outputs["server feeds"] == outputs["file feeds"] and outputs["server feeds"]


def test_a_row_the_server_refuses_is_named_and_nothing_of_its_batch_kept(
    server: Server, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    broken = tmp_path / "nul.db"
    shutil.copy(source, broken)
    store = Store.open(broken)  # PostgreSQL's text cannot hold U+0000; SQLite's can
    store.db.execute("UPDATE posts SET text = 'a' || char(0) || 'b' WHERE id = 5")
    store.close()
    url = server.new_database()
    assert main(["--db", str(broken), "migrate-to", url, "--batch", "4"]) == 1
    err = capsys.readouterr().err
    assert "tgmonitor: error: posts: the batch from ('id',) = [5] was refused" in err and "Traceback" not in err
    assert _row_counts(url)["posts"] == 4  # the batches before it, whole


def test_a_table_the_server_schema_lacks_is_refused_before_anything_is_copied(
    server: Server, source: Path, tmp_path: Path
) -> None:
    import shutil

    extra = tmp_path / "extra.db"
    shutil.copy(source, extra)
    with sqlite3.connect(extra) as conn:
        conn.execute("CREATE TABLE notes_of_another_tool (id INTEGER PRIMARY KEY, note TEXT)")
    url = server.new_database()
    with pytest.raises(CopyError, match="tables the PostgreSQL schema lacks: notes_of_another_tool"):
        copy_archive(extra, url)
    counts = _row_counts(url)
    assert counts.pop("meta") and not any(counts.values())  # the schema alone (meta: its version, index marks)
