"""`tgmonitor status` and storage/status.py: read-only, works beside a writer, exit code = health."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.core.windows import Window
from bot.models import ChannelRef
from storage import status as keys
from storage.digests import DigestLog
from storage.status import StatusError, assess_health, read_status
from storage.store import Store, to_db_time
from storage.subscriptions import Subscriptions
from tests.conftest import raw_post

pytestmark = pytest.mark.both_backends

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def status_cli(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--db", str(db), "status", *args])
    out, err = capsys.readouterr()
    return code, out, err


def note_service(store: Store, **values: str) -> None:
    for key, value in values.items():
        store.meta_set(f"service.{key}", value)


def test_fresh_archive_is_healthy_and_shows_channels_and_sizes(store: Store, pipeline: object, tmp_path: Path) -> None:
    store.save_posts(
        [pipeline.process(raw_post(7, "Talks in Belgrade."))],  # type: ignore[attr-defined]
        checkpoint=(ChannelRef(tg_id=1001, username="watcher"), 7),
    )
    store.record_poll(store.ensure_channel(ChannelRef(tg_id=1001)), error="HTTP 429", at=NOW)
    report = read_status(tmp_path / "archive.db", now=NOW, poll_interval=300)
    assert report["healthy"] is True and "has not run" in report["health"]
    assert report["channels"] == [
        {
            "channel": "@watcher",
            "posts": 1,
            "last_polled_at": to_db_time(NOW),
            "last_message_id": 7,
            "last_error": "HTTP 429",
            "watched": False,
        }
    ]
    db = report["db"]
    assert db["total_bytes"] == db["file_bytes"] + db["wal_bytes"] + db["shm_bytes"] and db["total_bytes"] > 0
    if getattr(store.db, "dialect", "sqlite") == "sqlite":
        assert db["wal_bytes"] > 0  # PostgreSQL: the database's size, no WAL of its own
    assert report["service"]["state"] is None


def test_health_rules() -> None:
    def service(**values: object) -> dict[str, object]:
        return {"poll_interval": 60, **values}

    ok, why = assess_health(service(), NOW, 300)
    assert ok and "not run" in why
    # polled at least once: the last good poll must be within 3 intervals (3 minutes here)
    recent = to_db_time(NOW - timedelta(minutes=2))
    stale = to_db_time(NOW - timedelta(minutes=4))
    long_ago = to_db_time(NOW - timedelta(days=2))
    assert assess_health(service(started_at=long_ago, last_poll_at=recent, last_poll_ok_at=recent), NOW, 300)[0]
    ok, why = assess_health(service(started_at=long_ago, last_poll_at=recent, last_poll_ok_at=stale), NOW, 300)
    assert not ok and why == "last successful poll 4m ago (limit 3 × 60s = 3m)"
    # just restarted after a long stop: three intervals of grace from the start
    assert assess_health(service(started_at=recent, last_poll_at=long_ago, last_poll_ok_at=long_ago), NOW, 300)[0]
    # the interval the service runs with wins over the local settings
    assert not assess_health({"poll_interval": None, "started_at": stale, "last_poll_ok_at": stale}, NOW, 60)[0]
    assert assess_health({"poll_interval": None, "started_at": stale, "last_poll_ok_at": stale}, NOW, 300)[0]


def test_cli_exit_code_follows_health(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "archive.db"
    now = datetime.now(UTC)
    note_service(
        store,
        state="running",
        pid="4242",
        source="web preview",
        poll_interval="60",
        started_at=to_db_time(now - timedelta(hours=1)),
        last_poll_at=to_db_time(now - timedelta(seconds=30)),
        last_poll_ok_at=to_db_time(now - timedelta(seconds=30)),
    )
    code, out, _ = status_cli(capsys, db)
    assert code == 0
    assert "service: running since" in out and "(pid 4242), source web preview, poll every 60s" in out
    assert out.rstrip().splitlines()[-1].startswith("health: ok: last successful poll")

    note_service(store, last_poll_ok_at=to_db_time(now - timedelta(minutes=10)))
    code, out, _ = status_cli(capsys, db)
    assert code == 1 and "health: UNHEALTHY: last successful poll" in out
    code, out, _ = status_cli(capsys, db, "--json")
    report = json.loads(out)
    assert code == 1 and report["healthy"] is False and report["service"]["pid"] == 4242


@pytest.mark.parametrize(
    ("version", "says"),
    [("99", "its schema version 99 is newer than this tgmonitor"), ("abc", "is not a number: it is damaged")],
)
def test_an_archive_this_version_cannot_open_is_unhealthy(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str, says: str
) -> None:
    """A running service's notes say healthy, but no service of this version can open the archive
    (every other command refuses it): the health check says so, naming the archive."""
    now = datetime.now(UTC)
    note_service(store, state="running", started_at=to_db_time(now), last_poll_ok_at=to_db_time(now))
    store.meta_set("schema_version", version)
    code, out, _ = status_cli(capsys, tmp_path / "archive.db")
    assert code == 1, out
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("health: UNHEALTHY: the archive ") and says in last


def test_missing_or_foreign_database_is_unhealthy_and_never_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope" / "tgmonitor.db"
    code, out, err = status_cli(capsys, missing, "--json")
    assert code == 1 and f"no archive at {missing}" in err and json.loads(out)["healthy"] is False
    assert not missing.exists() and not missing.parent.exists()


@pytest.mark.sqlite_only  # SQLite files of another program (tests/test_pg_wire.py: a wrong server or password)
def test_a_foreign_or_broken_file_is_unhealthy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    foreign = tmp_path / "other.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(StatusError, match="not a tgmonitor archive"):
        read_status(foreign, now=NOW, poll_interval=300)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    code, _, err = status_cli(capsys, garbage)
    assert code == 1 and "cannot read database" in err


def test_reads_while_a_writer_holds_a_transaction(store: Store, pipeline: object, tmp_path: Path) -> None:
    store.save_posts([pipeline.process(raw_post(1, "First."))])  # type: ignore[attr-defined]
    store.db.conn.execute("BEGIN IMMEDIATE")
    try:
        store.db.execute("UPDATE channels SET last_error = 'uncommitted'")
        report = read_status(tmp_path / "archive.db", now=NOW, poll_interval=300)
    finally:
        store.db.conn.rollback()
    assert report["channels"][0]["posts"] == 1 and report["channels"][0]["last_error"] is None


def test_last_digest_per_subscription(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subs = Subscriptions(store.db)
    sofia = subs.add(-100123, at=time(8, 0), tz=ZoneInfo("Europe/Sofia"), tags=["serbia"])
    subs.add(42, at=time(9, 30), tz=ZoneInfo("UTC"))
    log = DigestLog(store.db)
    for day in (20, 21):
        end = datetime(2026, 11, day, 6, 0, tzinfo=UTC)
        record = log.begin(sofia.id, -100123, Window(end - timedelta(days=1), end), ["part 1", "part 2"], now=end)
        log.part_sent(record.id, 0, 500 + day)
        if day == 20:
            log.part_sent(record.id, 1, 600 + day)
            log.finish(record.id, now=end)
    report = read_status(tmp_path / "archive.db", now=NOW, poll_interval=300)
    first, second = report["subscriptions"]
    assert first["last_digest"] == {
        "window_start": "2026-11-20T06:00:00+00:00",
        "window_end": "2026-11-21T06:00:00+00:00",
        "status": "sending",
        "sent_at": None,
        "parts_sent": 1,
        "parts_total": 2,
    }
    assert first["tags"] == ["serbia"] and second["last_digest"] is None
    _, out, _ = status_cli(capsys, tmp_path / "archive.db")
    assert "chat -100123 08:00 Europe/Sofia [serbia]: last sending 2026-11-21T06:00:00+00:00 (1/2 parts)" in out
    assert "chat 42 09:30 UTC [all]: none sent yet" in out


@pytest.mark.sqlite_only  # SQLite's WAL file
def test_optimize_truncates_the_wal(store: Store, pipeline: object, tmp_path: Path) -> None:
    store.save_posts([pipeline.process(raw_post(n, f"Post {n}.")) for n in range(1, 50)])  # type: ignore[attr-defined]
    wal = tmp_path / "archive.db-wal"
    assert wal.stat().st_size > 0
    busy, frames, moved = store.optimize()
    assert busy == 0 and frames == moved
    assert wal.stat().st_size == 0
    assert keys.SERVICE_STATE == "service.state"  # the key names status and the service share
