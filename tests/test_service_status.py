"""Several `tgmonitor run` on one archive (a team, docs/team.md): each reports its own state.

What the compose stack showed (docs/team.md "Tried on 6 December 2026"): every service wrote the same
`service.*` keys, so `tgmonitor status` (and each container's healthcheck) showed whichever wrote last,
`health: ok` while no listener could reach Telegram. Now each writes under its SERVICE_NAME.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app.archive import Archive
from bot.cli import main
from bot.config import Settings, SettingsError
from bot.core.pipeline import Pipeline
from bot.service.run import Service
from storage import services
from storage.status import read_status
from storage.store import Store, to_db_time
from tests.test_service import FakeBotClient, FakeUserClient, listener_settings, wait_until
from tests.test_team_service import HASH, TOKEN, UnreachableClient
from tests.tg_factory import FakeEdge

pytestmark = pytest.mark.both_backends  # a team runs on PostgreSQL

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def status_cli(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str]:
    code = main(["--db", str(db), "status", *args])
    out, _ = capsys.readouterr()
    return code, out


def note(store: Store, name: str, **values: str) -> None:
    store.meta_set_many({services.key(name, field): value for field, value in values.items()})


def bot_settings(tmp_path: Path) -> Settings:
    return Settings.from_mapping(
        {
            "DATA_DIR": str(tmp_path / "bot"),
            "API_ID": "12345",
            "API_HASH": HASH,
            "BOT_TOKEN": TOKEN,
            "READ_CHANNELS": "none",
            "SERVICE_NAME": "bot",
            "POLL_INTERVAL": "1h",
        }
    )


def make_service(settings: Settings, store: Store, pipeline: Pipeline, **options: Any) -> Service:
    return Service(settings, Archive.around(settings, store, pipeline), notify=lambda m: True, **options)


def test_a_service_name_keeps_the_main_keys_and_namespaces_the_others() -> None:
    assert services.key("main", "state") == "service.state"  # an archive from before names: unchanged
    assert services.key("listener-a", "state") == "service.listener-a.state"
    meta = {"service.state": "running", "service.listener-a.state": "stopped", "service.bot.pid": "7", "x": "y"}
    found = services.services_from_meta(meta)
    assert list(found) == ["main", "bot", "listener-a"]
    assert found["bot"]["pid"] == 7 and found["listener-a"]["state"] == "stopped"
    assert Settings.from_mapping({}).service_name is None
    with pytest.raises(SettingsError, match="SERVICE_NAME"):
        Settings.from_mapping({"SERVICE_NAME": "listener.a"})  # a dot would read as another key


def test_a_listener_and_the_bot_on_one_archive_each_report_their_own_state(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests import tg_factory as tg

    edge = FakeEdge([tg.channel(1001, "balkan_watch", "Balkan Watch")])
    edge.history = {1001: {1: tg.message(1, "Talks in Belgrade.", chat=1001)}}
    listener = make_service(
        listener_settings(tmp_path / "a", SERVICE_NAME="listener-a", READ_CHANNELS="configured"),
        store,
        pipeline,
        user_client_factory=lambda s: FakeUserClient(edge),
    )
    bot = FakeBotClient()

    async def bot_starter(s: Settings) -> Any:
        return await bot.start_as_bot(s)

    def no_user_client(s: Settings) -> Any:
        raise AssertionError("READ_CHANNELS=none: no user client")

    bot_service = make_service(
        bot_settings(tmp_path), store, pipeline, user_client_factory=no_user_client, bot_starter=bot_starter
    )

    async def scenario() -> tuple[dict[str, Any], int, int]:
        runs = [asyncio.create_task(listener.run()), asyncio.create_task(bot_service.run())]
        await wait_until(lambda: store.meta_get("service.listener-a.last_poll_ok_at") is not None)
        await wait_until(lambda: store.meta_get("service.bot.heartbeat_at") is not None)
        report = read_status(tmp_path / "archive.db", now=datetime.now(UTC), poll_interval=300)
        listener.request_stop("test")
        bot_service.request_stop("test")
        first, second = await asyncio.gather(*runs)
        return report, first, second

    with caplog.at_level(logging.INFO):
        report, first, second = asyncio.run(scenario())
    assert (first, second) == (0, 0)
    by_name = {s["name"]: s for s in report["services"]}
    assert list(by_name) == ["bot", "listener-a"]  # no "main": nobody wrote the unnamed keys
    assert by_name["listener-a"]["state"] == "running" and by_name["listener-a"]["source"] == "listener"
    assert by_name["listener-a"]["healthy"] and by_name["listener-a"]["last_poll_ok_at"] is not None
    assert by_name["bot"]["state"] == "running" and by_name["bot"]["source"] == "none"
    assert by_name["bot"]["healthy"] and "reads no channel" in by_name["bot"]["health"]
    assert by_name["bot"]["host"] and by_name["bot"]["last_poll_at"] is None
    assert report["healthy"] and report["health"] == "all 2 services healthy"
    after = {
        s["name"]: s["state"] for s in read_status(tmp_path / "archive.db", now=NOW, poll_interval=300)["services"]
    }
    assert after == {"bot": "stopped", "listener-a": "stopped"}


def test_a_listener_that_cannot_reach_telegram_is_failed_while_the_bot_is_healthy(
    store: Store, pipeline: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listener = make_service(
        listener_settings(tmp_path / "a", SERVICE_NAME="listener-a"),
        store,
        pipeline,
        user_client_factory=lambda s: UnreachableClient(),
        start_retry_wait=0.1,
    )
    assert asyncio.run(listener.run()) == 1
    now = datetime.now(UTC)
    note(store, "bot", state="running", source="none", poll_interval="300", started_at=to_db_time(now))
    note(store, "bot", heartbeat_at=to_db_time(now))
    db = tmp_path / "archive.db"
    code, out = status_cli(capsys, db, "--service", "listener-a")
    assert code == 1
    assert "  listener-a: failed since" in out and "IncompleteReadError" in out
    assert out.rstrip().splitlines()[-1].startswith("health: UNHEALTHY: listener-a: failed to start at ")
    code, out = status_cli(capsys, db, "--service", "bot")
    assert code == 0 and out.rstrip().splitlines()[-1].startswith("health: ok: bot: reads no channel")
    code, out = status_cli(capsys, db)  # no name: every service's verdict
    assert code == 1 and "health: UNHEALTHY: listener-a: failed to start" in out


def test_the_healthcheck_of_a_dead_listener_fails_while_the_others_passes(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    started = to_db_time(now - timedelta(hours=2))
    for name in ("listener-a", "listener-b"):
        note(
            store, name, state="running", pid="1", host=name, source="listener", poll_interval="60", started_at=started
        )
    fresh, dead = to_db_time(now - timedelta(seconds=20)), to_db_time(now - timedelta(minutes=30))
    note(store, "listener-a", last_poll_at=fresh, last_poll_ok_at=fresh, heartbeat_at=fresh)
    note(store, "listener-b", last_poll_at=dead, last_poll_ok_at=dead, heartbeat_at=dead)  # killed 30 min ago
    db = tmp_path / "archive.db"
    monkeypatch.setenv("SERVICE_NAME", "listener-a")  # each container's own name: plain `tgmonitor status`
    code, out = status_cli(capsys, db)
    assert code == 0 and out.rstrip().splitlines()[-1].startswith("health: ok: listener-a: last successful poll 20s")
    assert "  listener-b: stale since " in out and "(pid 1 on listener-b)" in out
    monkeypatch.setenv("SERVICE_NAME", "listener-b")
    code, out = status_cli(capsys, db, "--json")
    report = json.loads(out)
    assert code == 1 and report["healthy"] is False and report["service"]["name"] == "listener-b"
    assert report["service"]["state"] == "stale" and "no sign of life for 30m (limit 3 × 60s = 3m)" in report["health"]
    assert [(s["name"], s["state"], s["healthy"]) for s in report["services"]] == [
        ("listener-a", "running", True),
        ("listener-b", "stale", False),
    ]
    code, _ = status_cli(capsys, db, "--service", "listener-a")  # the option wins over SERVICE_NAME
    assert code == 0
    code, out = status_cli(capsys, db, "--service", "listener-c")  # a misspelt name is no pass
    assert code == 1 and "no service named listener-c has run on this archive (services here: listener-a" in out


def test_the_bot_is_healthy_while_its_heartbeat_is_fresh() -> None:
    bot = {
        "state": "running",
        "source": "none",
        "poll_interval": 3600,
        "started_at": to_db_time(NOW - timedelta(days=1)),
    }
    ok = services.assess({**bot, "heartbeat_at": to_db_time(NOW - timedelta(seconds=90))}, NOW, 300)
    assert ok[:2] == ("running", True)  # a day without a poll is fine: it reads no channel
    state, healthy, why = services.assess({**bot, "heartbeat_at": to_db_time(NOW - timedelta(minutes=4))}, NOW, 300)
    assert (state, healthy) == ("stale", False) and "limit 3 × 60s = 3m" in why  # heartbeats come every minute
    quick = {**bot, "poll_interval": 10, "heartbeat_at": to_db_time(NOW - timedelta(minutes=2))}
    assert services.assess(quick, NOW, 300)[1]  # beats every 10 s, but a loop busy for a while is not dead
    starting = {"state": "starting", "poll_interval": 60, "started_at": to_db_time(NOW - timedelta(minutes=2))}
    assert services.assess(starting, NOW, 300)[1]
    assert not services.assess({**starting, "started_at": to_db_time(NOW - timedelta(minutes=4))}, NOW, 300)[1]


def test_the_heartbeat_stays_silent_while_the_bot_is_disconnected(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    bot = FakeBotClient()

    async def bot_starter(s: Settings) -> Any:
        return await bot.start_as_bot(s)

    monitor = make_service(bot_settings(tmp_path), store, pipeline, bot_starter=bot_starter)

    async def scenario() -> tuple[str | None, str | None]:
        running = asyncio.create_task(monitor.run())
        await wait_until(lambda: store.meta_get("service.bot.heartbeat_at") is not None)
        beat = store.meta_get("service.bot.heartbeat_at")
        bot.connected = False  # Telethon reconnecting
        await asyncio.sleep(0.01)
        await monitor._heartbeat()
        silent = store.meta_get("service.bot.heartbeat_at")
        monitor.request_stop("test")
        await running
        return beat, silent

    beat, silent = asyncio.run(scenario())
    assert beat is not None and silent == beat


def test_a_single_service_archive_reads_as_before(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    recent = to_db_time(now - timedelta(seconds=30))
    for field, value in {"state": "running", "pid": "4242", "source": "web preview", "poll_interval": "60"}.items():
        store.meta_set(f"service.{field}", value)  # the keys an archive had before services had names
    store.meta_set_many(
        {"service.started_at": recent, "service.last_poll_at": recent, "service.last_poll_ok_at": recent}
    )
    code, out = status_cli(capsys, tmp_path / "archive.db")
    assert code == 0 and "services (" not in out
    assert f"service: running since {recent} (pid 4242), source web preview, poll every 60s" in out
    assert out.rstrip().splitlines()[-1] == "health: ok: last successful poll 30s ago (limit 3 × 60s = 3m)"
    code, out = status_cli(capsys, tmp_path / "archive.db", "--json")
    report = json.loads(out)
    assert [s["name"] for s in report["services"]] == ["main"] and report["service"]["pid"] == 4242
    # killed long ago: shown as stale, not as running
    hour_ago = to_db_time(now - timedelta(hours=1))
    store.meta_set_many({f"service.{f}": hour_ago for f in ("started_at", "last_poll_at", "last_poll_ok_at")})
    code, out = status_cli(capsys, tmp_path / "archive.db")
    assert code == 1 and "service: stale since" in out and "no sign of life for 60m" in out


class LeakyClient(FakeUserClient):
    """A start error whose wording carries the API hash: the stored note must not."""

    def __init__(self, secret: str) -> None:
        super().__init__(FakeEdge())
        self.secret = secret

    async def connect(self) -> None:
        raise ConnectionError(f"refused for api_hash={self.secret}")


def test_a_start_error_is_stored_without_the_settings_secrets(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    settings = listener_settings(tmp_path / "a", SERVICE_NAME="listener-a")
    assert settings.api_hash is not None
    listener = make_service(
        settings,
        store,
        pipeline,
        user_client_factory=lambda s: LeakyClient(str(settings.api_hash)),
        start_retry_wait=0.1,
    )
    assert asyncio.run(listener.run()) == 1
    error = store.meta_get(services.key("listener-a", "error"))
    assert error is not None and "refused for api_hash=[redacted]" in error
    assert settings.api_hash not in error


def test_a_second_live_service_under_one_name_is_warned_about_once(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    note(store, "main", state="running", pid="4242", host="listener-b-host", poll_interval="300")
    note(store, "main", started_at=to_db_time(now), heartbeat_at=to_db_time(now))
    listener = make_service(
        listener_settings(tmp_path / "a"),
        store,
        pipeline,
        user_client_factory=lambda s: UnreachableClient(),
        start_retry_wait=0.1,
    )
    with caplog.at_level(logging.WARNING):
        assert asyncio.run(listener.run()) == 1
    shared = [r for r in caplog.records if "another live service" in r.getMessage()]
    assert len(shared) == 1
    assert "pid 4242 on listener-b-host" in shared[0].getMessage() and "SERVICE_NAME" in shared[0].getMessage()


def test_held_by_another_ignores_itself_the_stopped_and_the_stale() -> None:
    now = datetime.now(UTC)
    fresh = {"state": "running", "pid": 7, "host": "h1", "poll_interval": 300, "heartbeat_at": to_db_time(now)}
    assert services.held_by_another(fresh, now, "h2", 7) == "pid 7 on h1"
    assert services.held_by_another(fresh, now, "h1", 7) is None  # its own entry from before
    assert services.held_by_another({**fresh, "state": "stopped"}, now, "h2", 7) is None
    old = to_db_time(now - timedelta(hours=1))
    stale = {**fresh, "heartbeat_at": old, "started_at": old}
    assert services.held_by_another(stale, now, "h2", 7) is None


def test_status_forget_deletes_a_retired_services_notes_only(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_ago = to_db_time(datetime.now(UTC) - timedelta(days=3))
    note(store, "old-listener", state="running", pid="41", host="host-a", started_at=long_ago, heartbeat_at=long_ago)
    note(store, "bot", state="stopped", pid="7", host="host-b", started_at=long_ago, stopped_at=long_ago)
    db = tmp_path / "archive.db"
    code, out = status_cli(capsys, db, "--forget", "old-listener")  # stale: its process is gone
    assert code == 0 and "forgot service 'old-listener' (5 notes)" in out
    assert store.meta_get("service.old-listener.state") is None
    assert store.meta_get("service.bot.state") == "stopped"  # another service's notes stay
    assert main(["--db", str(db), "status", "--forget", "old-listener"]) == 2
    assert "no service 'old-listener' has notes" in capsys.readouterr().err


def test_status_forget_refuses_a_live_service(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fresh = to_db_time(datetime.now(UTC))
    note(store, "listener-a", state="running", pid="42", host="host-a", started_at=fresh, heartbeat_at=fresh)
    db = tmp_path / "archive.db"
    assert main(["--db", str(db), "status", "--forget", "listener-a"]) == 1
    err = capsys.readouterr().err
    assert "not forgotten: it is running (pid 42 on host-a" in err and "stop it first" in err
    assert store.meta_get("service.listener-a.state") == "running"
