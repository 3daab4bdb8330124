"""SQLite and PostgreSQL side by side in one run: ingest, search p95, digest build (docs/postgresql.md).

The same corpus posts go through the same ingest path (pipeline, store, near-duplicate index) into a
fresh SQLite file and a fresh database on a throwaway local PostgreSQL server (tools/pg_local.py, fsync
off on both sides' terms: SQLite runs with synchronous=NORMAL in WAL); then the same queries and the
same digest window are read from both. Figures are PostgreSQL / SQLite ratios from this run, on this
machine: a team's server on its own host, with its own disks and memory, is another machine.

    .venv/bin/python -m bench.backends [--posts 20000] [--rounds 5]
    .venv/bin/python -m bench.backends --archive FILE [--repeat 2]
        # a bigger SQLite archive, copied by migrate-to: search and digest only (no ingest),
        # measured --repeat times on the same copies
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench._util import log, machine_line, median, percentile, save_result, table
from bench.corpus import DEFAULT_START, generate
from bench.search import QUERIES
from bot.app.archive import Archive
from bot.app.digest_jobs import window_posts
from bot.config import Settings
from bot.core.digest import build_digest
from bot.core.digest_render import render_html
from bot.core.pipeline import Pipeline
from storage.store import Store

POSTS_PER_DAY = 2000


def _ingest(location: str, count: int, pipeline: Pipeline) -> tuple[float, Store]:
    store = Store.open(location, pipeline.normaliser)
    archive = Archive.around(Settings(), store, pipeline)
    started = time.perf_counter()
    archive.ingest.save(generate(count, posts_per_day=POSTS_PER_DAY))
    return count / (time.perf_counter() - started), store


def _search(store: Store, rounds: int) -> list[float]:
    samples: list[float] = []
    for query in QUERIES:
        store.search(query, limit=20)  # warm
    for _ in range(rounds):
        for query in QUERIES:
            t0 = time.perf_counter()
            store.search(query, limit=20)
            samples.append(time.perf_counter() - t0)
    return samples


def _digest(store: Store, rounds: int) -> list[float]:
    start = DEFAULT_START + timedelta(days=1)
    end = start + timedelta(days=1)
    samples: list[float] = []
    for _ in range(rounds + 1):
        t0 = time.perf_counter()
        posts, changes = window_posts(store, start, end)
        render_html(build_digest(posts, start, end, changes=changes), ZoneInfo("Europe/Sofia"))
        samples.append(time.perf_counter() - t0)
    return samples[1:]


def _pg_location(server: Any) -> str:
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS bench_backends")
        admin.execute("CREATE DATABASE bench_backends")
    return str(server.url_for("bench_backends"))


def _from_archive(source: Path, rounds: int, repeat: int = 1) -> int:
    """Search and digest on a copy of `source` and on PostgreSQL filled from it by `migrate-to`;
    `repeat` measurements of both, engine after engine, on the same copies (the spread of a run)."""
    import psycopg

    from storage.migrate_to import copy_archive
    from tools.pg_local import running

    runs: list[dict[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp, running() as server:
        copy = Path(tmp) / "archive.db"
        started = time.perf_counter()
        shutil.copy(source, copy)
        log(f"copied {source.name} in {time.perf_counter() - started:,.0f} s")
        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench_archive")
        url = str(server.url_for("bench_archive"))
        started = time.perf_counter()
        sqlite_store = Store.open(copy)  # an older schema is upgraded first, as a user's would be
        sqlite_store.close()
        report = copy_archive(copy, url)
        log(
            f"migrate-to: {sum(report.copied.values()):,} rows in "
            f"{time.perf_counter() - started:,.0f} s, ok={report.ok}"
        )
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("ANALYZE")  # what autovacuum does after a bulk load
        log(f"ANALYZE in {time.perf_counter() - started:,.0f} s")
        for run in range(repeat):
            results: dict[str, dict[str, float]] = {}
            for name, location in (("sqlite", str(copy)), ("postgresql", url)):
                store = Store.open(location)
                search, digest = _search(store, rounds), _digest(store, rounds)
                store.close()
                results[name] = {
                    "search_p50_ms": median(search) * 1000,
                    "search_p95_ms": percentile(search, 0.95) * 1000,
                    "digest_median_ms": median(digest) * 1000,
                }
                log(f"run {run + 1}, {name}: {results[name]}")
            runs.append(results)
            sq, pg = results["sqlite"], results["postgresql"]
            rows = [[key, f"{sq[key]:.1f}", f"{pg[key]:.1f}", f"{pg[key] / sq[key]:.2f}x"] for key in sq]
            print(f"\n{source.name}, run {run + 1}, {len(QUERIES)} queries x {rounds} rounds; {machine_line()}\n")
            print(table(["", "SQLite", "PostgreSQL", "PostgreSQL / SQLite"], rows), flush=True)
    save_result("backends-archive", {"archive": source.name, "rounds": rounds, "results": runs[0], "runs": runs})
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--archive", type=Path, help="an existing SQLite archive (copied; not changed)")
    parser.add_argument("--repeat", type=int, default=1, help="with --archive: measurements of both engines")
    args = parser.parse_args(argv)
    if args.archive is not None:
        return _from_archive(args.archive, args.rounds, args.repeat)
    from tools.pg_local import running

    pipeline = Pipeline.load()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp, running() as server:
        engines: dict[str, Callable[[], str]] = {
            "sqlite": lambda: str(Path(tmp) / "bench.db"),
            "postgresql": lambda: _pg_location(server),
        }
        for name, location in engines.items():
            log(f"{name}: ingesting {args.posts:,} corpus posts")
            rate, store = _ingest(location(), args.posts, pipeline)
            search = _search(store, args.rounds)
            digest = _digest(store, args.rounds)
            store.close()
            results[name] = {
                "ingest_posts_per_s": rate,
                "search_p50_ms": median(search) * 1000,
                "search_p95_ms": percentile(search, 0.95) * 1000,
                "digest_median_ms": median(digest) * 1000,
            }
            log(f"{name}: {results[name]}")
    sq, pg = results["sqlite"], results["postgresql"]
    rows = [
        ["ingest (posts/s, higher is better)", f"{sq['ingest_posts_per_s']:,.0f}", f"{pg['ingest_posts_per_s']:,.0f}",
         f"{pg['ingest_posts_per_s'] / sq['ingest_posts_per_s']:.2f}x"],
        ["search p50 (ms)", f"{sq['search_p50_ms']:.1f}", f"{pg['search_p50_ms']:.1f}",
         f"{pg['search_p50_ms'] / sq['search_p50_ms']:.2f}x"],
        ["search p95 (ms)", f"{sq['search_p95_ms']:.1f}", f"{pg['search_p95_ms']:.1f}",
         f"{pg['search_p95_ms'] / sq['search_p95_ms']:.2f}x"],
        ["digest build, one 2,000-post day (ms)", f"{sq['digest_median_ms']:.0f}", f"{pg['digest_median_ms']:.0f}",
         f"{pg['digest_median_ms'] / sq['digest_median_ms']:.2f}x"],
    ]  # fmt: skip
    print(f"\n{args.posts:,} posts, {len(QUERIES)} queries x {args.rounds} rounds; {machine_line()}\n")
    print(table(["", "SQLite", "PostgreSQL", "PostgreSQL / SQLite"], rows))
    save_result("backends", {"posts": args.posts, "rounds": args.rounds, "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
