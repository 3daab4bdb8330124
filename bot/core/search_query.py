"""What a search, an alert word or a highlight looks for, and where a post's text matches it. Pure.

A query is words and "quoted phrases".  A word matches any inflection of itself, in either script,
with ё or е (bot/core/textnorm.py says how); every word must match.  A quoted phrase matches the
original text letter for letter except for case: the same word form, the same script, the same ё,
as whole words, with any run of spaces between its words.  Anything else a user types is text:
FTS5 syntax (`NEAR(`, `*`, `-`, `^`) never reaches SQLite as syntax.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from bot.core.textnorm import TextNormaliser, emoji_spans, word_spans

Span = tuple[int, int]
_CONTROLS = re.compile("[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str  # as typed
    terms: tuple[frozenset[str], ...]  # one per word (phrase words too): index tokens, any of which matches
    phrases: tuple[str, ...]  # quoted phrases, to be found exactly
    words: tuple[str, ...]  # every word as typed (outside and inside quotes), for the literal index
    bare: tuple[frozenset[str], ...] = ()  # the terms of the words outside quotes

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def tokens(self) -> frozenset[str]:
        return frozenset().union(*self.terms)


def parse_query(text: str, normaliser: TextNormaliser) -> SearchQuery:
    """Quotes pair up left to right; an unpaired quote is just a character (and dropped)."""
    parts = _CONTROLS.sub(" ", text).split('"')  # a NUL would end an FTS5 string early
    if len(parts) % 2 == 0:  # odd number of quotes: the last one opens nothing
        parts[-2:] = [parts[-2] + " " + parts[-1]]
    phrases: list[str] = []
    terms: list[frozenset[str]] = []
    bare: list[frozenset[str]] = []
    words: list[str] = []
    for index, part in enumerate(parts):
        part_terms = normaliser.query_terms(part)
        if not part_terms:
            continue
        terms.extend(part_terms)
        words.extend(part.split())
        if index % 2 == 1:
            phrases.append(" ".join(part.split()))
        else:
            bare.extend(part_terms)
    return SearchQuery(
        text, tuple(dict.fromkeys(terms)), tuple(dict.fromkeys(phrases)), tuple(words), tuple(dict.fromkeys(bare))
    )


@functools.lru_cache(maxsize=256)
def exact_pattern(phrase: str) -> re.Pattern[str]:
    """A phrase as typed, case-insensitive, whole words at its ends, any spaces between its words."""
    body = r"\s+".join(re.escape(part) for part in phrase.split())
    head = r"(?<!\w)" if phrase[:1].isalnum() else ""
    tail = r"(?!\w)" if phrase[-1:].isalnum() else ""
    return re.compile(head + body + tail, re.IGNORECASE)


def contains_exact(text: str | None, phrase: str) -> bool:
    return text is not None and exact_pattern(phrase).search(text) is not None


def match_spans(text: str, lang: str | None, query: SearchQuery, normaliser: TextNormaliser) -> list[Span]:
    """Where in `text` the query matches: each word whose tokens meet a term's, each exact phrase, each
    emoji; sorted, overlaps merged.  This is what results highlight, so it reads the original text."""
    wanted = query.tokens
    spans: list[Span] = []
    for start, end, word in word_spans(text):
        if normaliser.word_tokens(word, lang) & wanted:
            spans.append((start, end))
    for phrase in query.phrases:
        spans.extend(m.span() for m in exact_pattern(phrase).finditer(text))
    spans.extend((start, end) for start, end, token in emoji_spans(text) if token in wanted)
    return _merge(spans)


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def matches(text: str, lang: str | None, query: SearchQuery, normaliser: TextNormaliser) -> bool:
    """The search's rule in Python (alerts): every term among the post's tokens, every phrase exact."""
    tokens = set(normaliser.index_tokens(text, lang))
    return (
        not query.empty
        and all(term & tokens for term in query.terms)
        and all(contains_exact(text, p) for p in query.phrases)
    )
