"""Pages in a script written without word spaces (Chinese, Japanese, Thai): the article is the run of long lines.

The page model reads words, and in these scripts a run of letters is a whole clause, so it cannot judge
such a page (bot/core/block_context.py `judgeable`); kept whole, a Chinese news page came out with its
menus, share buttons and teaser lists (precision 0.06-0.66 on the Readability set's five such pages).
What still tells the article from the chrome without words: the article's paragraphs are long runs of
the script's letters (a sentence is 20-60 of them), while menu items, buttons, bylines, captions of
teasers and rankings are short lines.  The article is the stretch where the long lines outweigh the
short ones: a maximum-sum segment, as the word-based main run (bot/core/blocks.py `main_run`), counted
in the script's letters.  Inside it everything is kept (captions, subheadings); outside it, nothing.
A page with no such stretch is kept whole, as before: what cannot be judged is kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.block_context import unspaced_letters
from bot.core.blocks import Block

# A line with more letters than this adds them to the run (one clause of prose), a shorter one costs
# LONG_LINE minus its letters: a two-letter menu item costs 18, a 15-letter teaser title 5.
LONG_LINE = 20
# One block adds at most this much: a single long block is not the article by itself, and a few of
# them do not carry the run across a list of teasers.
BLOCK_CAP = 60
REASON = "outside the article's run of long lines (a script without word spaces)"


def unspaced_run(blocks: Sequence[Block]) -> tuple[int, int] | None:
    """[start, end) of the best stretch, or None when no line is long enough to make one."""
    best, span = 0.0, None
    total, start = 0.0, 0
    for i, b in enumerate(blocks):
        if total <= 0:
            total, start = 0.0, i
        total += min(unspaced_letters(b.text), BLOCK_CAP) - LONG_LINE
        if total > best:
            best, span = total, (start, i + 1)
    return span


def unspaced_verdicts(blocks: Sequence[Block]) -> list[str | None]:
    """For each block: None to keep it, else why it goes."""
    span = unspaced_run(blocks)
    if span is None:
        return [None] * len(blocks)
    start, end = span
    return [None if start <= i < end else REASON for i in range(len(blocks))]
