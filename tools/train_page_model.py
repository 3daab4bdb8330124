"""Train the page classifier's weights (bot/data/page_model.json) on the extraction dev set.

    .venv/bin/python -m tools.train_page_model [--root ../shared/extraction] [--out bot/data/page_model.json]

Data: the dev pages of ../shared/extraction (both the whole-page and the headline-to-end variants),
the Bulgarian sample, the 80 pages of ../shared/extraction-readability, the Bulgarian and Russian news
pages of tools/news_fixtures.py, and the fixtures in tools/page_fixtures/ (Telegram-shaped texts that must come
out untouched, so the model also sees long posts that are all body).  A block's label is whether
most of its 4-token shingles are in the gold body.  Two logistic stages, fitted by Newton's method
(L2-regularised, so the fit is unique), then the decision threshold: the one with the best F1 on the
training documents among those keeping recall at least `MIN_RECALL`.  Deterministic: no randomness
anywhere, documents in sorted order, weights rounded when written.

bench/extraction.py calls `train` on k-1 folds to report held-out figures.
"""

from __future__ import annotations

import argparse
import json
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.core.blocks import Block
from bot.core.clean import BoilerplateRules, load_boilerplate, page_blocks
from bot.core.lang import detect_lang
from bot.core.page_clean import decide, looks_like_page
from bot.core.page_model import (
    CONTEXT_FEATURES,
    FIRST_FEATURES,
    PageFeatures,
    PageModel,
    Stage,
    Vocabulary,
    context_rows,
    first_rows,
    page_features,
)
from tools.extraction_set import SHARED, Doc, block_label, gold_index, load, load_bg, score
from tools.news_fixtures import news_docs

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "page_fixtures"
OUT = ROOT / "bot" / "data" / "page_model.json"
L2 = 1.0
MIN_RECALL = 0.965
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 19))


@dataclass(frozen=True, slots=True)
class Example:
    doc: Doc
    blocks: list[Block]
    rows: list[list[float]]
    labels: list[bool]
    weights: list[float]
    features: PageFeatures


def fixtures(folder: Path = FIXTURES) -> list[Doc]:
    """Texts whose every line is body: the gold is the text itself."""
    return [
        Doc(path.stem, "fixture", text := path.read_text(encoding="utf-8"), text)
        for path in sorted(folder.glob("*.txt"))
    ]


def examples(
    docs: Sequence[Doc], rules: BoilerplateRules, vocabulary: Vocabulary, names: tuple[str, ...] = FIRST_FEATURES
) -> list[Example]:
    found = []
    for doc in docs:
        blocks = page_blocks(doc.text, rules)
        if not looks_like_page(blocks):
            continue
        features = page_features(blocks, vocabulary, detect_lang("\n".join(b.text for b in blocks)))
        shingle_set, padded = gold_index(doc.gold)
        labels = [block_label(b.text, shingle_set, padded) for b in blocks]
        # Each document weighs the same (the metric is a mean over documents); inside one, a block
        # weighs by its length, as its shingles do, plus a little so short blocks still count.
        raw = [len(b.text.split()) + 3 for b in blocks]
        total = sum(raw)
        rows = first_rows(features, names)
        found.append(Example(doc, blocks, rows, labels, [100.0 * r / total for r in raw], features))
    return found


