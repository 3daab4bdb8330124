"""Does the `posts` table's column order cost Store.search? An experiment on copies, not a migration.

SQLite stores a row's columns in their declared order, and a row longer than a page (4 KB) continues
in a chain of overflow pages. A post holds its text twice (clean `text` and `raw_text`: ~4.6 KB on
the bench corpus), and every column after them (v1's `url` onwards, and every column added since:
the tag list, sender, hidden links) lies behind both texts' overflow pages, which a search page
walks for each post. This copies an archive twice and rebuilds `posts` in each (same rowids, its
indexes, triggers and views re-created from their stored SQL, so both full-text indexes stay valid):
once with the texts last, once in today's order (the control: a fresh copy is also freshly packed),
then alternates Store.search on the three (CPU time per call) and counts the bytes each search reads
from the file with SQLite's page cache emptied before every query (`rchar`: page cache or disk).

    .venv/bin/python -m bench.search_layout --archive bench/.cache/archive-live-200000-b20-m25000-20261120.db

The copies go to --work (default: beside the archive) and are removed at the end; a rebuild takes
about a minute per 200,000 posts and grows the copy by the size of `posts` (the old pages stay free).
Findings: bench/search.md, "The posts table's layout".
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import time
from pathlib import Path

from bench._util import log, machine_line, percentile, remove_db, table
from bench.search import QUERIES, RAW_SQL, SHAPE_SQL, norm_expr
from storage.store import Store, quote_fts

# Schema 12's posts columns, declared as v1..v12 wrote them, with the two texts moved last.
TEXTS_LAST = """CREATE TABLE posts_rebuilt (
    id INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL REFERENCES channels(id),
    message_id INTEGER NOT NULL,
    date TEXT NOT NULL,
    edit_date TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    url TEXT,
    origin_key TEXT NOT NULL,
    forward_name TEXT,
    lang TEXT,
    content_hash TEXT NOT NULL,
    cluster_id INTEGER,
    media_kind TEXT,
    views INTEGER,
    grouped_id INTEGER,
    source TEXT NOT NULL,
    tag_list TEXT NOT NULL DEFAULT '',
    text_seen_at TEXT,
    deleted_at TEXT,
    forward_date TEXT,
    sender_name TEXT,
    sender_id TEXT,
    time_approx INTEGER NOT NULL DEFAULT 0,
    text_links TEXT,
    carried INTEGER NOT NULL DEFAULT 0,
    text TEXT NOT NULL,
    raw_text TEXT NOT NULL,
    UNIQUE (channel_id, message_id)
)"""
_COLUMN = re.compile(r"^    (\w+) [A-Z]", re.MULTILINE)
_NAMES_POSTS = re.compile(r"\bposts\b", re.IGNORECASE)


def today_order() -> str:
    """TEXTS_LAST with the texts back after `deleted`, where v1 declared them."""
    lines = TEXTS_LAST.splitlines()
    texts = [line for line in lines if line.startswith(("    text TEXT", "    raw_text TEXT"))]
    rest = [line for line in lines if line not in texts]
    at = next(i for i, line in enumerate(rest) if line.startswith("    deleted INTEGER")) + 1
    return "\n".join(rest[:at] + texts + rest[at:])


def rebuild(path: Path, ddl: str) -> float:
    """Rebuild `posts` in `path` with the columns of `ddl`, in one transaction; wall seconds taken.

    Foreign keys stay off: with them on, DROP TABLE posts deletes every post first and cascades to
    their tags, versions and links."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        columns = _COLUMN.findall(ddl)
        have = [r[1] for r in conn.execute("PRAGMA table_info(posts)")]
        if sorted(have) != sorted(columns):
            raise SystemExit(f"{path.name}: posts has columns {have}, not schema 12's")
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        # What DROP TABLE takes along (indexes, triggers on posts) and what RENAME re-checks (views and
        # triggers naming posts): saved, dropped, re-created as stored, views and indexes before triggers.
        kept = [
            (kind, name, sql)
            for kind, name, owner, sql in conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE sql IS NOT NULL AND type IN ('index', 'trigger', 'view') ORDER BY rowid"
            ).fetchall()
            if owner == "posts" or (kind != "index" and _NAMES_POSTS.search(sql))
        ]
        for kind, name, _sql in kept:
            if kind != "index":
                conn.execute(f'DROP {kind.upper()} "{name}"')
        conn.execute(ddl)
        names = ", ".join(columns)
        conn.execute(f"INSERT INTO posts_rebuilt ({names}) SELECT {names} FROM posts ORDER BY id")
        if (
            conn.execute("SELECT count(*), max(id) FROM posts").fetchone()
            != conn.execute("SELECT count(*), max(id) FROM posts_rebuilt").fetchone()
        ):
            raise SystemExit(f"{path.name}: the copy of posts lost rows")
        conn.execute("DROP TABLE posts")
        conn.execute("ALTER TABLE posts_rebuilt RENAME TO posts")
        for _kind, _name, sql in sorted(kept, key=lambda k: k[0] == "trigger"):
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return time.perf_counter() - started
    finally:
        conn.close()


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar"):
            return int(line.split()[1])
    return 0


