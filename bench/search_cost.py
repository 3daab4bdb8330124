"""What the normalised search index costs at ingest and on disk: with it vs without it, same run.

"Without" is the same code with posts_norm's triggers dropped (the archive as schema 3 stored it) and
the keyword rules without the normaliser (topic_tags as it was); "with" is bot.app.ingest as the CLI runs
it, one normaliser shared by the pipeline (tags) and the store (the trigger that indexes), each run
starting cold like a fresh process.  The difference is exactly what searching by word forms adds:
normalising each post, the FTS5 insert into posts_norm, and its pages on disk.  Runs alternate
with/without so the shared machine's slow phases hit both.

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
from bot.app.ingest import ingest
from bot.core.pipeline import Pipeline
from bot.core.textnorm import TextNormaliser
from bot.models import RawPost
from storage.store import Store

BATCH = 500


def without_index(store: Store) -> None:
    for trigger in ("posts_norm_ai", "posts_norm_ad", "posts_norm_au"):
        store.db.execute(f"DROP TRIGGER {trigger}")
    store.db.conn.commit()


def run(path: Path, raws: list[RawPost], *, index: bool, normaliser: TextNormaliser | None = None) -> float:
    """bot.app.ingest of `raws` into a fresh archive, with or without the normalised index."""
    remove_db(path)
    pipeline = Pipeline.load(normaliser=normaliser or TextNormaliser())  # cold, like a new process
    if not index:
        pipeline = dataclasses.replace(
            pipeline, keywords=dataclasses.replace(pipeline.keywords, normaliser=None, stems={})
        )
    store = Store.open(path, pipeline.normaliser)
    if not index:
        without_index(store)
    start = time.perf_counter()
    ingest(store, pipeline, raws, batch_size=BATCH)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench search_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    n = args.posts
    raws = list(generate(n))
    times: dict[str, list[float]] = {"without": [], "with": []}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:
        path = Path(tmp) / "cost.db"
        for number in range(args.runs):
            for index in (True, False) if number % 2 == 0 else (False, True):
                times["with" if index else "without"].append(run(path, raws, index=index))
            log(f"run {number + 1}/{args.runs}: " + ", ".join(f"{k} {n / v[-1]:,.0f}/s" for k, v in times.items()))
        run(path, raws, index=True)
        size_with = sizes(path)
        stems_only = TextNormaliser(stem_and_word=False, name="stems-only")
        run(path, raws, index=True, normaliser=stems_only)
        size_stems = sizes(path, stems_only)
        remove_db(path)
    us = {k: 1e6 * median(v) / n for k, v in times.items()}
    paired = median([w / o for w, o in zip(times["with"], times["without"], strict=True)])
    print(f"## cost of the normalised index, ingest of {n:,} corpus posts, median of {args.runs} ({machine_line()})\n")
    print(
        table(
            ["bot.app.ingest", "µs/post", "posts/s"],
            [
                ("without posts_norm (rules as written)", f"{us['without']:.0f}", f"{1e6 / us['without']:,.0f}"),
                ("with posts_norm (rules through the normaliser)", f"{us['with']:.0f}", f"{1e6 / us['with']:,.0f}"),
            ],
        )
    )  # fmt: skip
    print(f"\nwith / without = {paired:.2f}x time per post (paired runs), +{us['with'] - us['without']:.0f} µs/post")
    share = 100 * size_with["posts_norm"] / (size_with["file"] - size_with["posts_norm"])
    print(
        f"\nposts_norm {size_with['posts_norm']:.1f} MB vs posts_fts {size_with['posts_fts']:.1f} MB, archive "
        f"{size_with['file']:.1f} MB ({share:.0f} % more); stems only (no word forms): "
        f"posts_norm {size_stems['posts_norm']:.1f} MB"
    )
    saved = save_result(
        "search_cost", {"posts": n, "runs": args.runs, "seconds": times, "mb": size_with, "mb_stems_only": size_stems}
    )
    log(f"results: {saved}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
