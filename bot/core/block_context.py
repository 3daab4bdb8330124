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
# The outlet's "about" paragraph and an author's bio start the same way in every language: a name of
# one to five capitalised words, then "is" ("X е водещият продукт на …", "X является ведущим …",
# "Jane Doe is a reporter …", "Иван Петров — журналист …").  Alone, article sentences have it too
# ("Russia is …"); after the article's end (`about_after_end`) it is the about box's shape.
_NAME_WORD = r"[«\"„“'(]?[A-ZА-ЯЁЇІЄҐЂЈЉЊЋЏ][\w.&'’-]*[»\"“”')]?,?"
_ENTITY_INTRO = re.compile(
    rf"^(?:{_NAME_WORD}\s+){{1,5}}(?:is|was|are|has been|е|са|беше|бе|является|являлся|являются|это|є|це|"
    r"je|је|jeste|ist|war|sind|est|était|es|fue|é|foi|è|era|jest|to|—|–|-)\s",
)
# The site's own name: what follows a copyright sign ("© 2026 The Daily Example. All rights reserved").
_OWNER = re.compile(r"(?:(?:©|\(c\)|\bcopyright\b)\s*)+(?:\d{4}(?:\s*[-–]\s*\d{4})?\s*)?(.*)", re.IGNORECASE)
_CAPITAL = re.compile(r"[A-ZА-ЯЁЇІЄҐЂЈЉЊЋЏ][^\W\d_]*|[^\W\d_]+\.(?:[a-z]{2,4})\b")
# Nouns an outlet's or an author's self-description uses, in the followed languages.
_OUTLET = re.compile(
    r"\b(?:издани\w*|сайт\w*|портал\w*|медиа\w*|медия\w*|вестник\w*|агенци\w*|продукт\w*|компани\w*|"
    r"груп[аиы]\w*|редакци\w*|журналист\w*|репортер\w*|кореспондент\w*|корреспондент\w*|автор\w*|"
    r"website|site|portal|publication|outlet|newspaper|magazine|media|company|group|agency|reporter|"
    r"journalist|correspondent|editor|writer|columnist|contributor|author|"
    r"zeitung|verlag|journaliste|rédact\w*|periódico|periodista|giornal\w*|dziennikar\w*|novinar\w*|новинар\w*)\b",
    re.IGNORECASE,
)
_KEY = re.compile(r"\w+")
_STEM = 5  # a name's words compared by their first letters (inflection)
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
    "end_gap",
    "dropped_before",
    "credit_cut",
    "entity_intro",
    "outlet_words",
    "self_name",
    "about_after_end",
    "prose_after_end",
    "short_after_end",
    "bio_after_name",
)


@dataclass(frozen=True, slots=True)
class Context:
    """Per block: the values of CONTEXT_NAMES, in that order."""

    rows: list[list[float]]
    end_markers: list[bool]


def judgeable(blocks: Sequence[Block], language: str) -> bool:
    """Can the page's prose be told from its furniture?  Not without a stop-word list or word spaces."""
    return bool(language) and not unspaced(blocks)


def unspaced(blocks: Sequence[Block]) -> bool:
    """Is the page written in a script without word spaces (NO_SPACE_SHARE of its letters or more)?"""
    text = "".join(b.text for b in blocks)
    letters = sum(c.isalpha() for c in text) or 1
    return len(_NO_SPACES.findall(text)) / letters >= NO_SPACE_SHARE


def unspaced_letters(text: str) -> int:
    """How many letters of a script without word spaces the text holds."""
    return len(_NO_SPACES.findall(text))


def _key(text: str) -> str:
    return " ".join(_KEY.findall(text.casefold()))


def _one_sentence(s: Shape) -> bool:
    return SUMMARY_WORDS[0] <= s.words <= SUMMARY_WORDS[1] and s.sentence_breaks == 0


def _teaser_head(s: Shape) -> bool:
    return 2 <= s.words <= TEASER_HEAD_WORDS and not s.sentence_end and not s.stamp


def _is_end(text: str) -> bool:
    return len(text.split()) <= END_MAX_WORDS and bool(_END.search(text))


def owner_names(blocks: Sequence[Block]) -> list[tuple[str, ...]]:
    """The site's names, from its copyright lines: the capitalised words after "©" (and a year), as
    5-letter stems (so "Северная Газета" finds "Северной Газеты"); a domain ("example.com") as itself."""
    names = []
    for b in blocks:
        if len(b.text) > 200:
            continue
        m = _OWNER.search(b.text)
        if m is None:
            continue
        words = []
        for w in m.group(1).split()[:6]:
            bare = w.strip("«»\"“”'.,;|")
            if not _CAPITAL.fullmatch(bare):
                break
            words.append(bare.casefold()[:_STEM])
            if w.rstrip("»\"“”'") != w.rstrip("»\"“”'.,;|"):
                break  # the name ends with its sentence or clause
        if words:
            names.append(tuple(words))
    return list(dict.fromkeys(names))


def _names_in(text: str, names: Sequence[tuple[str, ...]]) -> bool:
    stems = {w.casefold()[:_STEM] for w in _KEY.findall(text)} | {
        w.casefold()[:_STEM] for w in re.findall(r"[^\W\d_]+\.[a-z]{2,4}\b", text)
    }
    return any(all(part in stems for part in name) for name in names)


def context(blocks: Sequence[Block], shapes: Sequence[Shape], markers: Sequence[bool], run: tuple[int, int]) -> Context:
    count = len(blocks)
    ends = [
        markers[i] or (s.words <= END_MAX_WORDS and bool(_END.search(b.text)))
        for i, (b, s) in enumerate(zip(blocks, shapes, strict=True))
    ]
    # An end marker the phrase rules removed (it stood just before the block): the block is past it.
    gaps = [any(_is_end(t) for t in b.dropped) for b in blocks]
    names = owner_names(blocks)
    intro = [s.words >= 6 and bool(_ENTITY_INTRO.match(b.text)) for b, s in zip(blocks, shapes, strict=True)]
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
    first_end = next((i for i in range(start, count) if (ends[i] or gaps[i]) and i > start), count)
    end_run = run[1]
    rows = []
    last_end = -1.0
    for i, (b, s) in enumerate(zip(blocks, shapes, strict=True)):
        if gaps[i]:
            last_end = i - 0.5
        window = range(max(0, i - 6), min(count, i + 7))
        past = last_end >= start and last_end >= 0
        after = past or i >= end_run
        named = _names_in(b.text, names) if names else False
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
                float(gaps[i]),
                float(bool(b.dropped)),
                float(b.stripped),
                float(intro[i]),
                min(1.0, len(_OUTLET.findall(b.text)) / 2) if s.words <= 60 else 0.0,
                float(named),
                float(after and (intro[i] or named)),
                float(past and s.prose),
                float(past and s.words < 8),
                float(intro[i] and i > 0 and 2 <= shapes[i - 1].words <= 6 and not shapes[i - 1].sentence_end),
            ]
        )
        if ends[i]:
            last_end = i
    return Context(rows, ends)
