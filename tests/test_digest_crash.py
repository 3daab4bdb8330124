"""kill -9 a digest job between Telegram accepting a message and the job recording it, then restart.

tests/test_digest_jobs.py raises an exception at those points in-process; here a real process dies
(SIGKILL, no `finally`, no rollback, WAL left behind), several times across a three-day catch-up, and
the chat's full history is checked: every part of every window arrives, in order, and the only
repeats are the pieces that were in flight when a kill landed, once each.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench.corpus import generate
from bot.app.digest_jobs import DigestRunner
from bot.core.pipeline import Pipeline
from bot.core.windows import Window
from bot.outputs import ConsoleSender
from storage.digests import DigestLog
from storage.store import Store
from storage.subscriptions import Subscriptions
from tests.conftest import make_ingest
from tests.pg_backend import location

pytestmark = [pytest.mark.slow, pytest.mark.both_backends]

ROOT = Path(__file__).resolve().parents[1]
SOFIA = ZoneInfo("Europe/Sofia")
CHAT = -1009876543210
NOW = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)  # 09:00 in Sofia, three 08:00 windows owed
LAST_SENT = datetime(2026, 11, 17, 6, 0, tzinfo=UTC)

# "Telegram" for the child: a message is delivered once its line is on disk (fsync), and the process
# can be told to die just before or just after the N-th delivery, i.e. before the job records it.
CHILD = r"""
import asyncio, json, os, signal, sys
from datetime import datetime
from bot.app.digest_jobs import DigestRunner
from storage.store import Store
from storage.subscriptions import Subscriptions

db, chat_log, now, kill_at, when = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]


class Telegram:
    async def send_html(self, chat, html):
        delivered = sum(1 for _ in open(chat_log, encoding="utf-8")) if os.path.exists(chat_log) else 0
        if delivered + 1 == kill_at and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        with open(chat_log, "a", encoding="utf-8") as out:
            out.write(json.dumps({"id": 7000 + delivered, "chat": chat, "html": html}) + "\n")
            out.flush()
            os.fsync(out.fileno())
        if delivered + 1 == kill_at and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return 7000 + delivered

    async def resolve_chat(self, chat):
        return chat


store = Store.open(db)
subscriptions = Subscriptions(store.db)
runner = DigestRunner(store=store, subscriptions=subscriptions, sender=Telegram(),
                      clock=lambda: datetime.fromisoformat(now))
for sub in subscriptions.list():
    asyncio.run(runner.run_subscription(sub.id))
store.close()
print("done")
"""


def run_job(db: str, chat_log: Path, kill_at: int = 0, when: str = "none") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, db, str(chat_log), NOW.isoformat(), str(kill_at), when],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_killed_digest_job_resends_at_most_the_piece_in_flight(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    store = Store.open(db)
    # Four busy days (300 posts a day), so each window is several messages long.
    start = LAST_SENT - timedelta(days=1)
    make_ingest(store, Pipeline.load()).save(generate(1200, posts_per_day=300, start=start, channel_count=6))
    subscriptions = Subscriptions(store.db)
    sub = subscriptions.add(CHAT, at=time(8, 0), tz=SOFIA)
    store.db.execute(
        "UPDATE subscriptions SET created_at = ? WHERE id = ?", [(start - timedelta(days=1)).isoformat(), sub.id]
    )
    store.db.conn.commit()
    log = DigestLog(store.db)
    log.finish(log.begin(sub.id, CHAT, _window(LAST_SENT), ["an earlier digest"]).id)
    # What the chat should end up with: each owed window's messages, in order.
    runner = DigestRunner(store=store, subscriptions=subscriptions, sender=ConsoleSender(), clock=lambda: NOW)
    windows = runner.due(sub)
    expected = [part for window in windows for part in runner.render(sub, window)]
    store.close()
    assert len(windows) == 3 and len(expected) >= 9, (len(windows), len(expected))

    # Kill points: message positions in the chat, increasing; "after" = delivered, not yet recorded.
    rng = random.Random(7)
    positions = sorted(rng.sample(range(1, len(expected) + 1), 5))
    kills = [(p, "after" if i % 2 == 0 else "before") for i, p in enumerate(positions)]
    chat_log = tmp_path / "chat.jsonl"
    in_flight_repeats = 0
    for position, when in kills:
        delivered = len(_chat(chat_log))
        target = position + in_flight_repeats  # the chat grows by one extra line per "after" kill
        assert target > delivered
        done = run_job(location(db), chat_log, kill_at=target, when=when)
        assert done.returncode == -9, done.stderr
        assert len(_chat(chat_log)) == target - (when == "before")
        in_flight_repeats += when == "after"

    done = run_job(location(db), chat_log)
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr
    again = run_job(location(db), chat_log)  # a later run owes nothing and sends nothing
    assert again.returncode == 0

    chat = _chat(chat_log)
    htmls = [m["html"] for m in chat]
    assert all(m["chat"] == CHAT for m in chat)
    # The only repeats are the in-flight pieces, each exactly once, right after the original.
    assert len(htmls) == len(expected) + in_flight_repeats
    repeats = [i for i in range(1, len(htmls)) if htmls[i] == htmls[i - 1]]
    assert len(repeats) == in_flight_repeats
    assert [h for i, h in enumerate(htmls) if i not in repeats] == expected

    store = Store.open(db)
    records = DigestLog(store.db).history(sub.id)[1:]
    assert [r.window for r in records] == windows
    by_id = {m["id"]: m["html"] for m in chat}
    for record in records:
        assert record.status == "sent" and record.parts_sent == record.parts_total
        assert record.parts is None  # frozen copies dropped once sent
    assert [by_id[i] for r in records for i in r.message_ids] == expected  # ids recorded = what the chat shows
    assert store.db.execute("SELECT count(*) FROM meta WHERE key LIKE 'digest_parts:%'").fetchone()[0] == 0
    store.close()


def _window(end: datetime) -> Window:
    return Window(end - timedelta(days=1), end)


def _chat(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
