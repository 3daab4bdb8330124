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
from collections import Counter
from collections.abc import Sequence
from itertools import chain

from storage.signatures import Candidate, Signatures


class BatchView:
    def __init__(
        self, rows: Signatures, keys: Sequence[int], *, per_key: int, forgets: int, ts_from: int, ts_to: int
    ) -> None:
        self.rows = rows
        self.per_key = per_key
        # Post ids under each key that has any, ascending (the newest last): a list, or a key only this
        # batch's posts brought, while one post has it, that post's id (a batch adds ~13,000 keys, and
        # as many one-element lists kept the garbage collector busy). `signed`: their rows within the
        # batch's windows.
        self.postings: dict[int, list[int] | int] = dict(rows.newest(keys, per_key + forgets))
        self.signed = rows.signed_between(
            [i for ids in self.postings.values() if isinstance(ids, list) for i in ids], ts_from, ts_to
        )
        self.forgotten: list[tuple[int, int]] = []  # (band key, post id)
        self.forgotten_posts: list[int] = []
        self.added: dict[int, tuple[Candidate, Sequence[int]]] = {}

    def candidates(
        self, keys: Sequence[int], *, ts_from: int, ts_to: int, exclude: int, lead: int | None, limit: int
    ) -> list[Candidate]:
        """What `Signatures` held for this query at this point of the batch (ties: the lower post id first).

        Each post's score is the keys whose newest `per_key` ids hold it, 101 for the lead key: counted
        in C over the keys' ids (near-duplicates share many keys, so a post id comes up under many),
        then each distinct post checked once against the window, not once per key."""
        slices: list[tuple[int, Sequence[int]]] = []
        for key in keys:
            ids = self.postings.get(key)
            if ids is not None:
                slices.append((key, (ids,) if isinstance(ids, int) else ids[-self.per_key :]))
        if not slices:
            return []
        score = Counter(chain.from_iterable(newest for _, newest in slices))
        if lead is not None:
            for key, newest in slices:
                if key == lead:
                    score.update(dict.fromkeys(newest, 100))
        signed = self.signed
        kept = []
        for post_id in score:
            found = signed.get(post_id)
            if found is not None and post_id != exclude and ts_from <= found.ts <= ts_to:
                kept.append((-score[post_id], -found.ts, post_id, found))
        kept.sort()
        return [found for *_, found in kept[:limit]]

    def forget(self, post_id: int, keys: Sequence[int]) -> None:
        for key in keys:
            self.forgotten.append((key, post_id))
            ids = self.postings.get(key)
            if isinstance(ids, int):
                if ids == post_id:
                    del self.postings[key]
            elif ids is not None and post_id in ids:
                ids.remove(post_id)
        self.forgotten_posts.append(post_id)
        self.signed.pop(post_id, None)
        self.added.pop(post_id, None)

    def add(self, row: Candidate, keys: Sequence[int]) -> None:
        post_id = row.post_id
        for key in keys:
            ids = self.postings.get(key)
            if ids is None:
                self.postings[key] = post_id
            elif isinstance(ids, int):
                if ids != post_id:
                    self.postings[key] = [ids, post_id] if ids < post_id else [post_id, ids]
            else:
                at = bisect.bisect_left(ids, post_id)
                if at == len(ids) or ids[at] != post_id:
                    ids.insert(at, post_id)
        self.signed[post_id] = row
        self.added[post_id] = (row, keys)

    def write(self) -> None:
        """The batch's changes, forgotten rows first (a post signed again keeps the band keys it shares)."""
        if self.forgotten_posts:
            self.rows.forget(self.forgotten, self.forgotten_posts)
        self.rows.add_many(list(self.added.values()))
