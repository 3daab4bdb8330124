"""The page cleaner's 4-fold cross-validation with each page's features computed once: error analysis
and model variants (the shipped logistic stages, boosted trees) on the same folds as bench/cleaning2.py.

    .venv/bin/python -m bench.cleaning_cv [--models logistic,trees] [--errors]

bench/cleaning2.py retrains through the trainers' own entry points, which recompute every page's
features for every fold; here the features (which no model changes) are computed once per page, and
each fold's model is fitted on the cached rows, so a variant costs its fitting only.  The output of a
page is what `clean_text` gives (the same gate, the same decisions, pages the model never judges
cleaned once); for the shipped trainer it reproduces bench/cleaning2.py's figures.

`--errors`: the held-out blocks the shipped model gets wrong on each set, by shape (where the block
sits, what it looks like), with the shingles they cost and on how many pages.
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._util import log, machine_line, save_result, table
from bench.cleaning2 import dev_sets, fold_of
from bench.cleaning2 import rows as pooled_rows
from bot.core.block_context import CONTEXT_NAMES, unspaced
from bot.core.blocks import Block
from bot.core.clean import BoilerplateRules, clean_text, load_boilerplate, normalize, page_blocks, strip_boilerplate
from bot.core.clean import _first_blocks as first_blocks
from bot.core.lang import detect_lang
from bot.core.page_clean import MIN_BLOCKS, MIN_CHARS, MIN_LABELS, decide, is_furniture, looks_like_page, page_gate
from bot.core.page_model import FIRST_FEATURES, PageFeatures, PageModel, Vocabulary, page_features
from tools.extraction_set import Doc, Score, block_label, doc_pr, gold_index, score
from tools.train_page_model import MIN_RECALL, THRESHOLDS, Example, fixtures

# (probabilities of a page's blocks) from a fitted model; a trainer fits one on examples.
Scorer = Callable[[Example], list[float]]
Trainer = Callable[[Sequence[Example]], tuple[Scorer, float]]


@dataclass(slots=True)
class Case:
    """A page of a dev set: its fixed output when no model judges it, else its example for scoring."""

    doc: Doc
    fixed: str | None
    judged: Example | None
    train: Example | None  # what the trainers fit on (their own gate: looks_like_page without chrome)


def _example(doc: Doc, blocks: list[Block], vocabulary: Vocabulary) -> Example:
    features = page_features(blocks, vocabulary, detect_lang("\n".join(b.text for b in blocks)))
    shingle_set, padded = gold_index(doc.gold)
    labels = [block_label(b.text, shingle_set, padded) for b in blocks]
    raw = [len(b.text.split()) + 3 for b in blocks]
    total = sum(raw)
    rows = [row + ctx for row, ctx in zip(features.rows, features.context.rows, strict=True)]
    return Example(doc, blocks, rows, labels, [100.0 * r / total for r in raw], features)


def judged_blocks(text: str, rules: BoilerplateRules, vocabulary: Vocabulary) -> list[Block] | None:
    """The blocks `clean_text` hands the model, or None where it does not (bot/core/clean.py _clean_lines)."""
    signals: list[tuple[int, str, bool]] = []
    lines = strip_boilerplate(normalize(text).split("\n"), rules, None, signals)
    if len(lines) < MIN_BLOCKS or sum(map(len, lines)) < MIN_CHARS:
        return None
    if sum(1 for line in lines if line and is_furniture(line)) < MIN_LABELS:
        return None
    blocks = first_blocks(lines, signals)
    if not page_gate(blocks, vocabulary.furniture)[0] or unspaced(blocks):
        return None
    return blocks


def prepare(docs: Sequence[Doc], rules: BoilerplateRules, model: PageModel) -> list[Case]:
    cases = []
    for doc in docs:
        blocks = judged_blocks(doc.text, rules, model.vocabulary)
        judged = _example(doc, blocks, model.vocabulary) if blocks is not None else None
        train_blocks = page_blocks(doc.text, rules)
        train = None
        if looks_like_page(train_blocks):
            train = (
                judged
                if judged is not None and blocks == train_blocks
                else _example(doc, train_blocks, model.vocabulary)
            )
        fixed = None if judged is not None else clean_text(doc.text, rules, model)
        cases.append(Case(doc, fixed, judged, train))
    return cases


DECIDE = [decide]  # bench-only switch: --decide (bench/cleaning_extra.py decider)


def output(ex: Example, probs: Sequence[float], threshold: float) -> str:
    verdicts = DECIDE[0](ex.blocks, ex.features, probs, threshold)
    return "\n\n".join(b.text for b, v in zip(ex.blocks, verdicts, strict=True) if v is None)


def choose_threshold(data: Sequence[Example], probs: Sequence[Sequence[float]]) -> float:
    """tools/train_page_model.py's rule: best training F1 among thresholds keeping recall ≥ MIN_RECALL."""
    best: tuple[bool, float, float] | None = None
    chosen = THRESHOLDS[0]
    for threshold in THRESHOLDS:
        result = score((ex.doc.gold, output(ex, p, threshold)) for ex, p in zip(data, probs, strict=True))
        ok = result.recall >= MIN_RECALL
        key = (ok, result.f1 if ok else result.recall, -threshold)
        if best is None or key > best:
            best, chosen = key, threshold
    return chosen


