"""Near-duplicate index tables (post_signatures, post_bands) and posts.cluster_id: storage only.

What a signature is and when two match is `bot.core.neardup`'s; which posts to sign and how to pick a
cluster is `bot.app.neardup_index`'s. This module stores and finds rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from itertools import chain, repeat
from typing import NamedTuple

import sqlite_utils

from storage.carried import assign_clusters
from storage.db import transaction
from storage.in_lists import chunks, rows_in

PARAMS_META_KEY = "neardup_params"
# The newest rows under each key of a JSON array: a key's rows from its `count`-th newest post id up
# (CROSS JOIN: the keys drive, each a seek in post_bands' primary key).
_NEWEST_SQLITE = (
    "SELECT k.value, b.post_id FROM {keys} AS k CROSS JOIN post_bands AS b ON b.band_key = k.value "
    "WHERE b.post_id >= coalesce((SELECT post_id FROM post_bands WHERE band_key = k.value "
    "ORDER BY post_id DESC LIMIT 1 OFFSET ?), -9223372036854775808)"
)
_NEWEST_JSON = _NEWEST_SQLITE.replace("{keys}", "json_each(?)")
# The same for an SQLite built without its JSON functions (before 3.38 they were optional): the keys
# as a VALUES list, in chunks of bounded length.
_NEWEST_VALUES = "WITH keys(value) AS (VALUES {rows}) " + _NEWEST_SQLITE.replace("{keys}", "keys")


class SignatureRow(NamedTuple):
    sig: bytes
    shingles: int
    marks: str
    lead: int | None


class Candidate(NamedTuple):
    post_id: int
    ts: int
    cluster_id: int
    row: SignatureRow


class Signatures:
    def __init__(self, db: sqlite_utils.Database, *, json_keys: bool | None = None) -> None:
        """`json_keys`: hand band keys to SQLite as one JSON array (None: when this SQLite has json_each)."""
        self.db = db
        self.json_keys = _has_json_each(db) if json_keys is None else json_keys

    def reset_if_params_changed(self, fingerprint: str) -> bool:
        """Signatures made with other parameters cannot be compared: drop them. True if dropped."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [PARAMS_META_KEY]).fetchone()
        if row is not None and row[0] == fingerprint:
            return False
        with transaction(self.db):
            if row is not None:
                self.db.execute("DELETE FROM post_bands")
                self.db.execute("DELETE FROM post_signatures")
            self.db.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [PARAMS_META_KEY, fingerprint],
            )
        return row is not None

    def posts(self, post_ids: Sequence[int]) -> list[tuple[int, int, str, str]]:
        """(id, channel_id, date, text) of these posts, in no particular order."""
        return rows_in(self.db, "SELECT id, channel_id, date, text FROM posts WHERE id IN ({in})", post_ids)

    def get_many(self, post_ids: Sequence[int]) -> dict[int, SignatureRow]:
        """The stored signatures of these posts (those that have one), by post id."""
        sql = "SELECT post_id, sig, shingles, marks, lead FROM post_signatures WHERE post_id IN ({in})"
        return {r[0]: SignatureRow(*r[1:]) for r in rows_in(self.db, sql, list(dict.fromkeys(post_ids)))}

    def newest(self, keys: Sequence[int], count: int) -> dict[int, list[int]]:
        """The newest `count` post ids under each band key that has rows, ascending (the newest last).

        One statement for the whole list rather than one per post: a key that half the window shares
        says little, so only its newest rows are read. On SQLite the keys go in as one JSON array
        (`json_each`) and each key's rows are those from its `count`-th newest up (a correlated
        OFFSET, read only for keys that have rows): most of a batch's keys have none, and a
        UNION ALL of per-key LIMITs cost three times as much (compiling 400-term statements,
        bench/ingest.md, fourth pass). Keys without rows are left out: a batch asks for ~13,000
        keys, and as many empty lists made the garbage collector run more often."""
        distinct = list(dict.fromkeys(keys))
        if not distinct or count < 1:
            return {}
        if getattr(self.db, "dialect", "sqlite") == "postgresql":
            # One plan for the whole list: PostgreSQL plans a 400-term UNION ALL for ~0.1 s, a LATERAL
            # join over the array once (the same per-key index scans).
            rows = self.db.execute(
                "SELECT k.key, b.post_id FROM unnest(?::bigint[]) AS k(key) CROSS JOIN LATERAL "
                "(SELECT post_id FROM post_bands WHERE band_key = k.key ORDER BY post_id DESC LIMIT ?) AS b",
                [distinct, count],
            ).fetchall()
        elif self.json_keys:
            rows = self.db.execute(_NEWEST_JSON, [json.dumps(distinct), count - 1]).fetchall()
        else:
            rows = []
            for chunk in chunks(distinct):
                sql = _NEWEST_VALUES.replace("{rows}", ",".join(["(?)"] * len(chunk)))
                rows += self.db.execute(sql, [*chunk, count - 1]).fetchall()
        found: dict[int, list[int]] = {}
        for key, post_id in rows:
            found.setdefault(key, []).append(post_id)
        for ids in found.values():
            ids.sort()
        return found

    def signed_between(self, post_ids: Sequence[int], ts_from: int, ts_to: int) -> dict[int, Candidate]:
        """The signature rows of these posts dated from `ts_from` to `ts_to`, by post id."""
        sql = (
            "SELECT post_id, ts, cluster_id, sig, shingles, marks, lead FROM post_signatures "
            "WHERE post_id IN ({in}) AND ts BETWEEN ? AND ?"
        )
        rows = rows_in(self.db, sql, list(dict.fromkeys(post_ids)), [ts_from, ts_to])
        return {r[0]: Candidate(r[0], r[1], r[2], SignatureRow(*r[3:])) for r in rows}

    def add_many(self, rows: Sequence[tuple[Candidate, Sequence[int]]]) -> None:
        """Signature rows with their band keys: two statements for a batch (multi-row on PostgreSQL)."""
        if not rows:
            return
        self.db.conn.executemany(
            "INSERT INTO post_signatures(post_id, ts, cluster_id, shingles, marks, lead, sig) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(c.post_id, c.ts, c.cluster_id, c.row.shingles, c.row.marks, c.row.lead, c.row.sig) for c, _ in rows],
        )
        # An iterator, not a list of ~13,000 tuples: zip hands each pair over and reuses it, so the
        # garbage collector is not set off by a batch's band rows all alive at once.
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO post_bands(band_key, post_id) VALUES (?, ?)",
            chain.from_iterable(zip(keys, repeat(c.post_id)) for c, keys in rows),
        )

    def set_clusters(self, pairs: Sequence[tuple[int, int | None]]) -> list[int]:
        """Give these posts these clusters in order (`None` keeps the cluster a post has, or gives it
        its own id if it has none), with posts.carried (storage/carried.py) in the same writes."""
        return assign_clusters(self.db, pairs)

    def forget(self, bands: Sequence[tuple[int, int]], post_ids: Sequence[int]) -> None:
        """Remove these posts' signature rows and the given (band key, post id) rows."""
        self.db.conn.executemany("DELETE FROM post_bands WHERE band_key = ? AND post_id = ?", bands)
        self.db.conn.executemany("DELETE FROM post_signatures WHERE post_id = ?", [(i,) for i in post_ids])

    def older_than(self, cutoff: int, limit: int) -> list[tuple[int, SignatureRow]]:
        rows = self.db.execute(
            "SELECT post_id, sig, shingles, marks, lead FROM post_signatures WHERE ts < ? LIMIT ?", [cutoff, limit]
        ).fetchall()
        return [(r[0], SignatureRow(*r[1:])) for r in rows]

    def unclustered_since(self, since: str) -> list[int]:
        """Posts no index has seen (saved by a path without one), dated from `since`, oldest first."""
        rows = self.db.execute(
            "SELECT id FROM posts INDEXED BY posts_unclustered "
            "WHERE cluster_id IS NULL AND deleted = 0 AND date >= ? ORDER BY date, id",
            [since],
        ).fetchall()
        return [r[0] for r in rows]

    def counts(self) -> dict[str, int]:
        one = self.db.execute
        return {
            "signatures": one("SELECT count(*) FROM post_signatures").fetchone()[0],
            "band_rows": one("SELECT count(*) FROM post_bands").fetchone()[0],
            "clusters_with_copies": one(
                "SELECT count(*) FROM (SELECT cluster_id FROM posts WHERE cluster_id IS NOT NULL "
                "GROUP BY cluster_id HAVING count(*) > 1)"
            ).fetchone()[0],
        }


def _has_json_each(db: sqlite_utils.Database) -> bool:
    if getattr(db, "dialect", "sqlite") == "postgresql":
        return False
    try:
        db.execute("SELECT count(*) FROM json_each('[1]')").fetchone()
    except sqlite3.OperationalError:
        return False
    return True
