"""Several processes on one archive, as a team runs tgmonitor: two services sending the same digests
and alerts, and listeners on several hosts writing the same database. Real processes (tests/concurrency_child.py)
on the real code paths, Telegram faked at its edge; each test runs on an SQLite file and on a
throwaway PostgreSQL server (tools/pg_local.py; skipped with the reason where none can start).

On SQLite one host is implied: the writers take turns on the file's lock and the digest job holds a
`flock` beside it. On PostgreSQL the hosts share no file system: the writers take turns on the
archive's advisory writer lock, and a digest subscription is held by a session advisory lock
(storage/pg/locks.py) that the server drops when its holder dies. An alert is claimed by a row
(`alerts_sent`) written under the writer lock on both.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.core.pipeline import Pipeline
from bot.core.windows import Window
from bot.models import ChannelRef, RawPost
from storage.digests import DigestLog
from storage.store import Store
from storage.subscriptions import Subscriptions
from tests.conftest import make_ingest
from tests.pg_server import new_database, pg_server  # noqa: F401  (the fixture, found by name)

ROOT = Path(__file__).resolve().parents[1]
SOFIA = ZoneInfo("Europe/Sofia")
DAY0 = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)  # 08:00 in Sofia: the last window sent before the test
DAYS = 3  # windows owed: DAY0 → DAY0 + 1 day, …, + DAYS days


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One archive for all the test's processes: a file, or a database on the session's server."""
    if request.param == "sqlite":
        return str(tmp_path / "shared.db")
    return new_database(request.getfixturevalue("pg_server"))


def start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.concurrency_child", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(children: list[subprocess.Popen[str]]) -> None:
    for child in children:
        _out, err = child.communicate(timeout=180)
        assert child.returncode == 0, err[-2000:]


# ------------------------------------------------------------------------------------------ digests


def _digest_archive(location: str) -> dict[int, int]:
    """Three subscriptions (chat -> subscription id), each with DAY0's window sent; a few days of posts,
    some days long enough for a digest of several messages."""
    store = Store.open(location)
    pipeline = Pipeline.load()
    subscriptions = Subscriptions(store.db)
    chats = {}
    for n, chat in enumerate((-1001, -1002, -1003)):
        sub = subscriptions.add(chat, at=time(8, 0), tz=SOFIA, tags=("kosovo",) if n == 2 else ())
        store.db.execute(
            "UPDATE subscriptions SET created_at = ? WHERE id = ?", [(DAY0 - timedelta(days=3)).isoformat(), sub.id]
        )
        store.db.conn.commit()
        log = DigestLog(store.db)
        log.finish(log.begin(sub.id, chat, Window(DAY0 - timedelta(days=1), DAY0), ["an earlier digest"]).id)
        chats[chat] = sub.id
    rng = random.Random(8)
    raws = [
        RawPost(
            channel=_channel(1001, "watcher"),
            message_id=day * 100 + n,
            date=DAY0 + timedelta(days=day - 1, hours=1, minutes=n),
            text=f"#Kosovo {_story(rng, day * 100 + n)}",  # stories of their own: no two fold into one item
            source="telethon",
        )
        for day in range(1, DAYS + 1)
        for n in range(40 if day % 2 else 4)
    ]
    make_ingest(store, pipeline).save(raws)
    store.close()
    return chats


def test_two_services_send_every_digest_window_exactly_once(location: str, tmp_path: Path) -> None:
    chats = _digest_archive(location)
    sends, go = tmp_path / "sends.jsonl", tmp_path / "go"
    # Both services wake at the same readings of the clock: each day's 08:05, and once later that day.
    clocks = [(DAY0 + timedelta(days=d, minutes=m)).isoformat() for d in range(1, DAYS + 1) for m in (5, 300)]
    children = [start("digest", location, str(sends), str(go), *clocks) for _ in range(2)]
    go.touch()
    finish(children)

    sent = [json.loads(line) for line in sends.read_text(encoding="utf-8").splitlines()]
    store = Store.open(location)
    try:
        log = DigestLog(store.db)
        for chat, sub_id in chats.items():
            records = [r for r in log.history(sub_id) if r.window.start >= DAY0]
            # every owed window once, complete, in order
            assert [r.window.end for r in records] == [DAY0 + timedelta(days=d) for d in range(1, DAYS + 1)]
            assert all(r.status == "sent" and r.parts_sent == r.parts_total for r in records)
            # what reached the chat is exactly what the records say was sent: no part twice, none lost
            recorded = [m for r in records for m in r.message_ids]
            delivered = [s["id"] for s in sent if s["chat"] == chat]
            assert delivered == recorded
            assert len({s["html"] for s in sent if s["chat"] == chat}) == len(delivered)
        assert max(r.parts_total for r in log.history(chats[-1001])) > 1  # some windows are several messages
    finally:
        store.close()


