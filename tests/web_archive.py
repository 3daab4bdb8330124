"""An archive filled by the real pipeline for the web viewer's tests: the bundled sample channels
(two Telegram Desktop exports, one statement forwarded by both) plus hostile posts.

The hostile posts carry what a channel can really send: markup in the text, an attribute that runs
script, a `javascript:` link as the post URL, markup in the channel title and the forward name.
Every page must show them as text; `window.__pwned` stays undefined in a real browser.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.app.archive import Archive
from bot.cli.demo_cmd import sample_files
from bot.config import Settings
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, Forward, RawPost, Sender, TextLink
from bot.sources.desktop_export import parse_export
from storage.store import Store

SCRIPT_TEXT = (
    "Statement on <script>window.__pwned = 1</script> Kosovo talks.\n\n"
    '<img src=x onerror="window.__pwned = 2"> and <b>bold</b> &amp; "quotes" \u202eevil'
)
HOSTILE_TITLE = '<script>window.__pwned = 3</script>Evil "Channel"'
HOSTILE_FORWARD = '<i onmouseover="window.__pwned = 4">MFA</i>'
HOSTILE_CHANNEL = ChannelRef(tg_id=1700000099, title=HOSTILE_TITLE)
HOSTILE_DATE = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


def hostile_posts() -> list[RawPost]:
    return [
        RawPost(
            channel=HOSTILE_CHANNEL,
            message_id=1,
            date=HOSTILE_DATE,
            text=SCRIPT_TEXT,
            source="export",
            hashtags=("Kosovo",),
            url="javascript:window.__pwned=5",
            forward=Forward(name=HOSTILE_FORWARD),
        ),
        RawPost(
            channel=HOSTILE_CHANNEL,
            message_id=2,
            date=datetime(2026, 11, 20, 17, 0, tzinfo=UTC),
            text=EARLIER_TEXT,
            source="export",
        ),
    ]


EARLIER_TEXT = "A first draft <script>window.__pwned = 6</script> about sanctions."


def hostile_edit() -> RawPost:
    """The evil channel's second post, edited: its first version (with markup) becomes history."""
    return RawPost(
        channel=HOSTILE_CHANNEL,
        message_id=2,
        date=datetime(2026, 11, 20, 17, 0, tzinfo=UTC),
        text="A second post of the evil channel about sanctions and Serbia.",
        source="export",
        edit_date=datetime(2026, 11, 20, 17, 30, tzinfo=UTC),
    )


def fill_archive(path: Path, pipeline: Pipeline | None = None) -> Path:
    """Import the samples and the hostile posts the way `tgmonitor import` does; returns `path`."""
    archive = Archive.around(Settings(), Store.open(path), pipeline or Pipeline.load(), path=path)
    try:
        for sample in sample_files():
            channel, raws = parse_export(sample)
            archive.ingest.save(raws, checkpoint=channel, atomic=True)
        archive.ingest.save(hostile_posts(), atomic=True)
        archive.ingest.save([hostile_edit()])
    finally:
        archive.close()
    return path


MIXED_CHANNEL = ChannelRef(tg_id=1700000077, title="Arabic desk")
MIXED_TEXT = (
    "بيان وزارة الخارجية حول المفاوضات:\n"
    "1. The talks resume on Monday (in Geneva).\n"
    "2. Both sides agreed: \u201cno preconditions\u201d.\n"
    "Full text: https://example.org/statement."
)


def add_posts(path: Path, raws: list[RawPost], pipeline: Pipeline | None = None) -> int:
    """Ingest more posts as `tgmonitor import` does; returns the last post id."""
    archive = Archive.around(Settings(), Store.open(path), pipeline or Pipeline.load(), path=path)
    try:
        archive.ingest.save(raws, atomic=True)
        row = archive.store.db.execute("SELECT max(id) FROM posts").fetchone()
    finally:
        archive.close()
    return int(row[0])


def add_mixed_direction_post(path: Path, pipeline: Pipeline | None = None) -> int:
    """A post opening with an Arabic line over an English list and a plain URL (issue 35.3, 35.10)."""
    raw = RawPost(
        channel=MIXED_CHANNEL,
        message_id=1,
        date=datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
        text=MIXED_TEXT,
        source="export",
    )
    return add_posts(path, [raw], pipeline)


GROUP_CHANNEL = ChannelRef(tg_id=1700000055, title="Analysts group")


def add_group_post(path: Path, pipeline: Pipeline | None = None) -> int:
    """A group message with its sender, a time on the exporter's clock, and hidden links: one to a web
    page, one to `javascript:` that must stay text (issue 35.10, 35.5)."""
    raw = RawPost(
        channel=GROUP_CHANNEL,
        message_id=1,
        date=datetime(2026, 11, 19, 9, 0, tzinfo=UTC),
        text="Who has the minutes of the Brussels round? Here are the minutes, and do not click this.",
        source="export",
        sender=Sender("Ana Petrova", "user11"),
        approx_time=True,
        text_links=(
            TextLink("the minutes", "https://example.org/brussels/minutes", nth=1),  # the second "the minutes"
            TextLink("this", "javascript:window.__pwned=4"),
        ),
    )
    return add_posts(path, [raw], pipeline)
