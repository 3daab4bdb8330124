"""Link picking and canonical URLs (bot/core/links.py), and every source filling RawPost.links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from telethon.tl import types

from bot.core.links import (
    MAX_LINKS_PER_POST,
    canonical_url,
    domain_refusal,
    explicitly_allowed,
    find_urls,
    pick_article_links,
)
from bot.models import ChannelRef
from bot.sources.desktop_export import parse_export
from bot.sources.telethon_convert import merge_album, message_to_raw
from tests.tg_factory import message

NEWS = ChannelRef(tg_id=1001, username="news", title="News")


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("https://WWW.Mid.RU:443/en/news/1999999/?utm_source=telegram&utm_medium=social#top",
         "https://www.mid.ru/en/news/1999999/"),
        ("https://example.com/a?id=5&fbclid=abc&gclid=x&page=2", "https://example.com/a?id=5&page=2"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("mid.ru/en/news/1", "http://mid.ru/en/news/1"),
        ("www.example.bg/news/123", "http://www.example.bg/news/123"),
        ("https://мид.рф/статья", "https://xn--d1ahl.xn--p1ai/%D1%81%D1%82%D0%B0%D1%82%D1%8C%D1%8F"),
        ("https://example.com/%d1%81", "https://example.com/%D1%81"),
        ("https://example.com", "https://example.com/"),
        ("http://[::1]:8080/a", "http://[::1]:8080/a"),
    ],
)  # fmt: skip
def test_canonical_url(raw: str, canonical: str) -> None:
    assert canonical_url(raw) == canonical
    assert canonical_url(canonical) == canonical  # idempotent


@pytest.mark.parametrize(
    "raw",
    ["ftp://example.com/a", "javascript:alert(1)", "mailto:a@b.c", "http://user:pw@example.com/a", "not a url", ""],
)
def test_what_is_not_a_web_page_address_has_no_canonical_form(raw: str) -> None:
    assert canonical_url(raw) is None


def test_urls_in_running_text_lose_trailing_punctuation_but_keep_their_own_brackets() -> None:
    text = "See https://en.wikipedia.org/wiki/Serbia_(country). Also «https://mid.ru/a/1», www.example.bg/x; (https://b.c/d)"
    assert find_urls(text) == [
        "https://en.wikipedia.org/wiki/Serbia_(country)",
        "https://mid.ru/a/1",
        "www.example.bg/x",
        "https://b.c/d",
    ]


def test_picker_leaves_out_telegram_media_front_pages_and_repeats_and_keeps_a_few() -> None:
    links = (
        "https://www.mid.ru/en/news/1?utm_source=tg",  # the preview: first, whatever follows
        "https://t.me/mfa_russia/123",
        "https://telegram.me/joinchat/x",
        "https://cdn.example.com/photo.JPG",
        "https://example.com/report.pdf",
        "https://youtu.be/abc",
        "https://serbiatoday.rs/",
    )
    text = (
        "Read: https://www.mid.ru/en/news/1 and https://a.example/1 https://b.example/2 https://c.example/3 "
        "https://d.example/4"
    )
    picked = pick_article_links(links, text)
    assert picked == ("https://www.mid.ru/en/news/1", "https://a.example/1", "https://b.example/2")
    assert len(picked) == MAX_LINKS_PER_POST


def test_domain_lists() -> None:
    assert domain_refusal("www.mid.ru", (), ()) is None
    assert domain_refusal("www.mid.ru", ("*",), ("ads.example",)) is None
    assert domain_refusal("news.mid.ru", ("mid.ru",), ()) is None
    assert domain_refusal("example.com", ("mid.ru",), ()) == "domain not in ARTICLE_DOMAINS"
    assert domain_refusal("x.ads.example", ("*",), ("ads.example",)) == "domain in ARTICLE_SKIP_DOMAINS"
    assert explicitly_allowed("intranet.local", ("*", "intranet.local"))
    assert not explicitly_allowed("intranet.local", ("*",))
    assert not explicitly_allowed("notmid.ru", ("mid.ru",))


# ------------------------------------------------------------------------------------------ sources
def test_telethon_message_links_preview_first_then_hidden_and_visible_urls() -> None:
    text = "Statement: full text here. Also see mid.ru/en/2 😀"
    entities = [
        types.MessageEntityTextUrl(offset=11, length=9, url="https://www.mid.ru/en/1?utm_source=tg"),
        types.MessageEntityUrl(offset=36, length=11),
    ]
    preview = types.MessageMediaWebPage(
        webpage=types.WebPage(
            id=1, url="https://www.mid.ru/en/1", display_url="mid.ru/en/1", hash=0, title="Statement", attributes=[]
        )
    )
    raw = message_to_raw(message(5, text, entities=entities, media=preview), NEWS)
    assert raw is not None
    assert raw.links == ("https://www.mid.ru/en/1", "https://www.mid.ru/en/1?utm_source=tg", "mid.ru/en/2")
    assert raw.media_kind == "webpage"


def test_album_parts_pool_their_links() -> None:
    first = message_to_raw(
        message(10, "a https://x.example/1", grouped_id=7, entities=[types.MessageEntityUrl(offset=2, length=19)]), NEWS
    )
    second = message_to_raw(
        message(
            11,
            "b",
            grouped_id=7,
            entities=[types.MessageEntityTextUrl(offset=0, length=1, url="https://y.example/2")],
        ),
        NEWS,
    )
    assert first is not None and second is not None
    assert merge_album([second, first]).links == ("https://x.example/1", "https://y.example/2")


def test_desktop_export_text_link_and_link_entities(tmp_path: Path) -> None:
    export = {
        "id": 1700000009,
        "name": "Links",
        "type": "public_channel",
        "messages": [
            {
                "id": 1,
                "type": "message",
                "date": "2026-11-20T10:00:00",
                "date_unixtime": "1795168800",
                "text": [
                    "Full statement ",
                    {"type": "text_link", "text": "here", "href": "https://www.mid.ru/en/news/7"},
                    " and ",
                    {"type": "link", "text": "example.bg/news/1"},
                ],
                "text_entities": [
                    {"type": "plain", "text": "Full statement "},
                    {"type": "text_link", "text": "here", "href": "https://www.mid.ru/en/news/7"},
                    {"type": "plain", "text": " and "},
                    {"type": "link", "text": "example.bg/news/1"},
                ],
            }
        ],
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    _, posts = parse_export(path)
    assert posts[0].links == ("https://www.mid.ru/en/news/7", "example.bg/news/1")


def test_real_desktop_export_links(tmp_path: Path) -> None:
    shared = Path(__file__).parents[2] / "shared" / "fixtures" / "tdesktop-export"
    path = shared / "tg2md_result_private_channel_2020-2021.json"
    if not path.is_file():
        pytest.skip("../shared is not available")
    _, posts = parse_export(path)
    links = [link for p in posts for link in p.links]
    assert "http://example.com/" in links and "example.com" in links
