from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telethon.errors import ChannelPrivateError, FloodWaitError
from telethon.tl import types

from bot.core.pipeline import Pipeline
from bot.models import ChannelRef
from bot.sources.telethon_source import ChannelResolveError, TelethonSource, parse_channel_ident
from storage.store import Store
from tests.conftest import make_ingest
from tests.tg_factory import (
    BASE,
    FakeEdge,
    SleepRecorder,
    album,
    channel,
    forward_from_channel,
    message,
    service,
    user,
)

NEWS = channel(1001, "news", "Daily News")
BALKAN = channel(1002, "balkan", "Balkan Wire")
MFA = channel(555, "mfarussia", "MFA Russia")
SECRET = channel(1003, None, "No Username")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "t.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    opened = Store.open(db_path)
    yield opened
    opened.close()


def make_source(edge: FakeEdge, store: Store, pipeline: Pipeline, **kwargs: Any) -> TelethonSource:
    kwargs.setdefault("sleep", SleepRecorder())
    kwargs.setdefault("album_wait", 0)
    return TelethonSource(edge, make_ingest(store, pipeline), store, **kwargs)


def rows(store: Store, channel_tg_id: int = 1001) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in store.db.execute(
            "SELECT p.message_id, p.text, p.media_kind, p.deleted FROM posts p "
            "JOIN channels c ON c.id = p.channel_id WHERE c.tg_id = ? ORDER BY p.message_id",
            [channel_tg_id],
        )
    ]


def checkpoint(store: Store, tg_id: int = 1001) -> int:
    row = store.db.execute("SELECT last_message_id FROM channels WHERE tg_id = ?", [tg_id]).fetchone()
    return int(row[0])


def history(count: int, start: int = 1, chat: int = 1001) -> list[types.Message]:
    return [message(i, f"Post number {i} about the Balkans", chat=chat) for i in range(start, start + count)]


# ------------------------------------------------------------------ resolving


@pytest.mark.parametrize(
    ("ident", "parsed"),
    [
        ("@News", "news"),
        ("news_daily", "news_daily"),
        ("t.me/news", "news"),
        ("https://t.me/s/News/123", "news"),
        ("https://telegram.me/news?start=1", "news"),
        ("https://t.me/c/1001/55", 1001),
        ("-1001001", 1001),
        ("1001", 1001),
        (1001, 1001),
        (-1001001, 1001),
    ],
)
def test_parse_channel_ident(ident: str | int, parsed: str | int) -> None:
    assert parse_channel_ident(ident) == parsed


@pytest.mark.parametrize("ident", ["t.me/+AbCdEf", "https://t.me/joinchat/xyz", "-42", "a b", "@ab", ""])
def test_parse_channel_ident_rejects_what_cannot_be_a_channel(ident: str) -> None:
    with pytest.raises(ChannelResolveError):
        parse_channel_ident(ident)


def test_resolve_channels_caches_ids_and_records_unknown_ones(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS, BALKAN, SECRET, user(9, "someuser")])
    source = make_source(edge, store, pipeline)
    result = asyncio.run(source.resolve_channels(["@news", "t.me/balkan", "-1001003", "@ghost_chan", "@someuser"]))

    assert [c.tg_id for c in result.channels] == [1001, 1002, 1003]
    assert set(result.failures) == {"@ghost_chan", "@someuser"}
    assert "cannot resolve @ghost_chan" in result.failures["@ghost_chan"]
    assert result.failures["@someuser"] == "@someuser is not a channel (Telegram says it is a User)"
    table = store.db.execute(
        "SELECT tg_id, username, title, watched, last_error IS NOT NULL FROM channels ORDER BY id"
    ).fetchall()
    assert [tuple(r) for r in table] == [
        (1001, "news", "Daily News", 1, 0),
        (1002, "balkan", "Balkan Wire", 1, 0),
        (1003, None, "No Username", 1, 0),
        (None, "ghost_chan", None, 0, 1),
        (None, "someuser", None, 0, 1),
    ]
    assert edge.entity_calls == ["news", "balkan", types.PeerChannel(1003), "ghost_chan", "someuser"]

    # a restart resolves nothing again: the ids are in the channels table
    again = make_source(edge, store, pipeline)
    edge.entity_calls.clear()
    result = asyncio.run(again.resolve_channels(["@news", "t.me/balkan", "-1001003"]))
    assert [c.tg_id for c in result.channels] == [1001, 1002, 1003]
    assert edge.entity_calls == []


