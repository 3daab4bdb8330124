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
