"""kill -9 during an import, twenty times, then restart: nothing lost, nothing twice, index consistent.

The rules the design promises ("a crash at any point loses nothing and duplicates nothing; the
checkpoint moves only after the posts are committed") are only believable if a real process is
really killed, at moments nobody chose: mid-pipeline, mid-transaction, mid-WAL-checkpoint.  A child
imports a ~3,000-message Desktop export the way a resumable poller would (small batches, not atomic,
starting after the stored checkpoint, near-duplicate index on as `tgmonitor import` has it); the
test SIGKILLs it at seeded random points, and after every kill opens the archive and checks it.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.corpus import desktop_export
from bot.cli import main as cli_main
from bot.core.pipeline import Pipeline
from bot.sources.desktop_export import parse_export
from storage.store import Store
from tests.conftest import assert_search_index_matches_rows

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = 3000
KILLS = 20
BATCH = 10

CHILD = r"""
import sys
from pathlib import Path

from bot.core.pipeline import Pipeline
from bot.app.channel_boilerplate import LearnedBoilerplate
from bot.app.ingest import Ingest
from bot.app.neardup_index import NearDupIndex
from bot.sources.desktop_export import parse_export
from storage.store import Store

export, db, batch = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
channel, raws = parse_export(export)
store = Store.open(db)
row = store.find_channel(channel.tg_id)
done = store.checkpoint(row.id) if row else 0
todo = [raw for raw in raws if raw.message_id > done]
print("start", done, flush=True)
index = NearDupIndex(store, boilerplate=LearnedBoilerplate(store))
result = Ingest(store, Pipeline.load(), index, batch_size=batch).save(
    todo, checkpoint=channel, progress=lambda n: print("batch", n, flush=True),
)
store.close()
print("done", result.inserted, result.updated, result.unchanged, flush=True)
"""


def start_child(export: Path, db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(export), str(db), str(BATCH)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def check_archive(db: Path, expected: dict[int, str], channel_tg_id: int) -> tuple[int, int]:
    """Every invariant a crash must not break; returns (posts stored, checkpoint)."""
    store = Store.open(db)  # opening recovers the WAL the killed process left behind
    try:
        rows = store.db.execute("SELECT message_id, text, cluster_id FROM posts ORDER BY message_id").fetchall()
        ids = [r[0] for r in rows]
        assert len(ids) == len(set(ids)), "a message stored twice"
        assert set(ids) <= set(expected), "a message that is not in the export"
        for message_id, text, cluster_id in rows:
            assert text == expected[message_id], f"message {message_id} stored torn or wrong"
            assert cluster_id is not None, f"message {message_id} committed without its near-duplicate cluster"
        untagged = store.db.execute(
            "SELECT count(*) FROM posts WHERE id NOT IN (SELECT post_id FROM post_tags)"
        ).fetchone()[0]
        assert untagged == 0, "posts committed without their tags"
        store.db.execute("INSERT INTO posts_fts(posts_fts) VALUES('integrity-check')")
        store.db.execute("INSERT INTO posts_fts(posts_fts, rank) VALUES('integrity-check', 1)")  # index == rows
        assert_search_index_matches_rows(store)  # the normalised index too, written by the same triggers
        channel = store.find_channel(channel_tg_id)
        checkpoint = store.checkpoint(channel.id) if channel else 0
        assert checkpoint <= (max(ids) if ids else 0), "checkpoint ahead of what is stored"
        # The checkpoint only moves with its batch: everything up to it is stored, so resuming after
        # it loses nothing.
        assert {m for m in expected if m <= checkpoint} <= set(ids), "a message below the checkpoint is missing"
        return len(ids), checkpoint
    finally:
        store.close()


def test_kill_9_mid_import_twenty_times_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    export = tmp_path / "result.json"
    export.write_text(json.dumps(desktop_export(MESSAGES), ensure_ascii=False), encoding="utf-8")
    channel, raws = parse_export(export)
    assert len(raws) == MESSAGES
    pipeline = Pipeline.load()
    expected = {raw.message_id: pipeline.process(raw).text for raw in raws}
    db = tmp_path / "archive.db"
    rng = random.Random(20261122)

    progress: list[tuple[int, int]] = []
    kills = 0
    deadline = time.monotonic() + 240
    while kills < KILLS:
        assert time.monotonic() < deadline, "kill loop took too long"
        child = start_child(export, db)
        assert child.stdout is not None
        batches_before_kill = rng.randint(0, 6)  # 0: during start-up or the first batch
        finished = False
        if batches_before_kill == 0:
            time.sleep(rng.uniform(0.0, 0.6))
        else:
            seen = 0
            while seen < batches_before_kill:
                line = child.stdout.readline()
                if not line or line.startswith("done"):
                    finished = True
                    break
                seen += line.startswith("batch")
        time.sleep(rng.uniform(0.0, 0.02))  # land anywhere in the next batch: pipeline, SQL, commit
        child.kill()
        child.wait(timeout=30)
        kills += not finished
        progress.append(check_archive(db, expected, channel.tg_id or 0))
        if finished:
            break

    # Kills must have landed mid-import, not all before the first commit or after the last.
    stored_counts = [count for count, _ in progress]
    assert 0 < stored_counts[-1] < MESSAGES, stored_counts
    assert len(set(stored_counts)) > KILLS // 2, stored_counts
    assert stored_counts == sorted(stored_counts), "a restart lost committed posts"

    final = start_child(export, db)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    assert out.strip().splitlines()[-1].startswith("done")
    count, checkpoint = check_archive(db, expected, channel.tg_id or 0)
    assert (count, checkpoint) == (MESSAGES, max(expected))

    # A full re-import of the whole export (the CLI: short transactions, no resume) completes and changes nothing.
    store = Store.open(db)
    before = store.dump_json()
    store.close()
    env = ["--db", str(db)]
    assert cli_main([*env, "import", str(export)]) == 0
    store = Store.open(db)
    assert store.dump_json() == before
    store.close()
