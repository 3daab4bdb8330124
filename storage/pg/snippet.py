"""FTS5's `snippet()` for PostgreSQL: the few words of a text around its best match. Pure.

Why not `ts_headline`: it gives no "…" where the excerpt cuts the text and chooses its window by
its own rules, so a linked article's excerpt would read differently on the two engines. This is
FTS5's algorithm (fts5_aux.c): every window of `size` tokens that starts at a match is scored
(each distinct query word in it 1000, each repeat 1), the window is centred on its matches, the
best one wins (the first on a tie), and "…" marks each end that is not the text's own.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")
_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def quoted_words(fts_query: str) -> set[str]:
    """The words of an FTS5 query made of quoted strings, case-folded."""
    return {w.casefold() for phrase in _QUOTED.findall(fts_query) for w in _WORD.findall(phrase.replace('""', '"'))}


def _score(hits: list[tuple[int, str]], start: int, size: int) -> tuple[int, int, int]:
    """A window's score (each distinct word 1000, each repeat 1) and its first and last match."""
    seen: set[str] = set()
    score, first, last = 0, -1, 0
    for position, word in hits:
        if start <= position < start + size:
            score += 1 if word in seen else 1000
            seen.add(word)
            first = position if first < 0 else first
            last = position + 1
    return score, first, last


def _sentence_starts(text: str, tokens: list[tuple[int, int, str]]) -> list[int]:
    """Token positions that begin a sentence: the first, and any after "." or ":" and white space."""
    starts = [0]
    for position in range(1, len(tokens)):
        before = text[: tokens[position][0]]
        stripped = before.rstrip(" \t\n\r")
        if len(stripped) < len(before) and stripped[-1:] in (".", ":"):
            starts.append(position)
    return starts


def snippet(text: str, words: set[str], size: int = 16, ellipsis: str = "…") -> str:
    """`snippet(t, col, '', '', ellipsis, size)` of FTS5 for `text` matched by `words` (case-folded)."""
    tokens = [(m.start(), m.end(), m.group().casefold()) for m in _WORD.finditer(text)]
    if not tokens:
        return text
    hits = [(i, token[2]) for i, token in enumerate(tokens) if token[2] in words]
    starts = _sentence_starts(text, tokens) if len(tokens) > size else []
    best, best_score = 0, 0
    for position, _ in hits:
        score, first, last = _score(hits, position, size)
        adjusted = max(0, min(first - (size - (last - first)) // 2, len(tokens) - size))
        if score > best_score:
            best, best_score = adjusted, score
        if starts:
            sentence = max(s for s in starts if s <= position)
            if sentence < position:
                score = _score(hits, sentence, size)[0] + (120 if sentence == 0 else 100)
                if score > best_score:
                    best, best_score = sentence, score
    end = best + size - 1
    head = ellipsis if best > 0 else ""
    if end >= len(tokens) - 1:
        return head + text[tokens[best][0] if best > 0 else 0 :]
    return head + text[tokens[best][0] if best > 0 else 0 : tokens[end][1]] + ellipsis