def fit(
    rows: Sequence[Sequence[float]], labels: Sequence[bool], weights: Sequence[float], names: tuple[str, ...]
) -> Stage:
    """L2-regularised logistic regression by Newton's method on standardised features (column 0: bias)."""
    dims = len(names)
    columns = [list(col) for col in zip(*rows, strict=True)]
    means = [0.0] + [sum(c) / len(c) for c in columns[1:]]
    scales = [1.0]
    for c, m in zip(columns[1:], means[1:], strict=True):
        spread = math.sqrt(sum((x - m) ** 2 for x in c) / len(c))
        scales.append(spread if spread > 1e-9 else 1.0)
    z = [columns[0]] + [[(x - m) / s for x in c] for c, m, s in zip(columns[1:], means[1:], scales[1:], strict=True)]
    y = [1.0 if label else 0.0 for label in labels]
    w = [0.0] * dims
    for _ in range(50):
        margin = [0.0] * len(y)
        for a in range(dims):
            if w[a]:
                margin = list(map(operator.add, margin, (w[a] * v for v in z[a])))
        p = [1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, m)))) for m in margin]
        residual = [wt * (pi - yi) for wt, pi, yi in zip(weights, p, y, strict=True)]
        curvature = [wt * pi * (1.0 - pi) for wt, pi in zip(weights, p, strict=True)]
        grad = [sum(map(operator.mul, residual, z[a])) + (L2 * w[a] if a else 0.0) for a in range(dims)]
        hess = [[0.0] * dims for _ in range(dims)]
        for a in range(dims):
            weighted = list(map(operator.mul, curvature, z[a]))
            for b in range(a, dims):
                hess[a][b] = hess[b][a] = sum(map(operator.mul, weighted, z[b]))
            hess[a][a] += L2 if a else 1e-6
        step = _solve(hess, grad)
        w = [wi - si for wi, si in zip(w, step, strict=True)]
        if max(abs(s) for s in step) < 1e-7:
            break
    return Stage(names, tuple(w), tuple(means), tuple(scales))


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the system is small and positive definite)."""
    n = len(vector)
    a = [[*row, vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            if factor:
                a[r] = [x - factor * y for x, y in zip(a[r], a[col], strict=True)]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x


def train(
    docs: Sequence[Doc], rules: BoilerplateRules, vocabulary: Vocabulary, names: tuple[str, ...] = FIRST_FEATURES
) -> PageModel:
    """Both stages and the threshold.  `names`: FIRST_FEATURES (shipped) or SELF_FEATURES (the model
    before the sequence shapes, kept for comparing the two in bench/cleaning2.py)."""
    data = examples(docs, rules, vocabulary, names)
    rows = [row for ex in data for row in ex.rows]
    labels = [label for ex in data for label in ex.labels]
    weights = [w for ex in data for w in ex.weights]
    first = fit(rows, labels, weights, names)
    second_rows = [row for ex in data for row in context_rows([first.prob(r) for r in ex.rows])]
    second = fit(second_rows, labels, weights, ("bias", *CONTEXT_FEATURES))
    model = PageModel(vocabulary, first, second, 0.5)
    return PageModel(vocabulary, first, second, choose_threshold(model, data))


def choose_threshold(model: PageModel, data: Sequence[Example]) -> float:
    """Best training F1 among thresholds whose training recall is at least MIN_RECALL (else best recall)."""
    best: tuple[bool, float, float] | None = None
    chosen = THRESHOLDS[0]
    # Scored once: what `judge` does per threshold, without recomputing features and probabilities.
    probs = [model.score(ex.features) for ex in data]
    for threshold in THRESHOLDS:
        pairs = []
        for ex, p in zip(data, probs, strict=True):
            verdicts = decide(ex.blocks, ex.features, p, threshold)
            kept = "\n\n".join(b.text for b, v in zip(ex.blocks, verdicts, strict=True) if v is None)
            pairs.append((ex.doc.gold, kept))
        result = score(pairs)
        key = (result.recall >= MIN_RECALL, result.f1 if result.recall >= MIN_RECALL else result.recall, -threshold)
        if best is None or key > best:
            best, chosen = key, threshold
    return chosen


def to_json(model: PageModel, trained_on: Sequence[Doc]) -> str:
    data = {
        "about": "page classifier weights; written by tools/train_page_model.py, do not edit by hand",
        "trained_on": sorted({f"{d.variant}/{d.id}" for d in trained_on}),
        "threshold": model.threshold,
        "first": model.first.to_json(),
        "second": model.second.to_json(),
    }
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def all_training_docs(root: Path = SHARED) -> list[Doc]:
    """The Scrapinghub pages and the Bulgarian sample, the Readability pages (ids prefixed, as in
    bench/cleaning2.py) when present, and the Bulgarian and Russian news pages of tools/news_fixtures.py."""
    readability = root.parent / "extraction-readability"
    second = [Doc(f"rd-{d.id}", d.variant, d.text, d.gold) for d in load(readability)] if readability.exists() else []
    return [*load(root), *load_bg(root), *second, *news_docs(), *fixtures()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=SHARED, help="the extraction dev set")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not (args.root / "gold.json").exists():
        parser.error(f"{args.root}: no gold.json (the dev set lives in ../shared/extraction)")
    docs = all_training_docs(args.root)
    model = train(docs, load_boilerplate(), Vocabulary.load())
    args.out.write_text(to_json(model, docs), encoding="utf-8")
    print(f"wrote {args.out} (threshold {model.threshold}, {len(docs)} documents)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
