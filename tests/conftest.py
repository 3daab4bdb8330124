from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app.channel_boilerplate import LearnedBoilerplate
from bot.app.ingest import Ingest
from bot.app.neardup_index import NearDupIndex
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, Forward, RawPost
from storage.store import Store
from tests.pg_backend import _archives_on_postgresql, deselect_sqlite_only, pg_archives  # noqa: F401
from tests.pg_server import pg_server  # noqa: F401

DATA = Path(__file__).parent / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    deselect_sqlite_only(items, config)


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    return Pipeline.load()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "archive.db")
    yield opened
    opened.close()


def make_ingest(store: Store, pipeline: Pipeline, *, neardup: bool = True, batch_size: int = 500) -> Ingest:
    """The archive's one way in, wired as `bot.app.archive.Archive` wires it."""
    index = NearDupIndex(store, boilerplate=LearnedBoilerplate(store)) if neardup else None
    return Ingest(store, pipeline, index, batch_size=batch_size)


def raw_post(
    message_id: int,
    text: str,
    *,
    channel: ChannelRef | None = None,
    date: datetime | None = None,
    forward: Forward | None = None,
    **extra: object,
) -> RawPost:
    return RawPost(
        channel=channel or ChannelRef(tg_id=1001, username="watcher", title="Watcher"),
        message_id=message_id,
        date=date or datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        text=text,
        source="telethon",
        forward=forward,
        **extra,  # type: ignore[arg-type]
    )


def assert_search_index_matches_rows(store: Store) -> None:
    """posts_norm holds exactly each indexed post's tokens, once: FTS5's own check, then every term's
    document count against the tokens the posts' current text gives (a post indexed twice, or
    forgotten with the wrong tokens, shows up here, which integrity-check alone does not see)."""
    from collections import Counter

    if is_postgresql(store.db):  # posts_norm is a table of tsvectors: count each lexeme's rows
        rows = store.db.execute("SELECT tsvector_to_array(tsv) FROM posts_norm").fetchall()
        got = dict(Counter(lexeme for (lexemes,) in rows for lexeme in lexemes))
    else:
        store.db.execute("INSERT INTO posts_norm(posts_norm) VALUES ('integrity-check')")
        store.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.norm_vocab USING fts5vocab(main, posts_norm, 'row')")
        got = dict(store.db.execute("SELECT term, doc FROM temp.norm_vocab").fetchall())
    below = store.search_index.pending_below()
    rows = store.db.execute("SELECT text, lang FROM posts WHERE id >= ?", [below]).fetchall()
    normaliser = store.search_index.normaliser
    expected = Counter(t for text, lang in rows for t in normaliser.index_tokens(text, lang))
    assert got == dict(expected), "search index differs from the posts' tokens"


def is_postgresql(db: object) -> bool:
    """Whether the archive is on PostgreSQL (TGMONITOR_TEST_BACKEND=postgresql, tests/pg_backend.py)."""
    return getattr(db, "dialect", "sqlite") == "postgresql"


def assert_literal_index_matches_rows(db: object) -> None:
    """posts_fts holds every post's current text: FTS5's integrity-check; on PostgreSQL, every
    row's tsvector is the one its text gives, and no post is missing or left over."""
    if is_postgresql(db):
        wrong = db.execute(  # type: ignore[attr-defined]
            "SELECT count(*) FROM posts p FULL JOIN posts_fts f ON f.rowid = p.id "
            "WHERE f.tsv IS DISTINCT FROM to_tsvector('tg_literal', p.text)"
        ).fetchone()[0]
        assert wrong == 0, "posts_fts differs from the posts' text"
    else:
        db.execute("INSERT INTO posts_fts(posts_fts) VALUES('integrity-check')")  # type: ignore[attr-defined]


def drop_search_index(store: Store) -> None:
    """Remove what schema 7 added (posts_norm, its triggers, its meta keys): an archive from before it."""
    for trigger in () if is_postgresql(store.db) else ("posts_norm_ai", "posts_norm_ad", "posts_norm_au"):
        store.db.execute(f"DROP TRIGGER {trigger}")
    store.db.execute("DROP TABLE posts_norm")
    store.db.execute("DELETE FROM meta WHERE key LIKE 'search_norm_%'")


def drop_sinks_schema(store: Store) -> None:
    """Remove what schema 10 added (sinks, per-user rules): an archive from before it."""
    for table in ("sink_deliveries", "sink_state", "alert_rules"):
        store.db.execute(f"DROP TABLE {table}")
    store.db.execute("ALTER TABLE subscriptions DROP COLUMN sinks")
    store.db.execute("ALTER TABLE subscriptions DROP COLUMN rule")


def drop_post_facts(store: Store) -> None:
    """Remove what the senders migration added (posts.sender_name, sender_id, time_approx, text_links)."""
    for column in ("sender_name", "sender_id", "time_approx", "text_links"):
        store.db.execute(f"ALTER TABLE posts DROP COLUMN {column}")


def drop_carried_flag(store: Store) -> None:
    """Remove what the `posts.carried` migration added (storage/carried.py): an archive from before it."""
    store.db.execute("DROP INDEX posts_carried")
    store.db.execute("ALTER TABLE posts DROP COLUMN carried")


def drop_charts_index(store: Store) -> None:
    """Remove what schemas 8 and 9 added (the posts_keys index, posts.forward_date): an archive from
    before them (schema 9's re-marked hashes need no undoing: the upgrade recomputes them)."""
    store.db.execute("DROP INDEX posts_keys")
    store.db.execute("ALTER TABLE posts DROP COLUMN forward_date")
