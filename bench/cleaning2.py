"""The sequence model (CRF) against the logistic model, cross-validated on each dev set separately.

    .venv/bin/python -m bench.cleaning2 [--folds 4] [--models crf,logistic]

Sets: Scrapinghub (../shared/extraction, `page` and `tail`), Readability (../shared/extraction-readability,
`page` and `tail`), Bulgarian (the sample of ../shared/extraction plus the Bulgarian and Russian news
pages of tools/news_fixtures.py, written for the project).  Folds are by page (both variants of a page
in one fold), drawn inside each set by the fixed hash order of tools/extraction_set.py; the model for
fold i is trained on every other fold of every set, so every page is scored by a model that never saw it.
Reported per set and variant: pooled P / R / F1 over the held-out pages and the lowest and highest F1 of
a single fold.  Needs python-crfsuite for the CRF (the `train` extra).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench._util import log, machine_line, save_result, table
from bot.core.clean import BoilerplateRules, clean_text, load_boilerplate
from bot.core.page_model import PageModel, Vocabulary
from tools.extraction_set import SHARED, Doc, Score, evaluate, folds, load, load_bg
from tools.news_fixtures import news_docs

READABILITY = SHARED.parent / "extraction-readability"
Trainer = Callable[[Sequence[Doc], BoilerplateRules, Vocabulary], PageModel]


def dev_sets(root: Path = SHARED, readability: Path = READABILITY) -> dict[str, list[Doc]]:
    return {
        "scrapinghub": load(root),
        "readability": [Doc(f"rd-{d.id}", d.variant, d.text, d.gold) for d in load(readability)],
        "bulgarian": [*load_bg(root), *news_docs()],
    }


def fold_of(sets: dict[str, list[Doc]], k: int) -> dict[str, int]:
    out = {}
    for docs in sets.values():
        for index, held in enumerate(folds([d.id for d in docs], k)):
            out.update((pid, index) for pid in held)
    return out


def cross_validate(
    sets: dict[str, list[Doc]], rules: BoilerplateRules, train: Trainer, k: int, extra: Sequence[Doc] = ()
) -> dict[str, list[Score]]:
    """Per (set, variant): the k folds' scores, each by a model trained on the other folds of all sets."""
    where = fold_of(sets, k)
    everything = [d for docs in sets.values() for d in docs]
    vocabulary = Vocabulary.load()
    parts: dict[str, list[Score]] = {}
    for index in range(k):
        started = time.monotonic()
        model = train([d for d in everything if where[d.id] != index] + list(extra), rules, vocabulary)
        for name, docs in sets.items():
            for variant in sorted({d.variant for d in docs}):
                held = [d for d in docs if where[d.id] == index and d.variant == variant]
                if held:
                    result = evaluate(held, lambda text, m=model: clean_text(text, rules, m))
                    parts.setdefault(f"{name}/{variant}", []).append(result)
        log(f"fold {index + 1}/{k}: threshold {model.threshold}, {time.monotonic() - started:.0f} s")
    return parts


def pool(scores: Sequence[Score]) -> Score:
    docs = sum(s.docs for s in scores)
    return Score(sum(s.precision * s.docs for s in scores) / docs, sum(s.recall * s.docs for s in scores) / docs, docs)


def rows(label: str, parts: dict[str, list[Score]]) -> list[list[str]]:
    out = []
    for key, scores in parts.items():
        p = pool(scores)
        f1s = [s.f1 for s in scores]
        out.append(
            [
                label,
                key,
                str(p.docs),
                f"{p.precision:.3f}",
                f"{p.recall:.3f}",
                f"{p.f1:.3f}",
                f"{min(f1s):.3f}–{max(f1s):.3f}",
            ]
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument(
        "--models", default="crf", help="comma-separated: crf, logistic, logistic-self (without the sequence shapes)"
    )
    args = parser.parse_args()
    if not (SHARED / "gold.json").exists() or not (READABILITY / "gold.json").exists():
        print("needs ../shared/extraction and ../shared/extraction-readability; nothing to measure")
        return 0
    rules = load_boilerplate()
    sets = dev_sets()
    log(machine_line())
    table_rows: list[list[str]] = []
    saved: dict[str, object] = {}
    for name in args.models.split(","):
        if name == "crf":
            from tools.train_page_crf import train as crf_train

            parts = cross_validate(sets, rules, crf_train, args.folds)
        else:
            from functools import partial

            from bot.core.page_model import FIRST_FEATURES, SELF_FEATURES
            from tools.train_page_model import fixtures
            from tools.train_page_model import train as lr_train

            names = SELF_FEATURES if name == "logistic-self" else FIRST_FEATURES
            parts = cross_validate(sets, rules, partial(lr_train, names=names), args.folds, fixtures())
        table_rows += rows(name, parts)
        saved[name] = {
            key: [{"precision": s.precision, "recall": s.recall, "f1": s.f1, "docs": s.docs} for s in scores]
            for key, scores in parts.items()
        }
    print(table(["model", "set/variant", "docs", "P", "R", "F1", "F1 by fold"], table_rows))
    save_result("cleaning2", saved)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
