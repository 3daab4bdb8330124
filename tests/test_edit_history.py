"""Edit history and deletions: every earlier text kept, from every source, and nothing for a re-read.

Store rules on real SQLite; then each source end to end: Telethon updates through Telethon's own event
dispatch (real `UpdateEditChannelMessage` / `UpdateDeleteChannelMessages`), the listener's catch-up
re-check, the web preview re-serving a page with an edited post from a real local HTTP server, and a
Desktop export re-imported with an edited message.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from telethon import TelegramClient
from telethon.sessions import MemorySession
from telethon.tl import types

from bot.cli import main
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, PostChange, PostVersion, Tag
from bot.sources.telethon_source import TelethonSource
from bot.sources.web_preview import WebPreviewSource
from bot.telegram.client import TelethonClientEdge
from storage.store import Store
from tests.conftest import (
    drop_carried_flag,
    drop_charts_index,
    drop_post_facts,
    drop_search_index,
    drop_sinks_schema,
    make_ingest,
    raw_post,
)
from tests.test_web_preview_source import NEWEST, FakeTme, Reply, tme  # noqa: F401  (fixture)
from tests.tg_factory import BASE, FakeEdge, SleepRecorder, channel, message

pytestmark = pytest.mark.both_backends

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STATEMENT = "Serbia will not introduce sanctions against Russia, President Vucic said in Belgrade."
EDITED = "Serbia will introduce sanctions against Russia, President Vucic said in Belgrade on Friday."


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(store: Store) -> Clock:
    fixed = Clock(NOW)
    store.clock = fixed
    return fixed


def versions_rows(store: Store) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in store.db.execute(
            "SELECT post_id, version, text, raw_text, edit_date, seen_at, replaced_at FROM post_versions "
            "ORDER BY post_id, version"
        )
    ]


# ---------------------------------------------------------------------------------------- the store


def test_an_edit_keeps_the_earlier_text_with_its_dates(store: Store, pipeline: Pipeline, clock: Clock) -> None:
    ingest = make_ingest(store, pipeline)
    (post_id,) = ingest.save([raw_post(7, STATEMENT)]).new_ids
    clock.now = NOW + timedelta(hours=1)
    edited_at = datetime(2026, 11, 20, 12, 50, tzinfo=UTC)
    result = ingest.save([raw_post(7, EDITED, edit_date=edited_at)])
    assert (result.updated, result.updated_ids) == (1, (post_id,))
    assert versions_rows(store) == [
        (post_id, 1, STATEMENT, STATEMENT, None, "2026-11-20T12:00:00+00:00", "2026-11-20T13:00:00+00:00")
    ]
    assert store.versions(post_id) == [
        PostVersion(post_id, 1, STATEMENT, STATEMENT, None, NOW, NOW + timedelta(hours=1)),
        PostVersion(post_id, 2, EDITED, EDITED, edited_at, NOW + timedelta(hours=1)),
    ]
    assert store.changes_of([post_id]) == [PostChange(post_id, 2, NOW + timedelta(hours=1), edited_at)]
    # the current text is what search and digests read; the earlier one is not searchable
    assert [p.id for p in store.search("Friday")] == [post_id]
    assert store.search("not introduce") == []

    clock.now = NOW + timedelta(hours=2)
    third = "Serbia will introduce sanctions in 2027, President Vucic said."
    ingest.save([raw_post(7, third, edit_date=edited_at + timedelta(hours=1))])
    assert [(v.number, v.text, v.edit_date) for v in store.versions(post_id)] == [
        (1, STATEMENT, None),
        (2, EDITED, edited_at),
        (3, third, edited_at + timedelta(hours=1)),
    ]
    assert [c.version for c in store.changes_of([post_id])] == [2, 3]
    assert store.changes_of([post_id])[1].edit_date == edited_at + timedelta(hours=1)


def test_rereading_an_unchanged_post_adds_no_version(store: Store, pipeline: Pipeline, clock: Clock) -> None:
    ingest = make_ingest(store, pipeline)
    raw = raw_post(7, STATEMENT + "\n\n#RussiaSerbia", views=10)
    ingest.save([raw])
    before = store.dump_json()
    assert ingest.save([raw]).unchanged == 1
    assert store.dump_json() == before
    # A new view count is written, but it is no edit: no version, nothing to re-sign for near-duplicates.
    counted = ingest.save([replace(raw, views=99)])
    assert (counted.updated, counted.updated_ids) == (1, ())
    # Spacing is not wording: the web preview collapses what Telegram keeps.
    spaced = (
        "Serbia  will not introduce sanctions against Russia,\nPresident Vucic said in Belgrade.\n\n\n#RussiaSerbia "
    )
    respaced = replace(raw, text=spaced)
    assert ingest.save([respaced]).updated == 1
    assert versions_rows(store) == []


def test_a_reimport_that_only_retags_is_not_a_version(store: Store, pipeline: Pipeline, clock: Clock) -> None:
    post = pipeline.process(raw_post(1, STATEMENT))
    store.save_posts([post])
    retagged = replace(post, tags=(*post.tags, Tag("montenegro", "Montenegro", "topic")), text=post.text + " ")
    assert store.save_posts([retagged]).updated == 1
    assert versions_rows(store) == []
    [found] = store.search(None, tags=["montenegro"])
    assert store.versions(found.id)[0].number == 1 and store.versions(found.id)[0].current


def test_an_older_state_never_overwrites_a_newer_one(store: Store, pipeline: Pipeline, clock: Clock) -> None:
    """An export made before the edit the listener already saw is history, not an edit back."""
    ingest = make_ingest(store, pipeline)
    edited_at = NOW - timedelta(minutes=30)
    ingest.save([raw_post(7, EDITED, edit_date=edited_at)])
    before = store.dump_json()
    assert ingest.save([raw_post(7, STATEMENT)]).unchanged == 1  # no edit date: from before any edit
    assert ingest.save([raw_post(7, "An even older text", edit_date=edited_at - timedelta(minutes=5))]).unchanged == 1
    assert store.dump_json() == before and versions_rows(store) == []
    # A Telegram edit that touched only the media keeps the text and moves the edit date forward, but
    # an edit date never moves back when sources disagree.
    ingest.save([raw_post(7, EDITED, edit_date=edited_at + timedelta(minutes=5))])
    ingest.save([raw_post(7, EDITED, edit_date=edited_at)])
    [post] = store.search(None)
    assert post.edit_date == edited_at + timedelta(minutes=5) and versions_rows(store) == []


def test_a_deletion_keeps_the_text_and_when_it_was_noticed(store: Store, pipeline: Pipeline, clock: Clock) -> None:
    (post_id,) = make_ingest(store, pipeline).save([raw_post(7, STATEMENT)]).new_ids
    clock.now = NOW + timedelta(hours=3)
    assert store.mark_deleted(ChannelRef(tg_id=1001), [7, 8]) == 1
    clock.now = NOW + timedelta(hours=4)
    assert store.mark_deleted(ChannelRef(tg_id=1001), [7]) == 0  # told twice: the first time stays
    row = store.db.execute("SELECT deleted, deleted_at, text FROM posts WHERE id = ?", [post_id]).fetchone()
    assert tuple(row) == (1, "2026-11-20T15:00:00+00:00", STATEMENT)
    assert store.changes_of([post_id]) == [PostChange(post_id, 0, NOW + timedelta(hours=3))]
    post = store.get_post(post_id)
    assert post is not None and post.deleted and post.text == STATEMENT
    assert store.search("sanctions") == [] and len(store.search("sanctions", include_deleted=True)) == 1


@pytest.mark.sqlite_only  # a PostgreSQL archive begins at schema 10 (storage/pg/schema.py): no v4 exists
def test_an_archive_from_before_gets_the_tables_and_keeps_its_posts(tmp_path: Path, pipeline: Pipeline) -> None:
    path = tmp_path / "v4.db"
    store = Store.open(path)
    make_ingest(store, pipeline).save([raw_post(7, STATEMENT)])
    store.mark_deleted(ChannelRef(tg_id=1001), [7])
    drop_carried_flag(store)  # the carried flag's schema
    drop_sinks_schema(store)  # schema 10
    drop_post_facts(store)  # senders, hidden links, approximate times
    drop_charts_index(store)  # schema 8
    drop_search_index(store)  # schema 7
    for sql in (
        "DROP TABLE edit_alerts",
        "DROP TABLE post_versions",
        "DROP INDEX posts_deleted_at",
        "ALTER TABLE posts DROP COLUMN deleted_at",
        "ALTER TABLE posts DROP COLUMN text_seen_at",
        "DROP TABLE articles_fts",  # and the linked articles of schema 6
        "DROP TABLE post_articles",
        "DROP TABLE articles",
        "UPDATE meta SET value = '4' WHERE key = 'schema_version'",
    ):
        store.db.execute(sql)
    store.db.conn.commit()
    store.close()

    upgraded = Store.open(path)
    [post] = upgraded.search(None, include_deleted=True)
    assert post.deleted and upgraded.changes_of([post.id]) == []  # when it was deleted is unknown
    [only] = upgraded.versions(post.id)
    assert (only.number, only.text, only.seen_at, only.current) == (1, STATEMENT, None, True)
    upgraded.close()


# ------------------------------------------------------------------------- Telethon (live and catch-up)

API = {"api_id": 12345, "api_hash": "0123456789abcdef0123456789abcdef"}


def telethon_source(store: Store, pipeline: Pipeline, edge: Any, **options: Any) -> TelethonSource:
    return TelethonSource(edge, make_ingest(store, pipeline), store, sleep=SleepRecorder(), album_wait=0, **options)


def test_telethon_edit_and_delete_updates_through_telethons_own_dispatch(
    store: Store, pipeline: Pipeline, clock: Clock
) -> None:
    """Real TL updates, parsed and filtered by Telethon's event builders, into the archive."""
    client = TelegramClient(MemorySession(), API["api_id"], API["api_hash"])
    client._mb_entity_cache.set_self_user(42, False, 0)  # what a logged-in session knows: no get_me call
    client_edge = TelethonClientEdge(client)
    history = FakeEdge([channel(1001, "news", "Daily News")])
    # Reads (resolving the channel) go to the fake history; events come from the real client.
    client_edge.iter_messages = history.iter_messages  # type: ignore[method-assign]
    client_edge.get_entity = history.get_entity  # type: ignore[method-assign]
    source = telethon_source(store, pipeline, client_edge)
    edited_at = BASE + timedelta(hours=2)

    async def deliver(update: Any) -> None:
        update._entities = {}
        await client._dispatch_update(update)

    async def scenario() -> None:
        await source.resolve_channels(["@news"])
        source.register_handlers()
        await deliver(types.UpdateNewChannelMessage(message(50, STATEMENT), pts=1, pts_count=1))
        await deliver(types.UpdateNewChannelMessage(message(51, "Weather in Belgrade: sunny."), pts=2, pts_count=1))
        clock.now = NOW + timedelta(minutes=5)
        edit = message(50, EDITED, edit_date=edited_at)
        await deliver(types.UpdateEditChannelMessage(edit, pts=3, pts_count=1))
        await deliver(types.UpdateEditChannelMessage(edit, pts=4, pts_count=1))  # delivered twice: one version
        clock.now = NOW + timedelta(minutes=9)
        await deliver(types.UpdateDeleteChannelMessages(channel_id=1001, messages=[51, 77], pts=5, pts_count=2))
        await deliver(types.UpdateDeleteChannelMessages(channel_id=999, messages=[50], pts=1, pts_count=1))

    asyncio.run(scenario())
    ids = dict(store.db.execute("SELECT message_id, id FROM posts").fetchall())
    assert [(v.number, v.text, v.edit_date) for v in store.versions(ids[50])] == [
        (1, STATEMENT, None),
        (2, EDITED, edited_at),
    ]
    assert store.changes_of(ids.values()) == [
        PostChange(ids[50], 2, NOW + timedelta(minutes=5), edited_at),
        PostChange(ids[51], 0, NOW + timedelta(minutes=9)),
    ]
    gone = store.get_post(ids[51])
    assert gone is not None and gone.deleted and gone.text == "Weather in Belgrade: sunny."


