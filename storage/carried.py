"""posts.carried: which posts may carry a statement with another post, kept up to date as posts arrive.

A window's amplifiers and forward network (storage/spread_reads.py `window_carried`) need only the
posts that fold with another post by the rule of bot/core/statements.py (the same origin key, the
same clean text, the same near-duplicate cluster) or that forward another channel; most posts are
their channel's own and carried nowhere else. Finding a month's shared keys by grouping its posts
cost about as much as reading every key of the month twice. This flag is set when a post is
stored, edited, re-cleaned or clustered, so a window reads only its flagged posts, from the partial
index posts_carried (schema v12), and the statement grouping stays window-exact in Python.

The flag marks a superset and is never cleared: a post is flagged when it shares a key with any
other post of the archive (in any window, deleted or not) or names another channel as its origin.
Every post of a statement of any window is flagged (it shares a key inside the window), so a stale
flag (an edit that took the shared text away, a partner now deleted) costs one row read, never a
wrong figure. Whether a post is its channel's own changes only when the channel gains a key
(storage/channels.py only ever fills a missing tg_id or username in), which can turn a flagged
"forward" into an own post, never the other way.

Invariant kept by every writer here (`new_flags`, `mark_rows`, `assign_clusters`): the posts of a group
of two or more (one origin key, one folding content hash, one folding cluster) are all flagged. A
post joining such a group then needs only its own flag; one joining a single post flags that one
too. So the cost per new post is two index probes, not a walk over a widely copied statement's posts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import sqlite_utils

from bot.core.statements import TRIVIAL_MARK, content_folds
from storage.in_lists import rows_in

_FOLDS = f"substr(content_hash, 1, 1) != '{TRIVIAL_MARK}'"
FILL_BATCH = 5000
_TERMS = 400  # clusters per UNION ALL of per-cluster LIMITs: under SQLite's 500 compound terms

# (post id, channel id, origin key, content hash, cluster id) of a stored post
CarriedRow = tuple[int, int, str, str, int | None]


def _own(origin_key: str, keys: tuple[str, ...]) -> bool:
    """Whether the origin key names the post's own channel (as bot/core/spread.py tells own from forward)."""
    cut = origin_key.rfind("/")
    return cut >= 0 and origin_key[:cut] in keys


