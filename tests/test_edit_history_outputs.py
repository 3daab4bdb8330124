"""Where edit history shows: digest marks, /post N (versions) and /post N diff, `tgmonitor history`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telethon.extensions import html as telethon_html

from bot.app.digest_jobs import DigestRunner, window_posts
from bot.app.edit_alerts import EditAlerter
from bot.cli import main
from bot.commands import Chat, CommandRouter, User
from bot.config import Settings
from bot.core.digest import build_digest
from bot.core.digest_render import digest_json, render_html, render_text
from bot.core.edits import EditWatch
from bot.core.pipeline import Pipeline
from bot.core.telegram_text import TELEGRAM_LIMIT, utf16_len
from bot.core.windows import Window
from bot.models import ChannelRef, PostChange
from bot.outputs.telegram import TelethonBotSender
from storage.store import Store
from tests.conftest import make_ingest, raw_post
from tests.fake_bot import FakeBotClient
from tests.tg_factory import SleepRecorder

pytestmark = pytest.mark.both_backends

SOFIA = ZoneInfo("Europe/Sofia")
DAY = datetime(2026, 11, 20, tzinfo=UTC)
FRIEND = User(1, "friend", "Friend")
CHAT = Chat(1)
SETTINGS = Settings(allowed_users=frozenset({FRIEND.id}), tz=SOFIA)
STATEMENT = "Serbia will not introduce sanctions against Russia, President Vucic said in Belgrade."


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def day_with_changes(store: Store, pipeline: Pipeline) -> dict[int, int]:
    """Four posts of 20 Nov: one edited at 12:05 UTC, one deleted at 15:00, one left alone, one edited
    the next day (outside the day's window)."""
    clock = Clock(DAY + timedelta(hours=9))
    store.clock = clock
    ingest = make_ingest(store, pipeline)
    ingest.save(
        [
            raw_post(1, STATEMENT + "\n\n#Serbia", date=DAY + timedelta(hours=9)),
            raw_post(2, "Lavrov arrives in Minsk for talks.\n\n#Belarus", date=DAY + timedelta(hours=10)),
            raw_post(3, "Weather in Sofia: sunny.", date=DAY + timedelta(hours=11)),
            raw_post(4, "Gas talks with Bulgaria postponed.\n\n#Bulgaria", date=DAY + timedelta(hours=11, minutes=30)),
        ]
    )
    clock.now = DAY + timedelta(hours=12, minutes=7)
    edited = STATEMENT.replace("will not introduce", "will introduce") + "\n\n#Serbia"
    ingest.save([raw_post(1, edited, date=DAY + timedelta(hours=9), edit_date=DAY + timedelta(hours=12, minutes=5))])
    clock.now = DAY + timedelta(hours=15)
    ingest.mark_deleted(ChannelRef(tg_id=1001), [2])
    clock.now = DAY + timedelta(days=1, hours=8)
    ingest.save(
        [
            raw_post(
                4,
                "Gas talks with Bulgaria cancelled.\n\n#Bulgaria",
                date=DAY + timedelta(hours=11, minutes=30),
                edit_date=DAY + timedelta(days=1, hours=7),
            )
        ]
    )
    return dict(store.db.execute("SELECT message_id, id FROM posts").fetchall())


def test_digest_marks_items_edited_or_deleted_in_the_window(store: Store, pipeline: Pipeline) -> None:
    ids = day_with_changes(store, pipeline)
    posts, changes = window_posts(store, DAY, DAY + timedelta(days=1))
    assert [p.message_id for p in posts] == [1, 2, 3, 4]  # the deleted post is in the window too
    assert [(c.post_id, c.version) for c in changes] == [(ids[1], 2), (ids[2], 0), (ids[4], 2)]
    digest = build_digest(posts, DAY, DAY + timedelta(days=1), changes=changes)
    text = render_text(digest, SOFIA)
    lines = {line.split(": ", 1)[1].split(" <")[0]: line for line in text.splitlines() if line.startswith("- ")}
    assert lines[STATEMENT.replace("will not introduce", "will introduce")].endswith("(edited 14:05)")
    assert lines["Lavrov arrives in Minsk for talks."].endswith("(deleted)")
    assert "(edited" not in lines["Weather in Sofia: sunny."]
    assert "(edited" not in lines["Gas talks with Bulgaria cancelled."]  # edited after the window
    html_parts = render_html(digest, SOFIA)
    assert "· <i>edited 14:05</i>" in html_parts[0] and "· <i>deleted</i>" in html_parts[0]
    shaped = {i["post_ids"][0]: i for s in digest_json(digest)["sections"] for i in s["items"]}  # type: ignore[index,union-attr]
    assert shaped[ids[1]]["edited_at"] == "2026-11-20T12:05:00+00:00" and shaped[ids[2]]["deleted"] is True
    # The next day's window does not hold these posts; the edit of post 4 marks nothing there.
    assert window_posts(store, DAY + timedelta(days=1), DAY + timedelta(days=2))[0] == []


def test_a_deletion_noticed_after_the_window_is_not_marked_in_it(store: Store, pipeline: Pipeline) -> None:
    ids = day_with_changes(store, pipeline)
    posts, changes = window_posts(store, DAY, DAY + timedelta(hours=14))
    digest = build_digest(posts, DAY, DAY + timedelta(hours=14), changes=changes)
    item = next(i for s in digest.sections for i in s.items if i.first.id == ids[2])
    assert not item.deleted  # deleted at 15:00, after this window closed
    unknown = build_digest(posts, DAY, DAY + timedelta(hours=14), changes=[c for c in changes if not c.deleted])
    item = next(i for s in unknown.sections for i in s.items if i.first.id == ids[2])
    assert item.deleted  # no deletion time recorded (an archive from before): marked whenever deleted


def test_scheduled_digest_carries_the_marks(store: Store, pipeline: Pipeline) -> None:
    day_with_changes(store, pipeline)
    client = FakeBotClient()
    runner = DigestRunner(
        store=store, sender=TelethonBotSender(client, sleep=SleepRecorder()), clock=lambda: DAY + timedelta(days=1)
    )
    sub = store.subscriptions.add(-100555, at=time(2, 0), tz=SOFIA)  # local midnight+2h: UTC 00:00
    parts = runner.render(sub, Window(DAY, DAY + timedelta(days=1)))
    assert "edited 14:05" in parts[0] and "deleted" in parts[0]


def test_post_shows_its_versions_and_its_last_diff(store: Store, pipeline: Pipeline) -> None:
    ids = day_with_changes(store, pipeline)
    router = CommandRouter(store, SETTINGS, bot_username="TgMonitorBot", now=lambda: DAY + timedelta(days=1))
    [shown] = router.route(f"/post {ids[1]}", CHAT, FRIEND).parts
    assert "<b>2 versions</b> · /post 1 diff shows the last change" in shown
    assert "v1 · posted 20 Nov 2026 11:00, seen 20 Nov 2026 11:00" in shown
    assert "v2 · edited 20 Nov 2026 14:05, seen 20 Nov 2026 14:07 (current)" in shown
    assert shown.endswith(
        "Serbia will introduce sanctions against Russia, President Vucic said in Belgrade.\n\n#Serbia"
    )

    [diff] = router.route(f"/post {ids[1]} diff", CHAT, FRIEND).parts
    assert diff == (
        "<b>@watcher</b> · <i>20 Nov 2026 11:00</i>\n<i>v1 → v2 · changed: negation</i>\n\n"
        "Serbia will <s>not</s> introduce sanctions against Russia, President Vucic said in Belgrade.\n\n#Serbia"
    )
    [deleted] = router.route(f"/post {ids[2]}", CHAT, FRIEND).parts
    assert "<i>Deleted on Telegram (noticed 20 Nov 2026 17:00); kept in the archive.</i>" in deleted
    assert "Lavrov arrives in Minsk" in deleted and "versions" not in deleted
    [never] = router.route(f"/post {ids[3]} DIFF", CHAT, FRIEND).parts
    assert "has one version" in never
    assert "/post 42 diff" in router.route(f"/post {ids[3]} changes", CHAT, FRIEND).parts[0]


def test_post_diff_of_a_long_post_is_split_and_version_list_is_bounded(store: Store, pipeline: Pipeline) -> None:
    clock = Clock(DAY)
    store.clock = clock
    ingest = make_ingest(store, pipeline)
    body = " ".join(f"Paragraph {i} on Serbia & <Kosovo> talks." for i in range(300))
    for version in range(14):
        clock.now = DAY + timedelta(minutes=version)
        text = body.replace("Paragraph 1 ", f"Paragraph {version * 7} ").replace("Paragraph 2", f"Item {version}")
        ingest.save([raw_post(1, text, edit_date=DAY + timedelta(minutes=version) if version else None)])
    router = CommandRouter(store, SETTINGS, bot_username="TgMonitorBot", now=lambda: DAY)
    post_id = store.search(None)[0].id
    listing = router.route(f"/post {post_id}", CHAT, FRIEND).parts
    assert "<b>14 versions</b>" in listing[0] and "… 4 more (tgmonitor history 1 lists them all)" in listing[0]
    assert "v1 · posted" in listing[0] and "v14 · edited" in listing[0] and "v5 ·" not in listing[0]
    huge = body.replace("talks", "negotiations")
    ingest.save([raw_post(1, huge, edit_date=DAY + timedelta(hours=1))])
    parts = router.route(f"/post {post_id} diff", CHAT, FRIEND).parts
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(part) <= TELEGRAM_LIMIT and part.count("<s>") == part.count("</s>")
        telethon_html.parse(part)


def test_cli_history_prints_every_version_and_diff(
    store: Store, pipeline: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = day_with_changes(store, pipeline)
    cli = ["--db", str(tmp_path / "archive.db"), "history"]  # the store fixture's archive
    assert main([*cli, str(ids[1])]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "[1] 2026-11-20 09:00 @watcher https://t.me/watcher/1"
    assert "v1: seen 2026-11-20 09:00, replaced 2026-11-20 12:07" in out
    assert "v2 (current): edit date 2026-11-20 12:05, seen 2026-11-20 12:07" in out
    assert "v1 → v2, 2026-11-20 12:05 (substantive: negation)" in out
    assert "    Serbia will [-not-] introduce sanctions" in out

    assert main([*cli, str(ids[1]), "--json"]) == 0
    shaped = json.loads(capsys.readouterr().out)
    assert [v["version"] for v in shaped["versions"]] == [1, 2] and shaped["versions"][1]["current"]
    assert shaped["edits"] == [
        {
            "from": 1,
            "to": 2,
            "edited_at": "2026-11-20T12:05:00+00:00",
            "substantive": True,
            "reasons": ["negation"],
            "removed": ["not"],
            "added": [],
            "diff": "Serbia will [-not-] introduce sanctions against Russia, President Vucic said in Belgrade.\n\n"
            "#Serbia",
        }
    ]
    assert main([*cli, str(ids[2]), "--json"]) == 0
    gone = json.loads(capsys.readouterr().out)
    assert gone["deleted"] is True and gone["deleted_at"] == "2026-11-20T15:00:00+00:00" and gone["edits"] == []
    assert main([*cli, "999"]) == 1
    assert "there is no post 999 in the archive" in capsys.readouterr().err


def test_changes_of_many_posts_is_read_in_chunks(store: Store, pipeline: Pipeline) -> None:
    clock = Clock(DAY)
    store.clock = clock
    ingest = make_ingest(store, pipeline, neardup=False)
    ingest.save([raw_post(i, f"Report {i}") for i in range(1, 1201)])
    clock.now = DAY + timedelta(hours=1)
    ingest.save([raw_post(i, f"Report {i} corrected", edit_date=DAY) for i in range(1, 1201, 2)])
    changes = store.changes_of(range(1, 1300))
    assert len(changes) == 600 and changes[0] == PostChange(1, 2, DAY + timedelta(hours=1), DAY)


@pytest.mark.parametrize("sent", [0, 1])
def test_edit_alert_messages_parse_as_telegram_html(store: Store, pipeline: Pipeline, sent: int) -> None:
    """The real bot sender path: the fake parses with Telethon's HTML parser and enforces the limit."""
    clock = Clock(DAY + timedelta(hours=9))
    store.clock = clock
    ingest = make_ingest(store, pipeline)
    ingest.save([raw_post(1, "Talks & <stuff> on " + "Kosovo " * 900, date=clock.now)])
    client = FakeBotClient()
    alerter = EditAlerter(
        store=store,
        sender=TelethonBotSender(client, sleep=SleepRecorder()),
        chat_id=5,
        watch=EditWatch.parse(["all"]),
        tz=SOFIA,
        clock=clock,
    )
    alerter.start()
    clock.now += timedelta(minutes=1)
    changed = "Talks & <stuff> on " + "Serbia " * 900 if sent else "Talks & <stuff> on " + "Kosovo " * 899 + "Kosovo!"
    ingest.save([raw_post(1, changed, date=DAY + timedelta(hours=9), edit_date=clock.now)])
    run = asyncio.run(alerter.check())
    assert len(run.sent) == sent and len(run.skipped) == 1 - sent
    if sent:
        assert len(client.sent) > 1 and all("<s>" in s.html or "<b>" in s.html for s in client.sent[:2])
