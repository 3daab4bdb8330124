"""Precision and recall of near-duplicate folding on a labelled set built from templates.

Each pair of raw posts goes through the real cleaning rules, then `MinHasher`; a pair is predicted
"same" when the index would fold it: the two signatures share an LSH band (a candidate) *and* pass
verification (`MinHasher.is_match`).  The set (bench/neardup_corpus.py) is generated from a fixed
seed, so the figures are reproducible.  Run from the repository root:

    .venv/bin/python bench/neardup_quality.py [--per-kind 60] [--seed 8] [--dump pairs.jsonl]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.neardup_corpus import NEGATIVE_KINDS, POSITIVE_KINDS, CorpusGenerator, Pair  # noqa: E402
from bot.app.channel_boilerplate import LearnedBoilerplate  # noqa: E402
from bot.app.ingest import Ingest  # noqa: E402
from bot.app.neardup_index import NearDupIndex  # noqa: E402
from bot.core.clean import clean_text, load_boilerplate  # noqa: E402
from bot.core.neardup import MinHasher, NearDupParams, Signature  # noqa: E402
from bot.core.pipeline import Pipeline  # noqa: E402
from bot.models import ChannelRef, RawPost  # noqa: E402
from storage.store import Store  # noqa: E402


@dataclasses.dataclass
class Scored:
    pair: Pair
    a: Signature | None
    b: Signature | None
    exact_jaccard: float
    exact_containment: float


def candidate(a: Signature, b: Signature, bands: int, rows: int) -> bool:
    """Do the signatures share a band or the lead? (What the band-key lookup finds, without the hashing.)"""
    if a.lead is not None and a.lead == b.lead:
        return True
    return any(a.values[i * rows : (i + 1) * rows] == b.values[i * rows : (i + 1) * rows] for i in range(bands))


def score(pairs: list[Pair], hasher: MinHasher) -> list[Scored]:
    rules = load_boilerplate()
    scored = []
    for pair in pairs:
        a_text, b_text = clean_text(pair.a, rules), clean_text(pair.b, rules)
        sa, sb = hasher.shingles(a_text), hasher.shingles(b_text)
        common = len(sa & sb)
        scored.append(
            Scored(
                pair,
                hasher.signature(a_text),
                hasher.signature(b_text),
                common / max(1, len(sa | sb)),
                common / max(1, min(len(sa), len(sb))),
            )
        )
    return scored


def predict(s: Scored, hasher: MinHasher) -> bool:
    p = hasher.params
    if s.a is None or s.b is None:
        return False
    return candidate(s.a, s.b, p.bands, p.rows) and hasher.is_match(s.a, s.b)


def evaluate(scored: list[Scored], hasher: MinHasher) -> dict[str, float]:
    tp = fp = fn = tn = 0
    for s in scored:
        guess = predict(s, hasher)
        if s.pair.same:
            tp, fn = tp + guess, fn + (not guess)
        else:
            fp, tn = fp + guess, tn + (not guess)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": precision, "recall": recall, "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def by_kind(scored: list[Scored], hasher: MinHasher) -> list[tuple[str, bool, int, float, float, float]]:
    groups: dict[str, list[Scored]] = defaultdict(list)
    for s in scored:
        groups[s.pair.kind].append(s)
    rows = []
    for kind in (*POSITIVE_KINDS, *NEGATIVE_KINDS):
        group = groups[kind]
        folded = sum(predict(s, hasher) for s in group) / len(group)
        jac = sum(s.exact_jaccard for s in group) / len(group)
        con = sum(s.exact_containment for s in group) / len(group)
        rows.append((kind, group[0].pair.same, len(group), folded, jac, con))
    return rows


def through_index(pairs: list[Pair]) -> dict[str, float]:
    """Every post of every pair in one archive, one 14-day window, clustered by the real index.

    Harder than the pairwise figures: each post meets all the others, copies can chain, and the
    index's candidate limits apply.  As in life, the originals come from one source channel per
    language and each kind of copy from a channel of its own (whose repeated header or sign-off the
    index learns); a pair counts as folded when its two posts share a cluster id.
    """
    start = datetime(2026, 11, 1, tzinfo=UTC)
    names = sorted({f"src_{p.lang}" for p in pairs} | {f"copy_{p.kind}_{p.lang}" for p in pairs})
    refs = {name: ChannelRef(tg_id=10_000 + i, username=name) for i, name in enumerate(names)}
    raws = []
    for i, pair in enumerate(pairs):
        for j, (name, text) in enumerate(((f"src_{pair.lang}", pair.a), (f"copy_{pair.kind}_{pair.lang}", pair.b))):
            raws.append(RawPost(refs[name], 2 * i + j + 1, start + timedelta(minutes=2 * i + j), text, "demo"))
    with tempfile.TemporaryDirectory(prefix="neardup-quality-") as tmp:
        store = Store.open(Path(tmp) / "quality.db")
        index = NearDupIndex(store, boilerplate=LearnedBoilerplate(store))
        Ingest(store, Pipeline.load(), index, batch_size=100).save(raws)
        cluster = dict(store.db.execute("SELECT message_id, cluster_id FROM posts"))
        store.close()
    tp = fp = fn = tn = 0
    for i, pair in enumerate(pairs):
        same = cluster[2 * i + 1] == cluster[2 * i + 2]
        if pair.same:
            tp, fn = tp + same, fn + (not same)
        else:
            fp, tn = fp + same, tn + (not same)
    return {"precision": tp / max(1, tp + fp), "recall": tp / max(1, tp + fn), "fp": fp, "fn": fn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-kind", type=int, default=60, help="pairs of each kind (11 kinds)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--dump", type=Path, help="write the labelled pairs as JSON lines")
    args = parser.parse_args()

    pairs = CorpusGenerator(args.seed).pairs(args.per_kind, args.per_kind)
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for pair in pairs:
                out.write(json.dumps(dataclasses.asdict(pair), ensure_ascii=False) + "\n")
    base = NearDupParams()
    hasher = MinHasher(base)
    started = time.perf_counter()
    scored = score(pairs, hasher)
    elapsed = time.perf_counter() - started
    positives = sum(p.same for p in pairs)
    print(f"{len(pairs)} pairs ({positives} near-duplicates, {len(pairs) - positives} not), seed {args.seed}")
    print(f"parameters: {base.fingerprint}, threshold {base.threshold}, containment {base.containment}")
    result = evaluate(scored, hasher)
    print(
        f"\nat the defaults: precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
        f"(tp {result['tp']}, fp {result['fp']}, fn {result['fn']}, tn {result['tn']})"
    )

    whole = through_index(pairs)
    print(
        f"through the index, all {2 * len(pairs)} posts in one archive: precision {whole['precision']:.3f}  "
        f"recall {whole['recall']:.3f}  (fp {whole['fp']}, fn {whole['fn']})"
    )

    print("\n| kind | label | pairs | folded | mean exact Jaccard | mean exact containment |")
    print("|---|---|---:|---:|---:|---:|")
    for kind, same, n, folded, jac, con in by_kind(scored, hasher):
        print(f"| {kind} | {'same' if same else 'different'} | {n} | {folded:.0%} | {jac:.2f} | {con:.2f} |")

    print("\n| threshold (Jaccard) | containment rule | bands x rows | precision | recall |")
    print("|---:|---|---|---:|---:|")
    layouts = [(base.bands, base.rows), (42, 3), (32, 4), (16, 3)]
    for bands, rows in layouts:
        for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
            for containment in (base.containment, 1.01):
                if (bands, rows) != layouts[0] and (threshold != base.threshold or containment > 1):
                    continue
                params = dataclasses.replace(base, bands=bands, rows=rows, threshold=threshold)
                swept = MinHasher(params)
                if containment > 1:  # no containment rule: only Jaccard decides
                    swept = MinHasher(dataclasses.replace(params, containment_min_shingles=10**9))
                r = evaluate(scored, swept)
                rule = f">= {containment}" if containment <= 1 else "off"
                print(f"| {threshold} | {rule} | {bands} x {rows} | {r['precision']:.3f} | {r['recall']:.3f} |")
    print(f"\ncleaning, exact shingles and signing of {2 * len(pairs)} posts: {elapsed:.2f} s")


if __name__ == "__main__":
    main()
