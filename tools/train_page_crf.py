"""Train the page cleaner's sequence model (a linear-chain CRF) and export it to plain JSON.

    .venv/bin/python -m tools.train_page_crf [--out bot/data/page_model.json]

Needs python-crfsuite (the `train` extra: `pip install -e '.[train]'`); the exported weights are read
by bot/core/page_crf.py in plain Python, so running the cleaner never needs it.

Data: ../shared/extraction (88 Scrapinghub pages, whole page and headline-to-end), its Bulgarian sample,
../shared/extraction-readability (80 Mozilla Readability test pages; gold is Readability's output), and
the Bulgarian and Russian news pages of tools/news_fixtures.py.  Pages the cleaner's gate does not
judge, and pages it cannot judge (no stop-word list, no word spaces), teach nothing and are left out.
A block's label: most of its 4-token shingles in the gold (tools/extraction_set.py).  L-BFGS with L1
and L2 penalties, then the decision threshold on the blocks' marginal probabilities: best training F1
among thresholds keeping training recall at least MIN_RECALL.  Deterministic: documents in sorted
order, L-BFGS has no randomness, weights rounded when written.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.core.blocks import Block
from bot.core.clean import BoilerplateRules, load_boilerplate, page_blocks
from bot.core.lang import detect_lang
from bot.core.page_clean import decide, looks_like_page
from bot.core.page_crf import LABELS, ChainModel
from bot.core.page_model import PageFeatures, PageModel, Vocabulary, chain_items, page_features
from tools.extraction_set import SHARED, Doc, block_label, gold_index, load, load_bg, score
from tools.news_fixtures import news_docs

ROOT = Path(__file__).resolve().parent.parent
READABILITY = SHARED.parent / "extraction-readability"
OUT = ROOT / "bot" / "data" / "page_model.json"
C1 = 0.05
C2 = 0.5
ITERATIONS = 300
MIN_RECALL = 0.965
THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 19))


@dataclass(frozen=True, slots=True)
class Example:
    doc: Doc
    blocks: list[Block]
    features: PageFeatures
    items: list[dict[str, float]]
    labels: list[bool]


def examples(docs: Sequence[Doc], rules: BoilerplateRules, vocabulary: Vocabulary) -> list[Example]:
    found = []
    for doc in docs:
        blocks = page_blocks(doc.text, rules)
        if not looks_like_page(blocks):
            continue
        features = page_features(blocks, vocabulary, detect_lang("\n".join(b.text for b in blocks)))
        if not features.judgeable:
            continue
        shingle_set, padded = gold_index(doc.gold)
        labels = [block_label(b.text, shingle_set, padded) for b in blocks]
        found.append(Example(doc, blocks, features, chain_items(features), labels))
    return found


def fit(data: Sequence[Example]) -> ChainModel:
    import pycrfsuite  # the training-time dependency (the `train` extra)

    trainer = pycrfsuite.Trainer(verbose=False)
    for ex in data:
        trainer.append(pycrfsuite.ItemSequence(ex.items), [LABELS[int(y)] for y in ex.labels])
    trainer.set_params({"c1": C1, "c2": C2, "max_iterations": ITERATIONS, "feature.possible_transitions": True})
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "chain.crfsuite")
        trainer.train(path)
        tagger = pycrfsuite.Tagger()
        tagger.open(path)
        info = tagger.info()
        tagger.close()
    state: dict[str, list[float]] = {}
    for (attribute, label), weight in info.state_features.items():
        state.setdefault(attribute, [0.0, 0.0])[LABELS.index(label)] = weight
    t = [[0.0, 0.0], [0.0, 0.0]]
    for (a, b), weight in info.transitions.items():
        t[LABELS.index(a)][LABELS.index(b)] = weight
    return ChainModel({k: (v[0], v[1]) for k, v in state.items()}, ((t[0][0], t[0][1]), (t[1][0], t[1][1])))


def train(docs: Sequence[Doc], rules: BoilerplateRules, vocabulary: Vocabulary) -> PageModel:
    data = examples(docs, rules, vocabulary)
    chain = fit(data)
    probs = [chain.marginals(ex.items) for ex in data]
    best: tuple[bool, float, float] | None = None
    chosen = THRESHOLDS[0]
    for threshold in THRESHOLDS:
        pairs = []
        for ex, p in zip(data, probs, strict=True):
            verdicts = decide(ex.blocks, ex.features, p, threshold)
            kept = "\n\n".join(b.text for b, v in zip(ex.blocks, verdicts, strict=True) if v is None)
            pairs.append((ex.doc.gold, kept))
        result = score(pairs)
        ok = result.recall >= MIN_RECALL
        key = (ok, result.f1 if ok else result.recall, -threshold)
        if best is None or key > best:
            best, chosen = key, threshold
    return PageModel(vocabulary, None, None, chosen, chain)


def to_json(model: PageModel, trained_on: Sequence[Doc]) -> str:
    if model.chain is None:
        raise ValueError("not a chain model")
    data = {
        "about": "page cleaner's chain (CRF) weights; written by tools/train_page_crf.py, do not edit by hand",
        "trained_on": sorted({f"{d.variant}/{d.id}" for d in trained_on}),
        "threshold": model.threshold,
        "chain": model.chain.to_json(),
    }
    return json.dumps(data, ensure_ascii=False, indent=0) + "\n"


def training_docs(root: Path = SHARED, readability: Path = READABILITY) -> list[Doc]:
    """Every page the chain learns from; Readability's ids get a prefix (two sets, one id space)."""
    second = [Doc(f"rd-{d.id}", d.variant, d.text, d.gold) for d in load(readability)] if readability.exists() else []
    return [*load(root), *load_bg(root), *second, *news_docs()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=SHARED, help="the extraction dev set")
    parser.add_argument("--readability", type=Path, default=READABILITY, help="the second dev set")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not (args.root / "gold.json").exists():
        parser.error(f"{args.root}: no gold.json (the dev set lives in ../shared/extraction)")
    docs = training_docs(args.root, args.readability)
    model = train(docs, load_boilerplate(), Vocabulary.load())
    args.out.write_text(to_json(model, docs), encoding="utf-8")
    print(f"wrote {args.out} (threshold {model.threshold}, {len(docs)} documents)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
