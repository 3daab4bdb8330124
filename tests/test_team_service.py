"""What starting the team's compose stack (deploy/compose.postgres.yml) showed, on the fake edge.

Started for real (podman, docs/team.md "Tried on …"), every Telegram connection met an HTTP proxy
instead of Telegram: Telethon's `IncompleteReadError: 95 bytes read on a total of 1347703872
expected bytes` ("HTTP" read as a packet length). That start revealed three things tested here:
- a listener whose accounts were all unreachable exited 78 (configuration error), which systemd's
  RestartPreventExitStatus=78 never restarts: a network outage at boot stopped it for good;
- the bot, and each listener, crash-looped under a restart policy with no back-off (podman);
- the bot service (API_ID/API_HASH for the bot client, no CHANNELS) also started a user listener
  over the archive's watched channels, needing its own login: READ_CHANNELS=none turns that off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from bot.app.archive import Archive
from bot.config import Settings, SettingsError
from bot.core.pipeline import Pipeline
from bot.service.accounts import AccountsPart
from bot.service.parts import ServiceConfigError, ServiceStartError
from bot.service.run import EX_CONFIG, Service
from storage.store import Store
from tests.test_service import FakeBotClient, FakeUserClient, listener_settings, wait_until
from tests.tg_factory import FakeEdge

pytestmark = pytest.mark.both_backends  # a team runs on PostgreSQL

HASH = "0123456789abcdef0123456789abcdef"
TOKEN = "123456789:" + "A" * 30


class UnreachableClient(FakeUserClient):
    """What the sandbox's egress proxy made of Telegram: an HTTP answer read as an MTProto packet."""

    def __init__(self) -> None:
        super().__init__(FakeEdge())
        self.connects = 0

    async def connect(self) -> None:
        self.connects += 1
        raise asyncio.IncompleteReadError(b"H" * 95, 1347703872)


def service(settings: Settings, store: Store, pipeline: Pipeline, **options: Any) -> Service:
    return Service(settings, Archive.around(settings, store, pipeline), notify=lambda m: True, **options)


def test_an_unreachable_telegram_at_start_waits_then_exits_1_in_one_line(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = UnreachableClient()
    monitor = service(
        listener_settings(tmp_path), store, pipeline, user_client_factory=lambda s: client, start_retry_wait=0.3
    )
    began = time.monotonic()
    with caplog.at_level(logging.INFO):
        assert asyncio.run(monitor.run()) == 1  # not 78: a restart may find Telegram back
    assert time.monotonic() - began >= 0.3  # no tight restart loop under a policy without back-off
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "cannot start yet: IncompleteReadError: 95 bytes read on a total of 1347703872 expected bytes; "
        "exiting with 1 in 0s so the supervisor retries"
    ]
    assert all(r.exc_info is None for r in caplog.records)  # one line, no traceback
    assert client.connects == 1


def test_a_stop_during_the_wait_ends_it_at_once_with_0(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    monitor = service(
        listener_settings(tmp_path),
        store,
        pipeline,
        user_client_factory=lambda s: UnreachableClient(),
        start_retry_wait=60,
    )

    async def scenario() -> tuple[int, float]:
        running = asyncio.create_task(monitor.run())
        await asyncio.sleep(0.2)
        asked = time.monotonic()
        monitor.request_stop("SIGTERM")
        return await asyncio.wait_for(running, timeout=10), time.monotonic() - asked

    code, took = asyncio.run(scenario())
    assert code == 0 and took < 5


def accounts_settings(tmp_path: Path, **extra: str) -> Settings:
    return Settings.from_mapping(
        {
            "DATA_DIR": str(tmp_path),
            "API_ID": "12345",
            "API_HASH": HASH,
            "TELEGRAM_ACCOUNTS": "a,b",
            "CHANNELS_a": "@alpha_news",
            "CHANNELS_b": "@bravo_news",
            "POLL_INTERVAL": "1h",
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("a", "b", "error"),
    [
        ("unreachable", "unreachable", ServiceStartError),
        ("logged out", "unreachable", ServiceStartError),  # b may come back: restart
        ("logged out", "logged out", ServiceConfigError),  # only a person can fix it: 78
    ],
)
def test_no_account_starting_is_a_config_error_only_when_all_are_logged_out(
    store: Store, pipeline: Pipeline, tmp_path: Path, a: str, b: str, error: type[Exception]
) -> None:
    def client(state: str) -> FakeUserClient:
        return UnreachableClient() if state == "unreachable" else FakeUserClient(FakeEdge(), authorized=False)

    clients = {"a": client(a), "b": client(b)}
    settings = accounts_settings(tmp_path)

    def factory(s: Settings) -> Any:
        return clients[Path(str(s.session)).name.removeprefix("tgmonitor-").removesuffix(".session")]

    async def scenario() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), factory)
        with pytest.raises(error, match=r"no Telegram account could start \(a: .*; b: .*\)"):
            await part.start()
        await part.close()

    asyncio.run(scenario())


