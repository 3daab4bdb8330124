from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.listing import find_items
from bot.core.articles import ArticleContent
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, Forward, Tag
from storage.db import SCHEMA_VERSION, open_db, schema_version
from storage.store import QueryError, Store
from tests.conftest import (
    drop_carried_flag,
    drop_charts_index,
    drop_post_facts,
    drop_search_index,
    drop_sinks_schema,
    raw_post,
)

pytestmark = pytest.mark.both_backends

pytestmark = pytest.mark.both_backends

pytestmark = pytest.mark.both_backends

MFA = Forward(channel_id=555, message_id=9001, name="Russian MFA 🇷🇺")
SERBIA = "Lavrov met President Vucic of Serbia to discuss Kosovo and Resolution 1244.\n#RussiaSerbia"


def test_open_creates_schema_wal_and_fts(tmp_path: Path) -> None:
    from tests.conftest import is_postgresql

    db = open_db(tmp_path / "a.db")
    assert schema_version(db) == SCHEMA_VERSION
    if not is_postgresql(db):
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"channels", "posts", "post_tags", "posts_fts", "subscriptions", "digests"} <= set(db.table_names())
    assert "sightings" in db.view_names()
    db.conn.close()
    # reopening migrates nothing and keeps the version
    assert schema_version(open_db(tmp_path / "a.db")) == SCHEMA_VERSION


def test_save_is_idempotent_and_indexes_every_row(store: Store, pipeline: Pipeline) -> None:
    posts = [pipeline.process(raw_post(i, f"{SERBIA} number {i}")) for i in range(1, 4)]
    first = store.save_posts(posts)
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    before = store.dump_json()
    again = store.save_posts(posts)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert store.dump_json() == before
    assert [p.message_id for p in store.search("vucic")] == [3, 2, 1]
    from tests.conftest import assert_literal_index_matches_rows

    assert_literal_index_matches_rows(store.db)


def test_edit_updates_text_tags_and_index(store: Store, pipeline: Pipeline) -> None:
    store.save_posts([pipeline.process(raw_post(7, SERBIA))])
    edited = raw_post(
        7,
        "Lavrov met the Iranian foreign minister in Tehran.",
        edit_date=datetime(2026, 11, 20, 9, tzinfo=UTC),
    )
    result = store.save_posts([pipeline.process(edited)])
    assert result.updated == 1
    assert store.search("vucic") == []
    [post] = store.search("tehran")
    assert {t.key for t in post.tags} >= {"iran", "en"}
    assert "russiaserbia" not in {t.key for t in post.tags}
    assert post.edit_date == datetime(2026, 11, 20, 9, tzinfo=UTC)


def test_forwards_of_one_origin_are_sightings(store: Store, pipeline: Pipeline) -> None:
    channels = [ChannelRef(tg_id=10 + n, username=f"relay{n}") for n in range(3)]
    store.save_posts(
        [pipeline.process(raw_post(100 + n, SERBIA, channel=c, forward=MFA)) for n, c in enumerate(channels)]
    )
    sightings = store.sightings("tg:555/9001")
    assert [s[1] for s in sightings] == [100, 101, 102]
    assert store.stats()["items"] == 1


def test_checkpoint_moves_only_with_committed_posts(store: Store, pipeline: Pipeline) -> None:
    channel = ChannelRef(tg_id=1001, username="watcher")
    good = pipeline.process(raw_post(5, SERBIA))
    store.save_posts([good], checkpoint=(channel, 5))
    channel_id = store.ensure_channel(channel)
    assert store.checkpoint(channel_id) == 5

    class Boom(Exception):
        pass

    def exploding():
        yield pipeline.process(raw_post(6, "Serbia news six"))
        raise Boom

    with pytest.raises(Boom):
        store.save_posts(exploding(), checkpoint=(channel, 6))
    assert store.checkpoint(channel_id) == 5
    assert [p.message_id for p in store.search(None)] == [5]


def test_deleted_posts_are_flagged_not_erased(store: Store, pipeline: Pipeline) -> None:
    store.save_posts([pipeline.process(raw_post(i, f"{SERBIA} {i}")) for i in (1, 2)])
    assert store.mark_deleted(ChannelRef(tg_id=1001), [2]) == 1
    assert [p.message_id for p in store.search("serbia")] == [1]
    assert [p.message_id for p in store.search("serbia", include_deleted=True)] == [2, 1]


