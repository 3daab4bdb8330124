"""The one way into the archive: RawPosts -> pipeline -> store -> near-duplicate index.

Every source and command (import, backfill, backfill-web, the listener, the web preview poller, demo)
hands its RawPosts to `Ingest.save`; none of them runs the pipeline or writes posts by itself. That is
what guarantees no path skips a step (before this, backfills never clustered near-duplicates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import replace

from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, Post, RawPost, SaveResult, SaveTally
from bot.neardup_index import NearDupIndex
from bot.sources.ports import Checkpoint, Progress
from storage.store import Store

DEFAULT_BATCH = 500
# A Telegram message holds at most 4,096 characters; a source handing over more (a hostile page, a
# 50 MB "post") would make every later read of it slow. Kept up to this many, with a note saying so.
MAX_POST_CHARS = 100_000


class PostError(RuntimeError):
    """The pipeline failed on one post (a bug: it must take any text): the message names the post."""

    def __init__(self, raw: RawPost, exc: BaseException) -> None:
        self.message_id = raw.message_id
        detail = " ".join(str(exc).split())[:160] or "no message"
        super().__init__(f"message {raw.message_id}: processing failed ({exc.__class__.__name__}: {detail})")


def capped(raw: RawPost, limit: int = MAX_POST_CHARS) -> RawPost:
    """`raw` with its text cut at `limit` characters and a note saying how long it was."""
    if len(raw.text) <= limit:
        return raw
    note = f"\n\n[truncated by tgmonitor: the post had {len(raw.text):,} characters; the first {limit:,} are kept]"
    return replace(raw, text=raw.text[:limit] + note)


class Ingest:
    """Implements `bot.sources.ports.PostSink` over a real store.

    `neardup=None` only for benchmarks that measure the store alone; every real path clusters.
    """

    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        neardup: NearDupIndex | None,
        *,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.store = store
        self.pipeline = pipeline
        self.neardup = neardup
        self.batch_size = batch_size

    def process(self, raw: RawPost) -> Post:
        """The post as it will be saved; a failure is a PostError naming the message."""
        try:
            return self.pipeline.process(capped(raw))
        except Exception as exc:
            raise PostError(raw, exc) from exc

    def check(self, raw: RawPost) -> Post:
        """Everything `save` computes from the post alone (pipeline, near-duplicate signature), writing
        nothing: an importer runs it over a whole export first, so a post the pipeline fails on stops
        the import before anything is written."""
        post = self.process(raw)
        if self.neardup is not None:
            try:
                self.neardup.hasher.signature(post.text)
            except Exception as exc:
                raise PostError(raw, exc) from exc
        return post

    def save(
        self,
        raws: Iterable[RawPost],
        *,
        checkpoint: Checkpoint | ChannelRef | None = None,
        progress: Progress | None = None,
        atomic: bool = False,
        batch_size: int | None = None,
        processed: Callable[[RawPost], Post | None] | None = None,
    ) -> SaveResult:
        """Save in batches, each one transaction that also moves the checkpoint.

        `checkpoint` is a ChannelRef (move it to the highest message id saved) or `(ref, upto)` (move it
        to `upto` once everything is saved, e.g. past service messages that were read but not kept;
        it moves even when `raws` is empty). With a checkpoint, `raws` must come oldest first, so a
        batch's highest id is a safe intermediate mark. `atomic=True` makes the whole call one
        transaction: nothing is written unless all of it is (and the write lock is held throughout: only
        for small inputs). `batch_size` overrides the object's for this call. `processed`: the Post a
        check pass already made of a RawPost (None: process it here).
        """
        tally = SaveTally()
        ref, upto = _split(checkpoint)

        def flush(batch: list[RawPost], last: bool) -> None:
            posts = [(processed(raw) if processed else None) or self.process(raw) for raw in batch]
            mark = None
            if ref is not None:
                top = max((raw.message_id for raw in batch), default=0)
                mark = (ref, max(top, upto or 0) if last else top)
                if mark[1] <= 0:
                    mark = None
            with self.store.transaction():
                saved = self.store.save_posts(posts, checkpoint=mark)
                if self.neardup is not None:
                    self.neardup.index([*saved.new_ids, *saved.updated_ids])
            tally.add(saved)
            if progress is not None and batch:
                progress(len(batch))

        with self.store.transaction() if atomic else nullcontext():
            flushed = False
            for batch, last in _batches(raws, batch_size or self.batch_size):
                flush(batch, last)
                flushed = True
            if not flushed and upto is not None:
                flush([], True)
        return tally.result()

    def mark_deleted(self, ref: ChannelRef, message_ids: Iterable[int]) -> int:
        return self.store.mark_deleted(ref, message_ids)


def _split(checkpoint: Checkpoint | ChannelRef | None) -> tuple[ChannelRef | None, int | None]:
    if checkpoint is None:
        return None, None
    if isinstance(checkpoint, ChannelRef):
        return checkpoint, None
    return checkpoint[0], checkpoint[1]


def _batches(raws: Iterable[RawPost], size: int) -> Iterator[tuple[list[RawPost], bool]]:
    """Batches of `size`, each with whether it is the last (known by reading one batch ahead)."""
    batch: list[RawPost] = []
    pending: list[RawPost] | None = None
    for raw in raws:
        batch.append(raw)
        if len(batch) >= size:
            if pending is not None:
                yield pending, False
            pending, batch = batch, []
    if pending is not None:
        yield pending, not batch
    if batch:
        yield batch, True