# ------------------------------------------------------------------------------------------ writers

WORDS = (  # noqa: SIM905 - a sentence of words reads better than a column of strings
    "Belgrade Pristina Sofia Moscow Brussels minister talks sanctions energy pipeline border police "
    "election parliament coalition protest court ruling embassy visit statement agreement summit "
    "corridor railway harbour tariff budget reform opposition mayor governor region army exercise"
).split()


def _channel(tg_id: int, username: str) -> ChannelRef:
    return ChannelRef(tg_id=tg_id, username=username, title=username.title())


def _story(rng: random.Random, number: int) -> str:
    """A text of its own: shares no run of words with another story (near-duplicates are copies only)."""
    words = [rng.choice(WORDS) for _ in range(36)]
    return f"Story {number}: " + " ".join(f"{w}{rng.randrange(1000)}" for w in words) + "."


def _writer_plans(processes: int, rng: random.Random) -> tuple[list[list[dict[str, Any]]], dict[tuple[int, int], str]]:
    """Each process: two channels of its own (its account's), read as catch-up batches and live posts,
    and one channel every process reads (the same message ids: one post seen by all accounts). A
    quarter of the stories is copied into another process's channel, so clusters span processes.

    Returns the plans and what the archive must hold afterwards: (channel tg_id, message id) -> text."""
    shared = {"tg_id": 5000, "username": "shared_news", "title": "Shared News"}
    own = [
        [{"tg_id": 100 * (p + 1) + c, "username": f"acc{p}_ch{c}", "title": f"Acc {p} ch {c}"} for c in range(2)]
        for p in range(processes)
    ]
    start = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    expected: dict[tuple[int, int], str] = {}
    posts: dict[int, list[list[Any]]] = defaultdict(list)  # channel tg_id -> [message id, text, date]
    story = 0
    for n in range(1, 21):  # the shared channel: every process gets all of it
        story += 1
        posts[shared["tg_id"]].append([n, _story(rng, story), (start + timedelta(minutes=n)).isoformat()])
    for p in range(processes):
        for channel in own[p]:
            for n in range(1, 31):
                story += 1
                posts[channel["tg_id"]].append([n, _story(rng, story), (start + timedelta(minutes=n)).isoformat()])
    # copies: a post of one process's channel reposted (same text) in the next process's channel
    for p in range(processes):
        source, target = own[p][0], own[(p + 1) % processes][1]
        for k, original in enumerate(posts[source["tg_id"]][:10]):
            message_id = 1000 + k
            posts[target["tg_id"]].append([message_id, original[1], original[2]])
    for tg_id, items in posts.items():
        for message_id, text, _date in items:
            expected[(tg_id, message_id)] = text

    plans: list[list[dict[str, Any]]] = []
    for p in range(processes):
        steps: list[dict[str, Any]] = []
        for channel in [*own[p], shared]:
            items = sorted(posts[channel["tg_id"]], key=lambda i: i[0])
            cut = len(items) * 2 // 3
            for i in range(0, cut, 10):  # catch-up: batches of 10 with the checkpoint
                batch = items[i : min(i + 10, cut)]
                steps.append({"kind": "catch-up", "channel": channel, "posts": batch, "upto": batch[-1][0]})
            steps.append({"kind": "live", "channel": channel, "posts": items[cut:]})
        rng.shuffle(steps)  # channels interleaved, as updates arrive
        # a channel's catch-up batches stay in order (the checkpoint only moves forward anyway)
        plans.append(_in_channel_order(steps))
    return plans, expected


