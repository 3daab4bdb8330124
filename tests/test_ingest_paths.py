"""Every way `Ingest.save` can run writes the same archive, row for row.

The fast path (a worker process running the pipeline and the signatures, batched writes) must store
exactly what the plain path stores: the same posts with the same ids, tags, edit history, linked
articles, checkpoints, near-duplicate signatures, band rows and clusters, and the same search
indexes. The scenario mixes what a real import meets: forwards (repeated texts), posts with article
links, a post saved twice in one batch, re-imports with edited texts and new view counts, and a
checkpoint beyond the last saved post.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.corpus import generate
from bot.app import ingest as ingest_module
from bot.app.channel_boilerplate import LearnedBoilerplate
from bot.app.ingest import Ingest
from bot.app.ingest_worker import PipelineWorker
from bot.app.neardup_index import NearDupIndex
from bot.core.pipeline import Pipeline
from bot.models import RawPost
from storage.store import Store
from tests.archive_dump import dump
from tests.conftest import assert_search_index_matches_rows

pytestmark = pytest.mark.both_backends

CLOCK = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def scenario(count: int = 700) -> Iterator[tuple[list[RawPost], int | None]]:
    """Calls to `save`: (posts, checkpoint upto or None), in order."""
    raws = list(generate(count, posts_per_day=400))
    linked = [
        replace(r, text=r.text + "\n\nhttps://example.org/news/" + str(i), links=(f"https://example.org/news/{i}",))
        if i % 17 == 0
        else r
        for i, r in enumerate(raws)
    ]
    first = linked[: count // 2]
    # the same message twice in one batch: the second is an edit of the first
    twice = replace(first[40], text=first[40].text + " Updated.", edit_date=first[40].date + timedelta(minutes=5))
    yield [*first[:41], twice, *first[41:]], None
    yield linked[count // 2 :], None
    # a re-import: some texts edited, some view counts new, most unchanged
    again = [
        replace(r, text=r.text + " (edited)", edit_date=r.date + timedelta(hours=1))
        if i % 11 == 0
        else replace(r, views=(r.views or 0) + 7)
        if i % 5 == 0
        else r
        for i, r in enumerate(linked[: count // 3])
    ]
    yield again, None
    channel = linked[0].channel
    yield [r for r in linked if r.channel == channel][:5], 10**6  # checkpoint past the last saved


def build(path: Path, pipeline: Pipeline, *, workers: int, batch_size: int, neardup: bool = True) -> Store:
    store = Store.open(path, pipeline.normaliser)
    store.clock = lambda: CLOCK
    index = NearDupIndex(store, boilerplate=LearnedBoilerplate(store)) if neardup else None
    ingest = Ingest(store, pipeline, index, batch_size=batch_size, workers=workers)
    for raws, upto in scenario():
        checkpoint = (raws[0].channel, upto) if upto is not None else None
        ingest.save(raws, checkpoint=checkpoint)
    return store


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[object, ...]]]:
    """The plain path: pipeline in this process, posts written one statement at a time."""
    store = build(tmp_path_factory.mktemp("plain") / "a.db", Pipeline.load(), workers=0, batch_size=1)
    try:
        return dump(store)
    finally:
        store.close()


@pytest.mark.parametrize(("workers", "batch_size"), [(0, 500), (1, 100), (2, 64), (1, 40)])
def test_every_path_stores_the_same_rows(
    reference: dict[str, list[tuple[object, ...]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
    batch_size: int,
) -> None:
    started: list[PipelineWorker] = []

    def spy(*args: Any) -> PipelineWorker:
        started.append(PipelineWorker(*args))
        return started[-1]

    monkeypatch.setattr(ingest_module, "PipelineWorker", spy)
    store = build(tmp_path / "b.db", Pipeline.load(), workers=workers, batch_size=batch_size)
    assert bool(started) == bool(workers), "the worker process must be used exactly when asked for"
    try:
        got = dump(store)
        assert_search_index_matches_rows(store)
    finally:
        store.close()
    assert got.keys() == reference.keys()
    for table, rows in reference.items():
        assert len(got[table]) == len(rows), table
        assert got[table] == rows, f"{table} differs"
    assert reference["post_versions"], "the scenario must exercise edits"
    assert reference["post_articles"], "the scenario must exercise linked articles"
    assert any(r[0] != r[13] for r in reference["posts"] if r[13] is not None), "... and near-duplicate clusters"
