"""posts.carried (storage/carried.py): set as posts are stored, edited, re-cleaned and clustered; equal
to what the schema upgrade computes; never missing a post that a window's statement needs.

Real SQLite files, posts through the real ingest (pipeline, near-duplicate index) where it matters.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.analytics import amplifiers_json, analyse, graph_json
from bot.app.neardup_index import NearDupIndex
from bot.core.amplification import window_statements
from bot.core.fingerprint import content_hash
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, Forward, RawPost
from storage import carried
from storage.db import SCHEMA_VERSION, schema_version
from storage.spread_reads import SpreadReads
from storage.store import Store
from tests.conftest import drop_carried_flag, make_ingest
from tests.spread_world import PARAPHRASED, STATEMENT, fill_world

T = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
X = ChannelRef(tg_id=1000000101, username="xchan", title="X")
Y = ChannelRef(tg_id=1000000102, username="ychan", title="Y")
Z = ChannelRef(tg_id=1000000103, username="zchan", title="Z")
OTHER = "Serbia Today: the parliament in Belgrade debated the budget for next year at length and late."
THIRD = "Kremlin Echo: our editors answer readers' questions about the coming winter season in detail."


def post(channel: ChannelRef, message_id: int, text: str, minutes: int = 0, **extra: object) -> RawPost:
    return RawPost(
        channel=channel,
        message_id=message_id,
        date=T + timedelta(minutes=minutes),
        text=text,
        source="telethon",
        **extra,  # type: ignore[arg-type]
    )


def flags(store: Store) -> dict[tuple[str, int], int]:
    rows = store.db.execute(
        "SELECT c.username, p.message_id, p.carried FROM posts p JOIN channels c ON c.id = p.channel_id"
    ).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}


def flagged(store: Store) -> set[tuple[str, int]]:
    return {key for key, flag in flags(store).items() if flag}


def test_the_world_is_flagged_at_ingest_as_the_upgrade_flags_it(tmp_path: Path) -> None:
    path = fill_world(tmp_path / "world.db")
    store = Store.open(path)
    try:
        kept = flags(store)
        assert {k for k, v in kept.items() if not v} == {
            ("balkan_watch", 14),
            ("serbia_today", 24),
            ("kremlin_echo", 54),
        }
        assert len(kept) == 16
        store.db.execute("UPDATE posts SET carried = 0")
        with store.transaction():
            assert carried.fill(store.db, batch=3) == 13  # batches smaller than the groups
        assert flags(store) == kept
    finally:
        store.close()


def test_an_archive_from_before_gets_the_flag_on_upgrade_with_the_same_figures(tmp_path: Path) -> None:
    path = fill_world(tmp_path / "world.db")
    store = Store.open(path)
    since, until = datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)
    before = (amplifiers_json(analyse(store, since, until)), graph_json(analyse(store, since, until), store))
    kept = flags(store)
    drop_carried_flag(store)
    store.db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION - 1)])
    store.db.conn.commit()
    store.close()
    upgraded = Store.open(path)
    try:
        assert schema_version(upgraded.db) == SCHEMA_VERSION
        assert flags(upgraded) == kept
        plan = upgraded.db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM posts WHERE date >= ? AND date < ? AND deleted = 0 AND carried = 1",
            ["2026-11-19", "2026-11-22"],
        ).fetchall()
        assert "USING INDEX posts_carried" in str(plan)
        after = (
            amplifiers_json(analyse(upgraded, since, until)),
            graph_json(analyse(upgraded, since, until), upgraded),
        )
        assert after == before
    finally:
        upgraded.close()


def test_copies_arriving_one_by_one_flag_the_first_too(store: Store, pipeline: Pipeline) -> None:
    ingest = make_ingest(store, pipeline)
    ingest.save([post(X, 1, STATEMENT), post(X, 2, "👍", 1), post(Y, 1, "👍", 2)])
    assert flagged(store) == set()  # one post of a statement; thumbs-up fold by nothing
    ingest.save([post(Y, 2, STATEMENT, 30)])
    assert flagged(store) == {("xchan", 1), ("ychan", 2)}  # the copy, and the original it joins
    ingest.save([post(Z, 1, STATEMENT, 40)])
    assert flagged(store) == {("xchan", 1), ("ychan", 2), ("zchan", 1)}
    ingest.save([post(Y, 3, OTHER, 50), post(Z, 2, OTHER, 55)])  # a new statement and its copy in one batch
    assert {("ychan", 3), ("zchan", 2)} <= flagged(store)
    ingest.save([post(X, 3, THIRD, 60, forward=Forward(channel_id=2000000009, message_id=7, name="Outside"))])
    assert ("xchan", 3) in flagged(store)  # a forward from a channel outside the archive: alone, still carried
    assert ("xchan", 2) not in flagged(store) and ("yChan", 1) not in flagged(store)


def test_a_forward_of_an_archived_post_flags_the_original(store: Store, pipeline: Pipeline) -> None:
    ingest = make_ingest(store, pipeline)
    ingest.save([post(X, 5, STATEMENT)])
    ingest.save([post(Y, 1, OTHER, 10, forward=Forward(channel_id=X.tg_id, username="xchan", message_id=5))])
    # the forward's text differs (a comment added, say): the origin key alone joins them
    assert flagged(store) == {("xchan", 5), ("ychan", 1)}


def test_an_edit_that_repeats_another_post_flags_both(store: Store, pipeline: Pipeline) -> None:
    ingest = make_ingest(store, pipeline)
    ingest.save([post(X, 1, STATEMENT), post(Y, 1, OTHER, 10)])
    assert flagged(store) == set()
    ingest.save([post(Y, 1, STATEMENT, 10, edit_date=T + timedelta(minutes=20))])
    assert flagged(store) == {("xchan", 1), ("ychan", 1)}
    window = analyse(store, T - timedelta(days=1), T + timedelta(days=1))
    assert [(a["channel"], a["statements"], a["copies"]) for a in amplifiers_json(window)] == [("@ychan", 1, 1)]


def test_a_paraphrase_is_flagged_when_the_near_duplicate_index_clusters_it(store: Store, pipeline: Pipeline) -> None:
    make_ingest(store, pipeline, neardup=False).save([post(X, 1, STATEMENT), post(Y, 1, PARAPHRASED, 30)])
    assert flagged(store) == set()  # other text, other origin: only the cluster joins them
    NearDupIndex(store).index([r[0] for r in store.db.execute("SELECT id FROM posts ORDER BY id")])
    assert flagged(store) == {("xchan", 1), ("ychan", 1)}
    make_ingest(store, pipeline).save([post(Z, 1, PARAPHRASED.replace("expand", "widen"), 40)])
    assert flagged(store) == {("xchan", 1), ("ychan", 1), ("zchan", 1)}


def test_recleaning_to_a_shared_text_flags_both(store: Store, pipeline: Pipeline) -> None:
    make_ingest(store, pipeline, neardup=False).save([post(X, 1, STATEMENT), post(Y, 1, OTHER, 10)])
    row = store.db.execute("SELECT id, origin_key FROM posts WHERE message_id = 1 AND text = ?", [OTHER]).fetchone()
    with store.transaction():
        store.update_cleaning(
            row[0], text=STATEMENT, content_hash=content_hash(STATEMENT), lang="en", origin_key=row[1], tags=()
        )
    assert flagged(store) == {("xchan", 1), ("ychan", 1)}


@pytest.mark.parametrize("neardup", [True, False])
def test_random_archives_fold_the_same_from_flagged_rows_as_from_every_row(
    tmp_path: Path, pipeline: Pipeline, neardup: bool
) -> None:
    """Texts, forwards, paraphrases, edits and deletions at random, saved in random batches through the
    real ingest (with the near-duplicate index and without: then only keys join posts): every window
    folds the same from its flagged rows as from all its keys."""
    rng = random.Random(11)
    channels = [ChannelRef(tg_id=1000000200 + i, username=f"chan{i}", title=f"Chan {i}") for i in range(6)]
    words = [
        "minister",
        "talks",
        "kosovo",
        "serbia",
        "energy",
        "sanctions",
        "security",
        "peace",
        "belgrade",
        "moscow",
        "treaty",
    ]
    texts = [" ".join(rng.choice(words) for _ in range(12)) + f" number {n}" for n in range(15)]
    texts += [texts[0].replace("minister", "ministers", 1), "ok", "👍"]
    store = Store.open(tmp_path / "random.db")
    try:
        ingest = make_ingest(store, pipeline, neardup=neardup)
        next_id = dict.fromkeys(range(len(channels)), 0)
        sent: list[RawPost] = []
        for _ in range(12):
            batch = []
            for _ in range(rng.randrange(1, 12)):
                c = rng.randrange(len(channels))
                next_id[c] += 1
                forward = None
                if sent and rng.random() < 0.3:
                    source = rng.choice(sent)
                    forward = Forward(
                        channel_id=source.channel.tg_id, username=source.channel.username, message_id=source.message_id
                    )
                elif rng.random() < 0.1:
                    forward = Forward(channel_id=2000000000 + rng.randrange(3), message_id=rng.randrange(5))
                raw = post(channels[c], next_id[c], rng.choice(texts), rng.randrange(0, 6 * 24 * 60), forward=forward)
                batch.append(raw)
            if sent and rng.random() < 0.5:  # an edit of an earlier post, to another text
                old = rng.choice(sent)
                batch.append(replace(old, text=rng.choice(texts), edit_date=T + timedelta(days=7)))
            ingest.save(batch)
            sent += [r for r in batch if r.edit_date is None]
            if rng.random() < 0.3:
                victim = rng.choice(sent)
                store.mark_deleted(victim.channel, [victim.message_id])
        reads = SpreadReads(store)
        infos = reads.channel_infos()
        checked = 0
        for start_day in range(0, 6):
            for days in (1, 2, 6):
                since, until = T + timedelta(days=start_day), T + timedelta(days=start_day + days)
                every = window_statements(reads.window_keys(since, until), infos)
                keys, posts = reads.window_carried(since, until)
                assert window_statements(keys, infos, posts) == every
                checked += len(every.statements)
        assert checked > 30
    finally:
        store.close()
