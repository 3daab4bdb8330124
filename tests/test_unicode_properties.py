"""Unicode-wide properties (issue #26): what real channels write, generated across every category.

`str.isdigit()` took `❶` for a digit and an import of a real channel stopped on it; these look for the
next such character before a channel does. The text strategy over-represents what broke or could:
digits of every script, letterlike, enclosed and superscript numbers, right-to-left text wrapped in
bidi controls, combining marks, ZWJ emoji sequences, variation selectors and NUL. Properties:

* the pure core, from cleaning to digest rendering, takes any of it without an exception, and
  cleaning is idempotent;
* the importers' text paths (a JSON export's message, an HTML export page, a saved t.me/s page) read
  it into a post or refuse it with their one error type, never another exception; a lone surrogate
  (no UTF-8 spells it) is refused by name;
* every numeric input of the CLI, the bot and the settings reads ASCII digits only: any other text
  is refused with the input's own error, and a number in other digits is never taken as a number.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app.export_channel import parse_channel_option
from bot.cli.argtypes import non_negative_int, positive_int
from bot.commands.args import parse_hhmm, positive
from bot.commands.deps import UsageError as CommandUsageError
from bot.core.channels import ChannelIdentError, parse_channel
from bot.core.clean import clean_text, load_boilerplate
from bot.core.digest import build_digest
from bot.core.digest_render import render_html, render_text
from bot.core.neardup import MinHasher, text_dates, text_numbers
from bot.core.numbers import ascii_int
from bot.core.pipeline import Pipeline
from bot.core.search_query import parse_query
from bot.core.sentences import lead, split_sentences
from bot.core.textnorm import TextNormaliser
from bot.core.timeparse import parse_since
from bot.core.wordiff import word_diff
from bot.models import ChannelRef, RawPost, StoredPost
from bot.setting_values import parse_duration, parse_ids, parse_positive_int
from bot.sources.desktop_export import ExportError, parse_export_data
from bot.sources.desktop_html_export import parse_page as parse_html_page
from bot.sources.web_preview_parser import NotAPreviewPage
from bot.sources.web_preview_parser import parse_page as parse_tme_page

pytestmark = pytest.mark.slow

NORMALISER = TextNormaliser()
PIPELINE = Pipeline.load(normaliser=NORMALISER)
RULES = load_boilerplate()
HASHER = MinHasher()
START = datetime(2026, 11, 20, tzinfo=UTC)
SOFIA = ZoneInfo("Europe/Sofia")

DIGITS = st.characters(whitelist_categories=("Nd", "No", "Nl"))  # every script's digits, ² ❶ ① Ⅻ ¾
SPECIAL = st.sampled_from(
    [
        *"❶❷①⑳²³¹⁰₃٣۴३৩௩๓໓༣၃០᠓꧓𝟑𝟘Ⅻⅻ½¾",
        *"\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c",  # bidi controls
        *"مرحبا بالعالم שלום עולם",  # right-to-left letters
        *"\u0301\u0308\u0651\u064b\u05b4\u093c",  # combining marks (Latin, Arabic, Hebrew, Devanagari)
        "👨\u200d👩\u200d👧",
        "🏳️\u200d🌈",
        "👍🏽",
        "🇷🇸",
        "\ufe0f",
        "\ufe0e",
        "\U000e0100",  # variation selectors
        "\x00",
        "\n",
        " ",
        "#",
        "@",
        ".",
        ":",
        "https://t.me/c/",
        "1",
        "0",
    ]
)
WIDE_TEXT = st.lists(st.one_of(SPECIAL, DIGITS, st.characters(blacklist_categories=("Cs",))), max_size=200).map("".join)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _raw(text: str, message_id: int = 1) -> RawPost:
    return RawPost(
        channel=ChannelRef(tg_id=7, username="wide_channel", title="Wide"),
        message_id=message_id,
        date=START + timedelta(minutes=message_id),
        text=text,
        source="telethon",
    )


def _stored(raw: RawPost, post_id: int) -> StoredPost:
    post = PIPELINE.process(raw)
    return StoredPost(
        id=post_id,
        channel_id=7,
        channel_username="wide_channel",
        channel_title="Wide",
        message_id=raw.message_id,
        date=raw.date,
        text=post.text,
        url=post.url,
        origin_key=post.origin_key,
        content_hash=post.content_hash,
        lang=post.lang,
        tags=post.tags,
    )


# ------------------------------------------------------------------------------------------ the pure core
@PROPERTY
@given(WIDE_TEXT)
def test_the_pipeline_takes_any_text_and_cleaning_is_idempotent(text: str) -> None:
    text = text.replace("\x00", "")  # the importers refuse NUL (below); the listener never hands it over
    post = PIPELINE.process(_raw(text))
    assert clean_text(post.text, RULES, PIPELINE.page) == post.text
    HASHER.signature(post.text)
    text_numbers(text)
    text_dates(text)
    lead(post.text)
    split_sentences(post.text)
    word_diff(text, post.text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(WIDE_TEXT, min_size=1, max_size=12))
def test_digests_of_any_text_render(texts: list[str]) -> None:
    stored = [_stored(_raw(t.replace("\x00", ""), n), n) for n, t in enumerate(texts, start=1)]
    digest = build_digest(stored, START, START + timedelta(days=1), title="Wide")
    assert render_html(digest, SOFIA)
    assert render_text(digest, SOFIA) is not None


@PROPERTY
@given(WIDE_TEXT)
def test_search_queries_of_any_text_parse_or_say_why(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_query(text, NORMALISER)


# ------------------------------------------------------------------------------------------ importers
def _json_message(text: str) -> dict[str, object]:
    return {"id": 77, "messages": [{"id": 5, "type": "message", "date": "2024-03-01T10:00:00", "text": text}]}


@PROPERTY
@given(WIDE_TEXT)
def test_a_json_export_message_of_any_text_imports_or_is_refused_by_name(text: str) -> None:
    try:
        _, posts = parse_export_data(_json_message(text), "result.json")
    except ExportError as exc:
        assert "\x00" in text and "NUL" in str(exc)
        return
    assert "\x00" not in text
    assert [p.text for p in posts] == ([text] if text.strip() else [])


@PROPERTY
@given(WIDE_TEXT, st.sampled_from(["\ud800", "\udfff", "\udc00x"]))
def test_a_lone_surrogate_is_refused_cleanly(text: str, surrogate: str) -> None:
    with pytest.raises(
        ExportError, match=r"result.json: messages\[0\] \(id 5\): text contains (a lone surrogate|a NUL)"
    ):
        parse_export_data(_json_message(text + surrogate), "result.json")


def _html_page(text: str) -> bytes:
    body = "<br>".join(html.escape(line) for line in text.split("\n"))
    return (
        '<html><body><div class="page_wrap"><div class="page_header"><div class="content"><div class="text bold">'
        'Wide</div></div></div><div class="page_body chat_page"><div class="history">'
        '<div class="message default clearfix" id="message5"><div class="body">'
        '<div class="pull_right date details" title="01.03.2024 10:00:00 UTC+03:00">10:00</div>'
        f'<div class="from_name">Wide</div><div class="text">{body}</div></div></div>'
        "</div></div></div></body></html>"
    ).encode("utf-8", errors="surrogatepass")


@PROPERTY
@given(WIDE_TEXT)
def test_an_html_export_page_of_any_text_imports_or_is_refused_by_name(text: str) -> None:
    try:
        _, posts, _ = parse_html_page(_html_page(text), "messages.html", ChannelRef(tg_id=7))
    except ExportError as exc:
        assert str(exc).startswith("messages.html: message 5:"), exc
        return
    assert len(posts) <= 1


@PROPERTY
@given(WIDE_TEXT)
def test_a_saved_tme_page_of_any_text_parses(text: str) -> None:
    page = (
        '<html><body><section class="tgme_channel_history">'
        '<div class="tgme_widget_message" data-post="wide_channel/5">'
        f'<div class="tgme_widget_message_text">{html.escape(text)}</div>'
        '<a class="tgme_widget_message_date" href="https://t.me/wide_channel/5">'
        '<time datetime="2024-03-01T10:00:00+00:00">10:00</time></a></div></section></body></html>'
    )
    with contextlib.suppress(NotAPreviewPage):
        parse_tme_page(page)


# ------------------------------------------------------------------------------------------ numeric inputs
NUMBERISH = st.one_of(
    st.lists(st.one_of(DIGITS, st.sampled_from(list("0123456789-+_ #.,²❶٣")), st.characters()), max_size=25).map(
        "".join
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(DIGITS, min_size=1, max_size=8),
)


def _ascii_number(text: str) -> bool:
    body = text.lstrip("-#")
    return body.isascii() and body.isdecimal()


@PROPERTY
@given(NUMBERISH)
def test_numeric_inputs_read_ascii_digits_or_refuse_with_their_own_error(text: str) -> None:
    value = ascii_int(text)
    assert (value is not None) == (text.isascii() and text.isdecimal() and int(text) < 2**63)
    for parse in (positive_int, non_negative_int):
        try:
            parse(text)
        except argparse.ArgumentTypeError:
            continue
        assert _ascii_number(text.strip()), text
    for read in (parse_positive_int, parse_duration):
        try:
            read(text)
        except ValueError:
            continue
        assert text.strip().rstrip("smhdSMHD ").isascii(), text
    try:
        positive(text, "an id")
    except CommandUsageError:
        pass
    else:
        assert _ascii_number(text), text
    with contextlib.suppress(CommandUsageError):
        parse_hhmm(text)
    with contextlib.suppress(ValueError):
        parse_ids(text)


@PROPERTY
@given(NUMBERISH, st.sampled_from(["", "t.me/c/", "https://t.me/c/", "-100", "@", "c/"]), st.sampled_from(["", "/5"]))
def test_channel_references_read_ascii_ids_or_refuse(text: str, prefix: str, suffix: str) -> None:
    value = prefix + text + suffix
    try:
        ident = parse_channel(value)
    except ChannelIdentError:
        pass
    else:
        assert ident.tg_id is None or 0 < ident.tg_id < 2**63
        assert ident.tg_id is None or str(ident.tg_id) in value
    try:
        ref = parse_channel_option(value)
    except ValueError:
        pass
    else:
        assert ref.tg_id is None or (0 < ref.tg_id < 2**63 and str(ref.tg_id) in value)


@PROPERTY
@given(NUMBERISH, st.sampled_from(["", "m", "h", "d", "w"]))
def test_ages_read_ascii_digits_or_refuse(text: str, unit: str) -> None:
    with contextlib.suppress(ValueError):
        parse_since(text + unit, START, SOFIA)


def test_a_real_json_export_s_lone_surrogate_is_read_by_the_stream_without_a_crash(tmp_path: Path) -> None:
    """Through the importer's own reader (yajl), a JSON `\\ud800` escape becomes "?" rather than a string
    the archive could not encode: the import goes on."""
    from bot.sources.desktop_json_stream import JsonExport

    export = tmp_path / "result.json"
    export.write_text(json.dumps(_json_message("a\ud800b")), encoding="utf-8")
    (post,) = JsonExport.open(export).iter_posts()
    assert post.text.encode("utf-8")


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.floats() | WIDE_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(["type", "text", "href"]), children)
    ),
    max_leaves=12,
)
MESSAGE_KEYS = [
    "text",
    "text_entities",
    "date_unixtime",
    "edited",
    "forwarded_from",
    "forwarded_from_id",
    "poll",
    "media_type",
    "reply_to_message_id",
    "photo",
]


@PROPERTY
@given(st.dictionaries(st.sampled_from(MESSAGE_KEYS), JSON_VALUE, max_size=6))
def test_a_json_message_of_any_shape_imports_or_is_refused_by_name(fields: dict[str, object]) -> None:
    """What a damaged or hand-edited export may hold in any field: a post, or one error naming it."""
    message = {"id": 5, "type": "message", "date": "2024-03-01T10:00:00", **fields}
    try:
        parse_export_data({"id": 77, "messages": [message]}, "result.json")
    except ExportError as exc:
        assert str(exc).startswith("result.json: messages[0]"), exc
