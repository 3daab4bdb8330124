"""Near-duplicate index tables (post_signatures, post_bands) and posts.cluster_id: storage only.

What a signature is and when two match is `bot.core.neardup`'s; which posts to sign and how to pick a
cluster is `bot.app.neardup_index`'s. This module stores and finds rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlite_utils

from storage.db import transaction

PARAMS_META_KEY = "neardup_params"


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
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

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
        rows: list[tuple[int, int, str, str]] = []
        for start in range(0, len(post_ids), 500):
            chunk = list(post_ids[start : start + 500])
            rows += self.db.execute(
                f"SELECT id, channel_id, date, text FROM posts WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
        return rows

    def get(self, post_id: int) -> SignatureRow | None:
        row = self.db.execute(
            "SELECT sig, shingles, marks, lead FROM post_signatures WHERE post_id = ?", [post_id]
        ).fetchone()
        return SignatureRow(*row) if row is not None else None

    def candidates(
        self, keys: Sequence[int], *, per_key: int, ts_from: int, ts_to: int, exclude: int, lead: int | None, limit: int
    ) -> list[Candidate]:
        """The newest `per_key` posts under each band key, ranked by bands shared (the lead counts 100).

        A key that half the window shares says little, hence `per_key`; CROSS JOIN keeps SQLite from
        starting at the ts index (a scan of the window).
        """
        newest = "SELECT band_key, post_id FROM post_bands WHERE band_key = ? ORDER BY post_id DESC LIMIT ?"
        postings = " UNION ALL ".join([f"SELECT * FROM ({newest})"] * len(keys))
        rows = self.db.execute(
            "SELECT s.post_id, s.ts, s.cluster_id, s.sig, s.shingles, s.marks, s.lead "
            f"FROM ({postings}) b CROSS JOIN post_signatures s ON s.post_id = b.post_id "
            "WHERE s.ts BETWEEN ? AND ? AND s.post_id != ? GROUP BY s.post_id "
            "ORDER BY count(*) + 100 * coalesce(sum(CASE WHEN b.band_key = ? THEN 1 ELSE 0 END), 0) DESC, "
            "s.ts DESC LIMIT ?",
            [*(v for key in keys for v in (key, per_key)), ts_from, ts_to, exclude, lead, limit],
        ).fetchall()
        return [Candidate(r[0], r[1], r[2], SignatureRow(*r[3:])) for r in rows]

    def add(self, post_id: int, ts: int, cluster_id: int, row: SignatureRow, keys: Sequence[int]) -> None:
        self.db.execute(
            "INSERT INTO post_signatures(post_id, ts, cluster_id, shingles, marks, lead, sig) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [post_id, ts, cluster_id, row.shingles, row.marks, row.lead, row.sig],
        )
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO post_bands(band_key, post_id) VALUES (?, ?)", [(k, post_id) for k in keys]
        )

    def set_cluster(self, post_id: int, cluster: int | None) -> int:
        """`None` keeps the cluster the post has (or gives it its own id if it has none)."""
        if cluster is None:
            row = self.db.execute("SELECT cluster_id FROM posts WHERE id = ?", [post_id]).fetchone()
            cluster = row[0] if row and row[0] is not None else post_id
        self.db.execute(
            "UPDATE posts SET cluster_id = ? WHERE id = ? AND cluster_id IS NOT ?", [cluster, post_id, cluster]
        )
        return cluster

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
