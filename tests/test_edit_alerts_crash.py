"""kill -9 between storing an edit and alerting it, and in the middle of sending, then restart.

A real child process stores edits through the ingest path and runs the edit alerter; "Telegram" is a
file the child appends to (fsync) before `send_html` returns, and the child SIGKILLs itself at a
chosen point: no `finally`, no rollback, WAL left behind. The chat file is what the analyst saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.pipeline import Pipeline
from storage.store import Store
from tests.conftest import make_ingest, raw_post
from tests.pg_backend import location

pytestmark = [pytest.mark.slow, pytest.mark.both_backends]

ROOT = Path(__file__).resolve().parents[1]
CHAT = -100333
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TEXTS = {
    1: "Serbia will not introduce sanctions against Russia, President Vucic said.",
    2: "The talks in Belgrade are set for Monday, 24 November.",
    3: "Minister Lavrov will visit Sofia next week.",
}
EDITS = {
    1: "Serbia will introduce sanctions against Russia, President Vucic said.",
    2: "The talks in Belgrade are set for Tuesday, 25 November.",
    3: "Minister Lavrov will not visit Sofia next week.",
}

CHILD = r"""
import asyncio, json, os, signal, sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from bot.core.edits import EditWatch
from bot.core.pipeline import Pipeline
from bot.app.edit_alerts import EditAlerter
from storage.store import Store
from tests.conftest import make_ingest, raw_post

db, chat_log, now, edits, kill_at = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), sys.argv[5]
now = datetime.fromisoformat(now)


class Telegram:
    async def send_html(self, chat, html):
        delivered = sum(1 for _ in open(chat_log, encoding="utf-8")) if os.path.exists(chat_log) else 0
        if kill_at == f"before-delivery-{delivered + 1}":
            os.kill(os.getpid(), signal.SIGKILL)
        with open(chat_log, "a", encoding="utf-8") as out:
            out.write(json.dumps({"id": 500 + delivered, "chat": chat, "html": html}) + "\n")
            out.flush()
            os.fsync(out.fileno())
        if kill_at == f"after-delivery-{delivered + 1}":
            os.kill(os.getpid(), signal.SIGKILL)
        return 500 + delivered

    async def resolve_chat(self, chat):
        return chat


store = Store.open(db)
store.clock = lambda: now
# The listener saw these edits (again, after a restart: re-reading one is a no-op).
hour_ago, minute_ago = now - timedelta(hours=1), now - timedelta(minutes=1)
make_ingest(store, Pipeline.load()).save(
    [raw_post(int(i), text, date=hour_ago, edit_date=minute_ago) for i, text in edits.items()]
)
if kill_at == "after-store":
    os.kill(os.getpid(), signal.SIGKILL)
alerter = EditAlerter(store=store, sender=Telegram(), chat_id=-100333, watch=EditWatch.parse(["all"]),
                      tz=ZoneInfo("UTC"), clock=lambda: now)
alerter.start()
run = asyncio.run(alerter.check())
store.close()
print("done", json.dumps(run.sent))
"""


def child(db: str, chat_log: Path, kill_at: str = "none") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, db, str(chat_log), NOW.isoformat(), json.dumps(EDITS), kill_at],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def archive(tmp_path: Path) -> Path:
    db = tmp_path / "archive.db"
    store = Store.open(db)
    store.clock = lambda: NOW - timedelta(hours=1)
    make_ingest(store, Pipeline.load()).save(
        [raw_post(i, text, date=NOW - timedelta(hours=1)) for i, text in TEXTS.items()]
    )
    store.edit_alert_log.start(CHAT, NOW - timedelta(minutes=30))  # the service started alerts earlier
    store.close()
    return db


def chat(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def decisions(db: Path) -> list[tuple[int, int, str, int | None]]:
    store = Store.open(db)
    try:
        return store.edit_alert_log.decisions(CHAT)
    finally:
        store.close()


def test_killed_after_storing_edits_and_mid_send_alerts_each_version_once(tmp_path: Path) -> None:
    db, chat_log = location(archive(tmp_path)), tmp_path / "chat.jsonl"

    died = child(db, chat_log, "after-store")  # the versions are committed, no alert went out
    assert died.returncode == -9, died.stderr
    store = Store.open(db)
    assert store.db.execute("SELECT count(*) FROM post_versions").fetchone()[0] == 3
    store.close()
    assert chat(chat_log) == [] and decisions(db) == []

    died = child(db, chat_log, "after-delivery-2")  # Telegram took alert 2; the child never learned its id
    assert died.returncode == -9, died.stderr
    assert len(chat(chat_log)) == 2
    assert [d[2] for d in decisions(db)] == ["sent", "sending"]

    done = child(db, chat_log)
    assert done.returncode == 0 and done.stdout.startswith("done"), done.stderr
    again = child(db, chat_log)
    assert again.returncode == 0 and again.stdout.strip() == "done []", again.stderr

    messages = chat(chat_log)
    assert len(messages) == 3 and all(m["chat"] == CHAT for m in messages)  # each version once, none twice
    htmls = [str(m["html"]) for m in messages]
    assert "<s>not</s>" in htmls[0] and "<s>Monday, 24</s> <b>Tuesday, 25</b>" in htmls[1]
    assert "<b>not</b>" in htmls[2]
    assert [(v, s) for _, v, s, _ in decisions(db)] == [(2, "sent"), (2, "sending"), (2, "sent")]


def test_a_kill_between_the_claim_and_telegram_loses_that_alert_rather_than_repeating_it(tmp_path: Path) -> None:
    """At most once per version: the claim is written before the send, so the one moment an alert can be
    lost is a kill after the claim and before Telegram accepts the message."""
    db, chat_log = location(archive(tmp_path)), tmp_path / "chat.jsonl"
    died = child(db, chat_log, "before-delivery-1")
    assert died.returncode == -9, died.stderr
    assert chat(chat_log) == [] and [d[2] for d in decisions(db)] == ["sending"]
    done = child(db, chat_log)
    assert done.returncode == 0, done.stderr
    assert len(chat(chat_log)) == 2  # the other two versions; the one in flight is not sent twice
