from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from telethon.extensions import html as telethon_html

from bot.core.digest import build_digest, fold_items, render_html, render_text, snippet, utf16_len
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, Forward
from storage.store import Store
from tests.conftest import raw_post

START = datetime(2026, 11, 20, tzinfo=UTC)
SOFIA = ZoneInfo("Europe/Sofia")
MFA = Forward(channel_id=555, message_id=42, name="Russian MFA")


def saved(store: Store, pipeline: Pipeline, raws: list) -> list:
    store.save_posts([pipeline.process(r) for r in raws])
    return store.posts_between(START, START + timedelta(days=1))


def test_forwards_and_copies_fold_into_one_item(store: Store, pipeline: Pipeline) -> None:
    text = "Lavrov and Vucic discussed Kosovo in Belgrade.\n#RussiaSerbia"
    raws = [
        raw_post(1, text, channel=ChannelRef(tg_id=1, username="a"), forward=MFA, date=START + timedelta(hours=3)),
        raw_post(2, text, channel=ChannelRef(tg_id=2, username="b"), forward=MFA, date=START + timedelta(hours=1)),
        raw_post(
            3,
            "VIEW IN TELEGRAM\n" + text,
            channel=ChannelRef(tg_id=3, username="c"),
            date=START + timedelta(hours=2),
        ),
        raw_post(4, "Iran and China met in Beijing.", channel=ChannelRef(tg_id=1, username="a"), date=START),
    ]
    items = fold_items(saved(store, pipeline, raws))
    assert len(items) == 2
    serbia = next(i for i in items if i.seen_in > 1)
    assert serbia.channels == ["@b", "@c", "@a"]
    assert serbia.first.message_id == 2  # the earliest is the representative


def test_grouping_most_active_first_each_item_once(store: Store, pipeline: Pipeline) -> None:
    raws = [raw_post(i, f"Serbia and Kosovo, round {i}.", date=START + timedelta(hours=i)) for i in range(1, 4)]
    raws.append(raw_post(10, "Iran nuclear programme news.", date=START + timedelta(hours=5)))
    posts = saved(store, pipeline, raws)
    digest = build_digest(posts, START, START + timedelta(days=1))
    labels = [s.tag.display if s.tag else None for s in digest.sections]
    assert labels[0] in {"Serbia", "Kosovo"}
    assert sum(len(s.items) for s in digest.sections) == digest.item_count == 4
    text = render_text(digest, SOFIA)
    assert text.count("round 1") == 1 and "Iran nuclear programme news." in text


def test_html_is_escaped_and_split_under_limit(store: Store, pipeline: Pipeline) -> None:
    hostile = "<b>bold</b> & <script>alert(1)</script> 🇷🇺 \u202eRTL\u202c Serbia " + "x" * 300
    raws = [raw_post(i, f"{hostile} {i}", date=START + timedelta(minutes=i)) for i in range(1, 201)]
    digest = build_digest(saved(store, pipeline, raws), START, START + timedelta(days=1))
    messages = render_html(digest, SOFIA)
    assert len(messages) > 1
    assert all(utf16_len(m) <= 4096 for m in messages)
    joined = "".join(messages)
    assert "<script>" not in joined and "&lt;script&gt;" in joined and "&lt;b&gt;bold" in joined
    assert sum(m.count("\n• ") + m.startswith("• ") for m in messages) == 200
    for message in messages:
        assert message.count("<b>") == message.count("</b>")
        assert message.count("<a ") == message.count("</a>")


def test_snippet_first_sentence_or_cut() -> None:
    assert snippet("First sentence is long enough to stand alone. Second one.\n\nMore.") == (
        "First sentence is long enough to stand alone."
    )
    long = "word " * 100
    cut = snippet(long)
    assert cut.endswith("…") and len(cut) <= 281
    assert snippet("#OnlyTags\n\nReal text here.") == "Real text here."


def test_empty_window_renders_notice() -> None:
    digest = build_digest([], START, START + timedelta(days=1))
    assert digest.empty
    assert "Nothing new" in render_text(digest, SOFIA)
    assert render_html(digest, SOFIA)[0].startswith("<b>Digest")


class _TagBalance(HTMLParser):
    """Strict nesting check: Telegram rejects a message whose tags do not close in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in {"b", "i", "a"}:
            self.errors.append(f"unexpected <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")


def test_200_hostile_items_split_into_valid_telegram_messages(store: Store, pipeline: Pipeline) -> None:
    hostile = "<b>bold</b> & <i>it</i> &amp; 🇷🇺👍🏽 \u202eRTL\u202c \u200fmark Kosovo " + "слово " * 45
    topics = ["Serbia", "Iran", "Belarus"]
    raws = [
        raw_post(
            i,
            f"Item number {i} on {topics[i % 3]}: {hostile}",
            channel=ChannelRef(tg_id=i % 5 + 1, username=f"ch{i % 5}"),
            date=START + timedelta(minutes=i),
        )
        for i in range(1, 201)
    ]
    digest = build_digest(saved(store, pipeline, raws), START, START + timedelta(days=1))
    messages = render_html(digest, SOFIA)
    assert len(messages) > 5
    seen: list[int] = []
    for message in messages:
        text, _entities = telethon_html.parse(message)  # what Telethon sends
        assert 0 < utf16_len(text) <= 4096 and utf16_len(message) <= 4096
        checker = _TagBalance()
        checker.feed(message)
        checker.close()
        assert checker.errors == [] and checker.stack == []
        assert "\u202e" not in message and "\u202c" not in message
        seen += [int(n) for n in re.findall(r"Item number (\d+) on", text)]
        first_line = message.split("\n", 1)[0]
        if message is not messages[0]:
            assert first_line.startswith("<b>")  # every piece starts with its section heading
    assert sorted(seen) == list(range(1, 201))  # every item once, none cut
    continued = [m.split("\n", 1)[0] for m in messages[1:] if "(cont.)" in m.split("\n", 1)[0]]
    assert continued  # a section running over carries its heading on, marked as continued
