"""How big, how deep and how costly a tree an HTML5 parser will build from a text, measured before
the parser (lexbor, lxml) is given it: the one guard in front of every parse of untrusted HTML.

Why: an HTML5 parser checks element scope by walking its stack of open elements, so its time grows
with depth x tags: 160k nested `<div>` (0.8 MB) cost lexbor 77 s, 1M (5 MB) hours. Counting `<x>`
and `</x>` is not enough, because a parser ignores what closes nothing: end tags inside comments,
attribute values, `<script>`/`<style>`/`<textarea>` text, stray end tags and end tags that a special
element (a `<div>`) stands in front of. So this is a tokenizer pass that follows the HTML5 rules that
decide depth: comments (`-->`, `--!>`, `<!-->`), quoted attribute values (only after `=`), raw text
and RCDATA elements (script's `<!--<script>` escapes included), void elements, `/>` only in SVG and
MathML (and HTML tags breaking out of them), implied ends (`<p>` closed by a block, `<li>`, `<dt>`,
`<dd>`, `<option>`, cells and rows), end tags honoured only in scope, `<select>` ignoring tags, and
formatting elements (`<b>`, `<a>`...) reopened after a block closes them (the HTML5 "reconstruct"
step, a known amplifier). It keeps positions per tag name, so each token costs O(1) here however
deep the stack is.

Where it approximates, it errs towards a larger tree (more depth, more elements), never a smaller
one: adoption-agency moves and table foster-parenting are not modelled (counted as plain nesting).

`cost` is the sum of the depth at which each element is opened or each end tag looks: what the
parser's scope walks add up to (about 7 ns a unit in lexbor). Pure: text in, numbers out; the clock
for the time cap is passed in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.html_tree import HTML, TEXT_ELEMENTS, HtmlLimits, HtmlRefused, OpenElements, end_tag, start_tag

__all__ = ["HtmlLimits", "HtmlRefused", "HtmlShape", "check_html", "measure"]


@dataclass(frozen=True, slots=True)
class HtmlShape:
    depth: int  # the deepest stack of open elements
    elements: int  # elements created, reopened formatting elements included
    cost: int


# A whole tag (groups: end slash, name, attributes), its attributes read as HTML5 does: quotes only
# open a value right after "=", so `<div a="x>"></div>` is one tag. Possessive, so it never settles
# on another reading: a tag it cannot read exactly (an unclosed quote, an attribute name starting
# with "=") falls to `(?=[A-Za-z])` and is read by `_tag_end`. Else what starts a comment or the like.
_ATTRIBUTES = r"""(?:[\s/]++|[^\s/>=][^\s/>=]*+(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s>"'][^\s>]*+|(?=>)))?+)*+"""
_TOKEN = re.compile(r"<(?:(/?)([A-Za-z][^\s/>]*+)(" + _ATTRIBUTES + r")>|!--|!|\?|/|(?=[A-Za-z]))")
_COMMENT_END = re.compile(r"--!?>")
_NAME = re.compile(r"[^\s/>]*")
_SEPARATORS = re.compile(r"[\s/]*")
_ATTR_NAME = re.compile(r"[^\s/>][^\s/>=]*")
_EQUALS = re.compile(r"\s*=\s*")
_UNQUOTED = re.compile(r"[^\s>]*")
_SCRIPT_TOKENS = re.compile(r"<!--|-->|<(/?)script(?=[\s/>])", re.IGNORECASE)
_NOT_SPACE = re.compile(r"[^\s]")


def _tag_end(html: str, i: int) -> tuple[int, bool]:
    """From just after a tag's name: the index after its `>` (-1: the text ends inside the tag) and
    whether it ended in `/>`. Quotes count only as an attribute's value, right after `=`."""
    n = len(html)
    while True:
        sep = _SEPARATORS.match(html, i)
        assert sep is not None
        i = sep.end()
        if i >= n:
            return -1, False
        if html[i] == ">":
            return i + 1, i > sep.start() and html[i - 1] == "/"
        name = _ATTR_NAME.match(html, i)
        assert name is not None
        i = name.end()
        eq = _EQUALS.match(html, i)
        if eq is None:
            continue
        i = eq.end()
        if i >= n:
            return -1, False
        quote = html[i]
        if quote in "\"'":
            close = html.find(quote, i + 1)
            if close < 0:
                return -1, False
            i = close + 1
        elif quote != ">":
            unquoted = _UNQUOTED.match(html, i)
            assert unquoted is not None
            i = unquoted.end()


def _script_end(html: str, i: int) -> int:
    """Where script text ends: the first `</script` outside its `<!--<script>` double escape."""
    state = 0  # 0 data, 1 escaped (after <!--), 2 double-escaped (after <!--<script)
    for match in _SCRIPT_TOKENS.finditer(html, i):
        token = match.group(0)
        if token == "<!--":
            state = state or 1
        elif token == "-->":
            state = 0
        elif match.group(1):  # </script
            if state == 2:
                state = 1
            else:
                return match.start()
        elif state == 1:  # <script inside an escape
            state = 2
    return len(html)


def measure(html: str, limits: HtmlLimits | None = None, *, clock: Callable[[], float] = time.monotonic) -> HtmlShape:
    """The tree `html` would make; raises HtmlRefused at the first limit it passes."""
    limits = limits or HtmlLimits()
    if len(html) > limits.max_chars:
        raise HtmlRefused(f"{len(html):,} characters, over the {limits.max_chars:,} limit", limits.max_chars)
    tree = OpenElements(limits)
    tree.push("html")
    tree.push("body")
    tree.elements += 1  # and <head>
    deadline = clock() + limits.max_seconds
    n, i, tokens = len(html), 0, 0
    search = _TOKEN.search
    while i < n:
        match = search(html, i)
        start = match.start() if match else n
        formatting = tree.formatting
        if formatting and (last := formatting[-1]) is not None and not last.open and _NOT_SPACE.search(html, i, start):
            tree.reconstruct()
        if match is None:
            break
        tokens += 1
        if not tokens & 4095 and clock() > deadline:
            raise HtmlRefused(
                f"too many tags to measure within {limits.max_seconds:g} s (at character {start:,})", start
            )
        tree.where = start
        name = match.group(2)
        if name is not None:  # the common case: a tag with no quote in it, ending at its first ">"
            i = match.end()
            attributes = match.group(3)
            if match.group(1):
                end_tag(tree, name.lower())
                continue
            # "/>" closes (in SVG and MathML) unless the "/" ends an unquoted value (`<g a=b/>`)
            self_closing = attributes.endswith("/") and _tag_end(html, match.end(2))[1]
        else:
            lead = match.group(0)
            if lead == "<!--":
                if html.startswith(("<!-->", "<!--->"), start):
                    i = html.index(">", start + 4) + 1
                else:
                    close = _COMMENT_END.search(html, start + 4)
                    i = close.end() if close else n
                continue
            if lead != "<" and not (
                lead == "</" and html[start + 2 : start + 3].isascii() and html[start + 2 : start + 3].isalpha()
            ):
                if html.startswith("</>", start):
                    i = start + 3
                    continue
                close_at = html.find(">", start + 2)  # a doctype or a bogus comment
                i = close_at + 1 if close_at >= 0 else n
                continue
            is_end = lead == "</"
            name_match = _NAME.match(html, start + len(lead))
            assert name_match is not None
            end, self_closing = _tag_end(html, name_match.end())
            if end < 0:
                break  # the text ends inside a tag: the parser drops it
            i = end
            if is_end:
                end_tag(tree, name_match.group(0).lower())
                continue
            name, attributes = name_match.group(0), html[name_match.end() : end - 1]
        name = name.lower()
        start_tag(tree, name, self_closing, attributes)
        if name not in TEXT_ELEMENTS or tree.names[-1] != name or tree.ns[-1] != HTML or tree.frameset:
            continue
        if name == "script":
            i = _script_end(html, i)
        elif name == "plaintext":
            break
        else:
            close = re.compile(r"</" + name + r"(?=[\s/>])", re.IGNORECASE).search(html, i)
            i = close.start() if close else n
    return HtmlShape(tree.depth, tree.elements, tree.cost)


def check_html(html: str, limits: HtmlLimits | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
    """Raise HtmlRefused unless `html` is safe to hand to the parser."""
    measure(html, limits, clock=clock)
