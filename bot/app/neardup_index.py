"""Near-duplicate clusters as posts arrive: sign each saved post, find its matches, give it a cluster.

Persisted in SQLite (storage/signatures.py) rather than in memory: the index survives restarts (a copy
arriving after a restart still joins the cluster of the original) and memory stays flat however large
the archive grows; the window (`window_days`, default 14) bounds the disk and is enforced by `prune`,
which the maintenance job calls. Candidates are also limited to posts dated within the window of the
new post, so the result does not depend on when `prune` last ran.

Each post gets `posts.cluster_id`: the cluster of its earliest verified match, else its own id; the
cluster id is thus the id of the first post of the statement the index saw. Posts too short to judge
get their own id and no index rows. An edited post is signed again and re-matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.app.channel_boilerplate import LearnedBoilerplate
from bot.app.neardup_batch import BatchView
from bot.core.learned_boilerplate import strip_paragraphs
from bot.core.neardup import MinHasher, Signature, pick_cluster
from storage.signatures import Candidate, SignatureRow, Signatures
from storage.store import Store
from storage.timefmt import to_db_time

WINDOW_DAYS = 14
SIGN_SAMPLE = 20  # learned paragraphs are left out of signatures once a channel has this many posts ...
SIGN_SHARE = 0.5  # ... and only those under at least this share of them


def _ts(value: str | datetime) -> int:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return int(moment.timestamp())


def _row(signature: Signature) -> SignatureRow:
    return SignatureRow(signature.to_bytes(), signature.shingles, signature.marks, signature.lead)


def _signature(row: SignatureRow) -> Signature:
    return Signature.from_row(row.sig, row.shingles, row.marks, row.lead)


class NearDupIndex:
    """Assigns `posts.cluster_id` for posts already saved; call `index` inside or after their transaction.

    `boilerplate`, when given, takes each channel's clear sign-offs out of the text before it is
    signed, so two different short posts under the same long footer do not look alike.
    `max_candidates` and `per_key` bound the LSH candidates verified per post (see `_match`).
    """

    def __init__(
        self,
        store: Store,
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
        self.store = store
        self.rows: Signatures = store.signatures
        self.hasher = hasher or MinHasher()
        self.window = timedelta(days=window_days)
        self.boilerplate = boilerplate
        self.boilerplate_refresh = boilerplate_refresh
        self.max_candidates = max_candidates
        self.per_key = per_key
        self._learned: dict[int, tuple[frozenset[str], int, int]] = {}  # keys, posts since, re-read after
        self.rows.reset_if_params_changed(self.hasher.params.fingerprint)

    def _learned_keys(self, channel_id: int) -> frozenset[str]:
        """The channel's clear sign-offs: learned paragraphs under at least half of `SIGN_SAMPLE`+ posts.

        Stricter than what display hides: a copy signed with a paragraph stripped and its original
        signed without it look less alike, so only what is certain to be boilerplate is left out
        (a formula sentence under a fifth of a young channel's posts is not). Re-read every
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
    def index(self, post_ids: Iterable[int], *, signed: Mapping[str, Signature | None] | None = None) -> dict[int, int]:
        """Cluster these saved posts (new or edited), oldest first; returns post id -> cluster id.

        `signed`: signatures already computed by this hasher, by the text signed (the ingest worker
        signs each post's text; a text that learned boilerplate shortens is signed here again)."""
        rows = self.rows.posts(list(dict.fromkeys(post_ids)))
        rows.sort(key=lambda r: (r[2], r[0]))
        clusters: dict[int, int] = {}
        known = signed or {}
        with self.store.transaction():
            work: list[tuple[int, int, Signature | None]] = []
            for post_id, channel_id, date, text in rows:
                text = strip_paragraphs(text, self._learned_keys(channel_id))
                work.append((post_id, _ts(date), known[text] if text in known else self.hasher.signature(text)))
            matched = self._match(work)
            clusters.update(zip((post_id for post_id, _ in matched), self.rows.set_clusters(matched), strict=True))
        return clusters

    def _match(self, work: Sequence[tuple[int, int, Signature | None]]) -> list[tuple[int, int | None]]:
        """Each post's cluster, oldest first (`None`: its signature is unchanged, it keeps its cluster).

        The batch's index rows are read once and written once (bot/app/neardup_batch.py); each post
        is matched as if the posts before it had been written already."""
        olds = {i: _signature(row) for i, row in self.rows.get_many([w[0] for w in work]).items()}
        keyed = [(*w, self.hasher.band_keys(w[2]) if w[2] is not None else []) for w in work]
        window = int(self.window.total_seconds())
        view = BatchView(
            self.rows,
            [key for *_, keys in keyed for key in keys],
            per_key=self.per_key,
            forgets=sum(1 for post_id, _, signature in work if post_id in olds and olds[post_id] != signature),
            ts_from=min((ts for _, ts, _ in work), default=0) - window,
            ts_to=max((ts for _, ts, _ in work), default=0) + window,
        )
        found: list[tuple[int, int | None]] = []
        for post_id, ts, signature, keys in keyed:
            stored = olds.get(post_id)
            if stored is not None:
                if stored == signature:
                    found.append((post_id, None))
                    continue
                view.forget(post_id, self.hasher.band_keys(stored))
            if signature is None:
                found.append((post_id, post_id))
                continue
            # Candidates: the newest `per_key` posts under each band key, ranked by how many bands they
            # share (the same opening counts as many), the first `max_candidates` verified. Both limits
            # keep the cost per post flat however alike the window's posts are.
            candidates = view.candidates(
                keys,
                ts_from=ts - window,
                ts_to=ts + window,
                exclude=post_id,
                lead=signature.lead,
                limit=self.max_candidates,
            )
            verdicts = self.hasher.matching_rows(signature, [c.row for c in candidates])
            matches = [(c.ts, c.post_id, c.cluster_id) for c, ok in zip(candidates, verdicts, strict=True) if ok]
            cluster = pick_cluster(matches) or post_id
            view.add(Candidate(post_id, ts, cluster, _row(signature)), keys)
            found.append((post_id, cluster))
        view.write()
        return found

    def _forget(self, signatures: Sequence[Signature], post_ids: Sequence[int]) -> None:
        """Remove these posts' rows; their band rows are found again from the stored signatures."""
        bands = [
            (key, post_id)
            for signature, post_id in zip(signatures, post_ids, strict=True)
            for key in self.hasher.band_keys(signature)
        ]
        self.rows.forget(bands, post_ids)

    def prune(self, now: datetime, *, chunk: int = 2000) -> int:
        """Drop index rows of posts dated before `now - window`; their cluster ids stay on the posts."""
        cutoff = _ts(now - self.window)
        removed = 0
        while True:
            with self.store.transaction():
                rows = self.rows.older_than(cutoff, chunk)
                self._forget([_signature(r) for _, r in rows], [post_id for post_id, _ in rows])
            removed += len(rows)
            if len(rows) < chunk:
                return removed

    def catch_up(self, now: datetime) -> int:
        """Cluster posts inside the window that no indexer has seen (saved by a path without one)."""
        return len(self.index(self.rows.unclustered_since(to_db_time(now - self.window))))

    # ------------------------------------------------------------------- reads
    def counts(self) -> dict[str, int]:
        return self.rows.counts()
