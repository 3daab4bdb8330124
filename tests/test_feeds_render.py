"""bot/core/feeds.py and bot/core/feed_items.py: the three formats from one Feed, valid and escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import feedparser
import pytest

from bot.core.digest import DigestItem
from bot.core.feed_items import digest_entry, statement_entry, statement_id
from bot.core.feed_keys import feed_key, feed_secret, key_matches
from bot.core.feeds import FORMATS, Feed, FeedEntry, render, rfc822, rfc3339
from bot.models import StoredPost, Tag
from tests.feed_rules import check

WHEN = datetime(2026, 11, 20, 7, 15, tzinfo=UTC)
HOSTILE = 'Talks on <script>alert(1)</script> & "Kosovo"\x00\x0b\ufffe end\n\nSecond <b>para</b>'


def post(post_id: int, channel_id: int, **extra: object) -> StoredPost:
    values: dict[str, object] = {
        "id": post_id,
        "channel_id": channel_id,
        "channel_username": f"chan{channel_id}",
        "channel_title": f"Channel {channel_id}",
        "message_id": 100 + post_id,
        "date": WHEN,
        "text": "Lavrov met the Serbian minister.\n\nThey talked.",
        "url": f"https://t.me/chan{channel_id}/{100 + post_id}",
        "origin_key": "fwd:mfa/1",
        "content_hash": "h1",
        "lang": "en",
        "tags": (Tag("serbia", "Serbia", "topic"), Tag("en", "en", "lang")),
    }
    values.update(extra)
    return StoredPost(**values)  # type: ignore[arg-type]


def feed_of(entries: list[FeedEntry]) -> Feed:
    return Feed(
        id="urn:uuid:00000000-0000-5000-8000-000000000000",
        title="tgmonitor · Serbia <&>",
        description="Statements tagged Serbia",
        home_url="https://example.org/tag/serbia",
        updated=max((e.updated for e in entries), default=WHEN),
        entries=tuple(entries),
    )


def test_dates_are_rfc822_and_rfc3339_in_utc() -> None:
    local = datetime.fromisoformat("2026-11-20T09:15:00+02:00")
    assert rfc822(local) == "Fri, 20 Nov 2026 07:15:00 GMT"
    assert rfc3339(local) == "2026-11-20T07:15:00Z"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_valid_escaped_and_byte_identical(fmt: str) -> None:
    item = DigestItem((post(1, 1, text=HOSTILE, forward_name="<i>MFA</i>"), post(2, 2)))
    entry = statement_entry(item, [post(3, 3)], "https://example.org")
    body = render(feed_of([entry]), fmt, f"https://example.org/feeds/tag/serbia.{fmt}")  # type: ignore[arg-type]
    assert check(body, fmt) == []
    assert body == render(feed_of([entry]), fmt, f"https://example.org/feeds/tag/serbia.{fmt}")  # type: ignore[arg-type]
    assert "\x00" not in body and "\ufffe" not in body
    if fmt != "json":  # JSON Feed's title and summary are plain text, the script there is only words
        assert "<script>" not in body
    if fmt == "json":  # feedparser 6 reads RSS and Atom only; JSON Feed is checked by tests/feed_rules.py
        html = json.loads(body)["items"][0]["content_html"]
    else:
        parsed = feedparser.parse(body)
        assert not parsed.bozo
        [read] = parsed.entries
        html = read.content[0].value if fmt == "atom" else read.description
    # the post's markup arrives as text inside the entry's HTML, the entry's own markup as markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Forwarded from <b>&lt;i&gt;MFA&lt;/i&gt;</b>" in html
    assert "Seen in 3 channels:" in html
    for channel in (1, 2, 3):
        assert f'<a href="https://t.me/chan{channel}/{100 + channel}">@chan{channel}</a>' in html


def test_entry_fields_tags_link_dates() -> None:
    first = post(5, 1, edit_date=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    item = DigestItem((first, post(9, 2, date=datetime(2026, 11, 20, 8, 0, tzinfo=UTC))))
    entry = statement_entry(item, [], "https://example.org")
    assert entry.link == "https://t.me/mfa/1" or entry.link == first.url  # the origin's link when known
    assert entry.categories == ("Serbia",)  # language tags are not categories
    assert entry.published == WHEN
    assert entry.updated == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the edit moves `updated`
    assert entry.title == "Lavrov met the Serbian minister."
    assert entry.id == statement_id(item)


def test_statement_id_is_the_first_stored_post_not_the_earliest_dated() -> None:
    """A copy imported later with an earlier date (a backfill) does not change the entry's id."""
    live = DigestItem((post(7, 1),))
    backfilled = DigestItem((post(40, 2, date=datetime(2026, 11, 19, tzinfo=UTC)), post(7, 1)))
    assert statement_id(live) == statement_id(backfilled)
    assert statement_id(live).startswith("urn:uuid:")
    assert statement_id(DigestItem((post(8, 1),))) != statement_id(live)


def test_unsafe_post_url_is_never_a_link() -> None:
    item = DigestItem((post(1, 1, url="javascript:alert(1)", origin_key="tg:1/1"),))
    entry = statement_entry(item, [], "https://example.org")
    assert entry.link == "https://example.org/post/1"
    assert "javascript:" not in entry.content_html


def test_media_only_post_has_a_title() -> None:
    entry = statement_entry(DigestItem((post(1, 1, text="", media_kind="photo"),)), [], "https://x.org")
    assert entry.title == "[photo] @chan1"
    assert "<p>[photo]</p>" in entry.content_html


def test_digest_entry_keeps_the_messages_html() -> None:
    messages = ["<b>Digest</b> 2026-11-20\n• <i>07:15</i> · @chan1 — A &amp; B", "<b>Serbia</b> (1)"]
    entry = digest_entry(1, "Digest · 2026-11-20", WHEN, WHEN, messages, "https://example.org/")
    assert "<div><b>Digest</b> 2026-11-20<br>\n• <i>07:15</i> · @chan1 — A &amp; B</div>" in entry.content_html
    assert entry.summary.startswith("Digest 2026-11-20")
    for fmt in FORMATS:
        assert check(render(feed_of([entry]), fmt, "https://example.org/feeds/digest/1.x"), fmt) == []  # type: ignore[arg-type]


def test_empty_feed_is_valid() -> None:
    for fmt in FORMATS:
        assert check(render(feed_of([]), fmt, "https://example.org/feeds/tag/none.x"), fmt) == []  # type: ignore[arg-type]


def test_feed_keys_open_one_feed_and_need_a_secret() -> None:
    assert feed_secret(None, None) is None
    derived = feed_secret(None, "web-token-0123456789")
    assert derived is not None and b"web-token" not in derived
    assert feed_secret("explicit-secret-0123", "web-token-0123456789") == b"explicit-secret-0123"
    key = feed_key(derived, "tag/serbia")
    assert len(key) == 32 and key_matches(derived, "tag/serbia", key)
    assert not key_matches(derived, "tag/kosovo", key)
    assert not key_matches(derived, "tag/serbia", key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert not key_matches(derived, "tag/serbia", "ключ")
