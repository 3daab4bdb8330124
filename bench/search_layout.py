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

_TEXTS = ("text", "raw_text")
_CONSTRAINT = re.compile(r"(UNIQUE|PRIMARY\s+KEY|FOREIGN\s+KEY|CHECK|CONSTRAINT)\b", re.IGNORECASE)
_NAMES_POSTS = re.compile(r"\bposts\b", re.IGNORECASE)


def _top_level(body: str) -> list[str]:
    """A CREATE TABLE body split at its commas outside parentheses and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(body):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"`[":
            quote = "]" if ch == "[" else ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
    parts.append(body[start:].strip())
    return [p for p in parts if p]


def posts_layout(conn: sqlite3.Connection, *, texts_last: bool) -> tuple[str, list[str]]:
    """`posts` as the archive declares it (sqlite_master: every migration's columns, in order), as a
    CREATE TABLE posts_rebuilt, with `text` and `raw_text` moved after the other columns or not (the
    control); and its column names. Read from the archive so the experiment follows the schema."""
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'posts'").fetchone()[0]
    parts = _top_level(sql[sql.index("(") + 1 : sql.rindex(")")])
    columns = [p for p in parts if not _CONSTRAINT.match(p)]
    constraints = [p for p in parts if _CONSTRAINT.match(p)]

    def name(column: str) -> str:
        return column.split()[0].strip('"`[]')

    names = [name(c) for c in columns]
    if not set(_TEXTS) <= set(names):
        raise SystemExit(f"posts has no {_TEXTS} columns: {names}")
    if texts_last:
        columns.sort(key=lambda c: name(c) in _TEXTS)  # stable: the others keep their order
    body = ",\n    ".join([*columns, *constraints])
    return f"CREATE TABLE posts_rebuilt (\n    {body}\n)", names


def rebuild(path: Path, *, texts_last: bool) -> float:
    """Rebuild `posts` in `path`, its texts last or in its own order, in one transaction; wall seconds.

    Foreign keys stay off: with them on, DROP TABLE posts deletes every post first and cascades to
    their tags, versions and links."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        ddl, columns = posts_layout(conn, texts_last=texts_last)
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
    parser.add_argument("--archive", type=Path, required=True, help="an archive (left untouched)")
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
            rebuilt[name] = rebuild(copy, texts_last=name == "texts last")
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
