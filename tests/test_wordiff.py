"""The word diff and the "substantive edit" rule (bot/core/wordiff.py), by example and by property.

Examples are edits channels really make (a number corrected, a "not" added, a name swapped, a typo
fixed, a link or emoji changed, a line re-wrapped); properties check what must hold for any text.
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telethon.extensions import html as telethon_html

from bot.core.digest import TELEGRAM_LIMIT, utf16_len
from bot.core.edits import AlertPost, EditWatch, pack, render_deletion_alert, render_edit_alert
from bot.core.wordiff import compact, html_pieces, render_text, spelling_fix, tokenize, word_diff

STATEMENT = (
    "🇷🇺🇷🇸 On November 20, Foreign Minister Sergey Lavrov held talks with the Foreign Minister of the "
    "Republic of Serbia in Moscow. The ministers discussed the implementation of UN Security Council "
    "Resolution 1244 and agreed to continue consultations. https://mid.ru/en/news/1984512 #RussiaSerbia"
)


@pytest.mark.parametrize(
    ("old", "new", "reasons"),
    [
        # substantive: numbers, negations, names, or enough words
        (STATEMENT, STATEMENT.replace("1244", "1245"), ["numbers"]),
        (STATEMENT, STATEMENT.replace("November 20", "November 21"), ["numbers"]),
        (STATEMENT, STATEMENT.replace("agreed to", "did not agree to"), ["negation", "3 words"]),
        (STATEMENT, STATEMENT.replace("in Moscow", "in Belgrade"), ["names"]),
        (STATEMENT, STATEMENT.replace("Sergey Lavrov", "Maria Zakharova"), ["names"]),
        (
            STATEMENT,
            STATEMENT.replace("and agreed to continue consultations", "and postponed the next round"),
            ["4 words"],
        ),
        ("Белград няма да въведе санкции.", "Белград ще въведе санкции.", ["negation", "2 words"]),
        ("Сербия не введёт санкции против России.", "Сербия введёт санкции против России.", ["negation", "1 word"]),
        ("Vučić: Srbija ne priznaje Kosovo.", "Vučić: Srbija priznaje Kosovo.", ["negation", "1 word"]),
        ("Talks with three ministers.", "Talks with four ministers.", ["numbers", "1 word"]),
        ("Встреча состоится в Москве.", "Встреча состоится в Минске.", ["names", "1 word"]),
        ("Moscow will host the talks.", "Beijing will host the talks.", ["names", "1 word"]),
        ("Statement by @mfa_russia today", "Statement by @mfa_serbia today", ["names", "1 word"]),
        # not substantive: no words changed, or a spelling fixed, or too few plain words
        (STATEMENT, STATEMENT.replace("https://mid.ru/en/news/1984512", "https://mid.ru/en/news/1984513"), []),
        (STATEMENT, STATEMENT.replace("🇷🇺🇷🇸 ", "") + " 👍", []),
        (STATEMENT, STATEMENT.replace(". The ", ".\n\nThe ").replace("  ", " "), []),
        (STATEMENT, STATEMENT.replace("consultations", "consultatons"), []),
        (STATEMENT, STATEMENT.replace("Sergey", "Sergei"), []),  # a name transliterated the other way
        (STATEMENT, STATEMENT.replace("Foreign Minister of the", "foreign minister of the"), []),
        (STATEMENT, STATEMENT + " #Moscow #UN", []),  # hashtags are housekeeping
        (STATEMENT, STATEMENT.replace("held talks", "had talks"), []),  # one plain word in forty
        ("Aleksandar Vucic", "Aleksandar Vučić", []),
        ("Переговоры прошли в конструктивной атмосфере.", "Переговоры прошли в конструктивной атмосфере!", []),
        ("Ещё одна встреча", "Еще одна встреча", []),  # ё = е
    ],
)
def test_substantive_edits_are_numbers_negations_names_or_enough_words(old: str, new: str, reasons: list[str]) -> None:
    assert word_diff(old, new).reasons == reasons


def test_spelling_fixes_are_near_misses_of_ordinary_words_only() -> None:
    def fix(a: str, b: str) -> bool:
        return spelling_fix(tokenize(f"x {a}")[1], tokenize(f"x {b}")[1])

    assert fix("consultatons", "consultations") and fix("переговоры", "переговоров")
    assert not fix("legal", "illegal") and not fix("possible", "impossible")  # a prefix is a meaning
    assert not fix("1244", "1245") and not fix("not", "now")  # numbers and negations always count
    assert not fix("Austria", "Australia") and not fix("Iran", "Iraq")  # names: one letter at most
    assert fix("Vucic", "Vučić") and fix("Lavrov", "Lavrova")


def test_tokens_skip_links_and_emoji_and_know_names_from_openers() -> None:
    tokens = tokenize("The talks in Moscow 🇷🇺 ended. Lavrov said: https://t.me/mfa_russia/1 NATO #Kosovo @mfa")
    assert [(t.text, t.kind) for t in tokens] == [
        ("The", "word"),
        ("talks", "word"),
        ("in", "word"),
        ("Moscow", "name"),
        ("ended", "word"),
        ("Lavrov", "name"),
        ("said", "word"),
        ("NATO", "name"),
        ("#Kosovo", "tag"),
        ("@mfa", "name"),
    ]
    assert [t.kind for t in tokenize("Resolution 1,244 of 14:05, three не ne not")] == [
        "name",
        "number",
        "word",
        "number",
        "number",
        "negation",
        "negation",
        "negation",
    ]


def test_segments_put_removed_words_where_they_were() -> None:
    diff = word_diff("Lavrov met Vucic in Belgrade today.", "Lavrov met Putin in Moscow today, as planned.")
    assert render_text(diff.segments()) == (
        "Lavrov met [-Vucic-] {+Putin+} in [-Belgrade-] {+Moscow+} today, {+as planned+}."
    )
    assert "".join(html_pieces(diff.segments())) == (
        "Lavrov met <s>Vucic</s> <b>Putin</b> in <s>Belgrade</s> <b>Moscow</b> today, <b>as planned</b>."
    )
    assert diff.removed() == ["Vucic", "Belgrade"] and diff.added() == ["Putin", "Moscow", "as", "planned"]
    end = word_diff("Talks in Moscow.", "Talks.")
    assert "".join(html_pieces(end.segments())) == "Talks <s>in Moscow</s>."
    markup = "".join(html_pieces(word_diff("Use <b>bold</b> & more", "Use <i>bold</i> & less").segments()))
    assert markup.startswith("Use &lt; <s>b</s> <b>i</b>&gt;bold&lt;/") and "<i>" not in markup


def test_compact_keeps_context_around_each_change() -> None:
    long = " ".join(f"word{i}" for i in range(400))
    diff = word_diff(long + " Kosovo is Serbia.", long + " Kosovo is not Serbia.")
    shown = render_text(compact(diff.segments(), 40))
    assert shown.startswith("…") and "{+not+}" in shown and len(shown) < 80
    middle = word_diff("Start here. " + long + " end", "Begin here. " + long + " end")
    assert " … " not in render_text(compact(middle.segments(), 40))  # the tail is short: kept whole
    both = word_diff("A 1 " + long + " 2 Z", "A 3 " + long + " 4 Z")
    assert " … " in render_text(compact(both.segments(), 40))


def test_alerts_render_escaped_html_under_the_limit() -> None:
    post = AlertPost("@mfa_<russia>", datetime(2026, 11, 20, 8, 0, tzinfo=UTC), "https://t.me/mfa_russia/1?a=1&b=2")
    diff = word_diff(STATEMENT, STATEMENT.replace("1244", "1245 <script>"))
    [message] = render_edit_alert(post, diff, version=2, edited_at=datetime(2026, 11, 20, 9, 5, tzinfo=UTC), tz=UTC)
    assert message.startswith("✏️ <b>Edited</b> · @mfa_&lt;russia&gt; · <i>20 Nov 09:05</i>\n")
    assert "version 1 → 2 · changed: numbers" in message
    assert "<s>1244</s> <b>1245 &lt;script</b>&gt;" in message
    assert message.endswith('<a href="https://t.me/mfa_russia/1?a=1&amp;b=2">open</a>')
    telethon_html.parse(message)  # Telegram's parser (what the bot client runs) accepts it

    huge_old = " ".join(f"Слово{i} & <x>" for i in range(1500))
    huge_new = " ".join(f"Word{i} & <y>" for i in range(1500))
    parts = render_edit_alert(post, word_diff(huge_old, huge_new), version=3, edited_at=post.date, tz=UTC)
    assert len(parts) > 3 and all(utf16_len(p) <= TELEGRAM_LIMIT for p in parts)
    for part in parts:
        assert part.count("<s>") == part.count("</s>") and part.count("<b>") == part.count("</b>")
        telethon_html.parse(part)
    deleted = render_deletion_alert(post, "Text & <more> " * 800, noticed_at=post.date, tz=UTC)
    assert len(deleted) > 1 and all(utf16_len(p) <= TELEGRAM_LIMIT for p in deleted)
    assert deleted[0].startswith("🗑 <b>Deleted</b> · @mfa_&lt;russia&gt; · <i>noticed 20 Nov 08:00</i>")


def test_pack_never_splits_a_piece_and_keeps_the_order() -> None:
    pieces = [f"<b>{i:04d}</b>" + "x" * 90 for i in range(100)]
    messages = pack("HEAD\n", pieces, "FOOT", limit=1000)
    assert all(utf16_len(m) <= 1000 for m in messages)
    assert "".join(messages).replace("HEAD\n", "").replace("\nFOOT", "") == "".join(pieces)
    assert messages[0].startswith("HEAD") and messages[-1].endswith("FOOT")


def test_edit_watch_reads_names_links_and_ids() -> None:
    watch = EditWatch.parse(["@MFA_Russia", "https://t.me/s/balkan_watch", "-1001234567890", "777"])
    assert watch.covers("mfa_russia", None) and watch.covers("balkan_watch", 5)
    assert watch.covers(None, 1234567890) and watch.covers(None, 777) and not watch.covers("other", 8)
    assert watch.describe() == "@balkan_watch, @mfa_russia, 777, 1234567890"
    assert EditWatch.parse(["all"]).covers(None, None) and not EditWatch.parse([]).active


# ------------------------------------------------------------------------------------- properties

WORDS = st.sampled_from(
    ["Lavrov", "talks", "Belgrade", "не", "not", "1244", "sanctions", "и", "the", "Kosovo", "🇷🇺", "#Serbia",
     "https://t.me/x/1", "agreed", "Москва", "consultations", "&", "<b>", "\"", "ё"]
)  # fmt: skip
SEPARATORS = st.sampled_from([" ", "  ", "\n", "\n\n", ", ", ". ", " — "])


@st.composite
def posts(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORDS, max_size=40))
    seps = draw(st.lists(SEPARATORS, min_size=len(words), max_size=len(words)))
    return "".join(w + s for w, s in zip(words, seps, strict=True))


ANY = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(posts(), ANY), st.one_of(posts(), ANY))
def test_segments_rebuild_the_new_text_and_the_old_words(old: str, new: str) -> None:
    diff = word_diff(old, new)
    segments = diff.segments()
    assert "".join(s.text for s in segments if s.kind != "del") == unicodedata.normalize("NFC", new)
    removed = [t.key for s in segments if s.kind == "del" for t in tokenize(s.text)]
    assert removed == [t.key for h in diff.hunks for t in diff.old[h.old_start : h.old_end]]
    html_text = "".join(html_pieces(segments))
    assert html_text.count("<s>") == html_text.count("</s>") and html_text.count("<b>") == html_text.count("</b>")
    plain, _ = telethon_html.parse(html_text)  # Telegram's parser agrees on the text: nothing unescaped
    assert plain.split() == html.unescape(re.sub(r"</?[sb]>", "", html_text)).split()


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(posts(), st.data())
def test_spacing_emoji_links_and_case_never_change_words(text: str, data: st.DataObject) -> None:
    noise = data.draw(st.sampled_from([" ", "\n", " 👍 ", " https://example.org/a?b=1 ", "\u00a0"]))
    variant = re.sub(r"[ \n]+", lambda m: m.group() + noise if m.start() % 2 else m.group(), text)
    variant = variant.upper() if data.draw(st.booleans()) else variant
    diff = word_diff(text, variant)
    assert diff.empty and not diff.substantive


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(posts(), st.integers(0, 10**6), st.integers(0, 10**6))
def test_a_changed_number_is_always_substantive(text: str, a: int, b: int) -> None:
    if a == b:
        b = a + 1
    diff = word_diff(f"{text} total {a} people", f"{text} total {b} people")
    assert diff.substantive and "numbers" in diff.reasons


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(posts(), posts())
def test_identical_texts_have_no_diff_and_the_verdict_is_symmetric_for_numbers(a: str, b: str) -> None:
    assert word_diff(a, a).empty
    forward, backward = word_diff(a, b), word_diff(b, a)
    assert ("numbers" in forward.reasons) == ("numbers" in backward.reasons)
    assert ("negation" in forward.reasons) == ("negation" in backward.reasons)
