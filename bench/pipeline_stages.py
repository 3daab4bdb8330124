"""The ingest worker's pipeline, stage by stage: CPU µs a post per stage, and a digest of everything it
produces so a faster version can be checked to produce exactly the same (issue #34, third pass).

Stages are timed as `bot.app.ingest_worker.prepare` runs them (cleaning with its parts, content hash,
language, hashtags, topic tags, the search tokens, the MinHash signature), on the synthetic corpus of
bench.ingest and on every real post in ../shared/real-exports (when present). `--save FILE` writes one
digest per post of the prepared post (every Post field, the tokens, the signature); `--check FILE`
compares with such a file and names the first posts that differ.

    .venv/bin/python -m bench.pipeline_stages [--posts 3000] [--save F | --check F] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench._util import machine_line, table
from bench.corpus import generate
from bench.never_harm import REAL, real_posts
from bot.app.ingest_worker import capped, prepare
from bot.core import clean as clean_mod
from bot.core.fingerprint import content_hash
from bot.core.neardup import MinHasher
from bot.core.pipeline import Pipeline
from bot.core.tags import extract_hashtags, topic_tags
from bot.models import RawPost

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


def inputs(n: int) -> Iterator[tuple[str, RawPost]]:
    for i, raw in enumerate(generate(n)):
        yield f"corpus/{i}", raw
    if REAL.is_dir():
        counts: Counter[str] = Counter()
        for label, raw in real_posts(REAL):
            counts[label] += 1
            yield f"{label}/{counts[label]}", raw
    if SAMPLES.is_dir():
        template = next(iter(generate(1)))
        for path in sorted(SAMPLES.glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            yield (
                f"samples/{path.name}",
                RawPost(channel=template.channel, message_id=1, date=template.date, text=text, source=template.source),
            )


def digests(pipeline: Pipeline, hasher: MinHasher, items: list[tuple[str, RawPost]]) -> dict[str, str]:
    normaliser = pipeline.normaliser
    out = {}
    for key, raw in items:
        (ready,) = prepare(pipeline, [raw], normaliser, hasher)
        tokens = sorted(ready.tokens.split()) if ready.tokens is not None else None  # a set's order varies per run
        out[key] = hashlib.sha1(repr((ready.post, tokens, ready.signature)).encode()).hexdigest()
    return out


def stage_times(pipeline: Pipeline, hasher: MinHasher, raws: list[RawPost]) -> dict[str, float]:
    """Seconds of CPU per stage over `raws`, run as `prepare` runs them (same order, same caches)."""
    totals: Counter[str] = Counter()
    clock = time.process_time
    normaliser = pipeline.normaliser
    assert normaliser is not None

    def timed(name: str, fn: Callable[..., Any], *args: Any) -> Any:
        start = clock()
        result = fn(*args)
        totals[name] += clock() - start
        return result

    for raw in raws:
        raw = capped(raw)
        start = clock()
        text = pipeline.clean(raw.text)
        totals["clean (all)"] += clock() - start
        normalized = timed("  clean: normalize", clean_mod.normalize, raw.text)
        timed("  clean: boilerplate lines", clean_mod.strip_boilerplate, normalized.split("\n"), pipeline.boilerplate)
        digest = timed("content hash", content_hash, text)
        lang = timed("language", pipeline.detect_lang, text)
        timed("hashtags", extract_hashtags, text, raw.hashtags)
        timed("topic tags", topic_tags, text, pipeline.keywords, lang)
        timed("search tokens", normaliser.index_text, text, lang)
        timed("MinHash signature", hasher.signature, text)
        del digest
    start = clock()
    prepare(pipeline, raws, normaliser, None)
    totals["prepare, no signature (total)"] += clock() - start
    return dict(totals)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000, help="synthetic corpus posts (default 3,000)")
    parser.add_argument("--save", type=Path, help="write the per-post digests to this JSON file")
    parser.add_argument("--check", type=Path, help="compare the per-post digests with this JSON file")
    parser.add_argument("--profile", action="store_true", help="cProfile of prepare over the corpus posts")
    parser.add_argument("--no-times", action="store_true", help="digests only")
    args = parser.parse_args(argv)

    items = list(inputs(args.posts))
    pipeline = Pipeline.load()
    hasher = MinHasher()
    if args.save or args.check:
        fresh = digests(Pipeline.load(), hasher, items)
        if args.save:
            args.save.write_text(json.dumps(fresh, indent=0), encoding="utf-8")
            print(f"{len(fresh):,} digests written to {args.save}")
        if args.check:
            known = json.loads(args.check.read_text(encoding="utf-8"))
            differ = [k for k in known if fresh.get(k) != known[k]]
            missing = len(set(known) ^ set(fresh))
            print(f"{len(known):,} posts compared: {len(differ)} differ, {missing} missing on one side")
            for key in differ[:10]:
                print(f"  differs: {key}")
            if differ or missing:
                return 1
    if args.no_times:
        return 0
    groups = {
        "corpus": [raw for key, raw in items if key.startswith("corpus/")],
        "real": [raw for key, raw in items if not key.startswith("corpus/")],
    }
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        prepare(pipeline, groups["corpus"], pipeline.normaliser, hasher)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    for raws in groups.values():  # warm the normaliser's memo, as bench.ingest's worker inherits it warm
        prepare(pipeline, raws, pipeline.normaliser, None)
    results = {name: stage_times(pipeline, hasher, raws) for name, raws in groups.items() if raws}
    names = list(next(iter(results.values())))
    rows = [(name, *(f"{1e6 * results[g].get(name, 0.0) / len(groups[g]):,.1f}" for g in results)) for name in names]
    print(f"## CPU µs a post per stage ({machine_line()})\n")
    print(table(["stage", *(f"{g} ({len(groups[g]):,} posts)" for g in results)], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
