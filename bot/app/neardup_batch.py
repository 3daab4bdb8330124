"""The near-duplicate index's rows as one batch of posts sees them: read in a few statements, then in memory.

Why: asking for each post's candidates and writing its rows one post at a time was five statements a
post, each a round trip on PostgreSQL and the main cost of ingest there (bench/backends.md). A batch
reads the newest rows under all its band keys at once and writes its own rows at the end; its posts
are still matched in order, against the archive and against the batch's earlier posts, because the
view applies each post's changes (its old rows forgotten, its new rows added) before the next post
looks. The candidates are those the per-post query gave: the newest `per_key` rows under each key
(read `per_key` plus one per post that may forget its rows, so a forgotten row never hides one
below it), dated within the post's window, ranked by bands shared with the lead counting 100.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from storage.signatures import Candidate, Signatures


class BatchView:
    def __init__(
        self, rows: Signatures, keys: Sequence[int], *, per_key: int, forgets: int, ts_from: int, ts_to: int
    ) -> None:
        self.rows = rows
        self.per_key = per_key
        # post ids under each key, ascending (the newest last); `signed` their rows within the batch's windows
        self.postings = {key: ids[::-1] for key, ids in rows.newest(keys, per_key + forgets).items()}
        self.signed = rows.signed_between([i for ids in self.postings.values() for i in ids], ts_from, ts_to)
        self.forgotten: list[tuple[int, int]] = []  # (band key, post id)
        self.forgotten_posts: list[int] = []
        self.added: dict[int, tuple[Candidate, Sequence[int]]] = {}

    def candidates(
        self, keys: Sequence[int], *, ts_from: int, ts_to: int, exclude: int, lead: int | None, limit: int
    ) -> list[Candidate]:
        """What `Signatures` held for this query at this point of the batch (ties: the lower post id first)."""
        score: dict[int, int] = {}
        for key in keys:
            for post_id in self.postings.get(key, [])[-self.per_key :]:
                found = self.signed.get(post_id)
                if found is None or post_id == exclude or not ts_from <= found.ts <= ts_to:
                    continue
                score[post_id] = score.get(post_id, 0) + (101 if key == lead else 1)
        ranked = sorted(score, key=lambda post_id: (-score[post_id], -self.signed[post_id].ts, post_id))
        return [self.signed[post_id] for post_id in ranked[:limit]]

    def forget(self, post_id: int, keys: Sequence[int]) -> None:
        for key in keys:
            self.forgotten.append((key, post_id))
            ids = self.postings.get(key)
            if ids is not None and post_id in ids:
                ids.remove(post_id)
        self.forgotten_posts.append(post_id)
        self.signed.pop(post_id, None)
        self.added.pop(post_id, None)

    def add(self, row: Candidate, keys: Sequence[int]) -> None:
        for key in keys:
            ids = self.postings.setdefault(key, [])
            at = bisect.bisect_left(ids, row.post_id)
            if at == len(ids) or ids[at] != row.post_id:
                ids.insert(at, row.post_id)
        self.signed[row.post_id] = row
        self.added[row.post_id] = (row, keys)

    def write(self) -> None:
        """The batch's changes, forgotten rows first (a post signed again keeps the band keys it shares)."""
        if self.forgotten_posts:
            self.rows.forget(self.forgotten, self.forgotten_posts)
        self.rows.add_many(list(self.added.values()))
