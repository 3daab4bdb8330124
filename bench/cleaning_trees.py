"""Boosted trees over the page cleaner's block features, for bench/cleaning_cv.py (scikit-learn, the
`trees` extra; an experiment only: the cleaner does not ship it, see bench/cleaning2.md "Fifth round").

A tree reads a block's own row (the logistic model's first-stage features: shapes and sequence shapes)
plus the rows of the blocks one and two places either side for a few of them, so it can learn
interactions (a one-sentence line past an end marker next to a short heading) that the linear model
can only add up.  Fitted with the same per-block weights and the same threshold rule as the shipped
trainer; deterministic (no subsampling, no early stopping, a fixed seed).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.page_model import FIRST_FEATURES
from tools.train_page_model import Example

NEIGHBOUR_NAMES = (
    "log_words",
    "prose",
    "stop_share",
    "sentence_end",
    "stamp",
    "truncated",
    "title_share",
    "cohesion",
    "furniture",
    "url",
    "teaser_head",
    "end_marker",
    "one_sentence",
    "echo",
    "credit",
)
_COLUMNS = [FIRST_FEATURES.index(n) for n in NEIGHBOUR_NAMES]
OFFSETS = (-2, -1, 1, 2)


def tree_rows(ex: Example) -> list[list[float]]:
    """Own row without the bias, then the neighbours' chosen columns (-1 past the page's edges)."""
    n = len(ex.rows)
    out = []
    for i, row in enumerate(ex.rows):
        full = list(row[1:])
        for offset in OFFSETS:
            j = i + offset
            full += [ex.rows[j][c] for c in _COLUMNS] if 0 <= j < n else [-1.0] * len(_COLUMNS)
        out.append(full)
    return out


def trees(  # type: ignore[no-untyped-def]
    depth: int = 3, rounds: int = 200, rate: float = 0.1, leaf: int = 40, l2: float = 1.0, inner: int = 0, extra=None
):
    """`inner`: choose the threshold on out-of-fold probabilities of `inner` folds of the training pages
    (trees fit their training blocks closely, so in-sample probabilities overstate recall)."""
    from bench.cleaning_cv import choose_threshold
    from tools.extraction_set import folds

    def rows_of(ex: Example) -> list[list[float]]:
        base = tree_rows(ex)
        return base if extra is None else [r + m for r, m in zip(base, extra(ex), strict=True)]

    def fit(data: Sequence[Example]):  # type: ignore[no-untyped-def]
        try:
            from sklearn.ensemble import HistGradientBoostingClassifier
        except ImportError as exc:
            raise SystemExit("the boosted trees need scikit-learn: pip install -e '.[trees]'") from exc

        x = [r for ex in data for r in rows_of(ex)]
        y = [int(label) for ex in data for label in ex.labels]
        w = [v for ex in data for v in ex.weights]
        model = HistGradientBoostingClassifier(
            max_depth=depth,
            max_iter=rounds,
            learning_rate=rate,
            min_samples_leaf=leaf,
            l2_regularization=l2,
            early_stopping=False,
            random_state=0,
        )
        model.fit(x, y, sample_weight=w)

        def scorer(ex: Example) -> list[float]:
            if not ex.features.judgeable:
                return [1.0] * len(ex.rows)
            return [float(p) for p in model.predict_proba(rows_of(ex))[:, 1]]

        return scorer

    def train(data: Sequence[Example]):  # type: ignore[no-untyped-def]
        scorer = fit(data)
        if not inner:
            return scorer, choose_threshold(data, [scorer(ex) for ex in data])
        probs: dict[int, list[float]] = {}
        for part in folds([ex.doc.id for ex in data], inner):
            inner_scorer = fit([ex for ex in data if ex.doc.id not in part])
            probs.update((i, inner_scorer(ex)) for i, ex in enumerate(data) if ex.doc.id in part)
        return scorer, choose_threshold(data, [probs[i] for i in range(len(data))])

    return train


def fit_np(rows, labels, weights, names, l2: float = 1.0):  # type: ignore[no-untyped-def]
    """tools/train_page_model.py's `fit` (L2 logistic regression by Newton's method on standardised
    columns) in numpy: the same optimum, ~50× faster, for trying feature sets."""
    import numpy as np

    from bot.core.page_model import Stage

    x = np.asarray(rows, dtype=float)
    means = np.concatenate([[0.0], x[:, 1:].mean(axis=0)])
    spread = np.concatenate([[1.0], x[:, 1:].std(axis=0)])
    scales = np.where(spread > 1e-9, spread, 1.0)
    z = (x - means) / scales
    z[:, 0] = x[:, 0]
    y = np.asarray(labels, dtype=float)
    wt = np.asarray(weights, dtype=float)
    dims = len(names)
    w = np.zeros(dims)
    ridge = np.full(dims, l2)
    ridge[0] = 1e-6
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (wt * (p - y)) + np.where(np.arange(dims) > 0, l2 * w, 0.0)
        hess = (z * (wt * p * (1 - p))[:, None]).T @ z + np.diag(ridge)
        step = np.linalg.solve(hess, grad)
        w = w - step
        if np.max(np.abs(step)) < 1e-7:
            break
    return Stage(
        tuple(names), tuple(float(v) for v in w), tuple(float(v) for v in means), tuple(float(v) for v in scales)
    )
