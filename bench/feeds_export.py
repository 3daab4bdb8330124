"""Feeds and exports: a tag's feed of 10k statements, and `tgmonitor export` of 1M posts (rows/s, peak RSS).

Each figure is against a baseline measured in the same run on the same archive:

* feed: `build_feed` + render (Atom) of a tag's newest N statements (fold, carriers, entries), against a
  raw `SELECT` of the same tag's newest posts joined with their channel, streamed and rendered as
  nothing more than one escaped line each;
* export: `bot.app.exports` (pages, fold of each page with its copies, rows, CSV writer) against a raw
  `SELECT` of the same columns streamed straight into `csv.writer`, each in its own process that
  reports its peak RSS (VmHWM), at two archive sizes, so "memory flat" is a measured claim.

The archives: `--posts` corpus posts (bench/corpus.py) through bot.app.ingest, all tagged `benchtag`; the
export archive clones those rows (new message ids, origin keys, hashes and dates per clone, so
statements stay statement-sized) up to `--export-posts` with plain SQL, search triggers dropped
(export without a query reads no index). Cached in bench/.cache.

    .venv/bin/python -m bench feeds_export [--posts 14000] [--items 10000] [--export-posts 1000000]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import html
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench._util import CACHE_DIR, log, machine_line, remove_db, save_result, table
from bench.corpus import generate
from bot.app.ingest import Ingest
from bot.core.feeds import render
from bot.core.pipeline import Pipeline
from storage.readonly import ReadOnlyArchive
from storage.store import Store

TAG = "benchtag"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tagged_archive(posts: int) -> Path:
    path = CACHE_DIR / f"feeds-{posts}.db"
    if path.exists():
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".building")
    remove_db(partial)
    pipeline = Pipeline.load()
    store = Store.open(partial, pipeline.normaliser)
    log(f"building {path.name}: {posts:,} corpus posts tagged #{TAG} through bot.app.ingest")
    raws = (dataclasses.replace(r, hashtags=(*r.hashtags, TAG)) for r in generate(posts))
    Ingest(store, pipeline, None).save(raws)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    partial.rename(path)
    return path


def cloned_archive(base: Path, posts: int) -> Path:
    """`base`'s posts cloned up to `posts` rows by SQL (each clone a later stretch of days)."""
    path = CACHE_DIR / f"export-{posts}-from-{base.stem}.db"
    if path.exists():
        return path
    partial = path.with_name(path.name + ".building")
    remove_db(partial)
    store = Store.open(base)
    store.db.execute("VACUUM INTO ?", [str(partial)])
    store.close()
    store = Store.open(partial)
    db = store.db
    for trigger in ("posts_ai", "posts_ad", "posts_au", "posts_norm_ai", "posts_norm_ad", "posts_norm_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    have = db.execute("SELECT count(*) FROM posts").fetchone()[0]
    days = db.execute("SELECT julianday(max(date)) - julianday(min(date)) + 1 FROM posts").fetchone()[0]
    columns = [r[1] for r in db.execute("PRAGMA table_info(posts)") if r[1] != "id"]
    changed = {
        "message_id": "message_id + :k * 10000000",
        "date": "strftime('%Y-%m-%dT%H:%M:%S+00:00', date, '+' || (:k * :days) || ' days')",
        "origin_key": "origin_key || '#' || :k",
        "content_hash": "content_hash || :k",
        "cluster_id": "cluster_id + :k * 10000000",
    }
    select = ", ".join(changed.get(c, c) for c in columns)
    top = db.execute("SELECT max(id) FROM posts").fetchone()[0]
    base_rows = have
    k = 1
    log(f"building {path.name}: {have:,} posts cloned up to {posts:,} by SQL")
    while have < posts:
        want = min(posts - have, base_rows)
        db.execute(
            f"INSERT INTO posts ({', '.join(columns)}) SELECT {select} FROM posts WHERE id <= :top ORDER BY id "
            "LIMIT :want",
            {"k": k, "days": int(days) + 1, "top": top, "want": want},
        )
        db.conn.commit()
        have += want
        k += 1
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    partial.rename(path)
    return path


# ----------------------------------------------------------------------------------------- children
def child_export(path: str, fold: bool) -> dict[str, float]:
    from bot.app.exports import CsvWriter, ExportFilter, export_rows, run_export

    store = ReadOnlyArchive(path).store()
    start = time.perf_counter()
    with open(os.devnull, "w", encoding="utf-8", newline="") as out:
        rows = run_export(export_rows(store, ExportFilter(), fold=fold), CsvWriter(out))
    return {"rows": rows, "seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb()}


def child_baseline(path: str) -> dict[str, float]:
    store = ReadOnlyArchive(path).store()
    start = time.perf_counter()
    cursor = store.db.conn.execute(
        "SELECT p.id, p.channel_id, c.username, c.title, p.message_id, p.date, p.edit_date, p.url, p.text, "
        "p.raw_text, p.tag_list, p.lang, p.forward_name, p.origin_key, p.views, p.media_kind, p.deleted "
        "FROM posts p INDEXED BY posts_date JOIN channels c ON c.id = p.channel_id WHERE p.deleted = 0 "
        "ORDER BY p.date, p.id"
    )
    rows = 0
    with open(os.devnull, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        while batch := cursor.fetchmany(2000):
            writer.writerows(batch)
            rows += len(batch)
    return {"rows": rows, "seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb()}


def in_child(kind: str, path: Path, fold: bool = False) -> dict[str, float]:
    code = (
        "import json, sys; from bench.feeds_export import child_export, child_baseline; "
        f"print(json.dumps(child_{kind}({str(path)!r}{', ' + str(fold) if kind == 'export' else ''})))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# -------------------------------------------------------------------------------------------- feeds
def feed_figures(path: Path, items: int, runs: int = 3) -> tuple[dict[str, float], dict[str, float]]:
    """Median of `runs` after one untimed warm-up of each, alternating, on one read-only connection."""
    from bot.app.feeds import FeedContext, FeedSpec, build_feed

    store = ReadOnlyArchive(path).store()
    ctx = FeedContext(store, "https://example.org")

    def ours() -> int:
        feed = build_feed(ctx, FeedSpec("tag", TAG), items=items)
        render(feed, "atom", f"https://example.org/feeds/tag/{TAG}.atom")
        return len(feed.entries)

    def baseline() -> int:
        # the same tag's newest posts with their channel, as the store's search reads them, each one line
        rows = store.db.execute(
            "SELECT p.id, p.date, p.text, p.url, c.username, c.title FROM posts p "
            "JOIN channels c ON c.id = p.channel_id WHERE p.deleted = 0 "
            "AND p.id IN (SELECT post_id FROM post_tags WHERE tag = ?) ORDER BY p.date DESC, p.id DESC LIMIT ?",
            [TAG, items],
        ).fetchall()
        "".join(f"<entry>{html.escape(r[2] or '')}</entry>" for r in rows)
        return len(rows)

    try:
        counts = {"ours": ours(), "baseline": baseline()}
        times: dict[str, list[float]] = {"ours": [], "baseline": []}
        for _ in range(runs):
            for name, work in (("ours", ours), ("baseline", baseline)):
                start = time.perf_counter()
                work()
                times[name].append(time.perf_counter() - start)
    finally:
        store.close()
    return (
        {"entries": counts["ours"], "seconds": statistics.median(times["ours"])},
        {"entries": counts["baseline"], "seconds": statistics.median(times["baseline"])},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=14_000, help="corpus posts ingested (all tagged)")
    parser.add_argument("--items", type=int, default=10_000, help="entries in the big tag feed")
    parser.add_argument("--export-posts", type=int, default=1_000_000)
    parser.add_argument("--small-export", type=int, default=100_000, help="the second size, for memory")
    parser.add_argument("--no-fold", action="store_true", help="skip the --fold export")
    parser.add_argument("--no-feeds", action="store_true", help="skip the feed figures")
    args = parser.parse_args(argv)
    log(machine_line())
    base = tagged_archive(args.posts)
    results: dict[str, object] = {}
    rows_out = []
    for items in () if args.no_feeds else (50, args.items):
        ours, raw = feed_figures(base, items)
        results[f"feed_{items}"] = {"ours": ours, "baseline": raw}
        rows_out.append(
            [
                f"tag feed, {items:,} items",
                f"{ours['entries']:,} entries, {ours['seconds']:.3f} s",
                f"{raw['entries']:,} posts, {raw['seconds']:.3f} s",
                f"{ours['seconds'] / max(raw['seconds'], 1e-9):.1f}x",
            ]
        )
    if rows_out:
        print(table(["feed", "build_feed + render", "raw SELECT baseline", "ratio"], rows_out))
    export_rows_out = []
    sizes = sorted({args.small_export, args.export_posts} - {0})
    for size in sizes:
        path = cloned_archive(base, size)
        raw = in_child("baseline", path)
        ours = in_child("export", path)
        runs = {"baseline": raw, "export": ours}
        if not args.no_fold and size == sizes[0]:  # fold's memory is the same pages plus a bitmap
            runs["export --fold"] = in_child("export", path, True)
        results[f"export_{size}"] = runs
        for name, got in runs.items():
            export_rows_out.append(
                [
                    f"{size:,}",
                    name,
                    f"{got['rows']:,.0f}",
                    f"{got['rows'] / got['seconds']:,.0f}",
                    f"{got['peak_mb']:.0f}",
                    f"{(raw['rows'] / raw['seconds']) / (got['rows'] / got['seconds']):.1f}x",
                ]
            )
    print(table(["archive posts", "run", "rows", "rows/s", "peak RSS MB", "time per row vs baseline"], export_rows_out))
    save_result("feeds_export", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
