"""The stack of open elements an HTML5 parser keeps, as bot/core/html_shape.py replays it: which
start tag opens, closes or reopens what, and which end tag closes what (in scope, past special
elements or not), counting depth, elements and the scope walks' cost as it goes. Pure.

It keeps each name's positions on the stack, so every scope check is O(1) however deep the stack:
the measurement must stay linear on exactly the input that makes the parser quadratic. Where the
HTML5 rules are not modelled (the adoption agency's moves, foster-parenting, the frameset-ok flag)
the count errs larger, never smaller; html_shape.py's docstring lists what is followed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


class HtmlRefused(ValueError):
    """The text would make a tree past a limit; the message says which, at which character."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset  # the character where the limit was passed


@dataclass(frozen=True, slots=True)
class HtmlLimits:
    max_chars: int = 5 * 1024 * 1024
    max_depth: int = 1_000  # real pages nest 15 to 60 deep
    max_elements: int = 200_000  # a 5 MB page of real articles has ~50k
    max_cost: int = 50_000_000  # sum of depths: ~0.35 s of lexbor
    max_seconds: float = 2.0  # this measurement itself (about 1 s per million tags)


VOID = _names(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta param source track wbr"
)
RAW_TEXT = _names("style xmp iframe noembed noframes textarea title")  # script: its own rules
TEXT_ELEMENTS = RAW_TEXT | {"script", "plaintext"}
FORMATTING = _names("a b big code em font i nobr s small strike strong tt u")
_MARKERS = _names("applet marquee object template td th caption")
# "has an element in scope" stops at these (HTML elements; foreign integration points below)
_SCOPE = _names("applet caption html table td th marquee object template")
HTML, SVG, MATH = 0, 1, 2  # namespaces
# where SVG or MathML content goes back to HTML rules ("integration points"; annotation-xml's
# encoding attribute is not read: always counted as one)
_INTEGRATION = {SVG: _names("foreignobject desc title"), MATH: _names("mi mo mn ms mtext annotation-xml")}
_SPECIAL = _names(
    "address applet area article aside base basefont bgsound blockquote body br button caption center col "
    "colgroup dd details dir div dl dt embed fieldset figcaption figure footer form frame frameset h1 h2 "
    "h3 h4 h5 h6 head header hgroup hr html iframe img input keygen li link listing main marquee menu "
    "meta nav noembed noframes noscript object ol p param plaintext pre script search section select "
    "source style summary table tbody td template textarea tfoot th thead title tr track ul wbr xmp"
)
_CLOSES_P = _names(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption figure footer "
    "header hgroup main menu nav ol p search section summary ul h1 h2 h3 h4 h5 h6 pre listing form li dd "
    "dt plaintext hr xmp"
)  # and <table>, except in quirks mode (no doctype): counted as nesting, the larger tree
_HEADINGS = _names("h1 h2 h3 h4 h5 h6")
_BREAKOUT = _names(
    "b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img li "
    "listing menu meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul var"
)
# special start tags that still reopen formatting elements first (the rest of them do not)
_RECONSTRUCTS = _names("applet marquee object area br embed img keygen wbr input select button")
_CELLS = ("td", "th")
_ROWS = ("tr", "td", "th")
_BODIES = ("tbody", "thead", "tfoot", "tr", "td", "th")
_TABLE_PARTS = {"td": _CELLS, "th": _CELLS, "tr": _ROWS, "tbody": _BODIES, "thead": _BODIES, "tfoot": _BODIES}
_DOCUMENT = _names("html head body")
_END_SLOW = FORMATTING | _DOCUMENT  # end tags with rules of their own even when closing the current node
_NOT_STOPPERS = _names("address div p")

