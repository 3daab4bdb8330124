"""(b) Search latency on a 1M-post archive: Store.search (newest first, 20 hits) vs the raw FTS5 query.

The raw query is the floor: `SELECT rowid, text FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rowid
DESC LIMIT 20` with the same quoted query (the literal index, as search was before it understood
inflections).  Store.search adds what a user needs on top: the query normalised (every form, both
scripts, emoji) and run on the normalised index `posts_norm`, the post row, its channel, its tags,
deleted posts hidden; the ratio says what that costs.  A second floor is the raw query on posts_norm
with the normalised expression (`SELECT rowid FROM posts_norm WHERE posts_norm MATCH ? ORDER BY rowid
DESC LIMIT 20`), and a third the same query returning what the first returns, the text, joined from
`posts` (posts_norm holds no text): the raw query of the same shape as Store.search's.  All run on
the same warm connection, interleaved query by query, so machine noise
hits them alike.  It also reports the size of both indexes, and, on an archive from before posts_norm,
how long its upgrade backfill took.

    .venv/bin/python -m bench.search [--posts 1000000] [--rounds 15]

The archive is built once through bot.app.ingest (the full pipeline, ~10 minutes for 1M posts) and
cached under bench/.cache/.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Callable

from bench._archive import cached_archive, cached_live_archive
from bench._util import log, machine_line, median, percentile, remove_db, save_result, table, verdict
from storage.store import Store, quote_fts

TARGET_RATIO = 1.5
# What analysts type: frequent names and places (hundreds of thousands of hits), rarer ones, phrases
# in each language, and a word that is in no post.
QUERIES = (
    "Serbia",
    "Lavrov",
    "Kosovo",
    "sanctions",
    "Dodik",
    "TurkStream",
    "Szijjarto",
    "Resolution 1244",
    "energy cooperation",
    "Lavrov Vucic Belgrade",
    "Сърбия",
    "Косово",
    "санкции",
    "Захарова",
    "Белене",
    "Вучич Лавров",
    "Турецкому потоку",
    "Республики Сербской",
    "xylophone",
    "Guterres Geneva",
    # what the normalised index adds: an inflected form, another script, a flag, an exact phrase
    "Сербия",
    "Vucic",
    "🇷🇸",
    '"Resolution 1244"',
)
RAW_SQL = "SELECT rowid, text FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rowid DESC LIMIT 20"
NORM_SQL = "SELECT rowid FROM posts_norm WHERE posts_norm MATCH ? ORDER BY rowid DESC LIMIT 20"
SHAPE_SQL = (
    "SELECT n.rowid, p.text FROM posts_norm n JOIN posts p ON p.id = n.rowid "
    "WHERE posts_norm MATCH ? ORDER BY n.rowid DESC LIMIT 20"
)
PATHS = ("store", "raw", "norm", "shape")


def norm_expr(store: Store, query: str) -> str:
    return store.search_index.expression(store.search_index.parse(query))


def index_sizes(store: Store) -> dict[str, int]:
    """Bytes per index (its FTS5 shadow tables), and the whole file, from SQLite's dbstat."""
    rows = store.db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    sizes = {"posts_fts": 0, "posts_norm": 0, "file": 0}
    for name, size in rows:
        sizes["file"] += size
        for index in ("posts_fts", "posts_norm"):
            if name == index or name.startswith(index + "_"):
                sizes[index] += size
    return sizes


