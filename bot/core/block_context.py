"""What a block's place in the page's sequence shows: the sequence model's features beyond the block's shape.

The logistic model reads each block with its immediate neighbours; news pages repeat shapes that only
a wider view tells apart from the article: the end of an article is marked (share buttons, a comments
counter, tags), and below it come teasers (a headline, often twice, then a one-sentence summary), an
author box, an "about the outlet" paragraph and photo credits.  Each feature here is one such shape,
written for any site and any of the followed languages; the sequence model learns how much each counts.

Also: whether the page can be judged at all.  A page in a language without a stop-word list, or in a
script written without spaces (Chinese, Japanese), has no signal that tells prose from furniture, so
its blocks are kept (`judgeable`), never dropped for looking "short" or "wordless".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.blocks import Block, Shape, log1

# Lines that end an article: sharing, a comments counter, tags.  Short lines only (see END_MAX_WORDS).
_END = re.compile(
    r"(?:^|\b)(?:share|shares|tweet|email|print|comments?|tags?|topics|"
    r"сподели|споделете|споделяне|коментари|коментирай|коментар|тагове|етикети|ключови думи|"
    r"поделиться|комментари[йи]|комментировать|теги|тэги|метки|"
    r"поділитися|коментарі|теги|"
    r"podeli|подели|komentari|tagovi|тагови)\b",
    re.IGNORECASE,
)
END_MAX_WORDS = 5
# A photo, video or text credit: "Снимка: EPA", "Photo: Reuters", "Фото: ТАСС", "Getty Images", "©".
_CREDIT = re.compile(
    r"(?:^|\b)(?:снимк[аи]|фото|фотограф\w*|видео|източник|източници|автор|photos?|photograph\w*|image|"
    r"credits?|source|video|author|foto|izvor|извор|источник)\s*[:/|©]|©|\bgetty images\b|"
    r"\b(?:reuters|epa|afp|bta|бта|тасс|риа новости|associated press|shutterstock)\b",
    re.IGNORECASE,
)
# "By Jane Doe", "Екип на Mediapool", "Иван Петров, Reuters", "Автор: …".
_BYLINE = re.compile(r"^(?:by|от|автор|author|written by|екип на|редакция|posted by)\b", re.IGNORECASE)
_KEY = re.compile(r"\w+")
TEASER_HEAD_WORDS = 16
SUMMARY_WORDS = (5, 45)
DENSE_WINDOW = 5
# Chinese, Japanese, Thai and the like: a run of letters is a clause, not a word.
_NO_SPACES = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
NO_SPACE_SHARE = 0.2

CONTEXT_NAMES = (
    "end_marker",
    "past_end",
    "log_since_end",
    "before_first_end",
    "echo",
    "echo_near",
    "teaser_head",
    "teaser_summary",
    "window_teasers",
    "credit",
    "byline",
    "name_line",
    "log_dist_dense",
    "after_dense",
    "before_dense",
    "position",
    "one_sentence",
)


@dataclass(frozen=True, slots=True)
class Context:
    """Per block: the values of CONTEXT_NAMES, in that order."""

    rows: list[list[float]]
    end_markers: list[bool]


def judgeable(blocks: Sequence[Block], language: str) -> bool:
    """Can the page's prose be told from its furniture?  Not without a stop-word list or word spaces."""
    if not language:
        return False
    text = "".join(b.text for b in blocks)
    letters = sum(c.isalpha() for c in text) or 1
    return len(_NO_SPACES.findall(text)) / letters < NO_SPACE_SHARE


def _key(text: str) -> str:
    return " ".join(_KEY.findall(text.casefold()))


def _one_sentence(s: Shape) -> bool:
    return SUMMARY_WORDS[0] <= s.words <= SUMMARY_WORDS[1] and s.sentence_breaks == 0


def _teaser_head(s: Shape) -> bool:
    return 2 <= s.words <= TEASER_HEAD_WORDS and not s.sentence_end and not s.stamp


def context(blocks: Sequence[Block], shapes: Sequence[Shape], markers: Sequence[bool], run: tuple[int, int]) -> Context:
    count = len(blocks)
    ends = [
        markers[i] or (s.words <= END_MAX_WORDS and bool(_END.search(b.text)))
        for i, (b, s) in enumerate(zip(blocks, shapes, strict=True))
    ]
    keys = [_key(b.text) for b in blocks]
    # A line that another line of the page repeats or begins with (a teaser's link and its heading).
    echo = [b.repeats > 1 for b in blocks]
    echo_near = [False] * count
    for i in range(count):
        if len(keys[i]) < 12:
            continue
        for j in range(max(0, i - 3), min(count, i + 4)):
            if j != i and len(keys[j]) >= 12 and (keys[j].startswith(keys[i]) or keys[i].startswith(keys[j])):
                echo_near[i] = True
    by_key: dict[str, int] = {}
    for k in keys:
        by_key[k] = by_key.get(k, 0) + 1
    echo = [e or (len(k) >= 12 and by_key[k] > 1) for e, k in zip(echo, keys, strict=True)]
    heads = [
        _teaser_head(shapes[i]) and i + 1 < count and _one_sentence(shapes[i + 1]) and not ends[i + 1]
        for i in range(count)
    ]
    summaries = [i > 0 and heads[i - 1] for i in range(count)]
    # The densest run of prose: the window of DENSE_WINDOW blocks with the most prose words.
    prose_words = [s.words if s.prose else 0 for s in shapes]
    best, centre = -1, 0
    for i in range(count):
        total = sum(prose_words[max(0, i - DENSE_WINDOW // 2) : i + DENSE_WINDOW // 2 + 1])
        if total > best:
            best, centre = total, i
    start = run[0]
    first_end = next((i for i in range(start, count) if ends[i] and i > start), count)
    rows = []
    last_end = -1
    for i, (b, s) in enumerate(zip(blocks, shapes, strict=True)):
        window = range(max(0, i - 6), min(count, i + 7))
        rows.append(
            [
                float(ends[i]),
                float(last_end >= start and last_end >= 0),
                log1(i - last_end) if last_end >= 0 else 0.0,
                float(i < first_end),
                float(echo[i]),
                float(echo_near[i]),
                float(heads[i]),
                float(summaries[i]),
                sum(heads[j] for j in window) / len(window),
                float(s.words <= 12 and bool(_CREDIT.search(b.text))),
                float(s.words <= 8 and bool(_BYLINE.match(b.text))),
                float(2 <= s.words <= 6 and s.title_share >= 0.6 and not s.sentence_end and not s.stamp),
                log1(abs(i - centre)),
                float(i > centre),
                float(i < centre),
                i / count,
                float(_one_sentence(s) and s.sentence_end),
            ]
        )
        if ends[i]:
            last_end = i
    return Context(rows, ends)