def _in_channel_order(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    queues: dict[int, Iterator[dict[str, Any]]] = {}
    by_channel: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for step in steps:
        by_channel[step["channel"]["tg_id"]].append(step)
    for tg_id, items in by_channel.items():
        queues[tg_id] = iter(sorted(items, key=lambda s: (s["kind"] == "live", s["posts"][0][0])))
    return [next(queues[step["channel"]["tg_id"]]) for step in steps]


def test_writers_on_several_hosts_lose_and_double_nothing(location: str, tmp_path: Path) -> None:
    Store.open(location).close()  # the archive exists before the listeners start, as after `tgmonitor init`
    plans, expected = _writer_plans(3, random.Random(32))
    go = tmp_path / "go"
    children = []
    for p, plan in enumerate(plans):
        plan_file = tmp_path / f"plan{p}.json"
        plan_file.write_text(json.dumps(plan), encoding="utf-8")
        children.append(start("writer", location, str(plan_file), str(go)))
    go.touch()
    finish(children)

    store = Store.open(location)
    try:
        rows = store.db.execute(
            "SELECT c.tg_id, p.message_id, p.text, p.id, p.cluster_id "
            "FROM posts p JOIN channels c ON c.id = p.channel_id"
        ).fetchall()
        stored = {(r[0], r[1]): r[2] for r in rows}
        assert len(rows) == len(stored) == len(expected)  # none doubled, none lost
        assert stored == expected
        # checkpoints: each channel's at the end of its last catch-up batch, whichever process saved it
        # last (a checkpoint only moves forward; live posts do not move it)
        checkpoints = dict(store.db.execute("SELECT tg_id, last_message_id FROM channels").fetchall())
        caught_up: dict[int, int] = defaultdict(int)
        for plan in plans:
            for step in plan:
                if step["kind"] == "catch-up":
                    tg_id = step["channel"]["tg_id"]
                    caught_up[tg_id] = max(caught_up[tg_id], step["upto"])
        assert checkpoints == caught_up
        # clusters: the copies of one text form one cluster, whichever process wrote them; texts differ
        # from cluster to cluster; a cluster is named after one of its posts
        clusters: dict[str, set[int]] = defaultdict(set)
        members: dict[int, set[int]] = defaultdict(set)
        for _tg, _message, text, post_id, cluster_id in rows:
            assert cluster_id is not None
            clusters[text].add(cluster_id)
            members[cluster_id].add(post_id)
        assert all(len(ids) == 1 for ids in clusters.values())
        assert len({next(iter(ids)) for ids in clusters.values()}) == len(clusters)
        assert all(cluster_id in ids for cluster_id, ids in members.items())
        copied = Counter(text for text in stored.values())
        assert sum(1 for n in copied.values() if n == 2) == 30  # 3 processes x 10 copies, across processes
        # the search index holds every post once
        assert store.db.execute("SELECT count(*) FROM posts_norm").fetchone()[0] == len(rows)
    finally:
        store.close()


# ------------------------------------------------------------------------------------------- alerts


def test_two_services_alert_each_post_once(location: str, tmp_path: Path) -> None:
    """Alerts are claimed in `alerts_sent` under the writer lock: whichever service claims a post sends it."""
    store = Store.open(location)
    rng = random.Random(21)
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    raws = [
        RawPost(
            channel=_channel(1001, "watcher"),
            message_id=n,
            date=now - timedelta(minutes=90 - n),
            text=("#Kosovo " if n % 3 == 0 else "") + _story(rng, n),
            source="telethon",
        )
        for n in range(1, 61)
    ]
    ids = make_ingest(store, Pipeline.load()).save(raws).new_ids
    store.alert_log.set_watermark(-100222, 0)  # alerts on since before these posts
    store.close()
    sends, go = tmp_path / "sends.jsonl", tmp_path / "go"
    children = [start("alerts", location, str(sends), str(go), now.isoformat(), "3") for _ in range(2)]
    go.touch()
    finish(children)

    sent = [json.loads(line) for line in sends.read_text(encoding="utf-8").splitlines()]
    store = Store.open(location)
    try:
        claimed = store.alert_log.sent(-100222)
        tagged = [post_id for post_id, raw in zip(ids, raws, strict=True) if raw.text.startswith("#Kosovo")]
        assert sorted(post_id for post_id, _ in claimed) == sorted(tagged)  # every matching post, once
        assert sorted(s["id"] for s in sent) == sorted(message_id for _, message_id in claimed)  # none sent twice
    finally:
        store.close()