def test_catch_up_recheck_finds_an_edit_whose_update_was_missed(store: Store, pipeline: Pipeline, clock: Clock) -> None:
    edge = FakeEdge([channel(1001, "news", "Daily News")])
    edge.post(*[message(i, f"Report {i} from Novi Sad") for i in range(1, 6)])
    source = telethon_source(store, pipeline, edge, recheck=3)
    asyncio.run(source.resolve_channels(["@news"]))
    asyncio.run(source.catch_up())
    # Offline: message 4 is edited and 6 posted; no update arrives.
    edited_at = BASE + timedelta(hours=1)
    edge.post(message(4, "Report 4 from Novi Sad: 12 injured", edit_date=edited_at), message(6, "Report 6"))
    clock.now = NOW + timedelta(minutes=30)
    result = asyncio.run(source.catch_up())["@news"]
    assert (result.inserted, result.updated, result.unchanged) == (1, 1, 2)
    post_id = store.db.execute("SELECT id FROM posts WHERE message_id = 4").fetchone()[0]
    assert [(v.number, v.text) for v in store.versions(post_id)] == [
        (1, "Report 4 from Novi Sad"),
        (2, "Report 4 from Novi Sad: 12 injured"),
    ]
    recheck = [kw for _, kw in edge.calls if kw["max_id"]]
    assert recheck[-1]["max_id"] == 6 and recheck[-1]["limit"] == 3  # the newest 3 at or below checkpoint 5
    assert store.checkpoint(store.ensure_channel(ChannelRef(tg_id=1001))) == 6
    again = asyncio.run(source.catch_up())["@news"]
    assert (again.inserted, again.updated) == (0, 0) and len(store.versions(post_id)) == 2