def test_channel_found_by_id_or_username(store: Store) -> None:
    by_name = store.ensure_channel(ChannelRef(username="MFA_Russia"))
    by_both = store.ensure_channel(ChannelRef(tg_id=555, username="mfa_russia", title="Russian MFA"))
    assert by_name == by_both
    for ident in ("@mfa_russia", "mfa_russia", "https://t.me/mfa_russia", "t.me/s/mfa_russia", 555, "555"):
        found = store.find_channel(ident)
        assert found is not None and found.id == by_name, ident
    assert store.find_channel("@nobody") is None


@pytest.mark.parametrize("query", ['"', "NEAR(", "*", "-", 'Kosovo "unbalanced', "AND OR NOT", "a:b", "(((", "^"])
def test_hostile_queries_are_quoted(store: Store, pipeline: Pipeline, query: str) -> None:
    store.save_posts([pipeline.process(raw_post(1, SERBIA))])
    try:
        store.search(query)
    except QueryError as error:  # empty, or a syntax error of the rule language naming its position
        assert "empty" in str(error) or re.search(r" at \d+", str(error)), error


def test_search_filters_tag_channel_since_and_pages(store: Store, pipeline: Pipeline) -> None:
    base = datetime(2026, 11, 1, tzinfo=UTC)
    other = ChannelRef(tg_id=2002, username="other")
    store.save_posts(
        [pipeline.process(raw_post(i, f"{SERBIA} item {i}", date=base + timedelta(days=i))) for i in range(1, 11)]
        + [pipeline.process(raw_post(1, "Iran and China signed a deal.", channel=other, date=base))]
    )
    assert [p.message_id for p in store.search("serbia", limit=3)] == [10, 9, 8]
    assert [p.message_id for p in store.search("serbia", limit=3, offset=3)] == [7, 6, 5]
    assert [p.message_id for p in store.search(None, tags=["#RussiaSerbia"], since=base + timedelta(days=9))] == [10, 9]
    assert [p.channel_username for p in store.search(None, channel="@other")] == ["other"]
    assert [p.message_id for p in store.search(None, tags=["china"])] == [1]
    with pytest.raises(QueryError, match="unknown channel"):
        store.search("x", channel="@missing")


def test_cyrillic_search_folds_case(store: Store, pipeline: Pipeline) -> None:
    store.save_posts([pipeline.process(raw_post(1, "СЪРБИЯ и Русия подписаха споразумение."))])
    assert len(store.search("сърбия")) == 1
    assert len(store.search("Сърбия")) == 1


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    db = open_db(path)
    db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    db.conn.commit()
    db.conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        open_db(path)


def test_tags_are_read_in_display_order_from_the_row(store: Store, pipeline: Pipeline) -> None:
    store.save_posts([pipeline.process(raw_post(1, SERBIA + " #Balkans"))])
    [post] = store.search("vucic")
    kinds = [t.kind for t in post.tags]
    assert kinds == sorted(kinds, key={"hashtag": 0, "topic": 1, "lang": 2}.__getitem__)
    assert [t.display for t in post.tags if t.kind == "hashtag"] == ["#Balkans", "#RussiaSerbia"]
    # the row's copy and post_tags, the table every tag query reads, say the same
    listed = store.db.execute("SELECT tag, kind, display FROM post_tags WHERE post_id = ?", [post.id]).fetchall()
    assert sorted(listed) == sorted((t.key, t.kind, t.display) for t in post.tags)


def test_changed_keyword_rules_retag_on_reimport(store: Store, pipeline: Pipeline) -> None:
    post = pipeline.process(raw_post(1, SERBIA))
    store.save_posts([post])
    retagged = replace(post, tags=(*post.tags, Tag("montenegro", "Montenegro", "topic")))
    assert store.save_posts([retagged]).updated == 1
    [found] = store.search("vucic")
    assert "montenegro" in {t.key for t in found.tags}
    assert store.search(None, tags=["montenegro"]) == [found]


