"""The ingest worker process: errors come back where they would have been raised, and it never
outlives the process it works for (kill -9 included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.corpus import generate
from bot.app.ingest import Ingest, PostError
from bot.core.pipeline import Pipeline
from bot.models import Post, RawPost
from storage.store import Store
from tests.pg_backend import location

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Exploding(Pipeline):
    """A pipeline that fails on one message id, as a bug in a rule would."""

    def process(self, raw: RawPost) -> Post:
        if raw.message_id == 130:
            raise ValueError(f"rule failed on message {raw.message_id}")
        return Pipeline.process(self, raw)


def test_an_error_in_the_worker_is_raised_here_and_its_batch_is_not_written(tmp_path: Path) -> None:
    base = Pipeline.load()
    pipeline = Exploding(base.boilerplate, base.keywords, base.page)
    store = Store.open(tmp_path / "a.db")
    channel = next(iter(generate(1))).channel
    raws = [r for r in generate(3000) if r.channel == channel][:100]
    raws = [RawPost(channel, 100 + i, r.date, r.text, r.source) for i, r in enumerate(raws)]
    with pytest.raises(PostError, match=r"message 130: processing failed \(ValueError: rule failed on message 130"):
        Ingest(store, pipeline, None, batch_size=20, workers=1).save(raws, checkpoint=channel)
    stored = [r[0] for r in store.db.execute("SELECT message_id FROM posts ORDER BY message_id")]
    assert stored == list(range(100, 120)), "the batches before the failing one are saved, nothing after"
    assert store.checkpoint(store.ensure_channel(channel)) == 119
    store.close()


CHILD = r"""
import os, sys, time
from pathlib import Path
from bench.corpus import generate
from bot.core.pipeline import Pipeline
from bot.app.ingest import Ingest, PostError
from storage.store import Store

def slow():
    for i, raw in enumerate(generate(400)):
        if i == 250:
            print("workers", *[p for p in os.popen(f"pgrep -P {os.getpid()}").read().split()], flush=True)
            time.sleep(600)
        yield raw

store = Store.open(sys.argv[1])
Ingest(store, Pipeline.load(), None, batch_size=50, workers=1).save(slow())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="fork and pgrep: Linux")
def test_the_worker_exits_when_the_ingest_process_is_killed(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, location(tmp_path / "a.db")], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    workers = [int(p) for p in line.split()[1:]]
    assert line.startswith("workers") and workers, line
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    deadline = time.monotonic() + 20
    alive = workers
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in workers if _running(p)]
    assert not alive, "the worker outlived the process it worked for"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
    return status != "Z"  # a zombie has exited; init reaps it


@pytest.mark.parametrize("failing_at", [5, 45, 61, 99])
def test_an_input_that_fails_midway_leaves_what_one_process_leaves(tmp_path: Path, failing_at: int) -> None:
    """A source raising mid-stream (a malformed export line): the batches read before it are saved,
    with or without the worker, and the error reaches the caller."""
    pipeline = Pipeline.load()
    raws = list(generate(120))

    def source() -> Iterator[RawPost]:
        for i, raw in enumerate(raws):
            if i == failing_at:
                raise ValueError(f"line {i}: not a message")
            yield raw

    stored = []
    for workers in (0, 1):
        store = Store.open(tmp_path / f"w{workers}.db")
        with pytest.raises(ValueError, match=f"line {failing_at}"):
            Ingest(store, pipeline, None, batch_size=10, workers=workers).save(source())
        stored.append([tuple(r) for r in store.db.execute("SELECT id, message_id, text FROM posts ORDER BY id")])
        store.close()
    assert stored[0] == stored[1]
    assert len(stored[0]) == (failing_at // 10 - 1) * 10 if failing_at >= 20 else not stored[0]


@dataclass(frozen=True, slots=True)
class SlowWorker(Pipeline):
    """The worker process prepares slowly (a loaded core, a slow rule): the writing process must take
    batches over. Fails on message 150 when asked (a bug in a rule), wherever that runs."""

    parent: int = 0
    failing: int = -1
    here: list[int] = field(default_factory=list)  # messages prepared in the writing process

    def process(self, raw: RawPost) -> Post:
        if os.getpid() != self.parent:
            time.sleep(0.01)
        else:
            self.here.append(raw.message_id)
        if raw.message_id == self.failing:
            raise ValueError(f"rule failed on message {raw.message_id}")
        return Pipeline.process(self, raw)


def _numbered(n: int) -> list[RawPost]:
    channel = next(iter(generate(1))).channel
    raws = [r for r in generate(3000) if r.channel == channel][:n]
    return [RawPost(channel, 100 + i, r.date, r.text, r.source) for i, r in enumerate(raws)]


def test_the_writer_prepares_batches_when_the_worker_is_behind(tmp_path: Path) -> None:
    """Adaptive sharing: batches the writing process took over are written in their place, as the one
    process path writes them."""
    base = Pipeline.load()
    slow = SlowWorker(base.boilerplate, base.keywords, base.page, base.general, parent=os.getpid())
    raws = _numbered(120)
    rows = []
    for workers in (0, 1):
        store = Store.open(tmp_path / f"w{workers}.db")
        slow.here.clear()
        Ingest(store, slow, None, batch_size=10, workers=workers).save(raws, checkpoint=raws[0].channel)
        rows.append([tuple(r) for r in store.db.execute("SELECT id, message_id, text, lang FROM posts ORDER BY id")])
        if workers:
            assert 20 <= len(slow.here) < 120, "the writer prepared some batches, the worker the others"
            assert len(slow.here) % 10 == 0
        assert store.checkpoint(store.ensure_channel(raws[0].channel)) == 219
        store.close()
    assert rows[0] == rows[1]


def test_a_failure_in_a_batch_the_writer_took_over_is_raised_in_its_turn(tmp_path: Path) -> None:
    """Batches 0 and 1 go to the slow worker; the writer takes 2 and 3 over meanwhile and 2 fails: 0
    and 1 are still written first, as without the worker, and nothing after."""
    base = Pipeline.load()
    slow = SlowWorker(base.boilerplate, base.keywords, base.page, base.general, parent=os.getpid(), failing=125)
    raws = _numbered(60)
    store = Store.open(tmp_path / "a.db")
    with pytest.raises(PostError, match=r"message 125: processing failed \(ValueError: rule failed on message 125"):
        Ingest(store, slow, None, batch_size=10, workers=1).save(raws, checkpoint=raws[0].channel)
    stored = [r[0] for r in store.db.execute("SELECT message_id FROM posts ORDER BY message_id")]
    assert stored == list(range(100, 120))
    store.close()