def test_read_channels_none_runs_the_bot_without_a_user_listener(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bot = FakeBotClient()
    settings = Settings.from_mapping(
        {"DATA_DIR": str(tmp_path), "API_ID": "12345", "API_HASH": HASH, "BOT_TOKEN": TOKEN, "READ_CHANNELS": "none"}
    )

    def no_user_client(s: Settings) -> Any:
        raise AssertionError("READ_CHANNELS=none: no user client")

    async def bot_starter(s: Settings) -> Any:
        return await bot.start_as_bot(s)

    monitor = service(settings, store, pipeline, user_client_factory=no_user_client, bot_starter=bot_starter)

    async def scenario() -> int:
        running = asyncio.create_task(monitor.run())
        await wait_until(lambda: "running;" in caplog.text)
        monitor.request_stop("test")
        return await running

    with caplog.at_level(logging.INFO):
        assert asyncio.run(scenario()) == 0
    assert "listener: off (READ_CHANNELS=none: other services read the channels); web preview: off" in caplog.text
    assert "poll: off (no source)" in caplog.text and bot.connected is False  # started, then closed


def test_read_channels_none_without_a_bot_does_nothing_so_it_is_78(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.from_mapping({"DATA_DIR": str(tmp_path), "READ_CHANNELS": "none"})
    with caplog.at_level(logging.INFO):
        assert asyncio.run(service(settings, store, pipeline).run()) == EX_CONFIG
    assert "cannot start: READ_CHANNELS=none and no bot (BOT_TOKEN with API_ID/API_HASH)" in caplog.text


@pytest.mark.parametrize(
    ("extra", "which"), [({"CHANNELS": "@alpha_news"}, "CHANNELS"), ({"TELEGRAM_ACCOUNTS": "a"}, "TELEGRAM_ACCOUNTS")]
)
def test_read_channels_none_with_channels_is_refused_by_name(tmp_path: Path, extra: dict[str, str], which: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_mapping({"API_ID": "12345", "API_HASH": HASH, "READ_CHANNELS": "none", **extra})
    assert f"READ_CHANNELS (environment): none, but {which} is set" in str(caught.value)
    assert Settings.from_mapping({}).read_channels == "all"
    with pytest.raises(SettingsError, match="READ_CHANNELS"):
        Settings.from_mapping({"READ_CHANNELS": "false"})


def team_listener(tmp_path: Path, name: str, channels: str) -> Settings:
    return Settings.from_mapping(
        {
            "DATA_DIR": str(tmp_path / name),
            "API_ID": "12345",
            "API_HASH": HASH,
            "TELEGRAM_ACCOUNTS": name,
            f"CHANNELS_{name}": channels,
            "READ_CHANNELS": "configured",
            "POLL_INTERVAL": "1h",
        }
    )


def test_two_listeners_on_one_archive_read_only_their_own_channels_and_report_both(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    from bot.cli.accounts_cmd import accounts_report
    from tests.test_accounts_run import World, stored

    world = World(["a", "b"])
    world.post(1001, 1, 2)
    world.post(1002, 1)
    first, second = team_listener(tmp_path, "a", "@alpha_news"), team_listener(tmp_path, "b", "@bravo_news")

    async def scenario() -> None:
        a = AccountsPart(first, Archive.around(first, store, pipeline), world.factory)
        b = AccountsPart(second, Archive.around(second, store, pipeline), world.factory)
        assert await a.start() == "listener: on, 1 account (a: 1 channel); web preview: off"
        await a.poll()
        assert await b.start() == "listener: on, 1 account (b: 1 channel); web preview: off"  # not alpha too
        await b.poll()
        await a.close()  # listener-a restarts: it does not take bravo either
        a = AccountsPart(first, Archive.around(first, store, pipeline), world.factory)
        assert await a.start() == "listener: on, 1 account (a: 1 channel); web preview: off"
        await a.poll()
        await a.close()
        await b.close()

    asyncio.run(scenario())
    assert world.read_by("a") == {1001} and world.read_by("b") == {1002}
    assert stored(store) == [("alpha_news", 1), ("alpha_news", 2), ("bravo_news", 1)]
    for settings, name, channel in ((first, "a", "alpha_news"), (second, "b", "bravo_news")):
        report = accounts_report(settings, store)  # `tgmonitor accounts` in either container
        assert [(x["name"], x["state"], x["channels"]) for x in report["accounts"]] == [(name, "stopped", [channel])]
        assert report["unread"] == []


def test_a_single_account_listener_reads_only_its_configured_channels(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    from bot.models import ChannelRef
    from tests import tg_factory as tg

    edge = FakeEdge([tg.channel(1001, "alpha_news", "Alpha"), tg.channel(1002, "bravo_news", "Bravo")])
    edge.history = {
        1001: {1: tg.message(1, "Alpha on the talks.", chat=1001)},
        1002: {1: tg.message(1, "Bravo.", chat=1002)},
    }
    client = FakeUserClient(edge)
    store.set_watched(ChannelRef(username="bravo_news"), True)  # another listener's channel, in the shared archive
    settings = listener_settings(tmp_path, CHANNELS="@alpha_news", READ_CHANNELS="configured")
    monitor = service(settings, store, pipeline, user_client_factory=lambda s: client)

    async def scenario() -> int:
        running = asyncio.create_task(monitor.run())
        await wait_until(lambda: store.meta_get("service.last_poll_at") is not None)
        monitor.request_stop("test")
        return await running

    assert asyncio.run(scenario()) == 0
    assert {tg_id for tg_id, _ in edge.calls} == {1001}