_SCOPE_OR_SELECT = _SCOPE | {"select"}  # nothing implied closes across an open <select>
_TABLE_ONLY = _names("caption col colgroup tbody td tfoot th thead tr")
# end tags that close their element when it is in scope, whatever stands above it; the others
# ("any other end tag") only when no special element does
_SCOPED_END = _names(
    "address article aside blockquote button center details dialog dir div dl fieldset figcaption figure "
    "footer header hgroup listing main menu nav ol pre search section summary ul h1 h2 h3 h4 h5 h6 applet "
    "marquee object table caption colgroup tbody tfoot thead tr td th template select"
)
_IMPLIED = _names("dd dt li optgroup option p rb rp rt rtc")


class _Entry:
    """An active formatting element: reopened by the parser while its element is closed."""

    __slots__ = ("key", "name", "open")

    def __init__(self, name: str, key: str) -> None:
        self.name, self.key, self.open = name, key, True


class OpenElements:
    """The parser's stack of open elements, with each name's positions so scope checks are O(1)."""

    def __init__(self, limits: HtmlLimits) -> None:
        self.limits = limits
        self.names: list[str] = []
        self.ns: list[int] = []  # HTML, SVG or MATH (in the last two, `/>` closes an element)
        self.entries: list[_Entry | None] = []  # the formatting entry of each open element
        self.at: dict[str, list[int]] = {}
        self.scope_at: list[int] = []  # positions of scope boundaries
        self.special_at: list[int] = []
        self.stopper_at: list[int] = []  # special but address, div, p: where <li>, <dd>, <dt> stop looking
        self.html_at: list[int] = []  # HTML (not SVG/MathML) elements
        self.formatting: list[_Entry | None] = []  # active formatting elements; None is a marker
        self.depth = self.elements = self.cost = 0
        self.where = 0
        # After a <frameset> the parser either nests framesets and ignores the rest, or ignores the
        # frameset (when content came first, by rules not modelled here): from there every start tag
        # is counted as nesting and nothing closes, more than either.
        self.frameset = False

    def top(self, name: str) -> int:
        found = self.at.get(name)
        return found[-1] if found else -1

    def in_scope(self, name: str, *extra: str) -> bool:
        position = self.top(name)
        if position < 0:
            return False
        wall = max([self.scope_at[-1] if self.scope_at else -1, *(self.top(e) for e in extra)])
        return position >= wall  # a boundary above it hides it; being one itself does not

    def special_above(self, position: int) -> bool:
        return bool(self.special_at) and self.special_at[-1] > position

    def closes_item(self, names: tuple[str, ...]) -> None:
        """<li>, <dd>, <dt>: close the open one unless a special element other than address, div
        or p stands above it (HTML5 walks down the stack and stops there)."""
        position = max(self.top(n) for n in names)
        if position >= 0 and not (self.stopper_at and self.stopper_at[-1] > position):
            self.pop_to(position)

    def remove_form(self) -> None:
        """`</form>` takes the form out of the stack and leaves its children open. Kept here as a
        nameless level (one level more than the parser's: the larger tree)."""
        position = self.top("form")
        self.at["form"].pop()
        self.names[position] = "#removed"
        bisect.insort(self.at.setdefault("#removed", []), position)

    def push(self, name: str, ns: int = HTML, entry: _Entry | None = None) -> None:
        position = len(self.names)
        self.names.append(name)
        self.ns.append(ns)
        integration = ns != HTML and name in _INTEGRATION[ns]
        self.entries.append(entry)
        self.at.setdefault(name, []).append(position)
        if (ns == HTML and name in _SCOPE_OR_SELECT) or integration:
            self.scope_at.append(position)
        if (ns == HTML and name in _SPECIAL) or integration:
            self.special_at.append(position)
            if name not in _NOT_STOPPERS:
                self.stopper_at.append(position)
        if ns == HTML:
            self.html_at.append(position)
        self.elements += 1
        self.cost += position + 1
        self.depth = max(self.depth, position + 1)
        limits = self.limits
        if position + 1 > limits.max_depth:
            raise HtmlRefused(f"tags nested over {limits.max_depth:,} deep at character {self.where:,}", self.where)
        if self.elements > limits.max_elements:
            raise HtmlRefused(f"over {limits.max_elements:,} elements at character {self.where:,}", self.where)
        if self.cost > limits.max_cost:
            raise HtmlRefused(
                f"tags nested {position + 1:,} deep, too costly to parse ({self.elements:,} elements), "
                f"at character {self.where:,}",
                self.where,
            )

    def pop_to(self, position: int) -> None:
        """Close every element from the top down to and including the one at `position`."""
        while len(self.names) > position:
            name = self.names.pop()
            self.ns.pop()
            entry = self.entries.pop()
            index = len(self.names)
            positions = self.at[name]
            positions.remove(index) if positions[-1] != index else positions.pop()
            if self.scope_at and self.scope_at[-1] == index:
                self.scope_at.pop()
            if self.special_at and self.special_at[-1] == index:
                self.special_at.pop()
            if self.stopper_at and self.stopper_at[-1] == index:
                self.stopper_at.pop()
            if self.html_at and self.html_at[-1] == index:
                self.html_at.pop()
            if entry is not None:
                entry.open = False  # still active unless its end tag removes it: reopened at next content
            elif name in _MARKERS:
                while self.formatting and self.formatting.pop() is not None:
                    pass

    def end_formatting(self, name: str) -> None:
        """`</b>` (or a second `<a>`): the entry stops being active; its element closes unless a
        special element stands above it (the adoption agency then moves nodes: counted as they are)."""
        for i in range(len(self.formatting) - 1, -1, -1):
            entry = self.formatting[i]
            if entry is None:
                return
            if entry.name == name:
                del self.formatting[i]
                if entry.open:
                    position = next(p for p in reversed(self.at[name]) if self.entries[p] is entry)
                    if not self.special_above(position):
                        self.pop_to(position)
                    else:  # the adoption agency clones up to 8 x 3 elements between it and the block
                        clones = min(24, len(self.names) - position)
                        self.elements += clones
                        self.cost += clones * len(self.names)
                return

    def add_formatting(self, entry: _Entry) -> None:
        alike = [i for i in range(len(self.formatting) - 1, -1, -1) if self.formatting[i] is None][:1]
        start = alike[0] + 1 if alike else 0
        same = [i for i in range(start, len(self.formatting)) if (e := self.formatting[i]) and e.key == entry.key]
        if len(same) >= 3:  # Noah's Ark: three alike at most
            del self.formatting[same[0]]
        self.formatting.append(entry)

    def reconstruct(self) -> None:
        """Reopen the closed entries after the last open one or marker, in order (HTML5 8.2.4.3)."""
        formatting = self.formatting
        if not formatting or formatting[-1] is None or formatting[-1].open:
            return
        i = len(formatting) - 1
        while i > 0 and (previous := formatting[i - 1]) is not None and not previous.open:
            i -= 1
        for entry in formatting[i:]:
            assert entry is not None
            self.push(entry.name, HTML, entry)
            entry.open = True

    def in_foreign(self) -> bool:
        """The current node is SVG or MathML, and not a point where HTML rules apply again."""
        ns = self.ns[-1] if self.ns else HTML
        return ns != HTML and self.names[-1] not in _INTEGRATION[ns]


