"""What the normalised search index costs at ingest and on disk: with it vs without it, same run.

"Without" is the same code with posts_norm's triggers dropped (the archive as schema 3 stored it) and
the keyword rules without the normaliser (topic_tags as it was), so the difference is exactly what
searching by word forms adds: normalising each post twice (tagging, and the trigger that indexes it),
the FTS5 insert into posts_norm, and its pages on disk.  Runs alternate with/without so the shared
machine's slow phases hit both.

    .venv/bin/python -m bench.search_cost [--posts 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from bench._util import CACHE_DIR, log, machine_line, median, remove_db, save_result, table
from bench.corpus import generate
from bot.core.pipeline import Pipeline
from bot.core.textnorm import TextNormaliser
from bot.models import Post, RawPost
from storage.store import Store

BATCH = 500


def without_index(store: Store) -> None:
    for trigger in ("posts_norm_ai", "posts_norm_ad", "posts_norm_au"):
        store.db.execute(f"DROP TRIGGER {trigger}")
    store.db.conn.commit()


def save(path: Path, posts: list[Post], *, index: bool, normaliser: TextNormaliser | None = None) -> float:
    """Store.save_posts alone, the posts processed beforehand by a pipeline with another normaliser
    (so the trigger's normalising is paid here in full, as when the pipeline does not share it)."""
    remove_db(path)
    store = Store.open(path, normaliser)
    if not index:
        without_index(store)
    start = time.perf_counter()
    for i in range(0, len(posts), BATCH):
        store.save_posts(posts[i : i + BATCH])
    elapsed = time.perf_counter() - start
    store.close()
    return elapsed


def sizes(path: Path, normaliser: TextNormaliser | None = None) -> dict[str, float]:
    store = Store.open(path, normaliser)
    rows = store.db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    store.close()
    out = {"posts_fts": 0.0, "posts_norm": 0.0, "file": 0.0}
    for name, size in rows:
        out["file"] += size
        for index in ("posts_fts", "posts_norm"):
            if name == index or name.startswith(index + "_"):
                out[index] += size
    return {k: v / 2**20 for k, v in out.items()}


def process(pipeline: Pipeline, raws: list[RawPost]) -> float:
    start = time.perf_counter()
    for raw in raws:
        pipeline.process(raw)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench search_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    n = args.posts
    raws = list(generate(n))
    with_norm = Pipeline.load()
    plain = dataclasses.replace(with_norm, keywords=dataclasses.replace(with_norm.keywords, normaliser=None, stems={}))
    posts = [with_norm.process(r) for r in raws]
    times: dict[str, list[float]] = {k: [] for k in ("pipeline", "pipeline+norm", "store", "store+norm")}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:
        path = Path(tmp) / "cost.db"
        for run in range(args.runs):
            flip = run % 2 == 1
            for index in (not flip, flip):
                times["store+norm" if index else "store"].append(save(path, posts, index=index))
            for normalised in (not flip, flip):
                times["pipeline+norm" if normalised else "pipeline"].append(
                    process(with_norm if normalised else plain, raws)
                )
            log(f"run {run + 1}/{args.runs}: " + ", ".join(f"{k} {n / v[-1]:,.0f}/s" for k, v in times.items()))
        save(path, posts, index=True)
        size_with = sizes(path)
        stems_only = TextNormaliser(stem_and_word=False, name="stems-only")
        save(path, posts, index=True, normaliser=stems_only)
        size_stems = sizes(path, stems_only)
        remove_db(path)
    us = {k: 1e6 * median(v) / n for k, v in times.items()}
    print(f"## cost of the normalised index, {n:,} corpus posts, median of {args.runs} ({machine_line()})\n")
    print(
        table(
            ["", "without posts_norm µs/post", "with µs/post", "added"],
            [
                ("Pipeline.process (rules)", f"{us['pipeline']:.0f}", f"{us['pipeline+norm']:.0f}",
                 f"{us['pipeline+norm'] - us['pipeline']:+.0f}"),
                ("Store.save_posts (triggers)", f"{us['store']:.0f}", f"{us['store+norm']:.0f}",
                 f"{us['store+norm'] - us['store']:+.0f}"),
            ],
        )
    )  # fmt: skip
    share = 100 * size_with["posts_norm"] / (size_with["file"] - size_with["posts_norm"])
    print(
        f"\nposts_norm {size_with['posts_norm']:.1f} MB vs posts_fts {size_with['posts_fts']:.1f} MB, archive "
        f"{size_with['file']:.1f} MB ({share:.0f} % more); stems only (no word forms): "
        f"posts_norm {size_stems['posts_norm']:.1f} MB"
    )
    saved = save_result("search_cost", {"posts": n, "runs": args.runs, "seconds": times, "mb": size_with,
                                        "mb_stems_only": size_stems})  # fmt: skip
    log(f"results: {saved}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
