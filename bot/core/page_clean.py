"""Page junk out of pasted articles: which blocks of a long pasted text are the article, which are not.

Only texts that look like a pasted page are judged at all (enough blocks and characters): a Telegram
post, however long its numbered points or quotes, is never that shape, and so comes out exactly as
the phrase rules leave it.  On a page, each block gets the two-stage model's probability of being
article text (bot/core/page_model.py); the decision leans to keeping, because dropping a paragraph
of the article is worse than keeping a teaser.  Every dropped block carries the reason a person can
check (`tgmonitor clean --explain`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.block_context import unspaced
from bot.core.blocks import Block, Shape, is_stamp_line
from bot.core.page_model import PageFeatures, PageModel, page_features
from bot.core.page_unspaced import unspaced_verdicts

# A pasted page has many blocks; a post has a few paragraphs.  Both bounds must hold.
MIN_BLOCKS = 12
MIN_CHARS = 1500
# ... and it has furniture: short unpunctuated labels (menu items, categories, bylines, "Share") and
# bare date/time stamps (a news list's "16:59 - 18.04.2025" under each teaser), at least this many
# and this share of its blocks.  Posts have none: their short lines are points ("1. Sanctions"),
# hashtags or emoji-led, which do not count, and their times sit inside sentences.
MIN_LABELS = 3
MIN_LABEL_SHARE = 0.1
# The most text one Telegram message holds: a longer text is not a post (an article, a pasted page).
TELEGRAM_MAX_CHARS = 4096
_CLOSERS = "\"'”’»)]}›」』）"
# A short block between two kept blocks inside the article is a subheading or a caption: kept.
BRIDGE_WORDS = 15
# Long prose inside the article's main run stays though the model doubts it, unless the model is sure:
# a probability under this share of the threshold.  The run is a maximum-sum stretch of prose, so it
# swallows the comment thread or the teaser feed that follows an article with no heading between them;
# there the model's verdict is the only evidence, and forcing those blocks in cost precision (issue #30,
# fifth round: bench/cleaning2.md).
DOUBT_SHARE = 0.5
# The article's headline: the nearest block at most this many blocks above the main run, a title's
# length, no sentences, sharing at least HEADLINE_COHESION of its content words with the run.  Kept
# though most training gold leaves headlines out: a pasted article reads from its headline.
HEADLINE_REACH = 3
HEADLINE_WORDS = (4, 25)
HEADLINE_COHESION = 0.4


# A numbered list item: "1) …", "2. …", "3 Kyle Busch 5035" (a ranking's row).
_NUMBERED = re.compile(r"(\d{1,3})[.):]?\s")
LIST_GAP = 2  # unnumbered blocks allowed between two items (an item's description)
LIST_MIN_ITEMS = 3
LIST_REACH = 3  # a list starting this close after the article's main run continues it

_POINT = re.compile(r"(?:\d{1,2}|[a-zа-я])[.)]\s", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Removed:
    text: str
    reason: str


def looks_like_page(blocks: Sequence[Block], furniture: re.Pattern[str] | None = None) -> bool:
    return page_gate(blocks, furniture)[0]


def page_gate(blocks: Sequence[Block], furniture: re.Pattern[str] | None = None) -> tuple[bool, str]:
    """(is it a page, why: the figures the decision rests on, for `tgmonitor clean --explain`).

    The gate: enough blocks, characters and furniture lines to be a page rather than a post.

    Short unpunctuated lines are also what authors write: verse, a list of phrases, a translator's
    credit, a basmala. Real posts of a channel of that kind (issue #26) had 3-8 such lines among 12-53
    blocks and lost poems and titles to the classifier. So a text that one Telegram message can hold
    (TELEGRAM_MAX_CHARS) must also show a page's own chrome: a date/time stamp line, or a label made
    of site-furniture words (`furniture`: share, subscribe, comments, …; bot/data/furniture_words.txt).
    Pasted pages show one; of the 186 extraction pages past the label count, one (4,049 characters)
    shows neither and is left as the rules leave it.
    """
    chars = sum(len(b.text) for b in blocks)
    size = f"{len(blocks)} blocks, {chars:,} characters"
    if len(blocks) < MIN_BLOCKS or chars < MIN_CHARS:
        return False, f"not a page: {size} (a page has at least {MIN_BLOCKS} and {MIN_CHARS:,})"
    labels = [b.text for b in blocks if is_furniture(b.text)]
    need = max(MIN_LABELS, MIN_LABEL_SHARE * len(blocks))
    if len(labels) < need:
        return False, f"not a page: {size}, {len(labels)} furniture lines (a page has at least {need:g})"
    size += f", {len(labels)} furniture lines"
    if chars > TELEGRAM_MAX_CHARS:
        return True, f"a page: {size}, longer than one Telegram message holds"
    stamp = next((text for text in labels if is_stamp_line(text)), None)
    chrome = stamp or next(
        (t for t in labels if furniture is not None and is_label(t) and furniture.search(t.lower())), None
    )
    if chrome is None:
        return False, f"not a page: {size}, but post-sized and no date stamp or site-furniture label among them"
    return True, f"a page: {size}, and {'a date stamp' if stamp else 'a site-furniture label'}: {chrome[:40]!r}"


def is_furniture(text: str) -> bool:
    return is_label(text) or is_stamp_line(text)


def is_label(text: str) -> bool:
    """A page's furniture line: a few words, no closing punctuation, not a point, hashtag or emoji line.

    Punctuation inside closing quotes or brackets counts: `They said: “Yes.”` is a sentence; so do the
    full-width stops of Chinese and Japanese (a paragraph there is one "word" between spaces).
    """
    first = text[0]
    last = text.rstrip(_CLOSERS) or text
    return (
        len(text.split()) <= 5
        and last[-1] not in ".!?:;…。！？：；"
        and (first.isalpha() or first in "«\"“„'(")
        and not _POINT.match(text)
    )


def judge(blocks: Sequence[Block], model: PageModel, lang: str | None) -> list[str | None]:
    """For each block: None to keep it, else why it goes.  A page without word spaces is not the
    model's to judge: its article is the run of long lines (bot/core/page_unspaced.py)."""
    if unspaced(blocks):
        return unspaced_verdicts(blocks)
    features = page_features(blocks, model.vocabulary, lang)
    return decide(blocks, features, model.score(features), model.threshold)


def decide(
    blocks: Sequence[Block], features: PageFeatures, probs: Sequence[float], threshold: float
) -> list[str | None]:
    """The verdicts from the model's probabilities (separate so training tries thresholds without rescoring)."""
    start, end = features.run
    keep = initial_keep(blocks, features, probs, threshold)
    for i in range(start, end):
        s = features.shapes[i]
        if keep[i] or features.markers[i]:
            continue
        before = next((keep[j] for j in range(i - 1, start - 1, -1) if not _tiny(features.shapes[j])), False)
        after = next((keep[j] for j in range(i + 1, end) if not _tiny(features.shapes[j])), False)
        doubted = s.prose and s.words >= 25 and probs[i] >= DOUBT_SHARE * threshold
        if doubted or (s.words <= BRIDGE_WORDS and before and after):
            keep[i] = True
    return settle(blocks, features, probs, keep)


def initial_keep(
    blocks: Sequence[Block], features: PageFeatures, probs: Sequence[float], threshold: float
) -> list[bool]:
    """What the model keeps on its own, less the stamps outside the main run (`decide`'s first step)."""
    start, end = features.run
    keep = [p >= threshold or s.hashtags_only for p, s in zip(probs, features.shapes, strict=True)]
    # A bare date or time outside the article is a teaser's or the page's stamp, however sure the
    # model is not: it carries nothing a reader of the article needs.
    for i, b in enumerate(blocks):
        if keep[i] and not start <= i < end and is_stamp_line(b.text):
            keep[i] = False
    return keep


def settle(
    blocks: Sequence[Block], features: PageFeatures, probs: Sequence[float], keep: list[bool]
) -> list[str | None]:
    """`decide`'s last steps, after the rules inside the main run: numbered lists that go on from the
    article, the headline, and a page with prose never empty; then each block's verdict."""
    start, end = features.run
    for first, last in numbered_lists(blocks):
        # A ranking, a table or a listicle that goes on from the article: all of it, or none.
        reached = any(keep[first : last + 1]) or start <= first <= end + LIST_REACH
        closed = any(features.markers[j] for j in range(min(end, first), first))
        if reached and not closed:
            for j in range(first, last + 1):
                keep[j] = keep[j] or not (features.markers[j] or is_stamp_line(blocks[j].text))
    title = headline(features)
    if title is not None:
        keep[title] = True
    if not any(keep) and any(s.words >= 8 for s in features.shapes):
        # A page with prose never comes out empty: what the model could not place is kept.
        keep = [not is_stamp_line(b.text) for b in blocks]
    return [None if kept else reason(i, features, probs[i]) for i, kept in enumerate(keep)]


def headline(features: PageFeatures) -> int | None:
    start = features.run[0]
    for i in range(start - 1, max(-1, start - 1 - HEADLINE_REACH), -1):
        s = features.shapes[i]
        if features.markers[i] or s.stamp or s.url or s.sentence_breaks:
            continue
        if HEADLINE_WORDS[0] <= s.words <= HEADLINE_WORDS[1]:
            return i if features.cohesion[i] >= HEADLINE_COHESION else None
    return None


def numbered_lists(blocks: Sequence[Block]) -> list[tuple[int, int]]:
    """Spans [first, last] of blocks numbered n, n+1, n+2 … with at most LIST_GAP blocks between items."""
    spans = []
    first = last = number = -1
    items = 0
    for i, b in enumerate(blocks):
        m = _NUMBERED.match(b.text)
        if m is None:
            continue
        value = int(m.group(1))
        if items and value == number + 1 and i - last <= LIST_GAP + 1:
            last, number, items = i, value, items + 1
            continue
        if items >= LIST_MIN_ITEMS:
            spans.append((first, last))
        first, last, number, items = i, i, value, 1
    if items >= LIST_MIN_ITEMS:
        spans.append((first, last))
    return spans


def _tiny(s: Shape) -> bool:
    return s.words <= 2


def reason(i: int, f: PageFeatures, prob: float) -> str:
    """The strongest visible sign, in words; the probability says how sure the model was."""
    s = f.shapes[i]
    start, end = f.run
    if f.markers[i]:
        sign = "section marker"
    elif f.under_marker[i]:
        sign = "list under a section marker"
    elif s.truncated:
        sign = "truncated teaser"
    elif s.stamp and s.words <= 8:
        sign = "date/time stamp"
    elif s.url and s.words <= 8:
        sign = "link"
    elif i >= end and f.cohesion[i] < 0.3 and s.words >= 4:
        sign = "after the article, unrelated to it"
    elif i >= end:
        sign = "after the article"
    elif i < start:
        sign = "before the article"
    elif not s.sentence_end and s.words < 6:
        sign = "label"
    else:
        sign = "not article prose"
    return f"{sign} (p={prob:.2f})"
