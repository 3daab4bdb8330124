"""Pages per second for the web preview source: parse alone, and parse + pipeline + SQLite store.

A poll round is one page per channel, so these figures say how many channels one process can keep up
with before the network (and t.me's rate limit) is the only limit.  Run from the repository root:

    .venv/bin/python bench/bench_web_preview.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.pipeline import Pipeline  # noqa: E402
from bot.sources.web_preview_parser import parse_page  # noqa: E402
from storage.store import Store  # noqa: E402

REAL = ROOT.parent / "shared" / "fixtures" / "tme-preview"  # optional third-party sample
PAGES = {
    "fixture balkan_watch.html": ROOT / "tests" / "data" / "web_preview" / "balkan_watch.html",
    "real any2feed_full.html": REAL / "any2feed_full.html",
}


def rate(work: Callable[[int], None], seconds: float) -> float:
    """Calls per second of `work(i)`, after one warm-up call."""
    work(0)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += 1
        work(done)
    return done / (time.perf_counter() - start)


def bench_page(html: str, pipeline: Pipeline, tmp: Path, seconds: float) -> tuple[float, float, float]:
    parse_only = rate(lambda _i: parse_page(html), seconds)

    store = Store.open(tmp / "new.db")

    def store_new(i: int) -> None:
        page = parse_page(html)
        # shift ids so every round inserts fresh rows, as a poll of a busy channel would
        raws = [dataclasses.replace(p, message_id=p.message_id + 1_000_000 * i) for p in page.posts]
        store.save_posts([pipeline.process(r) for r in raws], checkpoint=None)

    new_rate = rate(store_new, seconds)
    store.close()

    store = Store.open(tmp / "same.db")

    def store_same(_i: int) -> None:
        page = parse_page(html)
        store.save_posts([pipeline.process(r) for r in page.posts], checkpoint=None)

    same_rate = rate(store_same, seconds)
    store.close()
    return parse_only, new_rate, same_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    pipeline = Pipeline.load()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, path in PAGES.items():
            if not path.is_file():
                continue
            html = path.read_text(encoding="utf-8")
            sub = Path(tmp) / str(len(rows))
            sub.mkdir()
            rows.append((label, len(parse_page(html).posts), *bench_page(html, pipeline, sub, args.seconds)))
    print(f"{'page':32} {'posts':>5} {'parse p/s':>10} {'+store new p/s':>15} {'+store same p/s':>16}")
    for label, posts, parse_rate, new_rate, same_rate in rows:
        print(f"{label:32} {posts:>5} {parse_rate:>10.0f} {new_rate:>15.0f} {same_rate:>16.0f}")


if __name__ == "__main__":
    main()
