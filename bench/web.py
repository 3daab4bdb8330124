"""Web viewer page latency: each page fetched over HTTP from `tgmonitor web`'s app on a corpus archive.

What a person waits for, end to end: uvicorn on 127.0.0.1, a fresh read-only connection per request,
the queries, the template, the bytes. Charts and a day's digest read a whole month or day of posts
(2,000 posts a day in the corpus), so they are the slow pages; search and post pages should be
instant. Target: every page p95 under 1 s on 100k posts.

    .venv/bin/python -m bench.web [--posts 100000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import httpx
import uvicorn

from bench._archive import cached_archive
from bench._util import log, machine_line, median, percentile, save_result, table, verdict
from bot.web.app import create_app
from bot.web.state import WebOptions
from storage.readonly import ReadOnlyArchive
from storage.store import Store

TARGET_SECONDS = 1.0


def pages(store: Store) -> list[tuple[str, str]]:
    """(what, path): the pages an analyst opens, with ids and dates taken from the archive."""
    last = store.db.execute("SELECT max(date) FROM posts").fetchone()[0][:10]
    post_id = store.db.execute("SELECT id FROM posts ORDER BY id DESC LIMIT 1").fetchone()[0]
    copied = store.db.execute(
        "SELECT id FROM posts WHERE origin_key IN (SELECT origin_key FROM posts GROUP BY origin_key "
        "HAVING count(*) > 1 LIMIT 1) LIMIT 1"
    ).fetchone()
    tag = store.top_tags(limit=1)[0][0].key
    return [
        ("newest posts", "/"),
        ("search, common word", "/?q=Serbia"),
        ("search, rare word", "/?q=Szijjarto"),
        ("search, best match first", "/?q=Kosovo&order=rank"),
        ("search + tag + language + dates", f"/?q=Lavrov&tag={tag}&lang=en&since=2020-01-01&until={last}"),
        ("search page 50", "/?q=Serbia&page=50"),
        ("post page", f"/post/{post_id}"),
        ("post with copies", f"/post/{copied[0] if copied else post_id}"),
        ("channel page", "/channel/1"),
        ("tag page (most used tag)", f"/tag/{tag}"),
        ("day page (digest of a full day)", f"/day/{last}"),
        ("charts (30 days, 12 weeks)", "/charts"),
    ]


@contextmanager
def serving(archive: ReadOnlyArchive, options: WebOptions, port: int) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(create_app(archive, options), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def measure(
    base: str, wanted: list[tuple[str, str]], rounds: int, samples: dict[str, list[float]], sizes: dict[str, int]
) -> None:
    """Seconds per fetch of each page, round-robin over the pages, after one warm-up fetch each."""
    with httpx.Client(base_url=base, timeout=60) as http:
        for what, page in wanted:  # warm-up: the page cache, the first template compile
            response = http.get(page)
            response.raise_for_status()
            sizes[what] = len(response.content)
        log(f"{len(wanted)} pages x {rounds} rounds")
        for _ in range(rounds):
            for what, page in wanted:
                start = time.perf_counter()
                http.get(page).raise_for_status()
                samples.setdefault(what, []).append(time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench web", description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000, help="archive size (default 100,000)")
    parser.add_argument("--rounds", type=int, default=10, help="fetches per page (default 10)")
    parser.add_argument("--port", type=int, default=8931)
    args = parser.parse_args(argv)

    path = cached_archive(args.posts)
    store = Store.open(path)
    try:
        wanted = pages(store)
    finally:
        store.close()
    samples: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    # Every page with the chart cache off (each view computes its charts: a first visit), then the
    # pages with charts again with the cache on (a later visit while no post has arrived).
    cached = [
        (f"{what}, charts cached", page)
        for what, page in wanted
        if page == "/charts" or page.startswith(("/channel/", "/tag/"))
    ]
    for cache_seconds, listed in ((0.0, wanted), (300.0, cached)):
        options = WebOptions(tz=ZoneInfo("UTC"), digest_time=clock_time(8, 0), chart_seconds=cache_seconds)
        with serving(ReadOnlyArchive(path), options, args.port) as base:
            measure(base, listed, args.rounds, samples, sizes)
    wanted = wanted + cached
    rows = [
        (
            what,
            f"{median(samples[what]) * 1000:.0f}",
            f"{percentile(samples[what], 0.95) * 1000:.0f}",
            f"{sizes[what] / 1024:.0f}",
        )
        for what, _ in wanted
    ]
    worst = max(percentile(v, 0.95) for what, v in samples.items() if "cached" not in what)
    print(f"## web viewer pages on {args.posts:,} posts ({machine_line()})\n")
    print(table(["page", "median ms", "p95 ms", "KB"], rows))
    target = f"target < {TARGET_SECONDS * 1000:.0f} ms"
    print(
        f"\nslowest p95 {worst * 1000:.0f} ms ({target}, charts computed every time): {verdict(worst < TARGET_SECONDS)}"
    )
    saved = save_result(
        "web",
        {
            "posts": args.posts,
            "rounds": args.rounds,
            "pages": {what: {"median_s": median(v), "p95_s": percentile(v, 0.95)} for what, v in samples.items()},
        },
    )
    log(f"saved {saved}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