Extra = Callable[[Example], list[list[float]]]


def logistic(
    names: tuple[str, ...] = FIRST_FEATURES,
    fitter: Callable[..., Any] | None = None,
    extra: tuple[str, Extra] | None = None,
) -> Trainer:
    """The shipped trainer (tools/train_page_model.py train) on cached rows; `fitter`: the same fit in
    numpy (bench/cleaning_trees.py fit_np); `extra`: more first-stage columns (name, rows of a page)."""
    from bot.core.page_model import CONTEXT_FEATURES, context_rows
    from tools.train_page_model import fit as fit_py

    fit = fitter or fit_py
    width = len(names)
    all_names = names if extra is None else (*names, *extra[0].split(","))

    def first_of(ex: Example) -> list[list[float]]:
        rows = [row[:width] for row in ex.rows]
        if extra is None:
            return rows
        return [row + more for row, more in zip(rows, extra[1](ex), strict=True)]

    def train(data: Sequence[Example]) -> tuple[Scorer, float]:
        firsts = [first_of(ex) for ex in data]
        rows = [row for f in firsts for row in f]
        labels = [label for ex in data for label in ex.labels]
        weights = [w for ex in data for w in ex.weights]
        first = fit(rows, labels, weights, all_names)
        second_rows = [row for f in firsts for row in context_rows([first.prob(r) for r in f])]
        second = fit(second_rows, labels, weights, ("bias", *CONTEXT_FEATURES))

        def scorer(ex: Example) -> list[float]:
            if not ex.features.judgeable:
                return [1.0] * len(ex.rows)
            return [second.prob(r) for r in context_rows([first.prob(r) for r in first_of(ex)])]

        return scorer, choose_threshold(data, [scorer(ex) for ex in data])

    return train


def cross_validate(
    cases: dict[str, list[Case]], trainer: Trainer, k: int, extra: Sequence[Case] = ()
) -> dict[str, object]:
    """Per (set, variant) the k folds' scores, and per held-out page its probabilities and threshold."""
    sets = {name: [c.doc for c in group] for name, group in cases.items()}
    where = fold_of(sets, k)
    everything = [c for group in cases.values() for c in group]
    parts: dict[str, list[Score]] = {}
    held_probs: dict[tuple[str, str], tuple[list[float], float]] = {}
    for index in range(k):
        started = time.monotonic()
        data = [c.train for c in [*everything, *extra] if c.train is not None and where.get(c.doc.id, -1) != index]
        scorer, threshold = trainer(data)
        for name, group in cases.items():
            for variant in sorted({c.doc.variant for c in group}):
                pairs = []
                for c in group:
                    if where[c.doc.id] != index or c.doc.variant != variant:
                        continue
                    if c.judged is None:
                        pairs.append((c.doc.gold, c.fixed or ""))
                        continue
                    probs = scorer(c.judged)
                    held_probs[(c.doc.id, c.doc.variant)] = (probs, threshold)
                    pairs.append((c.doc.gold, output(c.judged, probs, threshold)))
                if pairs:
                    parts.setdefault(f"{name}/{variant}", []).append(score(pairs))
        log(f"fold {index + 1}/{k}: threshold {threshold}, {time.monotonic() - started:.0f} s")
    return {"parts": parts, "probs": held_probs}


