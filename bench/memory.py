"""(d) Peak RSS while ingesting a streamed corpus of 50k ... 1M posts through bot.app.ingest.

A backfill of a large channel, or an import of years of exports, must not need memory in proportion
to its size: posts stream from the generator through the pipeline into SQLite in batches.  Peak RSS
is measured by the kernel, not sampled: each size runs in a fresh child whose parent does nothing but
wait and read `resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`, so the figure is that child's alone.
The child also records its own peak at every tenth of the run, which shows whether it is flat.

    .venv/bin/python -m bench.memory [--sizes 50000,100000,200000,1000000] [--neardup]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._util import CACHE_DIR, log, machine_line, remove_db, save_result, table, verdict

TARGET_MB = 300
DEFAULT_SIZES = "0,50000,100000,200000,1000000"


def child(count: int, db_path: Path, neardup: bool) -> None:
    """Ingest `count` corpus posts into a fresh archive; print a JSON summary on stdout."""
    from bench.corpus import generate
    from bot.app.ingest import Ingest
    from bot.app.neardup_index import NearDupIndex
    from bot.core.pipeline import Pipeline
    from storage.store import Store

    remove_db(db_path)
    store = Store.open(db_path)
    pipeline = Pipeline.load()
    index = NearDupIndex(store) if neardup else None
    marks: list[tuple[int, float]] = [(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)]
    done = 0
    started = time.perf_counter()

    def progress(n: int) -> None:
        nonlocal done
        before, done = done, done + n
        if count and done * 10 // count != before * 10 // count:
            marks.append((done, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
            rate = done / (time.perf_counter() - started)
            log(f"  {count:,}: {done:,} posts, peak {marks[-1][1]:.0f} MB, {rate:,.0f}/s")

    if count:
        Ingest(store, pipeline, index, batch_size=500).save(generate(count), progress=progress)
    elapsed = time.perf_counter() - started
    posts = store.db.execute("SELECT count(*) FROM posts").fetchone()[0]
    store.close()
    size_mb = sum(Path(f"{db_path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db_path}{s}").exists()) / 2**20
    remove_db(db_path)
    # the ingest worker processes (bot/app/ingest_worker.py), ended and waited for: the largest one's peak
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = {"posts": posts, "seconds": elapsed, "marks": marks, "db_mb": size_mb}
    print(json.dumps({**summary, "own_mb": own_mb, "worker_mb": worker_mb}))


def measure(count: int, db_path: Path, neardup: bool) -> None:
    """Run one child and report its peak RSS; this process has no other children."""
    args = [sys.executable, "-m", "bench.memory", "--child", str(count), "--db", str(db_path)]
    done = subprocess.run(args + (["--neardup"] if neardup else []), stdout=subprocess.PIPE, text=True, check=True)
    summary = json.loads(done.stdout)
    # KiB on Linux. The largest process's peak: the ingest process, or its worker if larger; the two
    # together (`own_mb` + `worker_mb`) are at most their sum, less the pages the fork shares.
    summary["peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(summary))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench memory", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"comma-separated post counts ({DEFAULT_SIZES})")
    parser.add_argument("--neardup", action="store_true", help="ingest with the near-duplicate index")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child, args.db, args.neardup)
        return 0
    if args.measure is not None:
        measure(args.measure, args.db, args.neardup)
        return 0

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:
        for count in sizes:
            log(f"ingesting {count:,} posts in a child process")
            db_path = Path(tmp) / f"memory-{count}.db"
            cmd = [sys.executable, "-m", "bench.memory", "--measure", str(count), "--db", str(db_path)]
            done = subprocess.run(
                cmd + (["--neardup"] if args.neardup else []), stdout=subprocess.PIPE, text=True, check=True
            )
            summary = json.loads(done.stdout)
            summary["count"] = count
            results.append(summary)
            log(f"  {count:,}: peak RSS {summary['peak_mb']:.0f} MB in {summary['seconds']:,.0f} s")

    rows = []
    for r in results:
        flat = ", ".join(f"{mb:.0f}" for _, mb in r["marks"][1:]) if r["count"] else "-"
        rate = f"{r['count'] / r['seconds']:,.0f}" if r["count"] else "-"
        both = f"{r['own_mb']:.0f} + {r['worker_mb']:.0f}"
        rows.append(
            (f"{r['count']:,}", f"{r['peak_mb']:.0f}", both, flat, rate, f"{r['seconds']:,.0f}", f"{r['db_mb']:,.0f}")
        )
    what = "bot.app.ingest + near-duplicate index" if args.neardup else "bot.app.ingest"
    print(f"## peak RSS, {what}, streamed corpus ({machine_line()})\n")
    headers = ["posts", "peak RSS MB", "ingest + worker MB", "peak at each 10% of the run, MB", "posts/s", "seconds"]
    print(table([*headers, "archive MB"], rows))
    worst = max(r["own_mb"] + r["worker_mb"] for r in results)  # the sum: an upper bound of the two together
    print(f"\nhighest peak, ingest + worker {worst:.0f} MB (target <= {TARGET_MB} MB): {verdict(worst <= TARGET_MB)}")
    saved = save_result("memory", {"neardup": args.neardup, "results": results, "target_mb": TARGET_MB})
    log(f"results: {saved}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
