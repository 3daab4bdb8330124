"""(b) Search latency on a 1M-post archive: Store.search (newest first, 20 hits) vs the raw FTS5 query.

The raw query is the floor: `SELECT rowid, text FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rowid
DESC LIMIT 20` with the same quoted query.  Store.search adds what a user needs on top (the post row,
its channel, its tags, deleted posts hidden), so the ratio says what that costs.  Both run on the same
warm connection, interleaved query by query, so machine noise hits both alike.

    .venv/bin/python -m bench.search [--posts 1000000] [--rounds 15]

The archive is built once through bot.ingest (the full pipeline, ~10 minutes for 1M posts) and
cached under bench/.cache/.
"""

from __future__ import annotations

import argparse
import time

from bench._archive import cached_archive
from bench._util import log, machine_line, median, percentile, save_result, table, verdict
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
)
RAW_SQL = "SELECT rowid, text FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rowid DESC LIMIT 20"


def measure(store: Store, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Seconds per call, per query, for both paths; one warm-up call each first."""
    samples: dict[str, dict[str, list[float]]] = {q: {"store": [], "raw": []} for q in QUERIES}
    conn = store.db.conn
    for query in QUERIES:
        store.search(query, limit=20)
        conn.execute(RAW_SQL, [quote_fts(query)]).fetchall()
    for round_number in range(rounds):
        for index, query in enumerate(QUERIES):
            fts = quote_fts(query)
            paths = ["store", "raw"] if (round_number + index) % 2 == 0 else ["raw", "store"]
            for path in paths:
                start = time.perf_counter()
                if path == "store":
                    store.search(query, limit=20, order="newest")
                else:
                    conn.execute(RAW_SQL, [fts]).fetchall()
                samples[query][path].append(time.perf_counter() - start)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench search", description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000, help="archive size (default 1,000,000)")
    parser.add_argument("--rounds", type=int, default=15, help="calls per query and path (default 15)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached archive")
    args = parser.parse_args(argv)

    path = cached_archive(args.posts, rebuild=args.rebuild)
    store = Store.open(path)
    try:
        hits = {q: len(store.search(q, limit=20)) for q in QUERIES}
        matches = {
            q: store.db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH ?", [quote_fts(q)]).fetchone()[0]
            for q in QUERIES
        }
        log(f"{len(QUERIES)} queries x {args.rounds} rounds on {path.name}")
        samples = measure(store, args.rounds)
    finally:
        store.close()

    every = {path: [s for q in QUERIES for s in samples[q][path]] for path in ("store", "raw")}
    ms = {path: {"p50": percentile(v, 0.50) * 1000, "p95": percentile(v, 0.95) * 1000} for path, v in every.items()}
    ratio = ms["store"]["p95"] / ms["raw"]["p95"]
    per_query = [
        (
            q,
            f"{matches[q]:,}",
            f"{median(samples[q]['raw']) * 1000:.2f}",
            f"{median(samples[q]['store']) * 1000:.2f}",
        )
        for q in QUERIES
    ]
    print(f"## search on {args.posts:,} posts ({machine_line()})\n")
    print(table(["query", "matching posts", "raw FTS5 median ms", "Store.search median ms"], per_query))
    print()
    print(
        table(
            ["", "p50 ms", "p95 ms"],
            [
                ("raw FTS5", f"{ms['raw']['p50']:.2f}", f"{ms['raw']['p95']:.2f}"),
                ("Store.search", f"{ms['store']['p50']:.2f}", f"{ms['store']['p95']:.2f}"),
            ],
        )
    )
    print(f"\np95 ratio {ratio:.2f}x (target <= {TARGET_RATIO}x): {verdict(ratio <= TARGET_RATIO)}")
    saved = save_result(
        "search",
        {
            "posts": args.posts,
            "rounds": args.rounds,
            "ms": ms,
            "p95_ratio": ratio,
            "target_ratio": TARGET_RATIO,
            "per_query_ms": {
                q: {p: [round(s * 1000, 3) for s in samples[q][p]] for p in ("raw", "store")} for q in QUERIES
            },
            "matches": matches,
            "hits": hits,
        },
    )
    log(f"results: {saved}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