@pytest.mark.sqlite_only  # a PostgreSQL archive begins at schema 10 (storage/pg/schema.py): no older one exists
def test_version_2_archive_gets_tag_lists_on_upgrade(tmp_path: Path, pipeline: Pipeline) -> None:
    path = tmp_path / "old.db"
    store = Store.open(path)
    posts = [pipeline.process(raw_post(i, f"{SERBIA} number {i}")) for i in range(1, 4)]
    store.save_posts(posts)
    expected = [p.tags for p in store.search("vucic")]
    # Turn it into what tgmonitor with schema 2 wrote: no tag_list column, nothing of later versions.
    drop_search_index(store)
    for sql in (
        "DROP TABLE edit_alerts",
        "DROP TABLE post_versions",
        "DROP INDEX posts_deleted_at",
        "ALTER TABLE posts DROP COLUMN deleted_at",
        "ALTER TABLE posts DROP COLUMN text_seen_at",
    ):
        store.db.execute(sql)
    store.db.execute("ALTER TABLE posts DROP COLUMN tag_list")
    store.db.execute("ALTER TABLE subscriptions DROP COLUMN subscriber_id")
    store.db.execute("ALTER TABLE subscriptions DROP COLUMN paused_at")
    for table in ("articles_fts", "post_articles", "articles"):  # nor the linked articles of schema 6
        store.db.execute(f"DROP TABLE {table}")
    drop_carried_flag(store)  # the carried flag's schema
    drop_sinks_schema(store)  # schema 10
    drop_post_facts(store)  # senders, hidden links, approximate times
    drop_charts_index(store)  # nor the charts' index of schema 8
    store.db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    store.db.conn.commit()
    store.close()

    upgraded = Store.open(path)
    assert schema_version(upgraded.db) == SCHEMA_VERSION
    assert [p.tags for p in upgraded.search("vucic")] == expected
    assert "posts_keys" in {index.name for index in upgraded.db["posts"].indexes}  # built by the upgrade
    before = upgraded.dump_json()
    assert upgraded.save_posts(posts).unchanged == 3  # what the upgrade wrote is what a save writes
    assert upgraded.dump_json() == before


@pytest.mark.parametrize(
    ("many", "few", "late", "deep"),
    [
        (1, 10**9, 0, -1),
        (10**9, 10**9, 0, -1),
        (10**9, 1, 10**9, 10**9),
        (1, 1, 0, 10**9),
        (10**9, 1, 10**9, -1),
    ],
    ids=[
        "walk-the-date-index",
        "sort-the-few",
        "rowid-order-plus-late-posts",
        "too-many-late-posts",
        "too-deep-to-look-then-counted",
    ],
)
def test_listings_are_newest_first_by_date_whatever_the_archive_order(
    store: Store, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, many: int, few: int, late: int, deep: int
) -> None:
    """Live posts first, then an imported history of older ones: ids no longer follow dates."""
    monkeypatch.setattr("storage.search._MANY", many)  # every query plan gives the same answer
    monkeypatch.setattr("storage.search_newest._FEW", few)
    monkeypatch.setattr("storage.search_newest._LATE", late)
    monkeypatch.setattr("storage.search_newest._DEEP", deep)  # -1: never look for late posts in the page's statement
    other = ChannelRef(tg_id=2002, username="other", title="Other")
    day = datetime(2026, 11, 20, tzinfo=UTC)
    live = [raw_post(100 + i, f"Kosovo update {i} #Live", date=day + timedelta(hours=i)) for i in range(3)]
    history = [raw_post(i, f"Kosovo archive {i} #Old", date=day - timedelta(days=10 - i)) for i in range(3)]
    elsewhere = [raw_post(7, "Kosovo elsewhere #Live", channel=other, date=day + timedelta(hours=1, minutes=30))]
    store.save_posts([pipeline.process(r) for r in live + history + elsewhere])

    def dates(**kwargs: object) -> list[datetime]:
        return [p.date for p in store.search(None, **kwargs)]  # type: ignore[arg-type]

    everything = dates(limit=50)
    assert everything == sorted(everything, reverse=True) and len(everything) == 7
    assert dates(limit=2) == everything[:2]
    assert dates(limit=2, offset=2) == everything[2:4]
    assert dates(tags=["#live"]) == sorted([p.date for p in live + elsewhere], reverse=True)
    assert dates(tags=["old"], limit=2) == [day - timedelta(days=8), day - timedelta(days=9)]
    assert dates(channel="@other") == [elsewhere[0].date]
    assert dates(channel="@watcher", tags=["old"]) == sorted([p.date for p in history], reverse=True)
    # with a query, tags and channel filter the same way
    assert {p.message_id for p in store.search("kosovo", tags=["live"], channel="@watcher")} == {100, 101, 102}
    # and a query's matches are newest first by date too, not by archive order (issue 35.1)
    searched = [p.date for p in store.search("kosovo", limit=50)]
    assert searched == everything
    assert [p.date for p in store.search("kosovo", limit=3, offset=2)] == everything[2:5]
    assert [p.date for p in store.search('"Kosovo archive"', limit=50)] == sorted(
        [p.date for p in history], reverse=True
    )  # the exact-phrase plan
    assert [p.date for p in store.search("kosovo", order="oldest", limit=50)] == everything[::-1]
    # items (copies folded) are placed by their newest post's date: bot, CLI and web list them so
    items, _ = find_items(store, offset=0, limit=10, query="kosovo")
    assert [max(p.date for p in item.posts) for item in items] == everything


