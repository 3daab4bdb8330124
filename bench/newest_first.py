"""Newest first by date with a query: what ordering matches by date costs against archive (rowid) order.

Before, a search's "newest first" was FTS5's own rowid order (arrival order: an imported history
lists above newer live posts); now it is by date.  Both SQL shapes run here on the same warm
connection, interleaved query by query, for the queries of bench/search.py:

* `rowid`: the old plan, `JOIN posts_norm … ORDER BY posts_norm.rowid DESC LIMIT 20` (FTS5 hands
  out matches in order and stops after 20), then the 20 posts read (Store.get_posts);
* `date`: Store.search(query, limit=20) as it is now: fewer than 500 matches are sorted by date;
  more are read in rowid order and the posts archived out of date order around them are probed
  one by one (at most 300), else the matches become a set of rowids and posts_date is walked.

The same figures on a copy of the archive whose older half was re-inserted after the newer half
(an imported history), where rowid order and date order disagree.

    .venv/bin/python -m bench.newest_first [--posts 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from bench._archive import cached_archive
from bench._util import CACHE_DIR, log, machine_line, median, percentile, save_result, table
from bench.search import QUERIES
from storage.search import _MANY
from storage.store import Store

Shapes = tuple[str, list[object], str, list[object], str, list[object]]


def shapes(store: Store, query: str) -> Shapes:
    """(old SQL, params, count SQL, params, new SQL after FROM, params)."""
    clause = store.search_index.clause(store.search_index.parse(query))
    old = (
        f"SELECT p.id FROM posts p {clause.join} WHERE {clause.where} AND p.deleted = 0 "
        f"ORDER BY {clause.newest} LIMIT 20"
    )
    count = f"SELECT count(*) >= {_MANY} FROM ({clause.driver} LIMIT {_MANY})"
    new = f"WHERE {clause.ids_where} AND p.deleted = 0 ORDER BY p.date DESC, p.id DESC LIMIT 20"
    return old, list(clause.params), count, list(clause.driver_params), new, list(clause.ids_params)


def run_old(store: Store, sql: str, params: list[object]) -> None:
    store.get_posts([r[0] for r in store.db.execute(sql, params).fetchall()])


def measure(store: Store, rounds: int) -> dict[str, dict[str, list[float]]]:
    samples: dict[str, dict[str, list[float]]] = {q: {"rowid": [], "date": []} for q in QUERIES}
    prepared = {q: shapes(store, q) for q in QUERIES}
    for round_number in range(rounds + 1):
        for index, query in enumerate(QUERIES):
            old_sql, old_params = prepared[query][:2]
            for path in ("rowid", "date") if (index + round_number) % 2 == 0 else ("date", "rowid"):
                start = time.perf_counter()
                if path == "rowid":
                    run_old(store, old_sql, old_params)
                else:
                    store.search(query, limit=20)
                if round_number:  # round 0 warms up
                    samples[query][path].append(time.perf_counter() - start)
    return samples


def shuffled_copy(path: Path) -> Path:
    """The archive with its older half deleted and re-inserted (new rowids after the newer half)."""
    copy = CACHE_DIR / f"{path.stem}-history-last.db"
    shutil.copyfile(path, copy)
    store = Store.open(copy)
    db = store.db
    middle = db.execute(
        "SELECT date FROM posts ORDER BY date LIMIT 1 OFFSET (SELECT count(*) / 2 FROM posts)"
    ).fetchone()[0]
    cols = [r[1] for r in db.execute("PRAGMA table_info(posts)").fetchall() if r[1] != "id"]
    names = ", ".join(cols)
    with db.conn:
        db.execute(f"CREATE TEMP TABLE old AS SELECT {names} FROM posts WHERE date < ? ORDER BY date", [middle])
        db.execute("DELETE FROM post_tags WHERE post_id IN (SELECT id FROM posts WHERE date < ?)", [middle])
        db.execute("DELETE FROM posts WHERE date < ?", [middle])
        db.execute(f"INSERT INTO posts({names}) SELECT {names} FROM old")
    store.close()
    return copy


def report(samples: dict[str, dict[str, list[float]]]) -> tuple[list[list[str]], float]:
    rows, ratios = [], []
    for query, paths in samples.items():
        old, new = median(paths["rowid"]), median(paths["date"])
        ratios.append(new / old if old else 1.0)
        rows.append([query, f"{old * 1000:.2f}", f"{new * 1000:.2f}", f"{percentile(paths['date'], 0.95) * 1000:.2f}"])
    return rows, median(ratios)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench newest_first", description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    path = cached_archive(args.posts)
    results = {}
    for name, archive in (("in date order", path), ("older half archived last", shuffled_copy(path))):
        store = Store.open(archive)
        try:
            log(f"{name}: {len(QUERIES)} queries x {args.rounds} rounds")
            rows, ratio = report(measure(store, args.rounds))
        finally:
            store.close()
        print(f"\n{name} ({args.posts:,} posts): median ratio date/rowid {ratio:.2f}x")
        print(table(["query", "rowid p50 ms", "date p50 ms", "date p95 ms"], rows))
        results[name] = {"ratio": ratio, "rows": rows}
    print(machine_line())
    save_result("newest_first", {"posts": args.posts, "rounds": args.rounds, "results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
