"""Archives of the synthetic corpus, built once through the real ingest path and kept in bench/.cache.

A million posts take ~10 minutes to clean, tag and index, so read benchmarks reuse a finished file.
The build writes to a temporary name and renames at the end: an interrupted build is never mistaken
for a cache.  The corpus parameters are stored in the file's `meta` table and a cache that does not
match them is rebuilt; an older schema is migrated on open, as a user's archive would be.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench._util import CACHE_DIR, log, remove_db
from bench.corpus import DEFAULT_SEED, generate
from bot.app.ingest import Ingest
from bot.core.pipeline import Pipeline
from storage.store import Store

META_KEY = "bench_corpus"


def archive_path(count: int, seed: int = DEFAULT_SEED, posts_per_day: int = 2000) -> Path:
    return CACHE_DIR / f"archive-{count}-{seed}-{posts_per_day}.db"


def _fingerprint(count: int, seed: int, posts_per_day: int) -> str:
    # No schema version: Store.open migrates an older archive like a user's, which is cheaper than a
    # rebuild and is itself part of what users get.
    return json.dumps({"count": count, "seed": seed, "posts_per_day": posts_per_day})


def cached_archive(count: int, *, seed: int = DEFAULT_SEED, posts_per_day: int = 2000, rebuild: bool = False) -> Path:
    """The path of a finished archive of `count` corpus posts, building it first when needed."""
    path = archive_path(count, seed, posts_per_day)
    wanted = _fingerprint(count, seed, posts_per_day)
    if path.exists() and not rebuild:
        store = Store.open(path)
        try:
            if store.meta_get(META_KEY) == wanted:
                return path
        finally:
            store.close()
        log(f"{path.name}: built from other corpus parameters or schema; rebuilding")
    partial = path.with_name(path.name + ".building")
    remove_db(partial)
    pipeline = Pipeline.load()
    store = Store.open(partial, pipeline.normaliser)  # shared, as the CLI does
    started = time.perf_counter()
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        before, done = done, done + n
        if done // 50_000 != before // 50_000 or done == count:
            rate = done / (time.perf_counter() - started)
            log(f"  {path.name}: {done:,}/{count:,} posts ({rate:,.0f}/s)")

    log(f"building {path.name}: {count:,} corpus posts through bot.app.ingest (cached for later runs)")
    Ingest(store, pipeline, None).save(generate(count, seed=seed, posts_per_day=posts_per_day), progress=progress)
    _finish(store, wanted, partial, path, started)
    return path


def _finish(store: Store, wanted: str, partial: Path, path: Path, started: float) -> None:
    """Stamp the corpus parameters, fold the WAL, and only then take the cache's name."""
    store.meta_set(META_KEY, wanted)
    # No ANALYZE: a user's archive has no statistics either, and plans should be the ones they get.
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    remove_db(path)
    partial.rename(path)
    log(f"built {path.name} in {time.perf_counter() - started:,.0f} s")


def live_archive_path(count: int, batch: int, merge_every: int, seed: int = DEFAULT_SEED) -> Path:
    return CACHE_DIR / f"archive-live-{count}-b{batch}-m{merge_every}-{seed}.db"


def cached_live_archive(
    count: int, *, batch: int = 20, merge_every: int = 50_000, seed: int = DEFAULT_SEED, rebuild: bool = False
) -> tuple[Path, list[dict[str, object]]]:
    """An archive filled as the service fills it: small commits (a listener's update, a poller's page),
    and every `merge_every` posts the service's hourly maintenance (the search indexes merged with its
    time budget, then PRAGMA optimize and the WAL checkpoint). The last maintenance runs `merge_every`
    posts before the end, so the archive is left as a search finds it just before the next one: the
    worst case between two runs. Returns the path and what each maintenance run did (empty when cached).

    The pipeline runs in the forked worker while the main process writes (`Ingest.save`'s two-process
    path, batch after batch of `batch` posts): what is stored and how the indexes are laid out depend on
    the commits and the merges only, not on which process computed the posts (tests/test_ingest_paths.py).
    No near-duplicate index (it does not touch the search indexes; ~800 us a post more to build).
    """
    from bot.service.run import MERGE_BUDGET  # the service's own budget per maintenance run

    path = live_archive_path(count, batch, merge_every, seed)
    wanted = json.dumps({"count": count, "seed": seed, "posts_per_day": 2000, "batch": batch, "merge": merge_every})
    if path.exists() and not rebuild:
        store = Store.open(path)
        try:
            if store.meta_get(META_KEY) == wanted:
                return path, []
        finally:
            store.close()
    partial = path.with_name(path.name + ".building")
    remove_db(partial)
    pipeline = Pipeline.load()
    store = Store.open(partial, pipeline.normaliser)
    started = time.perf_counter()
    done = 0
    runs: list[dict[str, object]] = []

    def progress(n: int) -> None:
        nonlocal done
        before, done = done, done + n
        if done // merge_every != before // merge_every and done < count:
            index = store.search_index
            segments = {t: index.segments(t) for t in ("posts_norm", "posts_fts")}
            cpu, at = time.process_time(), time.perf_counter()
            steps = index.merge(budget=MERGE_BUDGET)
            merged = {"posts": done, "segments_before": segments, "steps": steps}
            merged |= {"seconds": time.perf_counter() - at, "cpu_seconds": time.process_time() - cpu}
            merged["segments_after"] = {t: index.segments(t) for t in ("posts_norm", "posts_fts")}
            store.optimize()
            runs.append(merged)
            rate = done / (time.perf_counter() - started)
            log(f"  {path.name}: {done:,}/{count:,} posts ({rate:,.0f}/s); maintenance {merged}")

    log(f"building {path.name}: {count:,} posts in commits of {batch}, maintenance every {merge_every:,}")
    Ingest(store, pipeline, None, batch_size=batch).save(
        generate(count, seed=seed, posts_per_day=2000), progress=progress
    )
    _finish(store, wanted, partial, path, started)
    return path, runs
