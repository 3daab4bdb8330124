"""A linear-chain CRF over a page's blocks, run in plain Python from weights exported to JSON.

Why a chain: whether a block is article text depends on its neighbours' verdicts, not only on their
shapes (a run of teasers is junk together, a caption between paragraphs is body), and a CRF learns the
block features and the label-to-label transitions jointly instead of in two separately fitted stages.
Trained with python-crfsuite (tools/train_page_crf.py, a training-time dependency only); what it learned
is a weight per (attribute, label) and per (label, label), so inference here is a forward-backward pass
over two labels: each block's marginal probability of being article text, which the page cleaner
thresholds as it did the logistic model's probability.

Attributes: every numeric feature of the logistic model and of bot/core/block_context.py by name (a
crfsuite attribute's value multiplies its weight), plus indicator bins of length and stop-word share
(the chain is linear; bins let "very short" and "very long" differ from "a bit longer") and a few of
the neighbours' attributes under `-1:` / `+1:` prefixes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

LABELS = ("junk", "body")
_WORD_BINS = (0, 2, 5, 10, 20, 40)
_STOP_BINS = (0.0, 0.1, 0.2, 0.3, 0.45)
# Attributes copied from the blocks either side (by name, as computed for the block itself).
NEIGHBOUR = (
    "prose",
    "stamp",
    "short_no_end",
    "teaser_head",
    "end_marker",
    "credit",
    "truncated",
    "one_sentence",
    "marker",
)


def _bin(value: float, edges: Sequence[float]) -> int:
    return sum(1 for edge in edges if value > edge)


def attributes(
    self_names: Sequence[str],
    self_rows: Sequence[Sequence[float]],
    context_names: Sequence[str],
    context_rows: Sequence[Sequence[float]],
    words: Sequence[int],
) -> list[dict[str, float]]:
    """Each block's named attributes (column 0 of the self rows is the bias, kept as `bias`)."""
    own: list[dict[str, float]] = []
    for row, ctx, n in zip(self_rows, context_rows, words, strict=True):
        item = {name: value for name, value in zip(self_names, row, strict=True) if value}
        item.update((name, value) for name, value in zip(context_names, ctx, strict=True) if value)
        item[f"words={_bin(n, _WORD_BINS)}"] = 1.0
        item[f"stops={_bin(item.get('stop_share', 0.0), _STOP_BINS)}"] = 1.0
        own.append(item)
    items = []
    for i, item in enumerate(own):
        full = dict(item)
        for offset, prefix in ((-1, "-1:"), (1, "+1:")):
            j = i + offset
            if 0 <= j < len(own):
                other = own[j]
                full.update((prefix + name, other[name]) for name in NEIGHBOUR if name in other)
                words_bin = next(k for k in other if k.startswith("words="))
                full[prefix + words_bin] = 1.0
            else:
                full[prefix + "edge"] = 1.0
        items.append(full)
    return items


@dataclass(frozen=True, slots=True)
class ChainModel:
    """State weights (attribute -> weight per label) and transition weights (from label, to label)."""

    state: dict[str, tuple[float, float]]
    transitions: tuple[tuple[float, float], tuple[float, float]]

    def _unary(self, items: Sequence[dict[str, float]]) -> list[tuple[float, float]]:
        out = []
        for item in items:
            junk = body = 0.0
            for name, value in item.items():
                w = self.state.get(name)
                if w is not None:
                    junk += w[0] * value
                    body += w[1] * value
            out.append((junk, body))
        return out

    def marginals(self, items: Sequence[dict[str, float]]) -> list[float]:
        """Each block's probability of being article text (forward-backward in log space)."""
        unary = self._unary(items)
        n = len(unary)
        if not n:
            return []
        t = self.transitions
        alpha = [unary[0]]
        for i in range(1, n):
            a = alpha[-1]
            alpha.append(
                (
                    unary[i][0] + _logsum(a[0] + t[0][0], a[1] + t[1][0]),
                    unary[i][1] + _logsum(a[0] + t[0][1], a[1] + t[1][1]),
                )
            )
        beta = [(0.0, 0.0)] * n
        for i in range(n - 2, -1, -1):
            b, u = beta[i + 1], unary[i + 1]
            beta[i] = (
                _logsum(t[0][0] + u[0] + b[0], t[0][1] + u[1] + b[1]),
                _logsum(t[1][0] + u[0] + b[0], t[1][1] + u[1] + b[1]),
            )
        probs = []
        for (a0, a1), (b0, b1) in zip(alpha, beta, strict=True):
            junk, body = a0 + b0, a1 + b1
            probs.append(1.0 / (1.0 + math.exp(max(-60.0, min(60.0, junk - body)))))
        return probs

    def viterbi(self, items: Sequence[dict[str, float]]) -> list[bool]:
        """The most likely labelling (True: article text); for checks against crfsuite's own tagger."""
        unary = self._unary(items)
        if not unary:
            return []
        t = self.transitions
        scores = [unary[0]]
        back: list[tuple[int, int]] = []
        for u in unary[1:]:
            s = scores[-1]
            from0 = 0 if s[0] + t[0][0] >= s[1] + t[1][0] else 1
            from1 = 0 if s[0] + t[0][1] >= s[1] + t[1][1] else 1
            scores.append((s[from0] + t[from0][0] + u[0], s[from1] + t[from1][1] + u[1]))
            back.append((from0, from1))
        label = 0 if scores[-1][0] >= scores[-1][1] else 1
        path = [label]
        for step in reversed(back):
            label = step[label]
            path.append(label)
        return [bool(x) for x in reversed(path)]

    def to_json(self) -> dict[str, object]:
        return {
            "labels": list(LABELS),
            "transitions": [[round(w, 6) for w in row] for row in self.transitions],
            "state": {name: [round(w[0], 6), round(w[1], 6)] for name, w in sorted(self.state.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChainModel:
        if tuple(data["labels"]) != LABELS:
            raise ValueError(f"chain labels {data['labels']!r}, expected {list(LABELS)}")
        rows = data["transitions"]
        transitions = ((float(rows[0][0]), float(rows[0][1])), (float(rows[1][0]), float(rows[1][1])))
        state = {str(k): (float(v[0]), float(v[1])) for k, v in data["state"].items()}
        return cls(state, transitions)


def _logsum(a: float, b: float) -> float:
    high = max(a, b)
    return high + math.log(math.exp(a - high) + math.exp(b - high))
