"""Several accounts, one archive (bot/service/accounts.py) on the fake Telegram edge with real Telethon TL objects.

Every account has its own FakeEdge (its own session's view: which channels it can resolve, its own flood
waits and failures) over ONE shared history, as two real accounts see the same channels.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from telethon.errors import AuthKeyUnregisteredError, FloodWaitError, SessionRevokedError, UserDeactivatedBanError

from bot.app.archive import Archive
from bot.cli import accounts_cmd
from bot.config import Settings
from bot.core.pipeline import Pipeline
from bot.service.account_book import ASSIGNMENT_KEY, MOVED_KEY
from bot.service.accounts import STATE_KEY, UNREAD_KEY, AccountsPart
from bot.service.parts import PollOutcome
from bot.service.run import Service
from storage.store import Store
from tests import tg_factory as tg
from tests.test_service import FakeBotClient, FakeUserClient, wait_until
from tests.tg_factory import FakeEdge

pytestmark = pytest.mark.both_backends

HASH = "0123456789abcdef0123456789abcdef"
CHANNELS = {1001: "alpha_news", 1002: "bravo_news", 1003: "charlie_news", 1004: "delta_news", 1005: "echo_news"}


class World:
    """One Telegram: shared channel histories, one edge (and client) per account."""

    def __init__(self, names: list[str], *, authorized: dict[str, bool] | None = None) -> None:
        self.history: dict[int, dict[int, Any]] = {}
        self.edges: dict[str, FakeEdge] = {}
        self.clients: dict[str, FakeUserClient] = {}
        for name in names:
            edge = FakeEdge([tg.channel(i, u, u.title()) for i, u in CHANNELS.items()])
            edge.history = self.history
            self.edges[name] = edge
            self.clients[name] = FakeUserClient(edge, authorized=(authorized or {}).get(name, True))

    def post(self, chat: int, *ids: int) -> None:
        for i in ids:
            self.history.setdefault(chat, {})[i] = tg.message(
                i, f"Post {i} of {CHANNELS[chat]} on regional talks.", chat=chat
            )

    def factory(self, settings: Settings) -> Any:
        name = Path(str(settings.session)).name.removeprefix("tgmonitor-").removesuffix(".session")
        return self.clients[name]

    def read_by(self, name: str) -> set[int]:
        return {tg_id for tg_id, _ in self.edges[name].calls}


def settings_for(tmp_path: Path, accounts: str, **extra: str) -> Settings:
    return Settings.from_mapping(
        {
            "DATA_DIR": str(tmp_path),
            "API_ID": "12345",
            "API_HASH": HASH,
            "CHANNELS": ",".join("@" + u for u in CHANNELS.values()),
            "POLL_INTERVAL": "1h",
            "TELEGRAM_ACCOUNTS": accounts,
            **extra,
        }
    )


def stored(store: Store) -> list[tuple[str, int]]:
    rows = store.db.query("SELECT c.username, p.message_id FROM posts p JOIN channels c ON c.id = p.channel_id")
    return sorted((r["username"], r["message_id"]) for r in rows)


def state(store: Store) -> dict[str, Any]:
    return json.loads(store.meta_get(STATE_KEY) or "{}")


def test_three_accounts_share_the_channels_and_each_reads_only_its_own(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    world = World(["main", "second", "third"])
    for chat in CHANNELS:
        world.post(chat, 1, 2)
    settings = settings_for(
        tmp_path, "main,second,third", CHANNELS_third="@echo_news,@delta_news", ACCOUNT_MAX_CHANNELS="2"
    )

    async def scenario() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        line = await part.start()
        outcome = await part.poll()
        await part.close()
        assert outcome.ok == 5 and outcome.failed == 0 and len(outcome.new_ids) == 10
        assert "3 accounts" in line

    asyncio.run(scenario())
    assert world.read_by("third") == {1004, 1005}  # explicit
    assert world.read_by("main") == {1001, 1003}  # balanced: main, second, main
    assert world.read_by("second") == {1002}
    assert len(stored(store)) == 10 == len(set(stored(store)))
    assert {n: s["state"] for n, s in state(store).items()} == {
        "main": "stopped",
        "second": "stopped",
        "third": "stopped",
    }


@pytest.mark.parametrize(
    ("names", "channels"),
    [
        ("main,second", ("alpha_news", "bravo_news")),
        ("main,second,third", ("alpha_news", "bravo_news", "charlie_news")),
    ],
)
def test_a_flood_wait_on_one_account_does_not_delay_the_others(
    store: Store, pipeline: Pipeline, tmp_path: Path, names: str, channels: tuple[str, ...]
) -> None:
    world = World(names.split(","))
    chats = [tg_id for tg_id, name in CHANNELS.items() if name in channels]
    for chat in chats:
        world.post(chat, 1, 2)
    settings = settings_for(tmp_path, names, CHANNELS=",".join("@" + c for c in channels))
    gate = asyncio.Event()
    waits: list[float] = []

    async def held_sleep(seconds: float) -> None:
        waits.append(seconds)
        await gate.wait()

    others = [(c, 2) for c in channels[1:]]

    async def scenario() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory, sleep=held_sleep)
        await part.start()
        world.edges["main"].failures.append(FloodWaitError(request=None, capture=30))
        polling = asyncio.create_task(part.poll())
        # the others' channels are archived while main sits in its flood wait
        await wait_until(lambda: all(p in stored(store) for p in others) and bool(waits))
        assert ("alpha_news", 1) not in stored(store)
        assert state(store)["main"]["waiting_until"] is not None
        assert all(state(store)[n]["waiting_until"] is None for n in names.split(",")[1:])
        shown = accounts_cmd.lines(accounts_cmd.accounts_report(settings, store))
        assert shown[:3] == ["main: running, 1/450 channels (@alpha_news)", ANY, ANY]
        assert shown[2].startswith("  flood wait until ")  # `tgmonitor accounts` shows the wait
        assert not any("flood wait" in line for line in shown[3:])
        gate.set()
        outcome = await polling
        await part.close()
        assert outcome.ok == len(channels) and outcome.failed == 0
        assert waits == [31]

    asyncio.run(scenario())
    assert stored(store) == sorted((c, i) for c in channels for i in (1, 2))
    assert state(store)["main"]["waiting_until"] is None
    assert {n: s["channels"] for n, s in state(store).items()} == {
        n: [c] for n, c in zip(names.split(","), channels, strict=True)
    }


def moved(store: Store) -> dict[str, tuple[str, str | None]]:
    return {k: (v["from"], v["to"]) for k, v in json.loads(store.meta_get(MOVED_KEY) or "{}").items()}


def unread(store: Store) -> list[str]:
    return list(json.loads(store.meta_get(UNREAD_KEY) or "[]"))


@pytest.mark.parametrize(
    ("names", "channels", "stand_in"),
    [
        ("main,second", ("alpha_news", "bravo_news"), "main"),
        # balanced: main alpha+delta, second bravo, third charlie: third has room to spare
        ("main,second,third", ("alpha_news", "bravo_news", "charlie_news", "delta_news"), "third"),
    ],
)
def test_a_logged_out_account_stops_alone_and_its_channels_go_to_another_until_it_is_back(
    store: Store, pipeline: Pipeline, tmp_path: Path, names: str, channels: tuple[str, ...], stand_in: str
) -> None:
    world = World(names.split(","), authorized={"second": False})
    chats = {name: tg_id for tg_id, name in CHANNELS.items()}
    for channel in channels:
        world.post(chats[channel], 1)
    settings = settings_for(tmp_path, names, CHANNELS=",".join("@" + c for c in channels))

    async def run_once(expect_line: str) -> PollOutcome:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        line = await part.start()
        assert expect_line in line
        outcome = await part.poll()
        lost = part.lost()
        assert lost is not None and not asyncio.ensure_future(lost).done()
        await part.close()
        return outcome

    outcome = asyncio.run(run_once("second: 0 channels (logged out)"))
    assert (outcome.ok, outcome.failed) == (len(channels), 0)
    assert stored(store) == [(c, 1) for c in channels]
    assert 1002 in world.read_by(stand_in) and world.read_by("second") == set()
    assert unread(store) == []
    assert moved(store) == {"bravo_news": ("second", stand_in)}
    assert state(store)["second"]["state"] == "logged out" and state(store)["second"]["channels"] == []
    assert "tgmonitor login --account second" in state(store)["second"]["error"]
    assert json.loads(store.meta_get(ASSIGNMENT_KEY) or "{}")["bravo_news"] == "second"  # its home, kept

    # restarted with second still logged out: bravo is handed over again, read on from its checkpoint
    outcome = asyncio.run(run_once("second: 0 channels (logged out)"))
    assert outcome.new_ids == () and moved(store) == {"bravo_news": ("second", stand_in)}
    assert [kw["min_id"] for tg_id, kw in world.edges[stand_in].calls if tg_id == 1002 and kw["reverse"]] == [1]

    # logged in again and restarted: bravo goes back to second, which reads on from the checkpoint
    world.clients["second"].authorized = True
    world.post(1002, 2)
    outcome = asyncio.run(run_once("second: 1 channel"))
    assert len(outcome.new_ids) == 1
    assert [kw["min_id"] for tg_id, kw in world.edges["second"].calls if tg_id == 1002 and kw["reverse"]] == [1]
    assert stored(store) == sorted([*((c, 1) for c in channels), ("bravo_news", 2)])
    assert moved(store) == {} and unread(store) == []
    assert state(store)["second"]["channels"] == ["bravo_news"]


def test_an_explicit_channel_of_a_logged_out_account_is_reported_unread_not_moved(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    world = World(["main", "second"], authorized={"second": False})
    world.post(1001, 1)
    world.post(1002, 1)
    settings = settings_for(tmp_path, "main,second", CHANNELS="@alpha_news", CHANNELS_second="@bravo_news")

    async def scenario() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        line = await part.start()
        assert "second: 1 channel (logged out, UNREAD)" in line
        outcome = await part.poll()
        assert (outcome.ok, outcome.failed) == (1, 1)
        await part.close()

    asyncio.run(scenario())
    assert stored(store) == [("alpha_news", 1)]
    assert 1002 not in world.read_by("main")
    assert unread(store) == ["bravo_news"] and moved(store) == {}
    assert state(store)["second"]["channels"] == ["bravo_news"]


@pytest.mark.parametrize("gone", [AuthKeyUnregisteredError, SessionRevokedError, UserDeactivatedBanError])
def test_an_account_logged_out_or_banned_while_running_hands_its_channels_on_in_the_same_poll(
    store: Store, pipeline: Pipeline, tmp_path: Path, gone: type[Exception]
) -> None:
    world = World(["main", "second"])
    world.post(1001, 1)
    world.post(1002, 1)
    settings = settings_for(tmp_path, "main,second", CHANNELS="@alpha_news,@bravo_news")

    async def scenario() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        await part.start()
        lost = asyncio.ensure_future(part.lost())  # type: ignore[arg-type]
        assert len((await part.poll()).new_ids) == 2
        world.post(1002, 2, 3)
        world.edges["second"].channel_failures[1002] = gone(request=None)  # type: ignore[call-arg]
        outcome = await part.poll()
        assert state(store)["second"]["state"] == "logged out"
        assert gone.__name__ in state(store)["second"]["error"]
        assert not world.clients["second"].connected
        assert not lost.done()
        # main took bravo over in this very poll, from bravo's checkpoint (1): 2 and 3, nothing twice
        assert len(outcome.new_ids) == 2 and outcome.failed == 0
        assert [kw["min_id"] for tg_id, kw in world.edges["main"].calls if tg_id == 1002 and kw["reverse"]] == [1]
        assert unread(store) == [] and moved(store) == {"bravo_news": ("second", "main")}
        world.post(1001, 2)
        world.post(1002, 4)
        outcome = await part.poll()  # main goes on alone with both
        assert len(outcome.new_ids) == 2 and outcome.failed == 0
        world.edges["main"].channel_failures[1001] = gone(request=None)  # type: ignore[call-arg]
        world.edges["main"].channel_failures[1002] = gone(request=None)  # type: ignore[call-arg]
        await part.poll()
        await asyncio.sleep(0)
        assert lost.done()  # every account gone: the service exits so the supervisor restarts it
        await part.close()

    asyncio.run(scenario())
    assert stored(store) == [("alpha_news", 1), ("alpha_news", 2), *(("bravo_news", i) for i in range(1, 5))]
    assert unread(store) == ["alpha_news", "bravo_news"]
    assert moved(store) == {"alpha_news": ("main", None), "bravo_news": ("second", None)}


def test_three_accounts_a_disconnected_one_hands_its_channels_on_within_the_cap(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    world = World(["main", "second", "third"])
    for chat in CHANNELS:
        world.post(chat, 1, 2)
    # balanced under a cap of 2: main alpha+delta, second bravo+echo, third charlie
    settings = settings_for(tmp_path, "main,second,third", ACCOUNT_MAX_CHANNELS="2")

    async def scenario() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        await part.start()
        assert len((await part.poll()).new_ids) == 10
        assert world.read_by("main") == {1001, 1004}
        await world.clients["main"].push_new(tg.message(3, "Live post 3 of alpha on the talks.", chat=1001))
        assert ("alpha_news", 3) in stored(store)  # saved live; alpha's checkpoint stays at 2
        world.post(1001, 4)
        world.post(1004, 3)
        await world.clients["main"].disconnect()  # Telethon gave up reconnecting
        # no poll: the watcher hands alpha to third (the one with room) at once, read from the checkpoint
        await wait_until(lambda: ("alpha_news", 4) in stored(store))
        assert state(store)["main"]["state"] == "disconnected"
        assert moved(store) == {"alpha_news": ("main", "third"), "delta_news": ("main", None)}
        assert unread(store) == ["delta_news"]  # second and third are full: reported, not dropped
        outcome = await part.poll()
        assert (outcome.ok, outcome.failed, outcome.new_ids) == (4, 1, ())  # delta unread
        await part.close()

    asyncio.run(scenario())
    catch_up = [kw["min_id"] for tg_id, kw in world.edges["third"].calls if tg_id == 1001 and kw["reverse"]]
    assert catch_up[0] == 2  # from the checkpoint: post 3 (seen live by main) read again, stored once
    assert [m for c, m in stored(store) if c == "alpha_news"] == [1, 2, 3, 4]
    assert [m for c, m in stored(store) if c == "delta_news"] == [1, 2]
    assert len(stored(store)) == len(set(stored(store))) == 12
    assert state(store)["third"]["channels"] == ["alpha_news", "charlie_news"]


def test_a_channel_moves_between_accounts_without_missed_or_doubled_posts(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    world = World(["main", "second"])
    world.post(1001, 1, 2, 3)
    before = settings_for(tmp_path, "main,second", CHANNELS="@alpha_news", CHANNELS_main="@alpha_news")
    after = settings_for(tmp_path, "main,second", CHANNELS="@alpha_news", CHANNELS_second="@alpha_news")

    async def run_once(settings: Settings) -> tuple[int, ...]:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        await part.start()
        outcome = await part.poll()
        await part.close()
        return outcome.new_ids

    assert len(asyncio.run(run_once(before))) == 3
    world.post(1001, 4, 5)  # arrive while the service is down and the settings change
    assert len(asyncio.run(run_once(after))) == 2  # the re-read 1..3 are the same posts: stored once
    assert stored(store) == [("alpha_news", i) for i in range(1, 6)]
    # the new account caught up from the stored checkpoint, not from the top of the channel
    catch_up = [kw for tg_id, kw in world.edges["second"].calls if tg_id == 1001 and kw["reverse"]]
    assert catch_up and catch_up[0]["min_id"] == 3
    assert state(store)["second"]["channels"] == ["alpha_news"] and state(store)["main"]["channels"] == []


def test_a_channel_only_one_account_can_read_goes_to_it_and_stays(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    world = World(["main", "second", "third"])
    for name in ("main", "third"):  # alpha is private to second: the others cannot resolve it
        del world.edges[name].entities[1001], world.edges[name].entities["alpha_news"]
    world.post(1001, 1, 2)
    world.post(1002, 1)
    settings = settings_for(tmp_path, "main,second,third", CHANNELS="@alpha_news,@bravo_news")

    async def run_once() -> tuple[int, ...]:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        await part.start()
        ids = (await part.poll()).new_ids + (await part.poll()).new_ids
        await part.close()
        return ids

    assert len(asyncio.run(run_once())) == 3  # main failed alpha, then third, then second reads it
    assert stored(store) == [("alpha_news", 1), ("alpha_news", 2), ("bravo_news", 1)]
    assert "alpha_news" in state(store)["second"]["channels"]
    world.post(1001, 3)
    main_lookups = len(world.edges["main"].entity_calls)
    assert len(asyncio.run(run_once())) == 1  # next run: alpha stays with second from the start
    assert len(world.edges["main"].entity_calls) == main_lookups  # main is not asked again
    assert "alpha_news" in state(store)["second"]["channels"]
    assert json.loads(store.meta_get(UNREAD_KEY) or "[]") == []


@pytest.mark.parametrize("names", ["main,second", "main,second,third"])
def test_the_service_runs_every_account_and_one_bot(
    store: Store, pipeline: Pipeline, tmp_path: Path, names: str
) -> None:
    world = World(names.split(","))
    world.post(1001, 1)
    world.post(1002, 1)
    bot = FakeBotClient()
    settings = settings_for(
        tmp_path,
        names,
        CHANNELS="@alpha_news,@bravo_news",
        BOT_TOKEN="123456789:" + "A" * 30,
        ALLOWED_USERS="7",
    )
    starts: list[str] = []

    async def bot_starter(s: Settings) -> Any:
        starts.append("bot")
        return await bot.start_as_bot(s)

    async def scenario() -> int:
        service = Service(
            settings,
            Archive.around(settings, store, pipeline),
            user_client_factory=world.factory,
            bot_starter=bot_starter,
            notify=lambda m: True,
        )
        running = asyncio.create_task(service.run())
        await wait_until(lambda: len(stored(store)) == 2)
        live = tg.message(2, "Live post on bravo about the summit.", chat=1002)
        await world.clients["main"].push_new(live)  # not main's channel: main leaves it to second
        await world.clients["second"].push_new(live)
        await world.clients["second"].push_new(live)  # seen twice: stored once
        for other in names.split(",")[2:]:
            await world.clients[other].push_new(live)  # nor third's
        await wait_until(lambda: len(stored(store)) == 3)
        service.request_stop("test")
        return await running

    assert asyncio.run(scenario()) == 0
    assert starts == ["bot"]
    assert stored(store) == [("alpha_news", 1), ("bravo_news", 1), ("bravo_news", 2)]


def test_with_per_account_credentials_only_the_bot_uses_the_first_accounts(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    world = World(["main", "second"])
    world.post(1001, 1)
    bot = FakeBotClient()
    settings = Settings.from_mapping(
        {
            "DATA_DIR": str(tmp_path),
            "CHANNELS": "@alpha_news",
            "TELEGRAM_ACCOUNTS": "main,second",
            "API_ID_main": "111",
            "API_HASH_main": HASH,
            "API_ID_second": "222",
            "API_HASH_second": HASH,
            "BOT_TOKEN": "123456789:" + "A" * 30,
            "POLL_INTERVAL": "1h",
        }
    )
    seen: list[int | None] = []

    async def bot_starter(s: Settings) -> Any:
        seen.append(s.api_id)
        return await bot.start_as_bot(s)

    async def scenario() -> int:
        service = Service(
            settings,
            Archive.around(settings, store, pipeline),
            user_client_factory=world.factory,
            bot_starter=bot_starter,
            notify=lambda m: True,
        )
        running = asyncio.create_task(service.run())
        await wait_until(lambda: len(stored(store)) == 1)
        service.request_stop("test")
        return await running

    assert asyncio.run(scenario()) == 0
    assert seen == [111]


@pytest.mark.parametrize("names", ["main,second", "main,second,third"])
def test_no_account_can_start_is_a_config_error(store: Store, pipeline: Pipeline, tmp_path: Path, names: str) -> None:
    world = World(names.split(","), authorized={n: False for n in names.split(",")})
    settings = settings_for(tmp_path, names)

    async def scenario() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        with pytest.raises(Exception, match="no Telegram account could start"):
            await part.start()
        await part.close()

    asyncio.run(scenario())
