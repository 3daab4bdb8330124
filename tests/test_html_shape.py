"""The shared HTML guard (issue #27 items 1-2): it measures the tree lexbor will build, so nothing a
parser ignores (end tags in comments, attributes, raw text, stray ones) can hide depth from it, and
it refuses before the parser is given the text, fast.

Depths are compared with the tree lexbor (selectolax) actually builds from the same text, on
hand-written cases, on the pages the project's own tests read, and on repeated random tag soup: the
attack model, where a unit of markup repeated makes the tree deeper each time.
"""

from __future__ import annotations

import gzip
import random
import time
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from bot.core.html_shape import HtmlLimits, HtmlRefused, check_html, measure

UNBOUNDED = HtmlLimits(max_chars=10**9, max_depth=10**9, max_elements=10**9, max_cost=10**15, max_seconds=60)
DATA = Path(__file__).parent / "data"


def built(html: str) -> tuple[int, int]:
    """(depth, elements) of the tree lexbor builds, html element = depth 1, walked without recursion."""
    root = LexborHTMLParser(html).root
    assert root is not None
    deepest, count, stack = 0, 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest, count = max(deepest, depth), count + 1
        child = node.child
        while child is not None:
            if child.tag and not child.tag.startswith("-"):
                stack.append((child, depth + 1))
            child = child.next
    return deepest, count


@pytest.mark.parametrize(
    "html",
    [
        "<div>" * 300,
        "<div></x>" * 300,  # a stray end tag closes nothing
        "<div><!--</div>-->" * 300,  # nor does one in a comment
        "<div><!--></div>" * 300,  # `<!-->` is a whole comment: that </div> is real
        "<div title='</div>'>" * 300,  # nor one in an attribute value
        '<div a="x>"></div>' * 300,  # a quoted ">" does not end the tag
        "<div a=\"b c='>'\">" * 300,
        "<div><script></div></script>" * 300,  # nor one in script text
        "<div><script><!--<script></script></div></script>" * 100,  # script's double escape
        "<div><style></div></style><textarea></div></textarea><title></div></title>" * 100,
        "<span>" * 300 + "</div>" * 300,  # </div> with no div open
        "<div><span>" * 150 + "</span>" * 300,  # </span> stops at the div above it
        "<p>a" * 300,  # each <p> closes the one before
        "<ul>" + "<li>a" * 300,
        "<dl>" + "<dt>a<dd>b" * 150,
        "<table>" + "<tr><td>x" * 300 + "</table>",
        "<svg>" + "<g/>" * 300 + "</svg>",  # `/>` closes in SVG
        "<svg>" + "<g a=b/>" * 300,  # unless the "/" ends an unquoted value
        "<svg>" + '<g a="b"/>' * 300,
        "<div =x>" * 300,  # an attribute named "=x"
        '<div a="never closed>' + "<div>" * 300,  # the text ends inside the tag: dropped
        "<div/>" * 300,  # but not in HTML
        "<svg>" + "<div/>" * 300,  # a <div> breaks out of SVG, and nests
        "<svg><foreignObject>" + "<div/>" * 300,
        "<svg><title>" + "<div/>" * 300,
        "<math><mtext>" + "<div>" * 300,
        "<div><b>x</div>" * 300,  # reopened <b>s: three alike at most
        "".join(f"<b class={i}>" for i in range(200)) + "<p>x</p>" * 50,
        "<form><div></form>" * 300,  # </form> leaves its children open
        "<li><h1><li>" * 150,  # an <li> does not close across a heading
        "<!DOCTYPE html><html><head><title>t</title></head><body>" + "<section>" * 100 + "</body></html>",
        "<div>" * 300 + "</",  # found by fuzzing: a text ending in "</" was an IndexError in the guard
        "<div>" * 300 + "<",
        "<div>" * 300 + "<!",
    ],
)
def test_measured_depth_is_what_lexbor_builds(html: str) -> None:
    depth, elements = built(html)
    shape = measure(html, UNBOUNDED)
    assert shape.depth >= depth and shape.elements >= elements
    assert shape.depth <= depth + 5 or depth < 10  # and not a wild overestimate where it matters