def chain() -> Trainer:
    """tools/train_page_crf.py on cached rows (pages it cannot judge left out, as its trainer does)."""
    from bot.core.page_model import chain_items
    from tools import train_page_crf

    def train(data: Sequence[Example]) -> tuple[Scorer, float]:
        usable = [ex for ex in data if ex.features.judgeable]
        wrapped = [
            train_page_crf.Example(ex.doc, ex.blocks, ex.features, chain_items(ex.features), ex.labels) for ex in usable
        ]
        model = train_page_crf.fit(wrapped)

        def scorer(ex: Example) -> list[float]:
            if not ex.features.judgeable:
                return [1.0] * len(ex.rows)
            return model.marginals(chain_items(ex.features))

        return scorer, choose_threshold(usable, [scorer(ex) for ex in usable])

    return train


def shape_of(ex: Example, i: int) -> str:
    """A block's shape in words, for grouping the errors: where it sits, then what it looks like."""
    f: PageFeatures = ex.features
    s = f.shapes[i]
    start, end = f.run
    ctx = dict(zip(CONTEXT_NAMES, f.context.rows[i], strict=True))
    where = "in run" if start <= i < end else ("before run" if i < start else "after run")
    if ctx["past_end"] and where == "in run":
        where = "in run, past an end marker"
    if s.prose and s.words >= 25:
        look = "long prose (25+ words)"
    elif s.prose:
        look = "short prose (8-24 words)"
    elif s.sentence_end:
        look = "short sentence"
    elif s.words <= 5:
        look = "label (≤5 words)"
    else:
        look = "unpunctuated line (6+ words)"
    return f"{where}: {look}"


def errors(cases: Sequence[Case], probs: dict[tuple[str, str], tuple[list[float], float]]) -> list[list[str]]:
    """False positives (kept junk) and false negatives (dropped article) by shape: what they cost the
    set's mean precision (a kept junk block's share of its page's output words, over the pages) or mean
    recall (a dropped article block's share of its page's article words), and on how many pages."""
    cost: dict[tuple[str, str], float] = defaultdict(float)
    pages: dict[tuple[str, str], set[str]] = defaultdict(set)
    count = sum(1 for c in cases if (c.doc.id, c.doc.variant) in probs or c.judged is None)
    for c in cases:
        ex = c.judged
        if ex is None or (c.doc.id, c.doc.variant) not in probs:
            continue
        p, threshold = probs[(c.doc.id, c.doc.variant)]
        verdicts = DECIDE[0](ex.blocks, ex.features, p, threshold)
        sizes = [max(1, len(b.text.split())) for b in ex.blocks]
        kept = sum(n for n, v in zip(sizes, verdicts, strict=True) if v is None) or 1
        body = sum(n for n, label in zip(sizes, ex.labels, strict=True) if label) or 1
        for i, (v, label) in enumerate(zip(verdicts, ex.labels, strict=True)):
            kind = "FP" if v is None and not label else "FN" if v is not None and label else ""
            if not kind:
                continue
            key = (kind, shape_of(ex, i))
            cost[key] += sizes[i] / (kept if kind == "FP" else body) / count
            pages[key].add(f"{c.doc.id}/{c.doc.variant}")
    out = []
    for (kind, where), lost in sorted(cost.items(), key=lambda kv: (kv[0][0], -kv[1])):
        if lost >= 0.001:
            out.append([kind, where, f"{lost:.3f}", str(len(pages[(kind, where)]))])
    return out