def start_tag(tree: OpenElements, name: str, self_closing: bool, attributes: str) -> None:
    if name == "frameset":
        tree.frameset = True
    if tree.frameset:  # every start tag nests, nothing closes, no raw text: more than either parse
        if name in VOID:
            tree.elements += 1
        else:
            tree.push(name)
        return
    if tree.ns[-1] != HTML and tree.in_foreign():
        if name in _BREAKOUT:
            while tree.in_foreign():
                tree.pop_to(len(tree.names) - 1)
        else:
            tree.push(name, tree.ns[-1])  # <math> inside SVG is an SVG element: same namespace
            if self_closing:
                tree.pop_to(len(tree.names) - 1)
            return
    if name in _DOCUMENT:
        return  # html and body are there from the start; head's children count at body's depth
    if name in _TABLE_ONLY and tree.top("table") < 0:
        return  # a cell, row or column outside any table is ignored
    if name in _CLOSES_P and tree.at.get("p") and tree.in_scope("p", "button"):
        tree.pop_to(tree.top("p"))
    if name == "li":
        tree.closes_item(("li",))
    elif name in ("dd", "dt"):
        tree.closes_item(("dd", "dt"))
    elif name == "form" and tree.top("form") >= 0:
        return  # a form inside a form is ignored
    elif (name in ("option", "optgroup") and tree.names and tree.names[-1] == "option") or (
        name in _HEADINGS and tree.names and tree.names[-1] in _HEADINGS
    ):
        tree.pop_to(len(tree.names) - 1)
    elif name == "col" and tree.top("colgroup") < tree.top("table"):
        tree.push("colgroup")
    elif name in _TABLE_PARTS:  # a new cell, row or body closes the open one of the same table
        table = tree.top("table")
        opened = [p for p in (tree.top(c) for c in _TABLE_PARTS[name]) if p > table]
        if opened:
            tree.pop_to(min(opened))
        if table >= 0 and name in _ROWS:  # a row outside a body, a cell outside a row: the parser adds them
            if max(tree.top(b) for b in _BODIES[:3]) < table:
                tree.push("tbody")
            if name != "tr" and tree.top("tr") < table:
                tree.push("tr")
    elif name == "a":
        tree.end_formatting("a")
    if name not in _SPECIAL or name in _RECONSTRUCTS:
        tree.reconstruct()
    if name in VOID:  # a leaf: one level below the current node
        tree.elements += 1
        tree.depth = max(tree.depth, len(tree.names) + 1)
        return
    if name in FORMATTING:  # alike by name and attribute text (the parser compares parsed ones: errs larger)
        entry = _Entry(name, name + " " + " ".join(attributes.split()))
        tree.push(name, HTML, entry)
        tree.add_formatting(entry)
        return
    tree.push(name, SVG if name == "svg" else MATH if name == "math" else HTML)
    if name in _MARKERS:
        tree.formatting.append(None)