def bytes_read(path: Path) -> float:
    """Bytes a search reads from the file, SQLite's page cache emptied before each query."""
    store = Store.open(path)
    try:
        conn = store.db.conn
        store.search(QUERIES[0], limit=20)
        total = 0
        for query in QUERIES:
            conn.execute("PRAGMA cache_size = 0")  # shrinking the cache drops its pages
            conn.execute("PRAGMA cache_size = -2000")
            before = _rchar()
            store.search(query, limit=20)
            total += _rchar() - before
        return total / len(QUERIES)
    finally:
        store.close()


def alternate(paths: list[Path], rounds: int) -> dict[Path, dict[str, list[float]]]:
    """CPU seconds per call: Store.search, the raw posts_fts query, the raw posts_norm + text query."""
    stores = [Store.open(p) for p in paths]
    try:
        for store in stores:
            for query in QUERIES:
                store.search(query, limit=20)
        norm = {q: norm_expr(stores[0], q) for q in QUERIES}
        samples: dict[Path, dict[str, list[float]]] = {p: {"store": [], "raw": [], "shape": []} for p in paths}
        pairs = list(zip(paths, stores, strict=True))
        for round_number in range(rounds):
            turn = round_number % len(pairs)
            for query in QUERIES:
                for path, store in pairs[turn:] + pairs[:turn]:
                    conn = store.db.conn
                    for kind in ("store", "raw", "shape") if round_number % 2 else ("shape", "raw", "store"):
                        started = time.thread_time()
                        if kind == "store":
                            store.search(query, limit=20)
                        elif kind == "raw":
                            conn.execute(RAW_SQL, [quote_fts(query)]).fetchall()
                        else:
                            conn.execute(SHAPE_SQL, [norm[query]]).fetchall()
                        samples[path][kind].append(time.thread_time() - started)
        return samples
    finally:
        for store in stores:
            store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench search_layout", description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, required=True, help="a schema-12 archive (left untouched)")
    parser.add_argument("--work", type=Path, help="folder for the two copies (default: the archive's)")
    parser.add_argument("--rounds", type=int, default=15, help="calls per query, path and archive (default 15)")
    args = parser.parse_args(argv)
    work = args.work or args.archive.parent
    copies = {"texts last": work / "layout-texts-last.db", "today's order (control)": work / "layout-control.db"}
    rebuilt: dict[str, float] = {}
    try:
        for name, copy in copies.items():
            remove_db(copy)
            shutil.copyfile(args.archive, copy)
            rebuilt[name] = rebuild(copy, TEXTS_LAST if name == "texts last" else today_order())
            log(
                f"{name}: posts rebuilt in {rebuilt[name]:.0f} s; file {copy.stat().st_size / 2**20:,.0f} MB "
                f"(archive {args.archive.stat().st_size / 2**20:,.0f} MB)"
            )
        paths = {"as built": args.archive, **copies}
        samples = alternate(list(paths.values()), args.rounds)
        rows = []
        for name, path in paths.items():
            ms = {k: (percentile(v, 0.5) * 1000, percentile(v, 0.95) * 1000) for k, v in samples[path].items()}
            rows.append(
                (
                    name,
                    f"{ms['raw'][0]:.2f} / {ms['raw'][1]:.2f}",
                    f"{ms['shape'][0]:.2f} / {ms['shape'][1]:.2f}",
                    f"{ms['store'][0]:.2f} / {ms['store'][1]:.2f}",
                    f"{ms['store'][1] / ms['raw'][1]:.2f}x",
                    f"{bytes_read(path) / 1024:,.0f}",
                    f"{rebuilt.get(name, 0):.0f}" if name in rebuilt else "",
                )
            )
    finally:
        for copy in copies.values():
            remove_db(copy)
    print(
        f"## posts layout, {args.archive.name}, {len(QUERIES)} queries x {args.rounds} rounds, CPU time "
        f"({machine_line()})\n"
    )
    headers = [
        "posts table",
        "raw posts_fts p50 / p95 ms",
        "raw posts_norm + text",
        "Store.search",
        "p95 ratio",
        "KiB read a search (cold cache)",
        "rebuild s",
    ]
    print(table(headers, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
