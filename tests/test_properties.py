"""Properties of the pure core that must hold for any text, not just the examples we thought of.

The example tests pin behaviour on real posts; these look for the input nobody wrote down (combining
marks next to invisible characters, astral emoji in hashtags, markup-looking text in a channel name)
that would make a digest unsendable or make cleaning lose a reader's text.
"""

from __future__ import annotations

import html
import math
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.clean import (
    BoilerplateRules,
    clean_text,
    is_hashtag_only,
    is_substantial,
    load_boilerplate,
    normalize,
    paragraph_key,
    unique_paragraphs,
)
from bot.core.digest import build_digest
from bot.core.digest_render import render_html
from bot.core.learned_boilerplate import LearnedParagraph, learn_boilerplate, loose_key
from bot.core.pipeline import Pipeline
from bot.core.tags import extract_hashtags
from bot.core.telegram_text import TELEGRAM_LIMIT, utf16_len
from bot.models import ChannelRef, Forward, RawPost, StoredPost

pytestmark = pytest.mark.slow

RULES: BoilerplateRules = load_boilerplate()
PIPELINE = Pipeline.load()
SOFIA = ZoneInfo("Europe/Sofia")
START = datetime(2026, 11, 20, tzinfo=UTC)

# Any Unicode except surrogates (not encodable; Telegram cannot carry them either).
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)
# Text with the troublemakers over-represented: newlines of every kind, invisible and combining marks,
# markup characters, astral emoji, Cyrillic with its case pairs.
TRICKY_CHARS = st.sampled_from(
    [
        *"\n\r\t  \u00a0\u2028\u0085\u200b\u200d\ufeff\u00ad\u0301\u0308e<>&\"'#@/_.:*©",
        "🇷🇺",
        "👍🏽",
        "𝐁",
        "ß",
        "ǅ",
        "İ",
        "Ё",
        "ё",
        "ъ",
        "Σ",
        "ς",
    ]
)
MIXED_TEXT = st.lists(st.one_of(TRICKY_CHARS, st.characters(blacklist_categories=("Cs",))), max_size=300).map("".join)
# A small alphabet makes short adjacent combinations (a letter, an invisible mark, a combining accent)
# likely enough to be found in a few hundred examples.
DENSE_TEXT = st.text(st.sampled_from(list("e\u200b\u0301\u00ad\n #<ё")), max_size=12)
TEXT = st.one_of(ANY_TEXT, MIXED_TEXT, DENSE_TEXT)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Lines that boilerplate rules drop one by one (no drop-with-next or cut: those remove neighbours by design).
DROPPED_LINES = [
    "VIEW IN TELEGRAM",
    "This media is not supported in your browser",
    "РЕКЛАМА",
    "Сподели:",
    "Коментари (12)",
    "https://t.me/mfa_russia/1234",
    "16:59 - 18.04.2025",
    "Read more",
]


def _untouched_by_rules(line: str) -> bool:
    """A normalised line no boilerplate rule would drop, cut, strip or use to drop its neighbour."""
    for rule in RULES.rules:
        if rule.kind == "strip":
            if rule.regex.sub("", line).strip() != line:
                return False
        elif rule.regex.fullmatch(line):
            return False
    return True


# --- clean_text ------------------------------------------------------------------------------------


@PROPERTY
@given(TEXT)
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text, RULES)
    assert clean_text(once, RULES) == once


@PROPERTY
@given(st.lists(st.one_of(TEXT, st.sampled_from(DROPPED_LINES)), max_size=12))
def test_clean_text_keeps_every_non_boilerplate_line_in_order(chunks: list[str]) -> None:
    # A "line" of the input is what normalize makes of it; only lines no rule touches are kept as input,
    # with known droppable lines mixed in, so anything missing from the output was lost, not filtered.
    lines = [line for chunk in chunks for line in normalize(chunk).split("\n")]
    kept = [line for line in lines if line in DROPPED_LINES or _untouched_by_rules(line)]
    expected = unique_paragraphs(line for line in kept if line not in DROPPED_LINES)
    if not expected:  # a post that is nothing but links keeps them (issue #26)
        expected = list(dict.fromkeys(line for line in kept if line.startswith("https://")))
    assert clean_text("\n".join(kept), RULES).split("\n\n") == (expected or [""])


REPEATS = ["Kosovo", "KOSOVO", " kosovo ", "", "Сърбия", "She said:", "}", "Lavrov met Vucic in Belgrade on Thursday"]


@PROPERTY
@given(
    st.lists(st.one_of(TEXT, st.sampled_from([*REPEATS, REPEATS[-1].upper(), "Лавров се срещна с Вучич в Белград"])))
)
def test_unique_paragraphs_keeps_first_occurrences_in_order(lines: list[str]) -> None:
    """A subsequence of the input that keeps every paragraph's first occurrence and no repeat of substance."""
    result = unique_paragraphs(lines)
    remaining = iter(line for line in lines if line)
    assert all(any(kept == line for line in remaining) for kept in result), "not a subsequence"
    assert {paragraph_key(p) for p in result} == {paragraph_key(line) for line in lines if line}
    first_index: dict[str, int] = {}
    for index, line in enumerate(lines):
        if line:
            first_index.setdefault(paragraph_key(line), index)
    firsts = [lines[i] for i in sorted(first_index.values())]
    assert [p for p in result if is_substantial(p)] == [p for p in firsts if is_substantial(p)]


# --- hashtags --------------------------------------------------------------------------------------

TAG_NAME = st.text(
    st.characters(whitelist_categories=("L", "Nd"), blacklist_characters="ʹ"), min_size=1, max_size=30
).filter(lambda s: re.fullmatch(r"\w+", s) is not None and any(c.isalpha() for c in s))