def test_channels_watched_by_username_only_get_their_id_once(store: Store, pipeline: Pipeline) -> None:
    store.set_watched(ChannelRef(username="balkan"), True)  # e.g. added by the web-preview source
    edge = FakeEdge([BALKAN])
    result = asyncio.run(make_source(edge, store, pipeline).resolve_channels([]))
    assert [(c.tg_id, c.username) for c in result.channels] == [(1002, "balkan")]
    assert [tuple(r) for r in store.db.execute("SELECT id, tg_id, username FROM channels")] == [(1, 1002, "balkan")]


# ------------------------------------------------------------------- catch-up


def test_first_catch_up_reads_the_latest_page_then_only_what_is_new(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    edge.post(*history(8))
    source = make_source(edge, store, pipeline, initial_limit=5, page_size=2)
    asyncio.run(source.resolve_channels(["@news"]))

    first = asyncio.run(source.catch_up())
    assert first["@news"].inserted == 5
    assert [r[0] for r in rows(store)] == [4, 5, 6, 7, 8]
    assert checkpoint(store) == 8

    edge.post(*history(5, start=9))
    second = asyncio.run(source.catch_up())
    assert second["@news"].inserted == 5
    assert [r[0] for r in rows(store)] == list(range(4, 14))
    assert checkpoint(store) == 13
    reads = [kw for _, kw in edge.calls if kw["reverse"]]
    assert [kw["min_id"] for kw in reads] == [8, 10, 12]  # pages of 2 from the checkpoint, then a short one

    assert asyncio.run(source.catch_up())["@news"].inserted == 0
    polled = store.channels(watched_only=True)[0]
    assert polled.last_polled_at is not None and polled.last_error is None


def test_first_catch_up_leaves_an_album_cut_by_the_page_to_backfill(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    edge.post(message(1, "old"), *album(2, ["Part one", "Part two", "Part three"], grouped_id=8))
    edge.post(*history(3, start=5))
    source = make_source(edge, store, pipeline, initial_limit=5)
    asyncio.run(source.resolve_channels(["@news"]))
    asyncio.run(source.catch_up())  # sees 3..7: parts 3-4 of the album starting at 2 would be a fragment
    assert [r[0] for r in rows(store)] == [5, 6, 7]
    assert checkpoint(store) == 7
    asyncio.run(source.backfill("@news"))
    assert rows(store)[:2] == [(1, "old", None, 0), (2, "Part one\n\nPart two\n\nPart three", "album", 0)]
    assert len(rows(store)) == 5


def test_catch_up_never_splits_an_album_across_pages(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    edge.post(message(1, "start"))
    source = make_source(edge, store, pipeline, page_size=3)
    asyncio.run(source.resolve_channels(["@news"]))
    asyncio.run(source.catch_up())
    edge.post(
        message(2, "Morning briefing"),
        *album(3, ["Photos from Belgrade #Serbia", "", "Second caption"], grouped_id=777),
        service(6),
        message(7, "Evening briefing"),
    )
    asyncio.run(source.catch_up())
    assert rows(store) == [
        (1, "start", None, 0),
        (2, "Morning briefing", None, 0),
        (3, "Photos from Belgrade #Serbia\n\nSecond caption", "album", 0),
        (7, "Evening briefing", None, 0),
    ]
    assert checkpoint(store) == 7
    tags = {
        r[0]
        for r in store.db.execute(
            "SELECT tag FROM post_tags t JOIN posts p ON p.id = t.post_id WHERE p.message_id = 3 AND kind = 'hashtag'"
        )
    }
    assert tags == {"serbia"}


def test_forwards_from_keeps_only_those_forwards_and_moves_past_the_rest(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS, MFA])
    edge.post(message(1, "start"))
    source = make_source(edge, store, pipeline, forwards_from=["@mfarussia"])
    asyncio.run(source.resolve_channels(["@news"]))
    asyncio.run(source.catch_up())  # message 1 is not from MFA: skipped, but read
    edge.post(
        message(2, "Our own commentary on the talks"),
        message(3, "Statement of the Ministry on Kosovo", fwd_from=forward_from_channel(555, 9001)),
        message(4, "Somebody else's post", fwd_from=forward_from_channel(777, 5)),
        service(5),
    )
    asyncio.run(source.catch_up())
    assert rows(store) == [(3, "Statement of the Ministry on Kosovo", None, 0)]
    assert checkpoint(store) == 5
    origin = store.db.execute("SELECT origin_key FROM posts").fetchone()[0]
    assert origin == "tg:555/9001"


def test_a_failing_channel_is_recorded_and_the_others_continue(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS, BALKAN])
    edge.post(*history(3), *history(2, chat=1002))
    source = make_source(edge, store, pipeline)
    asyncio.run(source.resolve_channels(["@news", "@balkan"]))
    edge.channel_failures[1001] = ChannelPrivateError(request=None)

    results = asyncio.run(source.catch_up())
    assert list(results) == ["@balkan"] and results["@balkan"].inserted == 2
    by_name = {c.username: c for c in store.channels()}
    assert by_name["news"].last_error is not None and "ChannelPrivateError" in by_name["news"].last_error
    assert by_name["balkan"].last_error is None
    assert checkpoint(store) == 0 and rows(store) == []

    del edge.channel_failures[1001]
    asyncio.run(source.catch_up())
    assert {c.username: c.last_error for c in store.channels()} == {"news": None, "balkan": None}
    assert [r[0] for r in rows(store)] == [1, 2, 3]


def test_one_flood_wait_is_waited_out(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    edge.post(*history(3))
    sleep = SleepRecorder()
    source = make_source(edge, store, pipeline, sleep=sleep)
    asyncio.run(source.resolve_channels(["@news"]))
    edge.failures.append(FloodWaitError(request=None, capture=3))
    assert asyncio.run(source.catch_up())["@news"].inserted == 3
    assert sleep.waits == [4]
    assert len(edge.calls) == 2


def test_a_flood_wait_above_the_limit_fails_only_that_channel(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    edge.post(*history(3))
    sleep = SleepRecorder()
    source = make_source(edge, store, pipeline, sleep=sleep, max_flood_wait=60)
    asyncio.run(source.resolve_channels(["@news"]))
    edge.failures.append(FloodWaitError(request=None, capture=3600))
    assert asyncio.run(source.catch_up()) == {}
    assert sleep.waits == []
    error = store.channels()[0].last_error or ""
    assert error.startswith("FloodWaitTooLong: read @news: Telegram asks to wait 3600s")


def test_session_without_the_access_hash_resolves_the_username_once(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    edge.post(*history(2))
    asyncio.run(make_source(edge, store, pipeline).resolve_channels(["@news"]))
    edge.unknown_peers.add(1001)  # e.g. a fresh StringSession: PeerChannel(1001) alone is not enough
    edge.entity_calls.clear()
    source = make_source(edge, store, pipeline)
    assert asyncio.run(source.catch_up())["@news"].inserted == 2
    assert edge.entity_calls == ["news"]


def test_a_bare_id_the_session_has_no_access_hash_for_is_a_clear_error_not_a_lookup(
    store: Store, pipeline: Pipeline
) -> None:
    edge = FakeEdge([SECRET])
    edge.post(message(1, "hello", chat=1003))
    asyncio.run(make_source(edge, store, pipeline).resolve_channels(["1003"]))
    edge.unknown_peers.add(1003)  # another session (an account taking the channel over) never met it
    edge.entity_calls.clear()
    assert asyncio.run(make_source(edge, store, pipeline).catch_up()) == {}
    assert edge.entity_calls == []  # no username to resolve: nothing asked of Telegram
    assert (store.channels()[0].last_error or "").startswith(
        "NoAccessHashError: cannot read channel 1003: this session has no access hash for it (configure the "
        "channel as @username"
    )


class CrashOnce:
    """Wraps a Store so that the n-th save_posts dies before committing, like a killed process."""

    def __init__(self, store: Store, crash_on: int) -> None:
        self._store = store
        self._crash_on = crash_on
        self.saves = 0

    def save_posts(self, posts: Any, **kwargs: Any) -> Any:
        self.saves += 1
        if self.saves == self._crash_on:
            list(posts)  # the page was fetched and processed...
            raise RuntimeError("simulated crash before commit")  # ...and never committed
        return self._store.save_posts(posts, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_crash_between_fetch_and_commit_loses_nothing_and_duplicates_nothing(db_path: Path, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    edge.post(message(1, "start"))
    first_store = Store.open(db_path)
    setup = make_source(edge, first_store, pipeline, page_size=3)
    asyncio.run(setup.resolve_channels(["@news"]))
    asyncio.run(setup.catch_up())
    edge.post(*history(8, start=2), *album(10, ["Album one", "Album two"], grouped_id=42))

    crashing = CrashOnce(first_store, crash_on=2)  # page 2-4 commits, page 5-7 dies
    source = make_source(edge, crashing, pipeline, page_size=3)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="simulated crash"):
        asyncio.run(source.catch_up())
    assert checkpoint(first_store) == 4
    assert [r[0] for r in rows(first_store)] == [1, 2, 3, 4]
    first_store.close()

    # restart: a new process, a new Store and source on the same file
    edge.calls.clear()
    reopened = Store.open(db_path)
    restarted = make_source(edge, reopened, pipeline, page_size=3)
    asyncio.run(restarted.resolve_channels(["@news"]))
    result = asyncio.run(restarted.catch_up())
    assert edge.calls[0][1]["min_id"] == 4  # resumed from the committed checkpoint
    assert result["@news"].inserted == 6 and result["@news"].unchanged == 0
    assert [r[0] for r in rows(reopened)] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert rows(reopened)[-1] == (10, "Album one\n\nAlbum two", "album", 0)
    count, distinct = reopened.db.execute("SELECT count(*), count(DISTINCT message_id) FROM posts").fetchone()
    assert count == distinct == 10
    assert checkpoint(reopened) == 11
    reopened.close()


# ------------------------------------------------------------------- backfill


def test_backfill_walks_down_and_resumes_after_a_restart(db_path: Path, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    edge.post(*history(25))
    store = Store.open(db_path)
    progress: list[tuple[int, int | None]] = []
    source = make_source(edge, store, pipeline, page_size=10)
    result = asyncio.run(source.backfill("@news", limit=12, progress=lambda d, t: progress.append((d, t))))
    assert result.inserted == 12
    assert [r[0] for r in rows(store)] == list(range(14, 26))
    assert store.meta_get("backfill:1") == "14"
    assert progress == [(10, 12), (12, 12), (12, 12)]
    assert checkpoint(store) == 0  # backfill leaves the catch-up range alone
    store.close()

    store = Store.open(db_path)
    source = make_source(edge, store, pipeline, page_size=10)
    since = BASE + timedelta(minutes=5)  # message n is dated BASE + n minutes
    result = asyncio.run(source.backfill("news", since=since))
    assert result.inserted == 9
    assert [r[0] for r in rows(store)] == list(range(5, 26))
    assert store.meta_get("backfill:1") == "5"
    assert [kw["offset_id"] for _, kw in edge.calls] == [0, 16, 14]
    store.close()


def test_backfill_after_a_crash_repeats_only_the_lost_page(db_path: Path, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    edge.post(*history(9), *album(10, ["a", "b", "c"], grouped_id=5), *history(3, start=13))
    store = Store.open(db_path)
    crashing = CrashOnce(store, crash_on=2)
    source = make_source(edge, crashing, pipeline, page_size=4)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        asyncio.run(source.backfill("@news"))
    # first page 12..15: 10-12 is an album that may continue below, so only 13-15 were committed
    assert [r[0] for r in rows(store)] == [13, 14, 15]
    assert store.meta_get("backfill:1") == "13"
    store.close()

    store = Store.open(db_path)
    result = asyncio.run(make_source(edge, store, pipeline, page_size=4).backfill("@news"))
    assert [r[0] for r in rows(store)] == [*range(1, 11), 13, 14, 15]
    assert rows(store)[9] == (10, "a\n\nb\n\nc", "album", 0)
    assert result.inserted == 10 and result.unchanged == 0
    assert store.meta_get("backfill:1") == "1"
    assert asyncio.run(make_source(edge, store, pipeline).backfill("@news")).inserted == 0
    store.close()


def test_backfill_of_an_unknown_channel_names_it(store: Store, pipeline: Pipeline) -> None:
    with pytest.raises(ChannelResolveError, match="cannot resolve @nowhere"):
        asyncio.run(make_source(FakeEdge(), store, pipeline).backfill("@nowhere"))


# ----------------------------------------------------------------------- live


def test_live_new_edit_and_delete_go_through_the_registered_handlers(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    source = make_source(edge, store, pipeline)

    async def scenario() -> None:
        await source.resolve_channels(["@news"])
        source.register_handlers()
        await edge.dispatch_new(message(50, "Talks begin in Brussels"))
        await edge.dispatch_new(message(51, "Other chat", chat=999))  # not watched: ignored
        await edge.dispatch_new(service(52))
        edited = message(
            50,
            "Talks begin in Brussels #Kosovo",
            edit_date=BASE + timedelta(hours=1),
            entities=[types.MessageEntityHashtag(offset=24, length=7)],
        )
        await edge.dispatch_edit(edited)
        await edge.dispatch_new(message(53, "To be deleted"))
        await edge.dispatch_delete(1001, [53, 999])
        await edge.dispatch_delete(None, [50])  # Telegram did not say where: cannot be ours

    asyncio.run(scenario())
    assert (len(edge.new_handlers), len(edge.edit_handlers), len(edge.delete_handlers)) == (1, 1, 1)
    assert rows(store) == [
        (50, "Talks begin in Brussels #Kosovo", None, 0),
        (53, "To be deleted", None, 1),
    ]
    assert rows(store, 999) == []
    post = store.search(None, include_deleted=True, limit=10)[-1]
    assert post.message_id == 50 and post.edit_date == BASE + timedelta(hours=1)
    assert ("kosovo", "hashtag") in {(t.key, t.kind) for t in post.tags}
    assert checkpoint(store) == 0  # live never moves the checkpoint: catch-up still reads 50..53
    assert asyncio.run(source.catch_up())["@news"].inserted == 0


def test_live_album_parts_are_buffered_and_saved_as_one_post(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    source = make_source(edge, store, pipeline, album_wait=0.05)
    parts = album(60, ["Flood in Obrenovac", "", "Rescue teams at work"], grouped_id=99)

    async def scenario() -> None:
        await source.resolve_channels(["@news"])
        source.register_handlers()
        for part in parts[:2]:
            await edge.dispatch_new(part)
        assert rows(store) == []  # still buffering
        await asyncio.sleep(0.2)
        assert rows(store) == [(60, "Flood in Obrenovac", "album", 0)]
        await edge.dispatch_new(parts[2])  # a late part re-merges into the same post
        await source.flush_albums()

    asyncio.run(scenario())
    assert rows(store) == [(60, "Flood in Obrenovac\n\nRescue teams at work", "album", 0)]


def test_edit_of_an_old_album_caption_fetches_its_siblings(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    parts = album(70, ["One", "Two"], grouped_id=3)
    edge.post(message(69, "before"), *parts, message(72, "after"))
    asyncio.run(make_source(edge, store, pipeline).resolve_channels(["@news"]))
    asyncio.run(make_source(edge, store, pipeline).catch_up())
    assert rows(store)[1] == (70, "One\n\nTwo", "album", 0)

    source = make_source(edge, store, pipeline)  # a restarted process: no album in memory

    async def scenario() -> None:
        await source.resolve_channels(["@news"])
        source.register_handlers()
        edit = message(71, "Two, corrected", media=parts[1].media, grouped_id=3, edit_date=BASE)
        await edge.dispatch_edit(edit)

    asyncio.run(scenario())
    assert rows(store) == [
        (69, "before", None, 0),
        (70, "One\n\nTwo, corrected", "album", 0),
        (72, "after", None, 0),
    ]
    assert edge.calls[-1][1] == {
        "limit": None,
        "min_id": 61,
        "max_id": 81,
        "offset_id": 0,
        "reverse": False,
    }


def test_run_resolves_listens_and_catches_up_until_stopped(store: Store, pipeline: Pipeline) -> None:
    edge = FakeEdge([NEWS])
    edge.post(*history(2))
    source = make_source(edge, store, pipeline)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(source.run(["@news"], interval=0.01, stop=stop))
        await asyncio.sleep(0.05)
        await edge.dispatch_new(message(3, "Live one"))
        stop.set()
        await task

    asyncio.run(scenario())
    assert [r[0] for r in rows(store)] == [1, 2, 3]
    assert len(edge.new_handlers) == 1
