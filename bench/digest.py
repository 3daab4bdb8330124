"""(c) Digest build time for a 2,000-post day: window_posts (posts + their edits) + build_digest + render_html.

A digest job reads one window, folds and groups it, and renders Telegram HTML; this is what a
subscriber waits for at digest time, once per subscription.  The window is one corpus day (exactly
2,000 posts, a fifth of them forwards of the same statements) in a 7-day archive, and again in the
1M-post archive when bench.search has cached it (a deeper date index, the same window size).

    .venv/bin/python -m bench.digest [--repeat 20]
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench._archive import archive_path, cached_archive
from bench._util import log, machine_line, median, percentile, save_result, table, verdict
from bench.corpus import DEFAULT_START
from bot.app.digest_jobs import window_posts
from bot.core.digest import build_digest
from bot.core.digest_render import render_html
from storage.store import Store

TARGET_MS = 200.0
POSTS_PER_DAY = 2000
TZ = ZoneInfo("Europe/Sofia")


def measure(path: Path, day: int, repeat: int) -> dict[str, list[float]]:
    start = DEFAULT_START + timedelta(days=day)
    end = start + timedelta(days=1)
    store = Store.open(path)
    times: dict[str, list[float]] = {"read": [], "build": [], "render": [], "total": []}
    try:
        posts = store.posts_between(start, end)
        assert len(posts) == POSTS_PER_DAY, len(posts)
        for _ in range(repeat + 1):  # the first round warms the page cache and is dropped
            t0 = time.perf_counter()
            posts, changes = window_posts(store, start, end)  # what every digest reads (edit marks too)
            t1 = time.perf_counter()
            digest = build_digest(posts, start, end, changes=changes)
            t2 = time.perf_counter()
            messages = render_html(digest, TZ)
            t3 = time.perf_counter()
            for key, value in zip(times, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                times[key].append(value)
        log(f"{path.name}: {len(posts)} posts -> {digest.item_count} items in {len(messages)} messages")
    finally:
        store.close()
    return {key: values[1:] for key, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench digest", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed builds per archive (default 20)")
    args = parser.parse_args(argv)

    archives = {"7-day archive (14,000 posts)": (cached_archive(7 * POSTS_PER_DAY), 3)}
    big = archive_path(1_000_000)
    if big.exists():
        archives["1M-post archive"] = (cached_archive(1_000_000), 250)
    else:
        log(f"{big.name} not cached (run bench.search first to build it); measuring the small archive only")
    results = {label: measure(path, day, args.repeat) for label, (path, day) in archives.items()}

    def ms(values: list[float]) -> str:
        return f"{median(values) * 1000:.1f}"

    rows = [
        (
            label,
            ms(t["read"]),
            ms(t["build"]),
            ms(t["render"]),
            ms(t["total"]),
            f"{percentile(t['total'], 0.95) * 1000:.1f}",
        )
        for label, t in results.items()
    ]
    print(f"## digest of a {POSTS_PER_DAY:,}-post day, median of {args.repeat} ({machine_line()})\n")
    print(table(["archive", "window_posts ms", "build_digest ms", "render_html ms", "total ms", "total p95 ms"], rows))
    worst = max(median(t["total"]) for t in results.values()) * 1000
    print(f"\nslowest median {worst:.0f} ms (target < {TARGET_MS:.0f} ms): {verdict(worst < TARGET_MS)}")
    saved = save_result(
        "digest",
        {"posts_per_day": POSTS_PER_DAY, "repeat": args.repeat, "seconds": results, "target_ms": TARGET_MS},
    )
    log(f"results: {saved}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