def measure(
    store: Store, rounds: int, clock: Callable[[], float] = time.perf_counter
) -> dict[str, dict[str, list[float]]]:
    """Seconds per call, per query, for both paths; one warm-up call each first. `clock`: wall time, or
    this thread's CPU time (`--clock cpu`), which a loaded machine's scheduler does not add to: at load
    8 on two cores a call is preempted for a few ms now and then, more often the longer it runs."""
    samples: dict[str, dict[str, list[float]]] = {q: {p: [] for p in PATHS} for q in QUERIES}
    conn = store.db.conn
    norm = {q: norm_expr(store, q) for q in QUERIES}
    for query in QUERIES:
        store.search(query, limit=20)
        conn.execute(RAW_SQL, [quote_fts(query)]).fetchall()
        conn.execute(NORM_SQL, [norm[query]]).fetchall()
        conn.execute(SHAPE_SQL, [norm[query]]).fetchall()
    for round_number in range(rounds):
        for index, query in enumerate(QUERIES):
            fts = quote_fts(query)
            order = PATHS[round_number % len(PATHS) :] + PATHS[: round_number % len(PATHS)]
            for path in order if index % 2 == 0 else reversed(order):
                start = clock()
                if path == "store":
                    store.search(query, limit=20, order="newest")
                elif path == "raw":
                    conn.execute(RAW_SQL, [fts]).fetchall()
                elif path == "norm":
                    conn.execute(NORM_SQL, [norm[query]]).fetchall()
                else:
                    conn.execute(SHAPE_SQL, [norm[query]]).fetchall()
                samples[query][path].append(clock() - start)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench search", description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000, help="archive size (default 1,000,000)")
    parser.add_argument("--rounds", type=int, default=15, help="calls per query and path (default 15)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached archive")
    parser.add_argument(
        "--maintained",
        action="store_true",
        help="on a copy of the archive, first run the service's maintenance merge of the search indexes",
    )
    parser.add_argument(
        "--live",
        type=int,
        metavar="BATCH",
        default=0,
        help="an archive filled by the live path instead: commits of BATCH posts, the service's maintenance "
        "(search-index merge, optimize) every --merge-every posts; left as just before the next maintenance",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time each call by the wall clock (default) or by this thread's CPU time (no scheduling waits)",
    )
    parser.add_argument("--merge-every", type=int, default=100_000, help="with --live: posts between maintenances")
    args = parser.parse_args(argv)

    built: list[dict[str, object]] = []
    if args.live:
        every = args.merge_every
        path, built = cached_live_archive(args.posts, batch=args.live, merge_every=every, rebuild=args.rebuild)
    else:
        path = cached_archive(args.posts, rebuild=args.rebuild)
    merged = None
    if args.maintained:
        copy = path.with_name(path.name + ".maintained")
        remove_db(copy)
        shutil.copyfile(path, copy)
        path = copy
        store = Store.open(path)
        before = {t: store.search_index.segments(t) for t in ("posts_norm", "posts_fts")}
        started = time.perf_counter()
        steps = store.search_index.merge(budget=3600)
        merged = {"segments_before": before, "steps": steps, "seconds": time.perf_counter() - started}
        store.close()
        log(f"maintenance merge: segments {before} -> 1 each, {steps} steps, {merged['seconds']:.1f} s")
    store = Store.open(path)
    segments = {t: store.search_index.segments(t) for t in ("posts_norm", "posts_fts")}
    upgrade = None
    try:
        pending = store.search_index.pending()
        if pending:  # an archive built before posts_norm: its upgrade is a figure of its own
            log(f"indexing {pending:,} posts for posts_norm (the schema-7 upgrade backfill)")
            started = time.perf_counter()
            store.search_index.backfill(progress=lambda d, t: d % 100_000 < 2000 and log(f"  {d:,}/{t:,}"))
            upgrade = {"posts": pending, "seconds": time.perf_counter() - started}
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes = index_sizes(store)
        hits = {q: len(store.search(q, limit=20)) for q in QUERIES}
        matches = {
            q: store.db.execute(
                "SELECT count(*) FROM posts_norm WHERE posts_norm MATCH ?", [norm_expr(store, q)]
            ).fetchone()[0]
            for q in QUERIES
        }
        log(f"{len(QUERIES)} queries x {args.rounds} rounds on {path.name}")
        samples = measure(store, args.rounds, time.thread_time if args.clock == "cpu" else time.perf_counter)
    finally:
        store.close()

    every = {path: [s for q in QUERIES for s in samples[q][path]] for path in PATHS}
    ms = {path: {"p50": percentile(v, 0.50) * 1000, "p95": percentile(v, 0.95) * 1000} for path, v in every.items()}
    ratio = ms["store"]["p95"] / ms["raw"]["p95"]
    norm_ratio = ms["store"]["p95"] / ms["norm"]["p95"]
    shape_ratio = ms["store"]["p95"] / ms["shape"]["p95"]
    per_query = [
        (
            q,
            f"{matches[q]:,}",
            f"{median(samples[q]['raw']) * 1000:.2f}",
            f"{median(samples[q]['norm']) * 1000:.2f}",
            f"{median(samples[q]['shape']) * 1000:.2f}",
            f"{median(samples[q]['store']) * 1000:.2f}",
        )
        for q in QUERIES
    ]
    how = f", filled live: commits of {args.live}, maintenance every {args.merge_every:,}" if args.live else ""
    how += ", CPU time per call" if args.clock == "cpu" else ""
    print(f"## search on {args.posts:,} posts{how} ({machine_line()})\n")
    headers = [
        "query",
        "posts matching (normalised)",
        "raw posts_fts ms",
        "raw posts_norm ms",
        "raw posts_norm + text ms",
        "Store.search ms",
    ]
    print(table(headers, per_query))
    print()
    names = {
        "raw": "raw FTS5, posts_fts",
        "norm": "raw FTS5, posts_norm (rowids)",
        "shape": "raw FTS5, posts_norm + text",
        "store": "Store.search",
    }
    print(
        table(
            ["", "p50 ms", "p95 ms"],
            [(names[p], f"{ms[p]['p50']:.2f}", f"{ms[p]['p95']:.2f}") for p in ("raw", "norm", "shape", "store")],
        )
    )
    mb = {k: v / 2**20 for k, v in sizes.items()}
    print(
        f"\nindexes: posts_fts {mb['posts_fts']:,.0f} MB, posts_norm {mb['posts_norm']:,.0f} MB; "
        f"archive {mb['file']:,.0f} MB"
    )
    if upgrade:
        print(f"upgrade backfill: {upgrade['posts']:,} posts in {upgrade['seconds']:,.0f} s")
    print(f"segments: posts_norm {segments['posts_norm']}, posts_fts {segments['posts_fts']}")
    if merged:
        print(
            f"maintenance merge first: from {merged['segments_before']} segments, "
            f"{merged['steps']} steps, {merged['seconds']:.1f} s"
        )
    print(f"\np95 ratio {ratio:.2f}x vs posts_fts (target <= {TARGET_RATIO}x): {verdict(ratio <= TARGET_RATIO)}")
    print(f"p95 ratio {norm_ratio:.2f}x vs the raw posts_norm query (rowids only)")
    print(f"p95 ratio {shape_ratio:.2f}x vs the raw posts_norm query of the same shape (with the text)")
    saved = save_result(
        "search",
        {
            "posts": args.posts,
            "rounds": args.rounds,
            "ms": ms,
            "p95_ratio": ratio,
            "p95_ratio_vs_norm": norm_ratio,
            "p95_ratio_vs_same_shape": shape_ratio,
            "index_bytes": sizes,
            "upgrade": upgrade,
            "segments": segments,
            "maintenance_merge": merged,
            "live": {"batch": args.live, "merge_every": args.merge_every, "maintenance_runs": built}
            if args.live
            else None,
            "target_ratio": TARGET_RATIO,
            "clock": args.clock,
            "per_query_ms": {q: {p: [round(s * 1000, 3) for s in samples[q][p]] for p in PATHS} for q in QUERIES},
            "matches": matches,
            "hits": hits,
        },
    )
    log(f"results: {saved}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
