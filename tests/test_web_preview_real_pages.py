"""Optional: the parser on real t.me/s pages kept next to the repository (skipped in a plain clone)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.models import Forward
from bot.sources.web_preview_parser import WebPage, parse_page

REAL = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "tme-preview"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="third-party t.me samples not present")


def _parse(name: str) -> WebPage:
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"{name} not present")
    return parse_page(path.read_text(encoding="utf-8"))


def test_full_channel_page() -> None:
    page = _parse("any2feed_full.html")
    assert page.channel is not None and page.channel.username == "topwar_official"
    assert page.channel.title == "Военное обозрение"
    assert len(page.posts) == 12
    assert page.before_cursor == 70989 == page.min_id
    assert sum(p.forward is not None for p in page.posts) == 5
    assert all(p.forward and p.forward.username and p.forward.message_id for p in page.posts if p.forward)
    assert [p.message_id for p in page.posts if p.media_kind == "album"] == [70992, 71000]
    assert [p.media_kind for p in page.posts].count("webpage") == 1
    assert all(p.views and p.views > 10_000 for p in page.posts)
    assert all(p.date.tzinfo == UTC and p.text and "  " not in p.text for p in page.posts)
    first = page.posts[0]
    assert first.date == datetime(2023, 2, 28, 7, 47, 53, tzinfo=UTC) and first.views == 37_200
    assert first.text.count("\n") == 1  # one <br/>; the re-indented source's newlines are layout only


def test_single_message_with_edit_and_video_link_preview() -> None:
    (post,) = _parse("any2feed_message_link_preview_video.html").posts
    assert post.channel.username == "fighter_bomber"
    assert post.text == "Жениться вам, барин, пора! 😁\n\nhttps://t.me/shalnyak/5410"
    assert (post.media_kind, post.views, post.edit_date) == ("webpage", 69_400, post.date)


def test_single_message_album_with_hashtags() -> None:
    (post,) = _parse("any2feed_message_media_photo_and_video.html").posts
    assert post.hashtags == ("Белгород", "Беспилотники")
    assert post.media_kind == "album"


def test_2026_markup_media_only_and_forwarded_album() -> None:
    page = _parse("lifemodel_telegram-test-channel.html")
    assert [p.message_id for p in page.posts] == [1001, 1003, 1010]
    media_only = page.posts[1]
    assert (media_only.text, media_only.media_kind, media_only.views) == ("", "unsupported", 1_300)
    forwarded = page.posts[2]
    assert forwarded.forward == Forward(username="another_channel", message_id=500, name="Another Channel")
    assert forwarded.media_kind == "album"
    assert not any("Please open Telegram" in p.text for p in page.posts)
