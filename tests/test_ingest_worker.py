"""The ingest worker process: errors come back where they would have been raised, and it never
outlives the process it works for (kill -9 included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
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
