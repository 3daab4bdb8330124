"""The one way into the archive: RawPosts -> pipeline -> store -> near-duplicate index.

Every source and command (import, backfill, backfill-web, the listener, the web preview poller, demo)
hands its RawPosts to `Ingest.save`; none of them runs the pipeline or writes posts by itself. That is
what guarantees no path skips a step (before this, backfills never clustered near-duplicates).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from itertools import chain

from bot.app.ingest_worker import MAX_POST_CHARS, PipelineWorker, PostError, Prepared, can_fork, capped, prepare
from bot.app.neardup_index import NearDupIndex
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, Post, RawPost, SaveResult, SaveTally
from bot.sources.ports import Checkpoint, Progress
from storage.store import Store

__all__ = ["DEFAULT_BATCH", "MAX_POST_CHARS", "Ingest", "PostError", "capped"]

DEFAULT_BATCH = 500
# With workers, the writing process also prepares batches: the worker's pipeline costs more than
# writing a batch does, so the writer would wait for it most of the time. Fixed shares (every fourth
# batch, every sixth with clustering: bench/ingest.md, third pass) balanced the two processes on one
# corpus and one machine only; by default the writer now prepares the next unsent batch whenever the
# one it is to write is not back yet (fourth pass), holding at most this many prepared ahead.
STEAL_AHEAD = 2
_Entry = tuple[list[RawPost], bool, "PipelineWorker | None", "list[Prepared] | PostError | None"]


class Ingest:
    """Implements `bot.sources.ports.PostSink` over a real store.

    `neardup=None` only for benchmarks that measure the store alone; every real path clusters.
    `workers=1` (the default) runs the pipeline of a multi-batch `save` in a forked worker process
    while this one writes (bot/app/ingest_worker.py); this process prepares a batch itself whenever the
    worker is behind (`inline_every=None`, the default), or every `inline_every`-th batch (0: never);
    `workers=0` keeps everything in this process. What is stored is the same either way
    (tests/test_ingest_paths.py).
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
            yield from self._shared(chain(ahead, batches), pool)
        finally:
            for worker in pool:
                worker.close()

    def _shared(
        self, source: Iterator[tuple[list[RawPost], bool]], pool: list[PipelineWorker]
    ) -> Iterator[tuple[list[RawPost], list[Prepared], bool]]:
        """Batch i goes to worker i mod n and comes back in the same order; n + 2 batches at most are
        with the workers (n + 1 with a fixed share), so what is in flight stays bounded. The rest is
        prepared here: by default (adaptive) the next unsent batch whenever the batch to write next is
        not back from the worker yet, so this process prepares instead of waiting (at most STEAL_AHEAD
        such batches held); with `inline_every=N` every N-th batch, when its turn to be written comes."""
        sent: deque[_Entry] = deque()
        in_flight = pulled = submitted = 0
        exhausted = False
        failed: list[Exception] = []

        def pull() -> tuple[list[RawPost], bool] | None:
            nonlocal exhausted, pulled
            try:
                item = next(source)
            except StopIteration:
                exhausted = True
                return None
            except Exception as exc:  # the input failed (a malformed export line)
                exhausted = True
                failed.append(exc)
                return None
            pulled += 1
            return item

        def ready(entry: _Entry) -> tuple[list[RawPost], list[Prepared], bool]:
            batch, last, by, done = entry
            if by is not None:
                return batch, by.take(), last
            if done is None:
                return batch, prepare(self.pipeline, batch, None, None), last
            if isinstance(done, PostError):
                raise done  # a batch prepared ahead failed: raised where the inline path raises it
            return batch, done, last

        every = self.inline_every
        # One batch more in flight when this process takes batches over: while it prepares one, the
        # worker finishes the batch it is on and goes on with the next instead of waiting for work.
        depth = len(pool) + (2 if every is None else 1)
        while True:
            while not exhausted and in_flight < depth and (item := pull()) is not None:
                if every and pulled % every == 0:
                    sent.append((*item, None, None))  # ours: prepared when its turn comes
                else:
                    worker = pool[submitted % len(pool)]
                    submitted += 1
                    worker.submit(item[0])
                    sent.append((*item, worker, None))
                    in_flight += 1
            head = sent[0][2] if sent else None
            if (
                every is None
                and head is not None
                and not exhausted
                and not head.ready()
                and sum(entry[3] is not None for entry in sent) < STEAL_AHEAD
                and (item := pull()) is not None
            ):
                try:
                    done: list[Prepared] | PostError = prepare(self.pipeline, item[0], None, None)
                except PostError as exc:
                    done = exc
                sent.append((*item, None, done))
                continue
            if failed:
                # Write what was read before the failing input, as the one-process path has by then,
                # and fail there.
                while sent:
                    yield ready(sent.popleft())
                raise failed[0]
            if not sent:
                return
            entry = sent.popleft()
            in_flight -= entry[2] is not None
            yield ready(entry)

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