def end_tag(tree: OpenElements, name: str) -> None:
    tree.cost += len(tree.names)  # the parser walks the stack for it
    if tree.names[-1] == name and tree.ns[-1] == HTML and name not in _END_SLOW and not tree.frameset:
        tree.pop_to(len(tree.names) - 1)  # the common case: it closes the current node
        return
    if tree.frameset:
        return
    if name in _DOCUMENT:
        return
    if name in ("p", "br") and tree.in_foreign():
        while tree.in_foreign():  # breaks out of SVG/MathML, then acts as in HTML
            tree.pop_to(len(tree.names) - 1)
    position = tree.top(name)
    if tree.in_foreign() and position >= 0 and not (tree.html_at and tree.html_at[-1] > position):
        tree.pop_to(position)
        return
    if name == "p" and not tree.in_scope("p", "button"):
        tree.push("p")  # `</p>` with no open p makes an empty one
        tree.pop_to(len(tree.names) - 1)
        return
    if name == "br":  # `</br>` makes a <br>
        tree.elements += 1
        tree.depth = max(tree.depth, len(tree.names) + 1)
        return
    if name in FORMATTING:
        tree.end_formatting(name)
        return
    if position < 0:
        return  # closes nothing: ignored
    if name not in ("select", "option", "optgroup") and tree.top("select") > position:
        return  # not past an open <select> (the parser ignores most end tags in one)
    if name == "form":
        if tree.in_scope("form"):
            tree.remove_form()
        return
    if name in _SCOPED_END or name in _IMPLIED:
        if tree.in_scope(name, "ol", "ul") if name == "li" else tree.in_scope(name):
            tree.pop_to(position)
        return
    # "any other end tag": honoured only when no special element stands above the element
    if not tree.special_above(position):
        tree.pop_to(position)
