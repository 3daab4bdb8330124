"""Cleaning quality on the extraction dev set: precision, recall, F1 before/after, all pages and held out.

    .venv/bin/python -m bench.extraction [--folds 4] [--root ../shared/extraction]

Scores (metric: tools/extraction_set.py, as ../shared/extraction/README.md defines it):
* before: the phrase rules alone (this project before the page classifier);
* after, all pages: the shipped model (bot/data/page_model.json), which was trained on these pages,
  so this is an in-sample figure;
* after, held out: k-fold cross-validation by page: for each fold, a model trained by
  tools/train_page_model.py on the other folds' pages (both variants of a page stay in one fold)
  scores the fold's pages; the Bulgarian sample is scored by a model trained on the 88 pages only;
* the Bulgarian sample also without the phrase rules (they were written for it).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from bench._util import log, machine_line, save_result, table
from bot.core.clean import BoilerplateRules, clean_text, load_boilerplate
from bot.core.page_model import PageModel, Vocabulary
from tools.extraction_set import SHARED, Doc, Score, evaluate, folds, load, load_bg
from tools.train_page_model import fixtures, train


def figures(docs: Sequence[Doc], rules: BoilerplateRules, model: PageModel | None) -> dict[str, Score]:
    out = {}
    for variant in ("page", "tail", "bg"):
        chosen = [d for d in docs if d.variant == variant]
        if chosen:
            out[variant] = evaluate(chosen, lambda text: clean_text(text, rules, model))
    return out


def cross_validated(pages: Sequence[Doc], bg: Sequence[Doc], rules: BoilerplateRules, k: int) -> dict[str, Score]:
    """Each page scored by a model that never saw it; sums rebuilt from per-fold means."""
    vocabulary = Vocabulary.load()
    parts: dict[str, list[Score]] = {}
    for index, held in enumerate(folds([d.id for d in pages], k)):
        started = time.monotonic()
        model = train([d for d in pages if d.id not in held] + fixtures(), rules, vocabulary)
        for variant, result in figures([d for d in pages if d.id in held], rules, model).items():
            parts.setdefault(variant, []).append(result)
        log(
            f"fold {index + 1}/{k}: {len(held)} pages held out, threshold {model.threshold}, "
            f"{time.monotonic() - started:.0f} s"
        )
    out = {variant: _pool(scores) for variant, scores in parts.items()}
    if bg:
        model = train([*pages, *fixtures()], rules, vocabulary)
        out.update(figures(bg, rules, model))
        out["bg, no phrase rules"] = figures(bg, load_boilerplate_without_site_rules(rules), model)["bg"]
    return out


def _pool(scores: Sequence[Score]) -> Score:
    docs = sum(s.docs for s in scores)
    return Score(sum(s.precision * s.docs for s in scores) / docs, sum(s.recall * s.docs for s in scores) / docs, docs)


def load_boilerplate_without_site_rules(rules: BoilerplateRules) -> BoilerplateRules:
    """Only the Telegram web-preview chrome: the site rules were written while looking at the bg sample."""
    chrome = {
        "view-in-telegram",
        "media-not-supported",
        "open-telegram-to-view",
        "forwarded-from-header",
        "read-in-full",
    }
    return BoilerplateRules(tuple(r for r in rules.rules if r.name in chrome))


def row(label: str, result: Score) -> list[str]:
    return [label, str(result.docs), f"{result.precision:.3f}", f"{result.recall:.3f}", f"{result.f1:.3f}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=SHARED)
    parser.add_argument("--folds", type=int, default=4)
    args = parser.parse_args()
    root = args.root
    if not (root / "gold.json").exists():
        print(f"no extraction dev set at {root} (it lives in ../shared/extraction); nothing to measure")
        return 0
    rules = load_boilerplate()
    pages, bg = load(root), load_bg(root)
    model = PageModel.load()
    log(machine_line())
    before = figures([*pages, *bg], rules, None)
    after = figures([*pages, *bg], rules, model)
    after["bg, no phrase rules"] = figures(bg, load_boilerplate_without_site_rules(rules), model)["bg"]
    held = cross_validated(pages, bg, rules, args.folds)
    rows = []
    for variant in ("page", "tail", "bg"):
        rows.append(row(f"{variant}: before (phrase rules only)", before[variant]))
        rows.append(row(f"{variant}: after, shipped model (in-sample)", after[variant]))
        rows.append(row(f"{variant}: after, held out ({args.folds}-fold CV)", held[variant]))
    rows.append(row("bg, no phrase rules: shipped model", after["bg, no phrase rules"]))
    rows.append(row("bg, no phrase rules: held out (model without bg)", held["bg, no phrase rules"]))
    print(table(["texts", "docs", "precision", "recall", "F1"], rows))
    save_result(
        "extraction",
        {
            name: {
                k: {"precision": v.precision, "recall": v.recall, "f1": v.f1, "docs": v.docs} for k, v in part.items()
            }
            for name, part in (("before", before), ("after", after), ("held_out", held))
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
