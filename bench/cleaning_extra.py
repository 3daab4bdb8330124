"""Candidate block features tried in bench/cleaning_cv.py before any goes into bot/core (fifth round)."""

from __future__ import annotations

import re

from bot.core.block_context import CONTEXT_NAMES
from tools.train_page_model import Example

_COUNTER = re.compile(r"^\s*\d{1,3}\s*(?:/|of|из|от|de|von|di|z)\s*\d{1,3}\b", re.IGNORECASE)
_PAST = CONTEXT_NAMES.index("past_end")
_END = CONTEXT_NAMES.index("end_marker")
_GAP = CONTEXT_NAMES.index("end_gap")

ENTRY_NAMES = "entry_stamp,entry_after,log_stamps_since_start,log_ends_passed,counter_near,name_stamp"


def entries(ex: Example) -> list[list[float]]:
    """Comment threads and live blogs: a stamp line (a name often before it) over each entry's prose."""
    f = ex.features
    shapes = f.shapes
    n = len(shapes)
    start, end = f.run
    ctx = f.context.rows
    stamp = [s.stamp and s.words <= 8 for s in shapes]
    counter = [bool(_COUNTER.match(b.text)) for b in ex.blocks]
    out = []
    stamps_seen = 0
    ends_seen = 0
    for i, s in enumerate(shapes):
        if i >= start and stamp[i]:
            stamps_seen += 1
        if i > start and (ctx[i][_END] or ctx[i][_GAP]):
            ends_seen += 1
        entry = s.words >= 8 and any(stamp[j] for j in range(max(0, i - 2), i))
        after = bool(ctx[i][_PAST]) or i >= end
        name_stamp = stamp[i] and i > 0 and 1 <= shapes[i - 1].words <= 4 and not shapes[i - 1].sentence_end
        out.append(
            [
                float(entry),
                float(entry and after),
                math_log1(stamps_seen if i >= start else 0),
                math_log1(ends_seen),
                float(any(counter[j] for j in range(max(0, i - 2), min(n, i + 3)))),
                float(name_stamp),
            ]
        )
    return out


def math_log1(value: float) -> float:
    import math

    return math.log1p(max(value, 0.0))


FEED_NAMES = "loose_head,loose_summary,window_pairs,pairs_after_end"
_ENDS_SENTENCE = re.compile(r"[.!?][\"'”»’)\]]*$")


def _loose_head(s) -> bool:  # type: ignore[no-untyped-def]
    return 3 <= s.words <= 16 and not s.stamp and s.sentence_breaks <= 1


def _loose_summary(s) -> bool:  # type: ignore[no-untyped-def]
    return 6 <= s.words <= 45 and s.sentence_end and s.sentence_breaks <= 1


def feeds(ex: Example) -> list[list[float]]:
    """A feed of teasers, loosely: a headline-length line (3-16 words, at most two sentences, a
    question mark allowed) then a one- or two-sentence summary; how many such pairs are around."""
    shapes = ex.features.shapes
    n = len(shapes)
    ctx = ex.features.context.rows
    end = ex.features.run[1]
    head = [
        _loose_head(shapes[i]) and i + 1 < n and _loose_summary(shapes[i + 1]) and shapes[i + 1].words > shapes[i].words
        for i in range(n)
    ]
    out = []
    for i in range(n):
        window = range(max(0, i - 6), min(n, i + 7))
        pairs = sum(head[j] for j in window)
        after = bool(ctx[i][_PAST]) or i >= end
        out.append(
            [float(head[i]), float(i > 0 and head[i - 1]), pairs / len(window), float(after) * pairs / len(window)]
        )
    return out


DENSITY_NAMES = "local_density,density_ratio,words_to_dense"


def density(ex: Example) -> list[list[float]]:
    """How article-like the neighbourhood is: prose words within three blocks either side, against the
    page's densest such window; and the non-prose words between the block and that window."""
    shapes = ex.features.shapes
    n = len(shapes)
    prose = [s.words if s.prose else 0 for s in shapes]
    local = [sum(prose[max(0, i - 3) : i + 4]) for i in range(n)]
    top = max(local, default=0)
    centre = local.index(top) if local else 0
    best = top or 1
    other = [0 if s.prose else s.words for s in shapes]
    out = []
    for i in range(n):
        lo, hi = sorted((i, centre))
        out.append([math_log1(local[i]), local[i] / best, math_log1(sum(other[lo:hi]))])
    return out


def both(ex: Example) -> list[list[float]]:
    return [a + b for a, b in zip(feeds(ex), density(ex), strict=True)]


def decider(mode: str):  # type: ignore[no-untyped-def]
    """bot/core/page_clean.py `decide` with its in-run rule changed: long prose inside the main run is
    kept whatever the model says ("shipped"); "not-past-end": unless an end marker came before it
    inside the run; "half": unless its probability is under half the threshold; "none": never forced."""
    from bot.core import page_clean
    from bot.core.page_clean import BRIDGE_WORDS, _tiny, initial_keep, settle

    if mode == "shipped":
        return page_clean.decide

    def decide(blocks, features, probs, threshold):  # type: ignore[no-untyped-def]
        start, end = features.run
        keep = initial_keep(blocks, features, probs, threshold)
        for i in range(start, end):
            s = features.shapes[i]
            if keep[i] or features.markers[i]:
                continue
            before = next((keep[j] for j in range(i - 1, start - 1, -1) if not _tiny(features.shapes[j])), False)
            after = next((keep[j] for j in range(i + 1, end) if not _tiny(features.shapes[j])), False)
            long_prose = s.prose and s.words >= 25
            if long_prose and mode == "not-past-end" and features.context.rows[i][_PAST]:
                long_prose = False
            if long_prose and mode in ("half", "half-list") and probs[i] < threshold / 2:
                long_prose = False
            if long_prose and mode == "none":
                long_prose = False
            bridge = s.words <= BRIDGE_WORDS and before and after
            if mode in ("half-bridge", "third-bridge") and probs[i] < threshold * (
                0.5 if mode == "half-bridge" else 1 / 3
            ):
                long_prose = bridge = False
            if long_prose or bridge:
                keep[i] = True
        return settle(blocks, features, probs, keep)

    return decide
