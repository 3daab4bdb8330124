"""A channel handed from a logged-out account to one whose session has never seen it (bot/service/accounts.py).

A session reads a channel by its id AND the access hash Telegram gave that session. The stand-in account
learns the hash by resolving the channel's @username; a channel configured by bare numeric id with no
username cannot be learnt that way: it is learnt as unreadable for that account once (no error on every
poll), another account that can read it takes it, and when none can it stays listed as unread.
On the fake Telegram edge with real Telethon TL objects, two and three accounts (tests/test_accounts_run.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from telethon.errors import AuthKeyUnregisteredError

from bot.app.archive import Archive
from bot.cli import accounts_cmd
from bot.core.pipeline import Pipeline
from bot.service.account_book import MOVED_KEY, UNREADABLE_KEY
from bot.service.accounts import STATE_KEY, UNREAD_KEY, AccountsPart
from storage.store import Store
from tests import tg_factory as tg
from tests.test_accounts_run import World, settings_for

pytestmark = pytest.mark.both_backends

PRIVATE = 1006  # a channel without a username: only its numeric id can name it


def posted(world: World, chat: int, *ids: int) -> None:
    for i in ids:
        world.history.setdefault(chat, {})[i] = tg.message(i, f"Post {i} of desk {chat} on regional talks.", chat=chat)


def forget(world: World, account: str, chat: int) -> None:
    """`account`'s session has never met `chat`: its bare id is not enough, its username still resolves."""
    edge = world.edges[account]
    edge.entities.pop(chat, None)
    edge.unknown_peers.add(chat)


def stored(store: Store, channel_tg_id: int) -> list[int]:
    rows = store.db.query(
        "SELECT p.message_id FROM posts p JOIN channels c ON c.id = p.channel_id WHERE c.tg_id = ?", [channel_tg_id]
    )
    return sorted(r["message_id"] for r in rows)


def meta(store: Store, key: str, default: Any) -> Any:
    return json.loads(store.meta_get(key) or json.dumps(default))


def about(records: list[logging.LogRecord], word: str) -> int:
    """Warnings and errors naming `word`: what a person watching the log would see."""
    return sum(1 for r in records if r.levelno >= logging.WARNING and word in r.getMessage())


def log_out(world: World, account: str, *chats: int) -> None:
    for chat in chats:
        world.edges[account].channel_failures[chat] = AuthKeyUnregisteredError(request=None)


@pytest.mark.parametrize("names", ["main,second", "main,second,third"])
def test_a_numeric_id_channel_no_stand_in_can_read_is_learnt_once_and_listed_unread(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture, names: str
) -> None:
    accounts = names.split(",")
    world = World(accounts)
    for name in accounts:
        world.edges[name].add_entity(tg.channel(PRIVATE, None, "Private Desk"))
    for name in accounts[1:]:
        forget(world, name, PRIVATE)  # only main ever met the private desk
    posted(world, PRIVATE, 1, 2)
    settings = settings_for(tmp_path, names, CHANNELS=str(PRIVATE))
    caplog.set_level(logging.INFO)

    async def scenario() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        await part.start()
        assert len((await part.poll()).new_ids) == 2  # main reads it
        log_out(world, "main", PRIVATE)
        posted(world, PRIVATE, 3)
        outcome = await part.poll()  # main is logged out; each stand-in tries once, none can
        assert (outcome.ok, outcome.new_ids, outcome.failed) == (0, (), 1)  # one channel, unread
        learnt = about(caplog.records, str(PRIVATE))
        for _ in range(5):
            outcome = await part.poll()
            assert (outcome.ok, outcome.failed) == (0, 1)  # unread, counted failed, not read again
        assert about(caplog.records, str(PRIVATE)) == learnt  # no error on every poll
        await part.close()

    asyncio.run(scenario())
    assert stored(store, PRIVATE) == [1, 2]  # 3 waits for main, from the checkpoint, nothing lost
    for name in accounts[1:]:
        reads = [c for c in world.edges[name].calls if c[0] == PRIVATE]
        assert len(reads) == 1  # asked once, learnt, never asked again
    assert meta(store, UNREADABLE_KEY, {}) == {str(PRIVATE): accounts[1:]}
    assert meta(store, UNREAD_KEY, []) == [str(PRIVATE)]
    assert meta(store, MOVED_KEY, {})[str(PRIVATE)]["to"] is None
    shown = accounts_cmd.lines(accounts_cmd.accounts_report(settings, store))
    for name in accounts[1:]:
        line = f"  cannot read: {PRIVATE} (needs @username or an access hash for account {name})"
        assert shown.count(line) == 1
    assert shown[-1] == f"UNREAD (1): {PRIVATE}"
    assert any("to no account (none has room or can read it): unread" in line for line in shown)
    report = accounts_cmd.accounts_report(settings, store)
    assert report["accounts"][1]["cannot_read_why"] == {str(PRIVATE): "needs @username or an access hash"}

    # restarted with main still logged out: nobody is asked again, the desk is unread from the start
    world.clients["main"].authorized = False
    calls = {name: len(world.edges[name].calls) for name in accounts}
    caplog.clear()

    async def restart() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        line = await part.start()
        assert "1 channel no account has room for or can read, unread" in line
        assert (await part.poll()).failed == 1
        await part.close()

    asyncio.run(restart())
    assert {name: len(world.edges[name].calls) for name in accounts} == calls
    assert about(caplog.records, "cannot read") == 0
    assert meta(store, UNREAD_KEY, []) == [str(PRIVATE)]

    # main logged in again: it reads the desk on from its checkpoint
    world.clients["main"].authorized = True
    world.edges["main"].channel_failures.clear()

    async def back() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        await part.start()
        outcome = await part.poll()
        assert (len(outcome.new_ids), outcome.failed) == (1, 0)
        await part.close()

    asyncio.run(back())
    assert stored(store, PRIVATE) == [1, 2, 3]
    assert meta(store, UNREAD_KEY, []) == []