def _pages() -> list[Path]:
    return sorted(DATA.rglob("*.html")) + sorted(DATA.rglob("*.html.gz"))


def test_real_pages_measure_as_lexbor_builds_them() -> None:
    pages = _pages()
    assert len(pages) > 10
    for page in pages:
        data = page.read_bytes()
        html = (gzip.decompress(data) if page.suffix == ".gz" else data).decode("utf-8", "replace")
        depth, elements = built(html)
        shape = measure(html, UNBOUNDED)
        assert (shape.depth, shape.elements) >= (depth, elements), page
        assert shape.depth <= depth + 3, page
        check_html(html)  # well within the default limits


PIECES = (
    "<div> </div> <span> </span> <p> </p> <b> </b> <i> </i> <a> </a> <li> </li> <ul> <table> </table> <tr> <td> "
    "</td> <svg> </svg> <g/> <g> </g> <foreignObject> <math> <mtext> </math> <script> </script> <!-- --> "
    "<style> </style> <title> </title> <textarea> </textarea> x </x> <br> </br> <img> <h1> </h1> <option> "
    "<select> </select> <dd> <dt> <dl> <button> </button> <b~class=1> <b~class=2> <nobr> <font> <object> "
    "</object> <template> </template> <form> </form> <caption> <th> <noscript> <xmp> </xmp> <pre> <center> "
    "<em> <frameset> <div~a=\" \"> <div~title='</div>'>"
).replace("~", " ")


def test_repeated_tag_soup_never_measures_shallower_than_lexbor_builds() -> None:
    """A hostile page repeats a unit: whatever it is, the guard sees the depth grow as the parser does."""
    pieces = [p.replace("~", " ") for p in PIECES.split()]
    rng = random.Random(27)
    for _ in range(300):
        unit = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        html = unit * 150
        depth, _ = built(html)
        assert measure(html, UNBOUNDED).depth >= depth - 3, unit


@pytest.mark.parametrize(
    ("unit", "count"),
    [
        ("<div></x>", 150_000),  # the importer's old check counted </x> as a close
        ("<div><!--</a>-->", 60_000),
        ("<div title='</div>'>", 100_000),
        ("<div><script></div></script>", 60_000),
        ("<div>", 1_000_000),  # 5 MB: ~2.4 h of lexbor
    ],
)
def test_a_nesting_bomb_is_refused_before_the_parser_and_fast(unit: str, count: int) -> None:
    html = "<html><body>" + unit * count
    started = time.process_time()
    with pytest.raises(HtmlRefused, match="tags nested over 1,000 deep") as refused:
        check_html(html)
    assert time.process_time() - started < 0.5  # it stops at depth 1,001
    assert 0 < refused.value.offset < 1_000 * len(unit) + 100


def test_cost_bounds_depth_times_tags_and_elements_and_size_are_capped() -> None:
    limits = HtmlLimits(max_depth=10**6, max_cost=1_000_000)
    with pytest.raises(HtmlRefused, match="too costly to parse"):
        check_html("<div>" * 2_000, limits)  # 2,000 x 2,001 / 2 > 1,000,000
    with pytest.raises(HtmlRefused, match="over 1,000 elements"):
        check_html("<p>x</p>" * 1_001, HtmlLimits(max_elements=1_000))
    with pytest.raises(HtmlRefused, match="over the 100 limit"):
        check_html("x" * 101, HtmlLimits(max_chars=100))


def test_the_time_cap_stops_the_measurement() -> None:
    ticks = iter(range(1_000_000))
    with pytest.raises(HtmlRefused, match="within 2 s"):
        check_html("<p>x</p>" * 10_000, clock=lambda: float(next(ticks)))  # each look at the clock: 1 s