# ------------------------------------------------------------------------------------- web preview

EDITED_2040 = (
    NEWEST.replace("растянулась на 5 км".encode(), "растянулась на 12 км".encode())
    .replace(
        b'<span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" '
        b'href="https://t.me/balkan_watch/2040">',
        b'<span class="tgme_widget_message_meta">edited &nbsp;<a class="tgme_widget_message_date" '
        b'href="https://t.me/balkan_watch/2040">',
    )
    .replace(b">21.7K<", b">25K<")
)


def test_web_preview_repoll_records_the_edited_post_and_only_it(
    tme: FakeTme,  # noqa: F811
    store: Store,
    pipeline: Pipeline,
    clock: Clock,
) -> None:
    assert EDITED_2040.count("12 км".encode()) >= 1 and EDITED_2040 != NEWEST
    tme.routes["/s/balkan_watch"] = [Reply(200, NEWEST), Reply(200, NEWEST), Reply(200, EDITED_2040)]

    async def poll() -> Any:
        async with httpx.AsyncClient() as client:
            web = WebPreviewSource(
                client,
                make_ingest(store, pipeline),
                store,
                base_url=tme.base_url,
                user_agent="t",
                sleep=SleepRecorder(),
            )
            return await web.poll("balkan_watch")

    first = asyncio.run(poll())
    assert first.inserted == 8
    assert asyncio.run(poll()).unchanged == 8  # the same page again: nothing changed, no version
    clock.now = NOW + timedelta(minutes=5)
    third = asyncio.run(poll())
    assert (third.inserted, third.updated, third.unchanged) == (0, 2, 6)  # 2040 edited, 2041's views
    ids = dict(store.db.execute("SELECT message_id, id FROM posts").fetchall())
    assert len(third.updated_ids) == 1 and third.updated_ids[0] == ids[2040]  # views are no edit
    versions = store.versions(ids[2040])
    assert [v.text.split(" 🚛")[0] for v in versions] == [
        "Очередь на границе Кулата — Промахон растянулась на 5 км",
        "Очередь на границе Кулата — Промахон растянулась на 12 км",
    ]
    # The page says only *that* it was edited: the post's date stands in, and the edit's time is when
    # the archive noticed it.
    post = store.get_post(ids[2040])
    assert post is not None and versions[1].edit_date == post.date
    assert store.changes_of([ids[2040]])[0].noticed_at == NOW + timedelta(minutes=5)
    assert [r[1] for r in versions_rows(store)] == [1]


