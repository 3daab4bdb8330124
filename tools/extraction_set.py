"""The extraction dev set and its metric, shared by bench/extraction.py, the trainer and the tests.

Metric, exactly as ../shared/extraction/README.md defines it (the Scrapinghub article-extraction
benchmark's): tokens are `\\w+` runs; compare the multisets of 4-token shingles of the gold body and
the output; per document precision = tp/(tp+fp), recall = tp/(tp+fn), both 1 when both are empty;
precision and recall are averaged over documents and F1 is computed from the two means.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "extraction"
SUBSET_EVERY = 11  # the CI subset: every 11th page id of the dev set in sorted order (8 of 88)
_TOKEN = re.compile(r"\w+")
N = 4


@dataclass(frozen=True, slots=True)
class Doc:
    id: str
    variant: str  # page | tail | bg
    text: str
    gold: str


@dataclass(frozen=True, slots=True)
class Score:
    precision: float
    recall: float
    docs: int

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text)
    return Counter(tuple(tokens[i : i + N]) for i in range(len(tokens) - N + 1))


def doc_pr(gold: str, output: str) -> tuple[float, float]:
    g, o = shingles(gold), shingles(output)
    if not g and not o:
        return 1.0, 1.0
    tp = sum((g & o).values())
    precision = tp / sum(o.values()) if o else 0.0
    recall = tp / sum(g.values()) if g else 0.0
    return precision, recall


def score(pairs: Iterable[tuple[str, str]]) -> Score:
    """Mean per-document precision and recall of (gold, output) pairs."""
    ps, rs = [], []
    for gold, output in pairs:
        p, r = doc_pr(gold, output)
        ps.append(p)
        rs.append(r)
    if not ps:
        return Score(0.0, 0.0, 0)
    return Score(sum(ps) / len(ps), sum(rs) / len(rs), len(ps))


def evaluate(docs: Sequence[Doc], clean: Callable[[str], str]) -> Score:
    return score((doc.gold, clean(doc.text)) for doc in docs)


def load(root: Path = SHARED, variants: Sequence[str] = ("page", "tail"), every: int = 1) -> list[Doc]:
    """Docs of a dev-set folder (../shared/extraction), sorted by id then variant; `every`: every n-th
    page id only (SUBSET_EVERY: the subset the tests hold floors on, not chosen by how well it does)."""
    gold = json.loads((root / "gold.json").read_text(encoding="utf-8"))
    docs = []
    for pid in sorted(gold)[::every]:
        for variant in variants:
            path = root / variant / f"{pid}.txt"
            if path.exists():
                docs.append(Doc(pid, variant, path.read_text(encoding="utf-8"), gold[pid]["articleBody"]))
    return docs


def load_bg(root: Path = SHARED) -> list[Doc]:
    folder = root / "bg"
    return [
        Doc(path.name.removesuffix(".txt"), "bg", path.read_text(encoding="utf-8"), gold.read_text(encoding="utf-8"))
        for path in sorted(folder.glob("*.txt"))
        if not path.name.endswith(".gold.txt") and (gold := path.with_name(path.stem + ".gold.txt")).exists()
    ]


def folds(ids: Sequence[str], k: int) -> list[set[str]]:
    """k folds of page ids, by a fixed shuffle of the sorted ids (both variants of a page in one fold)."""
    ordered = sorted(set(ids))
    # A deterministic permutation without random's version-dependent streams: sort by a stable hash.
    ordered.sort(key=lambda pid: _stable_hash(pid))
    return [set(ordered[i::k]) for i in range(k)]


def _stable_hash(text: str) -> int:
    value = 2166136261
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


def block_label(text: str, gold_shingles: set[tuple[str, ...]], gold_padded: str) -> bool:
    """Is this block article text? Most of its shingles in the gold body (short blocks: all its words, in order)."""
    tokens = _TOKEN.findall(text)
    if len(tokens) >= N:
        grams = [tuple(tokens[i : i + N]) for i in range(len(tokens) - N + 1)]
        return sum(g in gold_shingles for g in grams) >= 0.5 * len(grams)
    return bool(tokens) and f" {' '.join(tokens)} " in gold_padded


def gold_index(gold: str) -> tuple[set[tuple[str, ...]], str]:
    tokens = _TOKEN.findall(gold)
    return set(shingles(gold)), f" {' '.join(tokens)} "
