"""Exactly once across crashes: a process killed (SIGKILL) while a sink holds its message, a paused sink
staying paused in the next process, and a digest window decided twice owing each sink once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app.digest_jobs import DigestRunner, sink_key
from bot.app.sink_delivery import SinkDelivery
from bot.outputs import ConsoleSender
from bot.outputs.sinks import ApprisePoster, load_target
from storage.store import Store
from tests.pg_backend import location
from tests.sink_receivers import http_receiver

pytestmark = [pytest.mark.slow, pytest.mark.both_backends]  # subprocesses killed on purpose, as the other crash tests
ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import asyncio, sys
from pathlib import Path
from bot.outputs.sinks import ApprisePoster, load_target
from bot.app.sink_delivery import SinkDelivery
from storage.store import Store

db, url, rounds, pause_after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = Store.open(db)
sinks = SinkDelivery(outbox=store.sink_outbox, targets=[load_target("hook", url)], poster=ApprisePoster(),
                     timeout=60, retry_base=0, pause_after=pause_after)
store.sink_outbox.enqueue("hook", "digest:1:w", "digest", "Digest", ("part 1", "part 2", "part 3"))
for _ in range(rounds):
    asyncio.run(sinks.deliver("hook"))
print("done", flush=True)
"""


def child(db: str, url: str, rounds: int = 1, pause_after: int = 5) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", CHILD, db, url, str(rounds), str(pause_after)], env=env, cwd=ROOT)


def messages(receiver: object) -> list[str]:
    return [r.json()["message"] for r in receiver.requests]  # type: ignore[attr-defined]


def wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_killed_mid_send_resends_only_the_message_in_flight(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    Store.open(db).close()
    with http_receiver(answers=[200, "hang"]) as receiver:
        url = f"json://{receiver.base}/h"
        proc = child(location(db), url)
        wait_for(lambda: len(receiver.requests) == 2)  # part 2 is with the service, unanswered
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        receiver.release.set()
        store = Store.open(db)
        owed = store.sink_outbox.get("hook", "digest:1:w")
        assert owed is not None and owed.parts_sent == 1 and owed.status == "pending"
        sinks = SinkDelivery(outbox=store.sink_outbox, targets=[load_target("hook", url)], poster=ApprisePoster())
        assert asyncio.run(sinks.deliver("hook")).sent == ["digest:1:w"]
        assert asyncio.run(sinks.deliver("hook")).sent == []
        assert not store.sink_outbox.enqueue("hook", "digest:1:w", "digest", "Digest", ("again",))
        sinks.close()
        store.close()
        # part 1 once, part 2 twice (the documented instant: accepted, not yet recorded), part 3 once
        assert messages(receiver) == ["part 1", "part 2", "part 2", "part 3"]


def test_a_paused_sink_stays_paused_in_the_next_process(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    Store.open(db).close()
    with http_receiver(default=500) as receiver:
        url = f"json://{receiver.base}/h"
        proc = child(location(db), url, rounds=4, pause_after=2)
        assert proc.wait(60) == 0
        assert len(receiver.requests) == 2  # paused after two failures: the other rounds sent nothing
        store = Store.open(db)
        health = store.sink_outbox.health("hook")
        assert health.paused_at is not None and health.failures == 2 and health.pending == 1
        sinks = SinkDelivery(outbox=store.sink_outbox, targets=[load_target("hook", url)], poster=ApprisePoster())
        assert asyncio.run(sinks.deliver("hook")).paused and len(receiver.requests) == 2
        receiver.default = 200
        accepted, answer = asyncio.run(sinks.test("hook"))  # a successful test resumes it
        assert accepted and "Sent JSON" in answer
        assert asyncio.run(sinks.deliver("hook")).sent == ["digest:1:w"]
        sinks.close()
        store.close()


def test_a_window_decided_twice_is_owed_once(store: Store) -> None:
    now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    sub = store.subscriptions.add(0, at=dtime(8, 0), tz=ZoneInfo("UTC"), tags=(), sinks=("hook",))
    store.db.execute("UPDATE subscriptions SET created_at = ?", [(now - timedelta(days=2)).isoformat()])
    with http_receiver() as receiver:
        target = load_target("hook", f"json://{receiver.base}/h")
        sinks = SinkDelivery(outbox=store.sink_outbox, targets=[target], poster=ApprisePoster(), clock=lambda: now)
        runner = DigestRunner(store=store, sender=ConsoleSender(), clock=lambda: now, sinks=sinks)
        first = asyncio.run(runner.run_subscription(sub.id))
        # as if the process died after owing the window but before recording it for the chat
        store.db.execute("DELETE FROM digests")
        asyncio.run(runner.run_subscription(sub.id))
        asyncio.run(sinks.deliver_all())
        asyncio.run(sinks.deliver_all())
        sinks.close()
        assert [r.parts_total for r in first] == [0, 0]  # two windows due; nothing for the chat (not a destination)
        keys = sorted(d.key for d in store.sink_outbox.all("hook"))
        assert keys == sorted(sink_key(sub.id, r.window) for r in first)
        assert len(receiver.requests) == 2  # one message per window, each once
