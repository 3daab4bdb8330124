"""The service's maintenance merges the search indexes back to one segment, a short step at a time.

Live writes leave posts_norm and posts_fts as many FTS5 segments (one per committed batch, merged
only partly by automerge), and every query reads each one. `SearchIndex.merge_step` merges them as
'optimize' would, without holding the write lock for the whole merge.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.corpus import generate
from bot.app.ingest import Ingest
from bot.core.pipeline import Pipeline
from storage.store import Store
from tests.archive_dump import dump
from tests.conftest import assert_literal_index_matches_rows, assert_search_index_matches_rows

pytestmark = pytest.mark.both_backends

QUERIES = ("Serbia", "Лавров", "Сербия", "sanctions energy", '"Foreign Minister"', "🇷🇸")


@pytest.fixture
def live(tmp_path: Path, pipeline: Pipeline) -> Iterator[Store]:
    """An archive filled the way the listener fills one: many small committed batches."""
    store = Store.open(tmp_path / "live.db", pipeline.normaliser)
    Ingest(store, pipeline, None, batch_size=40, workers=0).save(generate(1200))
    yield store
    store.close()


def results(store: Store) -> dict[str, list[int]]:
    return {q: [p.id for p in store.search(q, limit=50)] for q in QUERIES}


@pytest.mark.sqlite_only  # FTS5 segments: PostgreSQL's GIN indexes have none to merge
def test_merge_leaves_one_segment_per_index_and_the_same_answers(live: Store) -> None:
    index = live.search_index
    assert index.segments("posts_norm") > 4 and index.segments("posts_fts") > 4
    before, answers = dump(live), results(live)

    steps = index.merge(pages=50)

    assert steps["posts_norm"] >= 1 and steps["posts_fts"] >= 1
    assert index.segments("posts_norm") == 1 and index.segments("posts_fts") == 1
    assert dump(live) == before  # the same rows and the same vocabularies
    assert results(live) == answers
    assert_search_index_matches_rows(live)
    assert_literal_index_matches_rows(live.db)
    assert index.merge_step() is None, "a merged archive has nothing to do"


@pytest.mark.sqlite_only  # FTS5 segments: PostgreSQL's GIN indexes have none to merge
def test_no_write_lock_is_held_between_steps(live: Store, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "live.db", timeout=0)  # fails at once if the lock were held
    try:
        while (table := live.search_index.merge_step(pages=20)) is not None:
            assert table in ("posts_norm", "posts_fts")
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO meta(key, value) VALUES ('probe', 'x') ON CONFLICT(key) DO NOTHING")
            other.rollback()
    finally:
        other.close()


@pytest.mark.sqlite_only  # FTS5 segments: PostgreSQL's GIN indexes have none to merge
def test_merge_stops_at_its_budget_and_the_next_run_finishes(live: Store) -> None:
    ticks = iter(range(1000))
    steps = live.search_index.merge(budget=2, pages=20, clock=lambda: float(next(ticks)))
    assert sum(steps.values()) == 1  # one step fits in the budget (the clock moves one second a call)
    assert live.search_index.segments("posts_norm") > 1 or live.search_index.segments("posts_fts") > 1
    live.search_index.merge(pages=20)
    assert live.search_index.segments("posts_norm") == 1 and live.search_index.segments("posts_fts") == 1


@pytest.mark.sqlite_only  # FTS5's segments
def test_a_batch_of_new_posts_is_one_segment_of_each_index(tmp_path: Path, pipeline: Pipeline) -> None:
    """New posts go in as one statement per batch: FTS5 flushes its pending terms to a new segment at
    every statement savepoint, so row-by-row inserts made each post a segment of both indexes (and
    automerge rewrote them); a batch is now one segment, whose rows are the per-post path's."""
    store = Store.open(tmp_path / "batch.db", pipeline.normaliser)
    try:
        Ingest(store, pipeline, None, batch_size=200, workers=0).save(generate(200))
        assert store.search_index.segments("posts_fts") == 1
        assert store.search_index.segments("posts_norm") == 1
        assert_search_index_matches_rows(store)
    finally:
        store.close()


def test_maintenance_changes_no_answer_and_finishes(live: Store) -> None:
    """What the service's maintenance runs, on either engine: afterwards the same rows and answers,
    and nothing left to do (on PostgreSQL there never is: GIN keeps one tree per lexeme)."""
    before, answers = dump(live), results(live)
    live.search_index.merge(pages=50)
    assert dump(live) == before and results(live) == answers
    assert live.search_index.merge_step() is None
    assert_search_index_matches_rows(live)
    assert_literal_index_matches_rows(live.db)
