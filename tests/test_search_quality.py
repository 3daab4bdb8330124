"""Floors for search quality on a small copy of the labelled set (bench/search_quality.py runs it all)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.search_quality import after, before, build_archive, load, total

pytestmark = pytest.mark.both_backends
DATA = Path(__file__).parent / "data" / "search_queries.toml"


def test_recall_and_precision_floors(tmp_path: Path) -> None:
    posts, queries = load(DATA)
    store, by_id, _ = build_archive(posts, tmp_path / "q.db")
    try:
        now, then = total(queries, after(store, by_id, queries)), total(queries, before(store, by_id, queries))
    finally:
        store.close()
    assert now.recall >= 0.95 and now.precision >= 0.9, now
    assert then.recall < 0.6  # what the literal search found: the set is not one it already passed
