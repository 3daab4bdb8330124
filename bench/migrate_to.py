"""`tgmonitor migrate-to` speed: an archive of corpus posts built through the ingest path, copied into a
throwaway PostgreSQL server (tools/pg_local.py), against the ingest that built it in the same run.

    python -m bench.migrate_to --posts 20000

Prints rows per second for the copy (COPY batches), the search-index build and the verification, and
the whole run as a ratio of the ingest time. Figures: bench/migrate_to.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench._util import log, machine_line
from bench.corpus import DEFAULT_SEED, generate
from bot.app.ingest import Ingest
from bot.core.pipeline import Pipeline
from storage.store import Store


def build(path: Path, posts: int) -> float:
    pipeline = Pipeline.load()
    store = Store.open(path, pipeline.normaliser)
    started = time.perf_counter()
    Ingest(store, pipeline, None).save(generate(posts, seed=DEFAULT_SEED, posts_per_day=2000))
    seconds = time.perf_counter() - started
    store.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    import psycopg

    from storage.db import open_db
    from storage.pg import copy
    from storage.pg.open import open_pg
    from storage.pg.search_index import PgSearchIndex
    from tools.pg_local import running

    log(machine_line())
    with tempfile.TemporaryDirectory() as tmp, running() as server:
        source_path = Path(tmp) / "archive.db"
        ingest = build(source_path, args.posts)
        log(f"ingest of {args.posts:,} posts (SQLite): {ingest:.1f} s")
        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench")
        target = open_pg(server.url_for("bench"))
        source = open_db(source_path, create=False)
        index = PgSearchIndex(target)  # type: ignore[arg-type]
        plan = copy.plans(source, target)
        copy.claim(source, target, plan)
        started = time.perf_counter()
        rows = sum(copy.copy_table(source, target, p, batch=args.batch) for p in plan)
        copying = time.perf_counter() - started
        copy.copy_meta(source, target)
        started = time.perf_counter()
        indexed = copy.build_search_index(target, index, None)
        indexing = time.perf_counter() - started
        started = time.perf_counter()
        checks = copy.verify(source, target, plan)
        verifying = time.perf_counter() - started
        assert all(c.ok for c in checks), [c for c in checks if not c.ok]
        total = copying + indexing + verifying
        print(f"posts {args.posts:,}; rows copied {rows:,} in {len(plan)} tables (batch {args.batch:,})")
        print(f"  copy       {copying:6.1f} s  {rows / copying:10,.0f} rows/s")
        print(f"  index      {indexing:6.1f} s  {indexed / indexing:10,.0f} posts/s")
        print(f"  verify     {verifying:6.1f} s  {rows / verifying:10,.0f} rows/s (both sides)")
        print(
            f"  migrate-to {total:6.1f} s  {rows / total:10,.0f} rows/s; "
            f"{total / ingest:.2f}x the ingest ({ingest:.1f} s)"
        )
        source.conn.close()
        target.conn.close()


if __name__ == "__main__":
    main()