# ---------------------------------------------------------------------------------- Desktop export

EXPORT: dict[str, Any] = {
    "name": "Balkan Relay",
    "type": "public_channel",
    "id": 1500000001,
    "messages": [
        {
            "id": 2,
            "type": "message",
            "date": "2026-11-19T10:05:00",
            "text": "Lavrov and Vucic discussed gas supplies for 2026.",
        },
        {"id": 3, "type": "message", "date": "2026-11-19T11:00:00", "text": "Belgrade weather: sunny."},
    ],
}


def test_desktop_export_reimported_with_an_edited_message(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    cli = ["--db", str(db), "import"]
    export = tmp_path / "result.json"
    export.write_text(json.dumps(EXPORT), encoding="utf-8")
    assert main([*cli, str(export)]) == 0
    assert main([*cli, str(export)]) == 0  # the same export again: no version

    later = json.loads(json.dumps(EXPORT))
    later["messages"][0].update(
        text="Lavrov and Vucic discussed gas supplies for 2027.",
        edited="2026-11-19T12:00:00",
        edited_unixtime=str(int(datetime(2026, 11, 19, 12, 0, tzinfo=UTC).timestamp())),
    )
    export.write_text(json.dumps(later), encoding="utf-8")
    assert main([*cli, str(export)]) == 0
    assert main([*cli, str(export)]) == 0

    store = Store.open(db)
    try:
        rows = store.db.execute("SELECT post_id, version, text, edit_date FROM post_versions").fetchall()
        assert [tuple(r)[1:] for r in rows] == [(1, "Lavrov and Vucic discussed gas supplies for 2026.", None)]
        [current] = [v for v in store.versions(rows[0][0]) if v.current]
        assert current.text.endswith("2027.") and current.edit_date == datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
        # The first export again (made before the edit): an older state, ignored.
        export.write_text(json.dumps(EXPORT), encoding="utf-8")
        assert main([*cli, str(export)]) == 0
        assert len(store.db.execute("SELECT * FROM post_versions").fetchall()) == 1
        assert store.get_post(rows[0][0]).text.endswith("2027.")  # type: ignore[union-attr]
    finally:
        store.close()