@pytest.mark.parametrize(
    ("few", "late", "deep"),
    [(10**9, 0, -1), (1, 10**9, 10**9), (1, 0, 10**9), (1, 10**9, -1)],
    ids=["sort-the-few", "rowid-order-plus-late-posts", "too-many-late-posts", "too-deep-to-look-then-counted"],
)
def test_posts_found_through_their_article_merge_into_the_newest_first_order(
    store: Store, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, few: int, late: int, deep: int
) -> None:
    """A word in a linked article finds the post too: that stream and the posts' own matches (each plan
    of storage/search_newest.py, on an archive whose ids do not follow dates) make one page by date."""
    monkeypatch.setattr("storage.search_newest._FEW", few)
    monkeypatch.setattr("storage.search_newest._LATE", late)
    monkeypatch.setattr("storage.search_newest._DEEP", deep)
    day = datetime(2026, 11, 20, tzinfo=UTC)
    live = [raw_post(100 + i, f"Kosovo update {i}", date=day + timedelta(hours=2 * i)) for i in range(4)]
    linking = raw_post(200, "Read this https://example.org/story", date=day + timedelta(hours=3))
    history = [raw_post(i, f"Kosovo archive {i}", date=day - timedelta(days=10 - i)) for i in range(4)]
    saved = store.save_posts([pipeline.process(r) for r in [*live, linking, *history]])
    assert saved.inserted == 9
    (article_id,) = [r[0] for r in store.db.execute("SELECT id FROM articles").fetchall()]
    content = ArticleContent("Energy talks on Kosovo resumed.", "Talks", None, None, None, "en", (), "h1", None)
    store.articles.save_done(
        article_id,
        content,
        now=day,
        final_url="https://example.org/story",
        http_status=200,
        etag=None,
        last_modified=None,
    )
    dates = sorted([p.date for p in [*live, linking, *history]], reverse=True)
    found = store.search("kosovo", limit=50)
    assert [p.date for p in found] == dates
    assert [p.message_id for p in found if p.article_match is not None] == [200]
    assert [p.date for p in store.search("kosovo", limit=3)] == dates[:3]
    assert [p.date for p in store.search("kosovo", limit=3, offset=3)] == dates[3:6]
    assert [p.date for p in store.search("kosovo", order="oldest", limit=50)] == dates[::-1]


def test_limits_and_offsets_up_to_64_bits_answer(store: Store, pipeline: Pipeline) -> None:
    """`tgmonitor search --limit/--offset` take up to 2**63 - 1; their sum overflowed SQLite's integers."""
    store.save_posts([pipeline.process(raw_post(i, f"Kosovo talks, round {i}")) for i in (1, 2, 3)])
    most = 2**63 - 1
    for order in ("newest", "rank", "oldest"):
        assert len(store.search("Kosovo", limit=most, order=order)) == 3
        assert store.search("Kosovo", limit=most, offset=most, order=order) == []
        assert len(store.search(None, limit=most, offset=1, order=order)) == 2
    items, more = find_items(store, offset=most, limit=most, query="Kosovo")
    assert items == [] and not more
    assert len(find_items(store, offset=0, limit=most, query="Kosovo")[0]) >= 1
