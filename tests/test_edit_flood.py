"""Issue #27 item 3: edits and deletions cannot flood the alert chat, starve new-post alerts, fill
the archive or the viewer. Real store, real ingest, the bot fake that parses every message
(tests/fake_bot.py), the viewer served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.pipeline import Pipeline
from storage.store import Store
from storage.versions import KEEP_FIRST, KEEP_LAST
from tests.conftest import make_ingest, raw_post
from tests.fake_bot import FakeBotClient
from tests.test_edit_alerts import CHAT, NOW, WATCHER, Clock, edit_alerter
from tests.web_server import client as client_for

pytestmark = pytest.mark.both_backends

STATEMENT = "Serbia will not introduce sanctions against Russia, President Vucic said in Belgrade on day {}."


@pytest.fixture
def clock(store: Store) -> Clock:
    fixed = Clock(NOW)
    store.clock = fixed
    return fixed


def edit_many(store: Store, pipeline: Pipeline, clock: Clock, count: int, every: timedelta, check=None) -> None:
    ingest = make_ingest(store, pipeline)
    for n in range(1, count + 1):
        clock.now = NOW + every * n
        ingest.save([raw_post(1, STATEMENT.format(n), date=NOW - timedelta(hours=1), edit_date=clock.now)])
        if check is not None:
            check(n)


def test_a_post_edited_hundreds_of_times_gives_one_alert_per_window_and_keeps_fifty_versions(
    store: Store, pipeline: Pipeline, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = FakeBotClient()
    alerter = edit_alerter(store, client, clock)
    alerter.start()
    make_ingest(store, pipeline).save([raw_post(1, STATEMENT.format(0), date=NOW - timedelta(hours=1))])
    monkeypatch.setattr(store, "versions", lambda *a: pytest.fail("the alerter loaded the whole history"))
    runs = []

    def every_30_seconds(n: int) -> None:
        if n % 10 == 0:
            runs.append(asyncio.run(alerter.check()))

    edit_many(store, pipeline, clock, 300, timedelta(seconds=3), every_30_seconds)  # 15 minutes of edits
    sent = [key for run in runs for key in run.sent]
    assert sent == [(1, 11), (1, 211)]  # at 30 s (10 edits), then once the 10-minute cooldown passed
    clock.now += timedelta(minutes=10)
    last = asyncio.run(alerter.check())
    assert last.sent == [(1, 301)] and not last.backlog
    headers = [m.html.split("\n")[1] for m in client.sent if m.html.startswith("✏️")]
    assert [re.search(r"version \d+ → \d+ \([\d,]+ edits\)", h).group(0) for h in headers] == [
        "version 1 → 11 (10 edits)",
        # version 11, where the last alert ended, was dropped from the history (50 kept): the diff
        # starts from the nearest kept one before it, so nothing unalerted is left out
        "version 10 → 211 (201 edits)",
        "version 10 → 301 (291 edits)",
    ]
    statuses = [d[2] for d in store.edit_alert_log.decisions(CHAT)]
    assert statuses.count("sent") == 3 and set(statuses) == {"sent", "coalesced"}
    assert store.edit_alert_log.pending(CHAT, NOW, NOW, 10) == []  # nothing left undecided
    assert store.version_count(1) == KEEP_FIRST + KEEP_LAST  # not 300 (24 MB at 3,000 edits)
    kept = [v.number for v in store.versions_page(1, 0, 100)]
    assert kept[:KEEP_LAST] == list(range(300, 300 - KEEP_LAST, -1)) and kept[KEEP_LAST:] == list(range(10, 0, -1))


def test_deletions_of_old_posts_are_not_news_and_recent_ones_are(
    store: Store, pipeline: Pipeline, clock: Clock
) -> None:
    client = FakeBotClient()
    alerter = edit_alerter(store, client, clock, rate=1000)
    alerter.start()
    ingest = make_ingest(store, pipeline)
    old = datetime(2025, 10, 16, tzinfo=UTC)  # 400 days before
    ingest.save([raw_post(i, f"An old statement number {i} on the talks.", date=old) for i in range(1, 201)])
    ingest.save([raw_post(i, f"A fresh statement number {i}.", date=NOW - timedelta(hours=2)) for i in (501, 502)])
    clock.now = NOW + timedelta(minutes=5)
    ingest.mark_deleted(WATCHER, [*range(1, 201), 501, 502])
    run = asyncio.run(alerter.check())
    assert len(run.skipped) == 200 and len(run.sent) == 2
    assert all(m.html.startswith("🗑 <b>Deleted</b>") and "fresh statement" in m.html for m in client.sent)


def test_a_channel_deleting_many_recent_posts_gives_one_alert_listing_them(
    store: Store, pipeline: Pipeline, clock: Clock
) -> None:
    client = FakeBotClient()
    alerter = edit_alerter(store, client, clock)
    alerter.start()
    ingest = make_ingest(store, pipeline)
    ingest.save([raw_post(i, f"Statement <{i}> on the talks.", date=NOW - timedelta(hours=3)) for i in range(1, 31)])
    clock.now = NOW + timedelta(minutes=5)
    ingest.mark_deleted(WATCHER, list(range(1, 31)))
    run = asyncio.run(alerter.check())
    assert len(run.sent) == 1 and len(run.coalesced) == 29 and not run.backlog
    text = "".join(m.html for m in client.sent)
    assert text.startswith("🗑 <b>30 posts deleted</b> · @watcher · <i>noticed 20 Nov 11:05</i>")
    assert text.count("• <i>20 Nov 08:00</i> Statement &lt;") == 20 and "<i>and 10 more</i>" in text
    assert asyncio.run(alerter.check()).sent == []  # every deletion decided
    assert {d[2] for d in store.edit_alert_log.decisions(CHAT)} == {"sent", "coalesced"}


def test_the_post_page_shows_versions_a_page_at_a_time(
    store: Store, pipeline: Pipeline, clock: Clock, tmp_path: Path
) -> None:
    edit_many(store, pipeline, clock, 120, timedelta(seconds=3))  # the first save makes the post: 119 edits
    path = tmp_path / "archive.db"  # the store fixture's archive
    with client_for(path) as http:
        first = http.get("/post/1")
        assert first.status_code == 200 and len(first.content) < 60_000
        assert "50 earlier versions kept, newest first · page 1 of 5" in first.text
        assert first.text.count('<div class="meta">version ') == 10
        assert '<a href="?versions=2#versions">older versions</a>' in first.text
        second = http.get("/post/1", params={"versions": "4"}).text
        assert "… versions 11 to 79 not kept (the archive keeps a post&#39;s first 10 and last 40 versions)" in second
        last = http.get("/post/1", params={"versions": "5"}).text
        assert '<div class="meta">version 1 ·' in last and "older versions" not in last
        for bad in ("6", "²", "9" * 30):
            page = http.get("/post/1", params={"versions": bad})
            assert page.status_code == 400 and "versions: " in page.text
