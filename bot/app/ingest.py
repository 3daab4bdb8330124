"""The one way into the archive: RawPosts -> pipeline -> store -> near-duplicate index.

Every source and command (import, backfill, backfill-web, the listener, the web preview poller, demo)
hands its RawPosts to `Ingest.save`; none of them runs the pipeline or writes posts by itself. That is
what guarantees no path skips a step (before this, backfills never clustered near-duplicates).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from itertools import chain, count

from bot.app.ingest_worker import MAX_POST_CHARS, PipelineWorker, PostError, Prepared, can_fork, capped, prepare
from bot.app.neardup_index import NearDupIndex
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, Post, RawPost, SaveResult, SaveTally
from bot.sources.ports import Checkpoint, Progress
from storage.store import Store

__all__ = ["DEFAULT_BATCH", "MAX_POST_CHARS", "Ingest", "PostError", "capped"]

DEFAULT_BATCH = 500
# With workers, every fourth batch is prepared in the writing process (0: none): the worker's pipeline
# cost ~1.7x what writing a batch does (bench/ingest.md, third pass), so the writer waited for it most
# of the time; a quarter of the batches brings the two processes' CPU per post close together
# (6,000 posts: 265 + 467 -> 355 + 336 us). With clustering the writing process also signs those
# batches and clusters every post, so every sixth (557 + 818 -> 678 + 672 us; every fourth: 697 + 600).
INLINE_EVERY = 4
INLINE_EVERY_CLUSTERING = 6


class Ingest:
    """Implements `bot.sources.ports.PostSink` over a real store.

    `neardup=None` only for benchmarks that measure the store alone; every real path clusters.
    `workers=1` (the default) runs the pipeline of a multi-batch `save` in a forked worker process
    while this one writes (bot/app/ingest_worker.py), and every `inline_every`-th batch here while the
    worker prepares the next (default 4, 6 with clustering); 0 keeps everything in this process. What
    is stored is the same either way (tests/test_ingest_paths.py).
    """

    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        neardup: NearDupIndex | None,
        *,
        batch_size: int = DEFAULT_BATCH,
        workers: int = 1,
        inline_every: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        if workers < 0 or (inline_every or 0) < 0:
            raise ValueError("workers and inline_every must be 0 or more")
        self.workers = workers
        if inline_every is None:
            inline_every = INLINE_EVERY if neardup is None else INLINE_EVERY_CLUSTERING
        self.inline_every = inline_every
        self.store = store
        self.pipeline = pipeline
        self.neardup = neardup
        self.batch_size = batch_size

    def process(self, raw: RawPost) -> Post:
        """The post as it will be saved; a failure is a PostError naming the message."""
        try:
            return self.pipeline.process(capped(raw))
        except Exception as exc:
            raise PostError.of(raw, exc) from exc

    def check(self, raw: RawPost) -> Post:
        """Everything `save` computes from the post alone (pipeline, near-duplicate signature), writing
        nothing: an importer runs it over a whole export first, so a post the pipeline fails on stops
        the import before anything is written."""
        post = self.process(raw)
        if self.neardup is not None:
            try:
                self.neardup.hasher.signature(post.text)
            except Exception as exc:
                raise PostError.of(raw, exc) from exc
        return post

    def save(
        self,
        raws: Iterable[RawPost],
        *,
        checkpoint: Checkpoint | ChannelRef | None = None,
        progress: Progress | None = None,
        atomic: bool = False,
        batch_size: int | None = None,
    ) -> SaveResult:
        """Save in batches, each one transaction that also moves the checkpoint.

        `checkpoint` is a ChannelRef (move it to the highest message id saved) or `(ref, upto)` (move it
        to `upto` once everything is saved, e.g. past service messages that were read but not kept;
        it moves even when `raws` is empty). With a checkpoint, `raws` must come oldest first, so a
        batch's highest id is a safe intermediate mark. `atomic=True` makes the whole call one
        transaction: nothing is written unless all of it is (and the write lock is held throughout: only
        for small inputs). `batch_size` overrides the object's for this call.
        """
        tally = SaveTally()
        ref, upto = _split(checkpoint)

        def flush(batch: list[RawPost], ready: list[Prepared], last: bool) -> None:
            posts = [p.post for p in ready]
            mark = None
            if ref is not None:
                top = max((raw.message_id for raw in batch), default=0)
                mark = (ref, max(top, upto or 0) if last else top)
                if mark[1] <= 0:
                    mark = None
            tokens = [p.tokens for p in ready] if ready and ready[0].tokens is not None else None
            signed = {p.post.text: p.signature for p in ready if p.signed}
            with self.store.transaction():
                saved = self.store.save_posts(posts, checkpoint=mark, tokens=tokens)
                if self.neardup is not None:
                    self.neardup.index([*saved.new_ids, *saved.updated_ids], signed=signed)
            tally.add(saved)
            if progress is not None and batch:
                progress(len(batch))

        with self.store.transaction() if atomic else nullcontext():
            flushed = False
            for batch, ready, last in self._prepared(_batches(raws, batch_size or self.batch_size)):
                flush(batch, ready, last)
                flushed = True
            if not flushed and upto is not None:
                flush([], [], True)
        return tally.result()

    def _prepared(
        self, batches: Iterator[tuple[list[RawPost], bool]]
    ) -> Iterator[tuple[list[RawPost], list[Prepared], bool]]:
        """Each batch with its prepared posts, in input order: from the worker when there are at least
        two batches (one is prepared while the previous is written), else in this process."""
        first = next(batches, None)
        second = next(batches, None) if first is not None else None
        ahead = [b for b in (first, second) if b is not None]
        if second is None or not self.workers or not can_fork():
            for batch, last in chain(ahead, batches):
                yield batch, prepare(self.pipeline, batch, None, None), last
            return
        hasher = self.neardup.hasher if self.neardup is not None else None
        pool = [PipelineWorker(self.pipeline, self.store.search_index.normaliser, hasher) for _ in range(self.workers)]
        try:
            # Batch i goes to worker i mod n and comes back in the same order; each worker holds at
            # most two batches (one prepared, one waiting), so what is in flight stays bounded.
            # Every `inline_every`-th batch is prepared here instead, when its turn to be written comes,
            # while the workers prepare the batches after it: the writer would otherwise wait for them.
            sent: deque[tuple[list[RawPost], bool, PipelineWorker | None]] = deque()
            source = chain(ahead, batches)
            submitted = 0

            def ready(
                entry: tuple[list[RawPost], bool, PipelineWorker | None],
            ) -> tuple[list[RawPost], list[Prepared], bool]:
                done, done_last, by = entry
                return done, by.take() if by is not None else prepare(self.pipeline, done, None, None), done_last

            for number in count():
                try:
                    batch, last = next(source)
                except StopIteration:
                    break
                except Exception:
                    # The input failed (a malformed export line): write what was read before it, as
                    # the one-process path has by then, and fail there.
                    while sent:
                        yield ready(sent.popleft())
                    raise
                if self.inline_every and number % self.inline_every == self.inline_every - 1:
                    sent.append((batch, last, None))
                    continue
                worker = pool[submitted % len(pool)]
                submitted += 1
                worker.submit(batch)
                sent.append((batch, last, worker))
                # every worker busy: write the oldest batches meanwhile (preparing them, if ours)
                while sum(by is not None for _, _, by in sent) > len(pool):
                    yield ready(sent.popleft())
            while sent:
                yield ready(sent.popleft())
        finally:
            for worker in pool:
                worker.close()

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