def _channel_keys(conn: sqlite3.Connection, channel_ids: set[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, tuple[str, ...]] = {}
    for channel_id, tg_id, username in rows_in(
        conn, "SELECT id, tg_id, username FROM channels WHERE id IN ({in})", sorted(channel_ids)
    ):
        found[channel_id] = tuple(
            k for k in (f"tg:{tg_id}" if tg_id is not None else "", f"@{username}" if username else "") if k
        )
    return found


def _group_sizes(conn: sqlite3.Connection, column: str, values: Sequence[object], *, least: int) -> dict[object, int]:
    """How many posts of the archive hold each of `values` in `column` (those held by `least` or more).

    Reads only the column's index: a cluster's members are not told apart by their text here."""
    sql = f"SELECT {column}, count(*) FROM posts WHERE {column} IN ({{in}}) GROUP BY {column} HAVING count(*) >= ?"
    return dict(rows_in(conn, sql, values, [least]))


def _folding_sizes(conn: sqlite3.Connection, clusters: Sequence[object]) -> dict[object, int]:
    """Members whose text folds, of clusters the index says have two or more (reads their rows)."""
    sql = f"SELECT cluster_id, count(*) FROM posts WHERE cluster_id IN ({{in}}) AND {_FOLDS} GROUP BY cluster_id"
    return dict(rows_in(conn, sql, clusters))


Partner = tuple[str, object]  # (column, value): a group whose one earlier post is to be flagged


def _decide(
    conn: sqlite3.Connection, rows: Sequence[tuple[int, str, str, int | None]], *, stored: bool
) -> tuple[list[bool], list[Partner]]:
    """Per row (channel id, origin key, content hash, cluster id): flag it or not; and the groups whose
    one earlier post must be flagged too (they had one post before these rows: not flagged yet).

    `stored`: the rows are in the archive already (their own posts are counted by the queries)."""
    keys = _channel_keys(conn, {r[0] for r in rows})
    flags = [not _own(r[1], keys.get(r[0], ())) for r in rows]
    groups: list[tuple[str, dict[object, list[int]]]] = [("origin_key", {}), ("content_hash", {}), ("cluster_id", {})]
    for index, (_, origin, digest, cluster) in enumerate(rows):
        groups[0][1].setdefault(origin, []).append(index)
        if content_folds(digest):
            groups[1][1].setdefault(digest, []).append(index)
            if cluster is not None:
                groups[2][1].setdefault(cluster, []).append(index)
    partners: list[Partner] = []
    for column, members in groups:
        if not members:
            continue
        sizes = _group_sizes(conn, column, list(members), least=2 if stored else 1)
        if column == "cluster_id" and sizes:
            sizes = _folding_sizes(conn, list(sizes))
        for value, indexes in members.items():
            before = sizes.get(value, 0) - (len(indexes) if stored else 0)  # posts of the group not in `rows`
            if before + len(indexes) < 2:
                continue
            for index in indexes:
                flags[index] = True
            if before == 1:  # the group's first pair: its earlier post is flagged now
                partners.append((column, value))
    return flags, partners


def new_flags(db: sqlite_utils.Database, rows: Sequence[tuple[int, str, str]]) -> tuple[list[bool], list[Partner]]:
    """For posts about to be inserted, (channel id, origin key, content hash) each: their `carried`
    values, and what `flag_partners` must flag once they are in (inside the same transaction)."""
    return _decide(db.conn, [(*r, None) for r in rows], stored=False)


def flag_partners(db: sqlite_utils.Database, partners: Sequence[Partner]) -> None:
    for column, value in partners:
        folds = f" AND {_FOLDS}" if column == "cluster_id" else ""
        db.conn.execute(f"UPDATE posts SET carried = 1 WHERE {column} = ? AND carried = 0{folds}", [value])


def mark_rows(db: sqlite_utils.Database, rows: Sequence[CarriedRow]) -> None:
    """Flag stored posts (id, channel id, origin key, content hash, cluster id) that fold with another
    post or forward one, and any group's one earlier post. For posts already written (an edit, a
    re-cleaning, the schema upgrade); new posts get their flag in their INSERT (`new_flags`)."""
    if not rows:
        return
    flags, partners = _decide(db.conn, [r[1:] for r in rows], stored=True)
    db.conn.executemany(
        "UPDATE posts SET carried = 1 WHERE id = ? AND carried = 0",
        [(r[0],) for r, flag in zip(rows, flags, strict=True) if flag],
    )
    flag_partners(db, partners)


def mark_posts(db: sqlite_utils.Database, post_ids: Sequence[int]) -> None:
    """`mark_rows` for posts by id, their values read back (an edit, a re-cleaning: a few posts)."""
    sql = "SELECT id, channel_id, origin_key, content_hash, cluster_id FROM posts WHERE id IN ({in})"
    rows: list[CarriedRow] = rows_in(db.conn, sql, list(dict.fromkeys(post_ids)))
    mark_rows(db, rows)


def _other_members(
    conn: sqlite3.Connection, clusters: Sequence[int], batch: dict[int, int | None]
) -> dict[int, list[int]]:
    """Up to two posts of each cluster whose text folds, outside `batch` (post id -> its cluster now).

    The cluster's index is read, never a widely copied statement's rows: each cluster's LIMIT is two
    more than the batch's posts in it (a UNION ALL of per-cluster LIMITs: SQLite allows 500 terms)."""
    inside: dict[int, int] = {}
    for cluster in batch.values():
        if cluster is not None:
            inside[cluster] = inside.get(cluster, 0) + 1
    wanted = list(dict.fromkeys(clusters))
    found: dict[int, list[int]] = {cluster: [] for cluster in wanted}
    one = f"SELECT cluster_id, id FROM posts WHERE cluster_id = ? AND {_FOLDS} LIMIT ?"
    for start in range(0, len(wanted), _TERMS):
        chunk = wanted[start : start + _TERMS]
        rows = conn.execute(
            " UNION ALL ".join([f"SELECT * FROM ({one}) AS m"] * len(chunk)),
            [v for cluster in chunk for v in (cluster, 2 + inside.get(cluster, 0))],
        ).fetchall()
        for cluster, post_id in rows:
            if post_id not in batch and len(found[cluster]) < 2:
                found[cluster].append(post_id)
    return found


def assign_clusters(db: sqlite_utils.Database, pairs: Sequence[tuple[int, int | None]]) -> list[int]:
    """Give these posts these clusters, in order (`None`: the cluster the post has, or its own id), and
    keep the flags: a post whose text folds is flagged when its cluster holds another such post, and
    that other one too when it was the only one (the invariant above). Returns the clusters given.

    A batch in a few statements (each a round trip on PostgreSQL) with the outcome of giving the
    clusters one post at a time: the batch's rows and at most two other folding posts of each
    cluster are read first, then each post sees the clusters as the posts before it left them."""
    ids = list(dict.fromkeys(post_id for post_id, _ in pairs))
    now: dict[int, int | None] = {}  # the batch's posts: cluster, then carried, as each post leaves them
    carried: dict[int, int] = {}
    folds: set[int] = set()
    for post_id, cluster, flag, digest in rows_in(
        db.conn, "SELECT id, cluster_id, carried, content_hash FROM posts WHERE id IN ({in})", ids
    ):
        now[post_id], carried[post_id] = cluster, int(flag)
        if content_folds(digest):
            folds.add(post_id)
    before = {post_id: (now[post_id], carried[post_id]) for post_id in now}
    given = [(post_id, cluster if cluster is not None else (now.get(post_id) or post_id)) for post_id, cluster in pairs]
    outside = _other_members(db.conn, [cluster for _, cluster in given], now)
    members: dict[int | None, set[int]] = {}  # the batch's folding posts by the cluster they have now
    for post_id in folds:
        members.setdefault(now[post_id], set()).add(post_id)
    partners: set[int] = set()
    for post_id, cluster in given:
        inside = members.get(cluster, set()) - {post_id}
        others = min(2, len(outside[cluster]) + len(inside))
        if others and post_id in folds:
            carried[post_id] = 1
            if others == 1:  # the cluster's first pair: its earlier post is flagged now
                partners.update(outside[cluster])
                carried.update(dict.fromkeys(inside, 1))
        if post_id in folds:
            members[now[post_id]].discard(post_id)
            members.setdefault(cluster, set()).add(post_id)
        if post_id in now:
            now[post_id] = cluster
    db.conn.executemany(
        "UPDATE posts SET cluster_id = ?, carried = ? WHERE id = ?",
        [(now[i], carried[i], i) for i in now if (now[i], carried[i]) != before[i]],
    )
    db.conn.executemany("UPDATE posts SET carried = 1 WHERE id = ? AND carried = 0", [(i,) for i in sorted(partners)])
    return [cluster for _, cluster in given]


def fill(db: sqlite_utils.Database, *, batch: int = FILL_BATCH) -> int:
    """Flag every post of an archive from scratch (the schema upgrade; benchmarks that write rows
    directly). Reads the keys in (date, id) order from the covering index posts_keys, `batch` posts
    at a time; returns how many posts are flagged."""
    conn = db.conn
    last: tuple[str, int] = ("", 0)
    while True:
        found = conn.execute(
            "SELECT date, id, channel_id, origin_key, content_hash, cluster_id FROM posts "
            "WHERE (date, id) > (?, ?) ORDER BY date, id LIMIT ?",
            [*last, batch],
        ).fetchall()
        if not found:
            break
        mark_rows(db, [r[1:] for r in found])
        last = (found[-1][0], found[-1][1])
    return int(conn.execute("SELECT count(*) FROM posts WHERE carried = 1").fetchone()[0])
