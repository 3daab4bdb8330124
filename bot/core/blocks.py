"""What a block of pasted page text shows about itself: the measurements the page classifier reads.

A block is one line of the normalised text (a paragraph in Telegram's sense, one `<p>` or one menu
item in a browser's "select all, copy").  Nothing here knows any site: the signals are the ones that
tell article prose from page furniture anywhere (sentences end with punctuation and are full of
function words; menus, teasers and bylines are short, capitalised, full of digits and links), plus
where the block sits relative to the text's main run of prose and how much vocabulary it shares
with it (a teaser about F-16s under an article about Iran shares almost none).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

_WORD = re.compile(r"[^\W\d_]+")
_TOKEN = re.compile(r"\w+")
_URL = re.compile(r"https?://|www\.|\.(?:com|org|net|ru|bg|ua|rs)\b|@\w")
_TIME = re.compile(r"\b\d{1,2}:\d{2}\b")
_DATE = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b|\b(?:19|20)\d{2}\b")
_AGO = re.compile(r"\b(?:ago|преди|назад|тому)\b", re.IGNORECASE)
_TRUNCATED = re.compile(r"(?:\.\.\.|…|\[…\]|\[\.\.\.\])\W{0,2}$")
_ELLIPSIS_QUOTE = re.compile(r"<(?:\.\.\.|…)>|\((?:\.\.\.|…)\)")  # "<...>" marks a cut inside a quote, not a teaser
_SENTENCE_END = re.compile(r"[.!?][\"'”»’)\]]*$")
_SENTENCE_BREAK = re.compile(r"[.!?][\"'”»’)]*\s+[\"'“«‘(]*[A-ZА-ЯЁЇІЄҐЂЈЉЊЋЏ0-9]")
_HASHTAGS_ONLY = re.compile(r"(?:#\w+\s*)+")
_MONTH_NAMES = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    "януари февруари март април май юни юли август септември октомври ноември декември "
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря "
    "январь февраль апрель июнь июль сентябрь октябрь ноябрь декабрь "
    "січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня "
    "јануар фебруар април јун јул август септембар октобар новембар децембар"
)
_MONTHS = frozenset(_MONTH_NAMES.split())
# A content word's first letters stand for its inflected forms (Iran, Irana, Iranu; Беларус, Беларуси).
_STEM = 5
EARLY_RUN_SHARE = 0.3
ARTICLE_SCORE = 100.0
UNDER_MARKER_WEIGHT = 0.25


@dataclass(frozen=True, slots=True)
class Block:
    """One line, with the blank-line group it came in (html-text keeps a menu's items in one group)."""

    text: str
    group: int
    group_size: int
    repeats: int  # how many times the same line occurs in the whole text
    # What the phrase rules took just before this line (after the previous block): "Сподели:", a
    # comments counter.  Gone from the text, still a signal of where the article ends (block_context).
    dropped: tuple[str, ...] = ()
    stripped: bool = False  # a rule cut part of the line (a photo credit run into a headline)


@dataclass(slots=True)
class Shape:
    """What one block shows by itself; the cheap part, computed once per block."""

    chars: int
    words: int
    tokens: int
    stop_share: float
    title_share: float
    digit_share: float
    url: bool
    sentence_end: bool
    sentence_breaks: int
    truncated: bool
    stamp: bool
    hashtags_only: bool
    furniture: float
    separators: int
    stems: frozenset[str] = field(default_factory=frozenset)

    @property
    def prose(self) -> bool:
        """A sentence a person wrote for this page: long, punctuated, made of function words too."""
        return (
            self.words >= 8
            and self.stop_share >= 0.12
            and (self.sentence_end or self.sentence_breaks > 0)
            and not self.truncated
        )


def segment(lines: Sequence[str], signals: Sequence[tuple[int, str, bool]] = ()) -> list[Block]:
    """Non-empty lines as blocks, each knowing its blank-line group and how often it recurs.

    `signals`: what the phrase rules removed, as (index in `lines` of the line it came before or was
    part of, the text, whether it was part of that line) (bot/core/clean.py strip_boilerplate).
    """
    counts = Counter(" ".join(line.casefold().split()) for line in lines if line)
    before: dict[int, list[str]] = {}
    parts: set[int] = set()
    for index, text, part in signals:
        if part:
            parts.add(index)
        else:
            before.setdefault(index, []).append(text)
    groups: list[list[tuple[int, str]]] = [[]]
    for at, line in enumerate(lines):
        if line:
            groups[-1].append((at, line))
        elif groups[-1]:
            groups.append([])
    blocks = []
    last = -1
    for index, group in enumerate(g for g in groups if g):
        for at, line in group:
            dropped = tuple(t for k in range(last + 1, at + 1) for t in before.get(k, ()))
            key = " ".join(line.casefold().split())
            blocks.append(Block(line, index, len(group), counts[key], dropped, at in parts))
            last = at
    return blocks


def shape(text: str, stopwords: frozenset[str], function_words: frozenset[str], furniture: re.Pattern[str]) -> Shape:
    words = _WORD.findall(text)
    lowered = [w.lower() for w in words]
    n = len(words)
    stops = sum(1 for w in lowered if w in stopwords)
    titled = sum(1 for w in words if w[0].isupper())
    digits = sum(c.isdecimal() for c in text)
    letters_and_digits = sum(c.isalnum() for c in text) or 1
    has_month = any(w in _MONTHS for w in lowered)
    stamp = bool(_TIME.search(text) or (_DATE.search(text) and (has_month or n <= 6)) or (has_month and n <= 6))
    stamp = stamp or bool(_AGO.search(text) and n <= 6)
    return Shape(
        chars=len(text),
        words=n,
        tokens=len(_TOKEN.findall(text)),
        stop_share=stops / n if n else 0.0,
        title_share=titled / n if n else 0.0,
        digit_share=digits / letters_and_digits,
        url=bool(_URL.search(text)),
        sentence_end=bool(_SENTENCE_END.search(text)),
        sentence_breaks=len(_SENTENCE_BREAK.findall(text)),
        truncated=bool(_TRUNCATED.search(text)) and not _ELLIPSIS_QUOTE.search(text),
        stamp=stamp,
        hashtags_only=bool(_HASHTAGS_ONLY.fullmatch(text)),
        furniture=len(furniture.findall(text.lower())) / n if n else 0.0,
        separators=text.count("|") + text.count("©") + text.count("•") + text.count("·"),
        stems=frozenset(w[:_STEM] for w in lowered if len(w) > 3 and w not in function_words),
    )


def is_stamp_line(text: str) -> bool:
    """A line that is a date or a time and little else ("16:59 - 18.04.2025", "Nov. 18, 2019 7:04 pm").

    More digits than letters: a schedule's "10:00 встреча с послом" is a point of a post, not a stamp.
    """
    if len(text) > 40 or not (_TIME.search(text) or _DATE.search(text)):
        return False
    return sum(c.isdecimal() for c in text) >= sum(c.isalpha() for c in text)


def main_run(shapes: Sequence[Shape], markers: Sequence[bool] = ()) -> tuple[int, int]:
    """The article's main run of prose: the span [start, end) where prose outweighs everything else.

    A maximum-sum segment: a prose block adds its length in words (capped, so one huge block is not
    the article by itself), any other block subtracts a little, more the longer it is.  Short
    captions, subheadings and "Advertisement" inside an article cost less than the prose around
    them adds; a list of teasers below it costs more than any prose it holds.
    """
    runs: list[tuple[float, tuple[int, int]]] = []  # each stretch's best span, in page order
    weights: list[float] = []
    total, start = 0.0, 0
    closed = False  # a section marker ("Comments", "Related") came after a run that could be the article
    for i, s in enumerate(shapes):
        if markers and markers[i]:
            closed = closed or any(score >= ARTICLE_SCORE for score, _ in runs)
            total = 0.0
            continue
        if s.prose:
            gain = min(s.words, 80) * (1.0 - min(1.0, 3.0 * s.furniture))
        else:
            gain = -(1.0 + 0.3 * min(s.words, 12) + 0.8 * max(0, min(s.words, 40) - 12))
        if total <= 0:
            total, start = 0.0, i
            runs.append((0.0, (i, i)))
            weights.append(UNDER_MARKER_WEIGHT if closed else 1.0)
        total += gain
        if total > runs[-1][0]:
            runs[-1] = (total, (start, i + 1))
    # What follows "Comments" or "Related" once an article-sized run was seen is other people's prose.
    runs = [(score * weight, span) for (score, span), weight in zip(runs, weights, strict=True)]
    best = max((score for score, _ in runs), default=0.0)
    if best <= 0:
        return (0, 0)
    # Articles come before the page's footer: a legal notice in long sentences can outweigh an
    # article made mostly of lists, so the first run of comparable weight wins.
    return next(span for score, span in runs if score >= EARLY_RUN_SHARE * best)


def cohesion(stems: frozenset[str], vocabulary: Counter[str]) -> float:
    """Share of the block's content words that the main run also uses (its own words excluded)."""
    if not stems:
        return 0.0
    return sum(1 for s in stems if vocabulary[s] > 0) / len(stems)


def log1(value: float) -> float:
    return math.log1p(max(value, 0.0))
