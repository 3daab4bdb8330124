from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from telethon.extensions import html as telethon_html

from bot.core.digest import build_digest, fold_items
from bot.core.digest_render import digest_json, render_html, render_text, snippet
from bot.core.pipeline import Pipeline
from bot.core.telegram_text import isolate, strip_bidi_keep_isolates, utf16_len
from bot.models import ChannelRef, Forward
from storage.store import Store
from tests.conftest import DATA, raw_post

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
    messages = render_html(digest, SOFIA, per_section=None)  # every item: what the splitter must carry
    assert len(messages) > 1
    assert all(utf16_len(m) <= 4096 for m in messages)
    joined = "".join(messages)
    assert "<script>" not in joined and "&lt;script&gt;" in joined and "&lt;b&gt;bold" in joined
    assert sum(m.count("\n• ") + m.startswith("• ") for m in messages) == 200
    for message in messages:
        assert message.count("<b>") == message.count("</b>")
        assert message.count("<a ") == message.count("</a>")


def test_snippet_first_sentence_or_cut() -> None:
    assert snippet("A first sentence that is long enough to stand on its own. Second one.\n\nMore.") == (
        "A first sentence that is long enough to stand on its own."
    )
    # a short first sentence brings the next one along (two short ones), a line break ends a sentence
    assert snippet("Talks failed. Moscow will respond.\n\nMore.") == "Talks failed. Moscow will respond."
    long = "word " * 100
    cut = snippet(long)
    assert cut.endswith("…") and len(cut) <= 281
    assert snippet("#OnlyTags\n\nReal text here.") == "Real text here."
    assert snippet("\u202eRTL text\u202c that is long enough to be a lead on its own.") == (
        "RTL text that is long enough to be a lead on its own."
    )


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
    messages = render_html(digest, SOFIA, per_section=None)  # every item: what the splitter must carry
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


def window_digest(store: Store, pipeline: Pipeline, raws: list, start: datetime = START) -> tuple:
    store.save_posts([pipeline.process(r) for r in raws])
    end = start + timedelta(days=1)
    digest = build_digest(store.posts_between(start, end), start, end)
    return digest, render_text(digest, SOFIA)


def test_header_counts_are_the_section_sizes_and_plurals_agree(store: Store, pipeline: Pipeline) -> None:
    raws = [
        raw_post(1, "Lavrov met Vucic in Belgrade to discuss Kosovo and gas supplies.", date=START),
        raw_post(
            2, "Belarus and Russia held talks on the Union State budget in Minsk.", date=START + timedelta(hours=1)
        ),
        raw_post(
            3, "Serbia and Belarus signed a trade agreement on agricultural goods.", date=START + timedelta(hours=2)
        ),
        raw_post(
            4, "Iran and China discussed the nuclear programme in Beijing today.", date=START + timedelta(hours=3)
        ),
    ]
    digest, text = window_digest(store, pipeline, raws)
    header = text.split("\n")[1]
    sections = re.findall(r"^(\S.*) \((\d+)\)$", text, flags=re.MULTILINE)
    assert sections, text
    for name, size in sections:
        assert f" · {name} {size}" in header  # the header names each section with its size
        block = text.split(f"\n{name} ({size})\n", 1)[1].split("\n\n", 1)[0]
        assert len(block.splitlines()) == int(size)  # ... which is the number of lines under it
    assert header.startswith(f"{digest.item_count} items from 4 posts")
    assert sum(int(size) for _, size in sections) == digest.item_count == 4
    assert "1 items" not in text and "(1)" in text

    one, text = window_digest(store, pipeline, [], START + timedelta(days=1))
    assert one.empty and "Nothing new" in text
    single = [raw_post(9, "Lavrov met Vucic in Belgrade to discuss Kosovo again.", date=START + timedelta(days=2))]
    _, text = window_digest(store, pipeline, single, START + timedelta(days=2))
    assert "1 item from 1 post" in text and "1 items" not in text


def test_dates_carry_the_year_only_when_the_window_spans_years(store: Store, pipeline: Pipeline) -> None:
    new_year = datetime(2026, 12, 31, 12, tzinfo=UTC)
    raws = [
        raw_post(1, "Lavrov met Vucic in Belgrade to discuss Kosovo and gas supplies.", date=new_year),
        raw_post(
            2, "Belarus and Russia held talks on the Union State budget in Minsk.", date=new_year + timedelta(hours=13)
        ),
    ]
    _, text = window_digest(store, pipeline, raws, new_year - timedelta(hours=1))
    assert "31 Dec 2026 14:00" in text and "01 Jan 2027 03:00" in text  # Sofia time
    _, text = window_digest(store, pipeline, [], START)
    inside = [
        raw_post(5, "Iran and China discussed the nuclear programme in Beijing.", date=START + timedelta(hours=5))
    ]
    _, text = window_digest(store, pipeline, inside, START)
    assert "20 Nov 07:00" in text and "20 Nov 2026" not in text


