"""Near-duplicate clusters, persisted: signatures and LSH band rows of the posts in a rolling window.

Why in SQLite rather than in memory: the index survives restarts (a copy arriving after a restart
still joins the cluster of the original) and memory stays flat however large the archive grows; the
window (`window_days`, default 14) bounds the disk and is enforced by `prune`, which the maintenance
job calls.  Candidates are also limited to posts dated within the window of the new post, so the
result does not depend on when `prune` last ran.

Each post gets `posts.cluster_id`: the cluster of its earliest verified match, else its own id; the
cluster id is thus the id of the first post of the statement the index saw.  Posts too short to
judge get their own id and no index rows.  An edited post is signed again and re-matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import sqlite_utils

from bot.core.learned_boilerplate import strip_paragraphs
from bot.core.neardup import MinHasher, Signature, pick_cluster
from storage.db import transaction
from storage.learned_boilerplate import LearnedBoilerplate
from storage.store import to_db_time

WINDOW_DAYS = 14
SIGN_SAMPLE = 20  # learned paragraphs are left out of signatures once a channel has this many posts ...
SIGN_SHARE = 0.5  # ... and only those under at least this share of them
PARAMS_META_KEY = "neardup_params"


def _ts(value: str | datetime) -> int:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return int(moment.timestamp())


class NearDupIndex:
    """Assigns `posts.cluster_id` for posts already saved; call `index` inside or after their transaction.

    `boilerplate`, when given, takes each channel's clear sign-offs out of the text before it is
    signed, so two different short posts under the same long footer do not look alike.
    `max_candidates` and `per_key` bound the LSH candidates verified per post (see `_index_one`).
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        hasher: MinHasher | None = None,
        *,
        window_days: int = WINDOW_DAYS,
        boilerplate: LearnedBoilerplate | None = None,
        boilerplate_refresh: int = 100,
        max_candidates: int = 50,
        per_key: int = 32,
    ) -> None:
        if window_days < 1:
            raise ValueError("the near-duplicate window must be at least one day")
        self.db = db
        self.hasher = hasher or MinHasher()
        self.window = timedelta(days=window_days)
        self.boilerplate = boilerplate
        self.boilerplate_refresh = boilerplate_refresh
        self.max_candidates = max_candidates
        self.per_key = per_key
        self._learned: dict[int, tuple[frozenset[str], int, int]] = {}  # keys, posts since, re-read after
        self._check_params()

    def _check_params(self) -> None:
        """Signatures made with other parameters cannot be compared: drop them and start afresh."""
        wanted = self.hasher.params.fingerprint
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [PARAMS_META_KEY]).fetchone()
        if row is not None and row[0] == wanted:
            return
        with transaction(self.db):
            if row is not None:
                self.db.execute("DELETE FROM post_bands")
                self.db.execute("DELETE FROM post_signatures")
            self.db.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [PARAMS_META_KEY, wanted],
            )

    def _learned_keys(self, channel_id: int) -> frozenset[str]:
        """The channel's clear sign-offs: learned paragraphs under at least half of `SIGN_SAMPLE`+ posts.

        Stricter than what display hides: a copy signed with a paragraph stripped and its original
        signed without it look less alike, so only what is certain to be boilerplate is left out
        (a formula sentence under a fifth of a young channel's posts is not).  Re-read every
        `boilerplate_refresh` posts, or after a quarter of its size again while the channel is young.
        """
        if self.boilerplate is None:
            return frozenset()
        keys, age, every = self._learned.get(channel_id, (frozenset(), 0, 0))
        if age >= every:
            learned, sampled = self.boilerplate.sample(channel_id)
            sure = sampled >= SIGN_SAMPLE
            keys = frozenset(p.key for p in learned if sure and p.share >= SIGN_SHARE)
            age, every = 0, self.boilerplate_refresh if sampled >= self.boilerplate.recent else sampled // 4
        self._learned[channel_id] = (keys, age + 1, every)
        return keys

    # ------------------------------------------------------------------ writes
    def index(self, post_ids: Iterable[int]) -> dict[int, int]:
        """Cluster these saved posts (new or edited), oldest first; returns post id -> cluster id."""
        ids = list(dict.fromkeys(post_ids))
        rows: list[tuple[int, int, str, str]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows += self.db.execute(
                f"SELECT id, channel_id, date, text FROM posts WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            ).fetchall()
        rows.sort(key=lambda r: (r[2], r[0]))
        clusters: dict[int, int] = {}
        with transaction(self.db):
            for post_id, channel_id, date, text in rows:
                text = strip_paragraphs(text, self._learned_keys(channel_id))
                clusters[post_id] = self._index_one(post_id, _ts(date), text)
        return clusters

    def _index_one(self, post_id: int, ts: int, text: str) -> int:
        db = self.db
        signature = self.hasher.signature(text)
        old = db.execute(
            "SELECT sig, shingles, marks, lead FROM post_signatures WHERE post_id = ?", [post_id]
        ).fetchone()
        if old is not None:
            stored = Signature.from_row(*old)
            if stored == signature:
                return self._set_cluster(post_id, None)
            self._forget([stored], [post_id])
        if signature is None:
            return self._set_cluster(post_id, post_id)
        keys = self.hasher.band_keys(signature)
        window = int(self.window.total_seconds())
        # Candidates: the newest `per_key` posts under each band key (a key that half the window shares
        # says little), ranked by how many bands they share (the same opening counts as many), the first
        # `max_candidates` verified.  Both limits keep the cost per post flat however alike the window's
        # posts are; CROSS JOIN keeps SQLite from starting at the ts index (a scan of the window).
        newest = "SELECT band_key, post_id FROM post_bands WHERE band_key = ? ORDER BY post_id DESC LIMIT ?"
        postings = " UNION ALL ".join([f"SELECT * FROM ({newest})"] * len(keys))
        candidates = db.execute(
            "SELECT s.post_id, s.ts, s.cluster_id, s.sig, s.shingles, s.marks, s.lead "
            f"FROM ({postings}) b CROSS JOIN post_signatures s ON s.post_id = b.post_id "
            "WHERE s.ts BETWEEN ? AND ? AND s.post_id != ? GROUP BY s.post_id "
            "ORDER BY count(*) + 100 * coalesce(sum(b.band_key = ?), 0) DESC, s.ts DESC LIMIT ?",
            [
                *(v for key in keys for v in (key, self.per_key)),
                *(ts - window, ts + window, post_id, signature.lead, self.max_candidates),
            ],
        ).fetchall()
        matches = [
            (c_ts, c_id, c_cluster)
            for c_id, c_ts, c_cluster, *stored in candidates
            if self.hasher.matches_row(signature, *stored)
        ]
        cluster = pick_cluster(matches) or post_id
        db.execute(
            "INSERT INTO post_signatures(post_id, ts, cluster_id, shingles, marks, lead, sig) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [post_id, ts, cluster, signature.shingles, signature.marks, signature.lead, signature.to_bytes()],
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO post_bands(band_key, post_id) VALUES (?, ?)", [(k, post_id) for k in keys]
        )
        return self._set_cluster(post_id, cluster)

    def _set_cluster(self, post_id: int, cluster: int | None) -> int:
        """`None` keeps the cluster the post has (or gives it its own id if it has none)."""
        if cluster is None:
            row = self.db.execute("SELECT cluster_id FROM posts WHERE id = ?", [post_id]).fetchone()
            cluster = row[0] if row and row[0] is not None else post_id
        self.db.execute(
            "UPDATE posts SET cluster_id = ? WHERE id = ? AND cluster_id IS NOT ?", [cluster, post_id, cluster]
        )
        return cluster

    def _forget(self, signatures: Sequence[Signature], post_ids: Sequence[int]) -> None:
        """Remove these posts' rows; their band rows are found again from the stored signatures."""
        bands = [
            (key, post_id)
            for signature, post_id in zip(signatures, post_ids, strict=True)
            for key in self.hasher.band_keys(signature)
        ]
        self.db.conn.executemany("DELETE FROM post_bands WHERE band_key = ? AND post_id = ?", bands)
        self.db.conn.executemany("DELETE FROM post_signatures WHERE post_id = ?", [(i,) for i in post_ids])

    def prune(self, now: datetime, *, chunk: int = 2000) -> int:
        """Drop index rows of posts dated before `now - window`; their cluster ids stay on the posts."""
        cutoff = _ts(now - self.window)
        removed = 0
        while True:
            with transaction(self.db):
                rows = self.db.execute(
                    "SELECT post_id, sig, shingles, marks, lead FROM post_signatures WHERE ts < ? LIMIT ?",
                    [cutoff, chunk],
                ).fetchall()
                self._forget([Signature.from_row(*r[1:]) for r in rows], [r[0] for r in rows])
            removed += len(rows)
            if len(rows) < chunk:
                return removed

    def catch_up(self, now: datetime) -> int:
        """Cluster posts inside the window that no indexer has seen (saved by a path without one)."""
        rows = self.db.execute(
            "SELECT id FROM posts INDEXED BY posts_unclustered "
            "WHERE cluster_id IS NULL AND deleted = 0 AND date >= ? ORDER BY date, id",
            [to_db_time(now - self.window)],
        ).fetchall()
        return len(self.index(r[0] for r in rows))

    # ------------------------------------------------------------------- reads
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