def worst_pages(
    cases: Sequence[Case], probs: dict[tuple[str, str], tuple[list[float], float]], n: int
) -> list[list[str]]:
    rows = []
    for c in cases:
        if c.judged is None:
            out = c.fixed or ""
        else:
            p, threshold = probs[(c.doc.id, c.doc.variant)]
            out = output(c.judged, p, threshold)
        precision, recall = doc_pr(c.doc.gold, out)
        rows.append((precision, recall, c))
    rows.sort(key=lambda r: r[0])
    return [
        [f"{c.doc.id}/{c.doc.variant}", f"{p:.2f}", f"{r:.2f}", "judged" if c.judged else "fixed"]
        for p, r, c in rows[:n]
    ]


def summary(label: str, parts: dict[str, list[Score]]) -> list[list[str]]:
    """bench.cleaning2's rows, each with every fold's F1 after the range."""
    pooled = pooled_rows(label, parts)
    return [
        [*row, " / ".join(f"{s.f1:.3f}" for s in scores)] for row, scores in zip(pooled, parts.values(), strict=True)
    ]


def trainers() -> dict[str, Trainer]:
    from bench.cleaning_extra import DENSITY_NAMES, ENTRY_NAMES, FEED_NAMES, both, density, entries, feeds
    from bench.cleaning_trees import fit_np, trees

    out = {"logistic": logistic(), "logistic-np": logistic(fitter=fit_np)}
    out["crf"] = chain()
    out["entries"] = logistic(fitter=fit_np, extra=(ENTRY_NAMES, entries))
    out["feeds"] = logistic(fitter=fit_np, extra=(FEED_NAMES, feeds))
    out["density"] = logistic(fitter=fit_np, extra=(DENSITY_NAMES, density))
    out["feeds+density"] = logistic(fitter=fit_np, extra=(f"{FEED_NAMES},{DENSITY_NAMES}", both))
    out |= {"trees": trees(), "trees-deep": trees(depth=4, rounds=300), "trees-small": trees(depth=2, rounds=100)}
    out |= {"trees-inner": trees(inner=3), "trees-small-inner": trees(depth=2, rounds=100, inner=3)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--models", default="logistic")
    parser.add_argument("--decide", default="shipped", help="shipped, not-past-end, half, none")
    parser.add_argument("--cached", action="store_true", help="reuse the features of the last run (same code only)")
    parser.add_argument("--errors", action="store_true", help="the held-out errors of the first model, by shape")
    args = parser.parse_args()
    rules = load_boilerplate()
    from bench.cleaning_extra import decider

    DECIDE[0] = decider(args.decide)
    log(machine_line())
    started = time.monotonic()
    model = PageModel.load()
    cache = Path("/tmp") / f"cleaning_cv-{os.getuid()}.pickle"
    if args.cached and cache.exists():
        cases, extra = pickle.loads(cache.read_bytes())
    else:
        cases = {name: prepare(docs, rules, model) for name, docs in dev_sets().items()}
        extra = prepare(fixtures(), rules, model)
        cache.write_bytes(pickle.dumps((cases, extra)))
    log(f"features of {sum(map(len, cases.values()))} pages: {time.monotonic() - started:.0f} s")
    available = trainers()
    rows: list[list[str]] = []
    saved: dict[str, object] = {}
    for index, name in enumerate(args.models.split(",")):
        result = cross_validate(cases, available[name], args.folds, extra)
        parts = result["parts"]
        assert isinstance(parts, dict)
        rows += summary(name, parts)
        saved[name] = {k: [[s.precision, s.recall, s.docs] for s in v] for k, v in parts.items()}
        if args.errors and index == 0:
            probs = result["probs"]
            assert isinstance(probs, dict)
            for set_name in ("scrapinghub", "readability"):
                print(f"\n{name}, {set_name}: held-out errors by shape")
                print(table(["kind", "shape", "P or R lost", "pages"], errors(cases[set_name], probs)))
                print(table(["page", "P", "R", "output"], worst_pages(cases[set_name], probs, 15)))
    print(table(["model", "set/variant", "docs", "P", "R", "F1", "by fold", "folds 1-4"], rows))
    save_result("cleaning_cv", saved)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