@PROPERTY
@given(st.lists(TAG_NAME, max_size=8), st.sampled_from([" ", "\n", " · ", ", ", " и "]))
def test_extract_hashtags_round_trip(names: list[str], sep: str) -> None:
    expected: dict[str, str] = {}
    for name in names:
        expected.setdefault(name.casefold(), "#" + name)
    written = sep.join("#" + name for name in names)
    from_text = extract_hashtags(written)
    assert [t.display for t in from_text] == list(expected.values())
    assert [t.key for t in from_text] == list(expected)
    assert {t.kind for t in from_text} <= {"hashtag"}
    # Telegram's entity list says the same thing, with or without the '#'.
    assert extract_hashtags("", names) == from_text
    assert extract_hashtags(written, ["#" + n for n in names]) == from_text


# --- render_html -----------------------------------------------------------------------------------

_TAG = re.compile(r"<(/?)(b|i|a)(?: href=\"[^\"<>]*\")?>")


def _stored(raw: RawPost, post_id: int) -> StoredPost:
    post = PIPELINE.process(raw)
    return StoredPost(
        id=post_id,
        channel_id=raw.channel.tg_id or 0,
        channel_username=raw.channel.username,
        channel_title=raw.channel.title,
        message_id=raw.message_id,
        date=raw.date,
        text=post.text,
        url=post.url,
        origin_key=post.origin_key,
        content_hash=post.content_hash,
        lang=post.lang,
        tags=post.tags,
        forward_name=post.forward_name,
        media_kind=post.media_kind,
    )


POST = st.tuples(
    TEXT,
    st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9_]{3,31}", fullmatch=True)),  # a Telegram username
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=300),  # export names are not bounded
    st.booleans(),
    st.sampled_from([None, "photo", "poll", "<video>"]),
    st.integers(min_value=0, max_value=4),  # extra hashtags: headings and the header's summary use them
    st.sampled_from([1, 30, 600, 3000]),  # their length: Telegram allows a hashtag as long as a post
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(POST, max_size=40), TEXT)
def test_render_html_fits_telegram_and_escapes_post_text(posts: list[tuple], title: str) -> None:
    stored = []
    for index, (text, username, name, forwarded, media, tags, tag_length) in enumerate(posts, start=1):
        text += "\n" + " ".join(f"#{'Ж' * tag_length}x{index}y{n}" for n in range(tags))
        raw = RawPost(
            channel=ChannelRef(tg_id=index, username=username, title=name or None),
            message_id=index,
            date=START + timedelta(minutes=index),
            text=text,
            source="telethon",
            forward=Forward(channel_id=9, message_id=1, name=name) if forwarded else None,
            media_kind=media,
        )
        stored.append(_stored(raw, index))
    messages = render_html(build_digest(stored, START, START + timedelta(days=1), title=title), SOFIA)
    assert messages
    for message in messages:
        assert utf16_len(message) <= TELEGRAM_LIMIT
        stack: list[str] = []
        for match in _TAG.finditer(message):
            closing, name = match.groups()
            if closing:
                assert stack and stack.pop() == name, message
            else:
                assert not stack or name != "a" or "a" not in stack, "nested links"
                stack.append(name)
        assert not stack, message
        bare = _TAG.sub("", message)
        assert "<" not in bare and ">" not in bare
        # Every '&' starts an entity: unescaping and escaping again gives the same text back.
        assert html.escape(html.unescape(bare), quote=False) == bare.replace("&quot;", '"').replace("&#x27;", "'")


def _learn_one_pass(posts: list[list[str]], need_posts: int, need_share: float) -> list[LearnedParagraph]:
    """The definition of learned boilerplate, without the coarse-key shortcut."""
    counts: dict[str, int] = {}
    examples: dict[str, str] = {}
    for paragraphs in posts:
        seen = set()
        for paragraph in (p.strip() for p in paragraphs):
            if paragraph and not is_hashtag_only(paragraph):
                key = loose_key(paragraph)
                if key not in seen:
                    seen.add(key)
                    counts[key] = counts.get(key, 0) + 1
                    examples.setdefault(key, paragraph)
    need = max(need_posts, math.ceil(need_share * len(posts)))
    found = [LearnedParagraph(k, examples[k], n, n / len(posts)) for k, n in counts.items() if n >= need]
    return sorted(found, key=lambda p: (-p.posts, p.key))


# Sign-off variants that share a loose key but differ in everything the coarse key reads: links at
# either end, emoji, punctuation, case (ß folds to ss), length either side of the 2 x 32 characters.
SIGN_OFFS = st.sampled_from(
    [
        "👉 Read in full: https://site.example/1",
        "Read in full — https://site.example/2",
        "READ IN FULL www.site.example/3",
        "Абонирайте се за Сърбия Днес: t.me/serbia_today",
        "абонирайте се — за СЪРБИЯ днес! T.ME/serbia_today",
        "Straße der Diplomatie, jeden Tag und jede Woche, nur bei uns im Kanal — abonnieren!",
        "STRASSE der Diplomatie jeden Tag und jede Woche nur bei uns im Kanal abonnieren 🔔🔔🔔",
        "🔔 ... Straße der Diplomatie, jeden Tag und jede Woche, nur bei uns im Kanal — abonnieren",
        "★★★",
        "#RussiaSerbia",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(st.one_of(SIGN_OFFS, TEXT), max_size=5), min_size=1, max_size=30),
    st.integers(1, 6),
    st.sampled_from([0.0, 0.2, 0.5]),
)
def test_learn_boilerplate_equals_its_one_pass_definition(posts: list[list[str]], need: int, share: float) -> None:
    assert learn_boilerplate(posts, min_posts=need, min_share=share) == _learn_one_pass(posts, need, share)
