"""Pure parts of the viewer: SVG charts, the Telegram HTML sanitizer, highlights, forms, the token."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Settings, SettingsError
from bot.core.copies import CopyKey, statement_spread
from bot.core.digest import fold_items
from bot.core.statements import TRIVIAL_MARK, content_folds
from bot.core.svg_charts import Series, axis_ticks, bars, heatmap, stacked_bars
from bot.models import StoredPost
from bot.web.cache import ChartCache
from bot.web.forms import FormError, SearchForm, parse_search
from bot.web.render import lines, marked, matching_paragraph
from bot.web.security import token_matches
from bot.web.telegram_html import safe_telegram_html
from storage.browse import MARK_CLOSE, MARK_OPEN

HOSTILE = "<script>alert(1)</script>\"&'"


def parse_svg(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def test_stacked_bars_draw_each_value_with_escaped_labels_and_local_links_only() -> None:
    svg = stacked_bars(
        ["11-20", "11-21"],
        [
            Series(HOSTILE, (3, 0), "/channel/1"),
            Series("B", (1, 2), "https://evil.example/"),
            Series("C", (0, 1), "//x"),
        ],
        title="Posts <per> day",
    )
    root = parse_svg(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    rects = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.find("s:title", ns) is not None]
    tips = [r.find("s:title", ns).text for r in rects]  # type: ignore[union-attr]
    assert tips == [f"{HOSTILE} · 11-20: 3 posts", "B · 11-20: 1 posts", "B · 11-21: 2 posts", "C · 11-21: 1 posts"]
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    hrefs = [a.get("href") for a in root.iter("{http://www.w3.org/2000/svg}a")]
    assert set(hrefs) == {"/channel/1"}  # other sites and protocol-relative links are not links
    assert "style=" not in svg  # the CSP allows no inline styles


def test_axis_ticks_are_round() -> None:
    assert axis_ticks(8) == [0, 2, 4, 6, 8]
    assert axis_ticks(7) == [0, 2, 4, 6, 8]
    assert axis_ticks(1) == [0, 1]
    assert axis_ticks(0) == [0, 1]
    assert axis_ticks(1234) == [0, 500, 1000, 1500]
    assert axis_ticks(95) == [0, 50, 100]


def test_heatmap_and_bars_carry_their_numbers() -> None:
    svg = heatmap(
        ["#Serbia", HOSTILE], ["11-16", "11-23"], [[5, 0], [1, 2]], title="Tags", row_links=["/tag/serbia", None]
    )
    root = parse_svg(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[:3] == ["Tags", "11-16", "11-23"] and "5" in texts and "2" in texts
    assert HOSTILE[:25] + "…" in texts
    bar = parse_svg(bars(["1 channel", "2 channels"], [6, 2], title="Copies", links=["/a", "javascript:x"]))
    assert [a.get("href") for a in bar.iter("{http://www.w3.org/2000/svg}a")] == ["/a"]
    for empty in (stacked_bars([], [], title="E"), heatmap([], [], [], title="E"), bars(["x"], [0], title="E")):
        assert "E: no data" in empty and parse_svg(empty) is not None


@given(st.lists(st.text(max_size=30), min_size=1, max_size=4), st.lists(st.integers(0, 10**6), min_size=1, max_size=4))
def test_any_label_gives_well_formed_svg(labels: list[str], values: list[int]) -> None:
    labels = [label.replace("\x00", "") for label in labels]
    labels = [re.sub("[\x01-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "", label) for label in labels]
    n = min(len(labels), len(values))
    parse_svg(bars(labels[:n], values[:n], title=labels[0]))
    parse_svg(stacked_bars(labels[:n], [Series(labels[0], tuple(values[:n]))], title="t"))


def test_telegram_html_keeps_bold_italic_and_web_links_only() -> None:
    assert safe_telegram_html('<b>A</b> <i>b</i> <a href="https://t.me/x/1">open</a>') == (
        '<b>A</b> <i>b</i> <a href="https://t.me/x/1" rel="noreferrer">open</a>'
    )
    assert safe_telegram_html("&lt;script&gt;x&lt;/script&gt; &amp;") == "&lt;script&gt;x&lt;/script&gt; &amp;"
    assert safe_telegram_html('<a href="javascript:alert(1)">open</a>') == "open"
    assert safe_telegram_html("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert safe_telegram_html('<img src=x onerror="alert(1)"/>') == "&lt;img src=x onerror=&quot;alert(1)&quot;/&gt;"
    assert safe_telegram_html('<b onclick="x">bold') == "<b>bold</b>"  # attributes dropped, tags closed
    assert safe_telegram_html("<i><b>x</i>") == "<i><b>x</b></i>"
    assert safe_telegram_html('<a href="https://x/?a=1&amp;b=&quot;">l</a>') == (
        '<a href="https://x/?a=1&amp;b=&quot;" rel="noreferrer">l</a>'
    )


@given(st.text(max_size=200))
def test_sanitized_telegram_html_has_no_tag_but_b_i_a(text: str) -> None:
    out = safe_telegram_html(text)
    for tag in re.findall(r"<\s*/?\s*([a-zA-Z][^\s>/]*)", out):
        assert tag in {"b", "i", "a"}
    assert "javascript:" not in re.sub(r"(?s)>[^<]*<", "><", ">" + out + "<")  # never inside a tag


def test_marked_escapes_text_and_balances_marks() -> None:
    text = f"a <b> {MARK_OPEN}Kosovo{MARK_CLOSE} & {MARK_OPEN}open"
    assert str(marked(text)) == "a &lt;b&gt; <mark>Kosovo</mark> &amp; <mark>open</mark>"
    assert str(marked(f"{MARK_CLOSE}x{MARK_OPEN}{MARK_OPEN}y")) == "x<mark>y</mark>"


def test_matching_paragraph_picks_the_hit_and_cuts_around_it() -> None:
    text = f"First paragraph.\n\nSecond with {MARK_OPEN}word{MARK_CLOSE}.\n\nThird."
    assert matching_paragraph(text) == f"Second with {MARK_OPEN}word{MARK_CLOSE}."
    assert matching_paragraph("Only.\n\nOther.") == "Only."
    long = " ".join(["filler"] * 200) + f" {MARK_OPEN}needle{MARK_CLOSE} " + " ".join(["tail"] * 200)
    cut = matching_paragraph(long, limit=120)
    assert cut.startswith("…") and cut.endswith("…") and MARK_OPEN + "needle" in cut and len(cut) <= 122


def test_search_form_round_trips_through_its_query_string() -> None:
    form = parse_search(
        {"q": " Kosovo  talks ", "channel": "2", "tag": "#Serbia", "lang": "RU", "since": "2026-11-01",
         "until": "2026-11-20", "copies": "1", "order": "rank", "page": "3", "per": "50"}
    )  # fmt: skip
    assert form == SearchForm(
        "Kosovo  talks", 2, "serbia", "ru", date(2026, 11, 1), date(2026, 11, 20), True, "rank", 3, 50
    )
    again = parse_search(dict(pair.split("=") for pair in form.query_string().replace("+", " ").split("&")))
    assert again.channel == 2 and again.page == 3 and again.copies and again.per == 50
    start, end = form.window(ZoneInfo("Europe/Sofia"))
    assert start == datetime(2026, 10, 31, 22, 0, tzinfo=UTC) and end == datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
    assert SearchForm().query_string() == ""
    with pytest.raises(FormError, match="page: expected 1 to 101"):
        parse_search({"per": "100", "page": "102"})


def test_token_matches_basic_and_bearer_in_constant_time() -> None:
    token = "abcdefghijklmnop"
    basic = base64.b64encode(f"user:{token}".encode()).decode()
    assert token_matches(f"Basic {basic}", token)
    assert token_matches(f"bearer {token}", token)
    assert not token_matches(f"Bearer {token}x", token)
    assert not token_matches("Basic " + base64.b64encode(b"no-colon").decode(), token)
    assert not token_matches("Basic \xff", token)
    assert not token_matches("", token)


def test_web_token_setting_is_validated_and_never_echoed() -> None:
    good = "Zt3_x-Q9.o~W+/=abcd"
    assert Settings.from_mapping({"WEB_TOKEN": good}).web_token == good
    assert good not in repr(Settings.from_mapping({"WEB_TOKEN": good}))
    assert good in Settings.from_mapping({"WEB_TOKEN": good}).secrets
    for bad in ("short", "has spaces in the token!", "x" * 257):
        with pytest.raises(SettingsError) as error:
            Settings.from_mapping({"WEB_TOKEN": bad})
        message = str(error.value)
        assert "WEB_TOKEN (environment): expected 16 to 256 letters" in message
        assert f"got a value of {len(bad)} characters (not shown)" in message and bad not in message


def test_chart_cache_reuses_until_ttl_and_stays_bounded() -> None:
    now = [100.0]
    cache = ChartCache(ttl=60, max_entries=2, clock=lambda: now[0])
    calls: list[str] = []

    def compute(name: str) -> Callable[[], str]:
        return lambda: calls.append(name) or name

    assert cache.get("a", compute("a")) == ("a", 0.0)
    now[0] = 130.0
    assert cache.get("a", compute("a2")) == ("a", 30.0)  # reused, 30 s old
    now[0] = 161.0
    assert cache.get("a", compute("a3")) == ("a3", 0.0)  # stale: recomputed
    cache.get("b", compute("b"))
    cache.get("c", compute("c"))  # "a" is the least recently used: dropped
    assert cache.get("a", compute("a4"))[0] == "a4"
    assert calls == ["a", "a3", "b", "c", "a4"]


keys_strategy = st.lists(
    st.tuples(
        st.integers(1, 4),  # channel
        st.sampled_from(["o1", "o2", "o3", "o4", "o5"]),  # origin key
        st.sampled_from(["h1", "h2", "h3"]),  # content hash
        st.booleans(),  # has text
        st.one_of(st.none(), st.integers(1, 3)),  # cluster
    ),
    max_size=30,
)


@given(keys_strategy)
def test_statement_spread_folds_exactly_like_the_digest(rows: list[tuple[int, str, str, bool, int | None]]) -> None:
    start = datetime(2026, 11, 20, tzinfo=UTC)
    posts = [
        StoredPost(i + 1, ch, None, None, i, start + timedelta(minutes=i), "text" if has else "", None, o,
                   h if has else TRIVIAL_MARK + h, None, cluster_id=c)
        for i, (ch, o, h, has, c) in enumerate(rows)
    ]  # fmt: skip
    keys = [(p.id, p.channel_id, p.origin_key, p.content_hash, p.cluster_id) for p in posts]
    expected = [(item.first.id, len({p.channel_id for p in item.posts})) for item in fold_items(posts)]
    assert statement_spread(keys) == expected


def _statement_spread_before(keys: list[CopyKey]) -> list[tuple[int, int]]:
    """statement_spread as it was before its rewrite for speed (one (kind, key) tuple per link, a find
    per post at the end): the reference the rewrite must equal."""
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, object], int] = {}
    for index, (_, _, origin, content, cluster) in enumerate(keys):
        links: list[tuple[str, object]] = [("o", origin)]
        if content_folds(content):  # since statements.py: a cluster folds only with a text that does
            links.append(("h", content))
            if cluster is not None:
                links.append(("c", cluster))
        for link in links:
            other = first.setdefault(link, index)
            if other != index:
                a, b = find(other), find(index)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    channels: dict[int, set[int]] = {}
    for index, key in enumerate(keys):
        channels.setdefault(find(index), set()).add(key[1])
    return [(keys[root][0], len(found)) for root, found in sorted(channels.items())]


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 6),  # channel
            st.integers(1, 12),  # origin key
            st.integers(1, 8),  # content hash
            st.booleans(),  # has text
            st.one_of(st.none(), st.integers(1, 6)),  # cluster
            st.integers(1, 3),  # gap to the previous post's id
        ),
        max_size=200,
    )
)
def test_statement_spread_gives_what_it_gave_before_its_rewrite(
    rows: list[tuple[int, int, int, bool, int | None, int]],
) -> None:
    ids = list(accumulate(gap for *_, gap in rows))  # ascending, not 1..n: the ids are read, not the indexes
    keys: list[CopyKey] = [
        (post_id, ch, f"o{o}", f"h{h}" if has else f"{TRIVIAL_MARK}h{h}", c)
        for post_id, (ch, o, h, has, c, _) in zip(ids, rows, strict=True)
    ]
    assert statement_spread(keys) == _statement_spread_before(keys)
    # long chains: each post joins the previous one's group through a different kind of key
    chain: list[CopyKey] = [(i, i % 5, f"o{i // 2}", f"h{(i + 1) // 2}", None) for i in range(len(rows))]
    assert statement_spread(chain) == _statement_spread_before(chain)


def test_lines_gives_each_line_its_own_direction_and_links_plain_urls() -> None:
    """Issue 35.3 and 35.10: a block per line with dir="auto"; http(s) URLs linked, the rest escaped."""
    text = "بيان الخارجية:\n1. Talks (see https://example.org/a_(b)).\n<b>x</b> javascript:alert(1)\n"
    html = str(lines(text))
    assert html.count('<span class="line" dir="auto">') == 4
    assert '<a href="https://example.org/a_(b)" rel="noreferrer">https://example.org/a_(b)</a>).' in html
    assert "&lt;b&gt;x&lt;/b&gt; javascript:alert(1)" in html and "<b>" not in html
    assert str(lines('go http://x.org/?a=1&b="2"')).count("<a ") == 1
    assert "&amp;" in str(lines("http://x.org/?a=1&b=2"))