def test_three_accounts_a_numeric_id_channel_goes_past_the_one_without_its_hash_to_one_with_it(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = World(["main", "second", "third"])
    for name in ("main", "second", "third"):
        world.edges[name].add_entity(tg.channel(PRIVATE, None, "Private Desk"))
    forget(world, "third", PRIVATE)  # third has the fewest channels, so it is asked first, and cannot
    posted(world, PRIVATE, 1, 2)
    world.post(1001, 1)
    # balanced: main the desk, second alpha, third nothing
    settings = settings_for(tmp_path, "main,second,third", CHANNELS=f"{PRIVATE},@alpha_news")
    caplog.set_level(logging.INFO)

    async def scenario() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        await part.start()
        assert len((await part.poll()).new_ids) == 3
        log_out(world, "main", PRIVATE)
        posted(world, PRIVATE, 3, 4)
        outcome = await part.poll()  # third fails the desk once, second takes it: 3 and 4 in this poll
        assert (outcome.ok, len(outcome.new_ids), outcome.failed) == (2, 2, 0)
        assert state(store)["second"]["channels"] == [str(PRIVATE), "alpha_news"]
        learnt = about(caplog.records, str(PRIVATE))
        posted(world, PRIVATE, 5)
        for _ in range(4):
            outcome = await part.poll()
            assert outcome.failed == 0
        assert about(caplog.records, str(PRIVATE)) == learnt
        await part.close()

    asyncio.run(scenario())
    assert stored(store, PRIVATE) == [1, 2, 3, 4, 5]  # nothing missed, nothing twice
    assert len([c for c in world.edges["third"].calls if c[0] == PRIVATE]) == 1
    second_reads = [kw["min_id"] for chat, kw in world.edges["second"].calls if chat == PRIVATE and kw["reverse"]]
    assert second_reads[0] == 2  # from the checkpoint main left
    assert meta(store, UNREAD_KEY, []) == []
    assert meta(store, MOVED_KEY, {}) == {
        str(PRIVATE): {"from": "main", "to": "second", "at": meta(store, MOVED_KEY, {})[str(PRIVATE)]["at"]}
    }
    shown = accounts_cmd.lines(accounts_cmd.accounts_report(settings, store))
    assert f"  cannot read: {PRIVATE} (needs @username or an access hash for account third)" in shown
    assert shown[-1] == "no channel left unread"


def state(store: Store) -> dict[str, Any]:
    return meta(store, STATE_KEY, {})


@pytest.mark.parametrize("names", ["main,second", "main,second,third"])
@pytest.mark.parametrize("configured", ["@bravo_news", "1002"])
def test_a_channel_with_a_username_moves_to_a_session_without_its_hash_nothing_missed_or_doubled(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture, names: str, configured: str
) -> None:
    accounts = names.split(",")
    world = World(accounts)
    for name in accounts[1:]:
        forget(world, name, 1002)  # the stand-ins learn bravo's hash from its username (as main stored it)
    world.post(1002, 1, 2)
    settings = settings_for(tmp_path, names, CHANNELS=configured)
    caplog.set_level(logging.INFO)

    async def scenario() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        await part.start()
        assert len((await part.poll()).new_ids) == 2
        log_out(world, "main", 1002)
        world.post(1002, 3, 4)
        outcome = await part.poll()  # the stand-in takes bravo over in this poll
        assert (len(outcome.new_ids), outcome.failed) == (2, 0)
        for i in (5, 6):
            world.post(1002, i)
            outcome = await part.poll()
            assert (len(outcome.new_ids), outcome.failed) == (1, 0)
        await part.close()

    asyncio.run(scenario())
    assert stored(store, 1002) == [1, 2, 3, 4, 5, 6]
    stand_in = meta(store, MOVED_KEY, {})["bravo_news" if configured.startswith("@") else "1002"]["to"]
    assert stand_in in accounts[1:]
    assert world.edges[stand_in].entity_calls == ["bravo_news"]  # its hash learnt once, by username
    assert about(caplog.records, "cannot read") == 0 and meta(store, UNREADABLE_KEY, {}) == {}
    assert meta(store, UNREAD_KEY, []) == []
