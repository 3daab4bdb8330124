"""Why a search hit matched: the paragraph holding the match, cut around it, the matches marked. Pure.

Matching is on normalised tokens but users read the original text, so the spans come from reading the
post's own words again the way the index did (bot/core/search_query.match_spans): "Сербии" is marked
for the query "Сербия", "Vučić" for "Вучич", 🇷🇸 for 🇷🇸, and a quoted phrase where it stands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.digest_render import SNIPPET_CHARS, snippet
from bot.core.rules import RuleError, parse_rule, wanted
from bot.core.search_query import SearchQuery, Span, match_spans, parse_query
from bot.core.telegram_text import strip_bidi
from bot.core.textnorm import TextNormaliser

ANSI_BOLD = ("\x1b[1m", "\x1b[22m")
PLAIN_MARKS = ("**", "**")


def focus(text: str, spans: list[Span], limit: int = SNIPPET_CHARS) -> tuple[str, list[Span]]:
    """The paragraph of the first match (at most ~`limit` characters around it) and the spans in it."""
    if not spans:
        return snippet(text, limit), []
    first_start, first_end = spans[0]
    start = text.rfind("\n\n", 0, first_start)
    start = 0 if start < 0 else start + 2
    end = text.find("\n\n", first_end)
    end = len(text) if end < 0 else end
    if end - start > limit:  # a long paragraph: a window that starts a little before the match
        lead = max(start, first_start - limit // 4)
        if lead > start:
            space = text.find(" ", lead, first_start)
            lead = space + 1 if space >= 0 else lead
        stop = min(end, max(lead + limit, first_end))
        if stop < end:
            space = text.rfind(" ", first_end, stop)
            stop = space if space > first_end else stop
        start, end, head, tail = lead, stop, "…" if lead > start else "", "…" if stop < end else ""
    else:
        head = tail = ""
    shown = [(a - start + len(head), b - start + len(head)) for a, b in spans if a >= start and b <= end]
    return head + text[start:end] + tail, shown


def mark(text: str, spans: list[Span], marks: tuple[str, str], escape: Callable[[str], str] = strip_bidi) -> str:
    """`text` with each span wrapped in `marks`; every piece of text passes through `escape`."""
    out, at = [], 0
    for start, end in spans:
        out += [escape(text[at:start]), marks[0], escape(text[start:end]), marks[1]]
        at = end
    out.append(escape(text[at:]))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Highlighter:
    """One query's highlighting, reused for every hit of a page."""

    normaliser: TextNormaliser
    query: SearchQuery | None

    @classmethod
    def of(cls, normaliser: TextNormaliser, query: str | None) -> Highlighter:
        """Marks what the query looks for (bot/core/rules.py): its words and phrases, not those under NOT."""
        if not query:
            return cls(normaliser, None)
        try:
            terms, phrases = wanted(parse_rule(query, normaliser).root)
        except RuleError:
            return cls(normaliser, parse_query(query, normaliser))
        tokens = tuple(dict.fromkeys(t.tokens for t in terms))
        return cls(normaliser, SearchQuery(query, tokens, tuple(phrases), tuple(t.word for t in terms)))

    def excerpt(
        self, text: str, lang: str | None, marks: tuple[str, str], escape: Callable[[str], str] = strip_bidi
    ) -> str:
        """The matching paragraph (or the post's first sentence) with the matches marked."""
        spans = match_spans(text, lang, self.query, self.normaliser) if self.query else []
        shown, inside = focus(text, spans)
        if not inside:
            return escape(snippet(text))
        return mark(shown, inside, marks, escape)