def test_media_without_text_folds_into_its_album_or_a_count_line(store: Store, pipeline: Pipeline) -> None:
    watch = ChannelRef(tg_id=7, username="balkan_watch")
    other = ChannelRef(tg_id=8, username="serbia_today")
    at = START + timedelta(hours=10)
    raws = [
        # a Desktop-export album: the caption on one message, the other photos bare, seconds apart
        raw_post(10, "Lavrov laid flowers at the monument to the liberators of Belgrade.", channel=watch, date=at),
        raw_post(11, "", channel=watch, date=at + timedelta(seconds=1), media_kind="photo"),
        raw_post(12, "📷", channel=watch, date=at + timedelta(seconds=2), media_kind="photo"),
        # the same minute in another channel is not its album
        raw_post(20, "", channel=other, date=at + timedelta(seconds=30), media_kind="photo"),
        raw_post(21, "#Belgrade", channel=other, date=at + timedelta(minutes=40), media_kind="video"),
        raw_post(22, "", channel=other, date=at + timedelta(minutes=50), media_kind="photo"),
    ]
    digest, text = window_digest(store, pipeline, raws)
    assert "[photo]" not in text and "[video]" not in text
    assert "liberators of Belgrade. (+ 2 photos)" in text
    assert "Without text\n+ 2 photos and 1 video from @serbia_today, 20 Nov 12:00–12:50" in text
    assert digest.item_count == 1 and "1 item from 6 posts" in text
    html = "".join(render_html(digest, SOFIA))
    assert "+ 2 photos and 1 video from @serbia_today" in html and "<b>Without text</b>" in html
    data = digest_json(digest)
    assert data["without_text"][0]["post_ids"] and len(data["sections"][0]["items"][0]["media_post_ids"]) == 2


def test_web_preview_header_lines_are_not_the_item() -> None:
    """The fixture's "Заявление официального представителя:" post shows its statement, not its label."""
    from bot.sources.web_preview_parser import parse_saved_page

    posts = {p.message_id: p for p in parse_saved_page(DATA / "web_preview" / "balkan_watch_before_2031.html")}
    assert snippet(posts[2029].text) == "Мы приветствуем диалог между Белградом и Приштиной."


def test_right_to_left_text_is_its_own_direction_run_in_a_digest_line(store: Store, pipeline: Pipeline) -> None:
    """Issue 35.3: an Arabic snippet inside "• time · channel — text · seen in …" is isolated (FSI…PDI),
    so it neither reorders the line around it nor takes our punctuation; Latin text is left as it was."""
    arabic = "بيان وزارة الخارجية حول المفاوضات (اليوم)."
    posts = saved(
        store,
        pipeline,
        [
            raw_post(1, arabic + " \u202eX", channel=ChannelRef(tg_id=1, username="ar"), date=START),
            raw_post(2, "Lavrov met Vucic in Belgrade.", channel=ChannelRef(tg_id=2, username="en"), date=START),
        ],
    )
    digest = build_digest(posts, START, START + timedelta(days=1))
    html_text = "\n".join(render_html(digest, UTC))
    assert f"— \u2068{arabic} X\u2069" in html_text  # the override inside is gone, the run is balanced
    assert "— Lavrov met Vucic in Belgrade." in html_text
    plain = render_text(digest, UTC)
    assert f": \u2068{arabic} X\u2069" in plain
    assert plain.count("\u2068") == plain.count("\u2069") == 1


def test_bot_replies_keep_our_isolates_and_drop_every_other_control() -> None:
    """Issue 35.3 for bot replies: the router's last pass keeps balanced FSI…PDI runs (ours), removes
    overrides, embeddings and stray isolates (a channel's)."""
    from bot.commands.router import bounded
    from bot.models import Reply

    ours = f"1. 12:00 · Desk — {isolate('بيان الخارجية (اليوم).')} · seen in 2 channels"
    hostile = "evil \u202e reversed \u2067 open \u2069 close \u2068"
    [kept, cleaned] = bounded(Reply((ours, hostile))).parts
    assert kept == ours and kept.count("\u2068") == kept.count("\u2069") == 1
    assert not any(c in cleaned for c in "\u202e\u2066\u2067\u2068\u2069")
    assert strip_bidi_keep_isolates("\x00\u2068x\u2069") == "\x00x"  # a NUL in the text: everything goes
