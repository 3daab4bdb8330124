"""RawPosts -> pipeline -> store, the one path every source takes into the archive."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, RawPost, SaveResult
from storage.db import transaction
from storage.neardup_index import NearDupIndex
from storage.store import Store

Progress = Callable[[int], None]


def ingest(
    store: Store,
    pipeline: Pipeline,
    raws: Iterable[RawPost],
    *,
    checkpoint: ChannelRef | None = None,
    batch_size: int = 500,
    progress: Progress | None = None,
    atomic: bool = False,
    neardup: NearDupIndex | None = None,
) -> SaveResult:
    """Process and save in batches, each batch one transaction that also moves `checkpoint`.

    `atomic=True` puts all batches in one transaction: an import that fails half-way writes nothing.
    `neardup` clusters each batch's new and edited posts in the batch's transaction (None: skip).
    """
    # Counts and ids are gathered in lists, not by adding SaveResults: each `+` copied every id so far,
    # quadratic in the import's size (seconds per million posts, minutes per ten million).
    counts = [0, 0, 0]
    new_ids: list[int] = []
    updated_ids: list[int] = []

    def flush(batch: list[RawPost]) -> None:
        posts = [pipeline.process(raw) for raw in batch]
        mark = (checkpoint, max(raw.message_id for raw in batch)) if checkpoint is not None else None
        with transaction(store.db):
            saved = store.save_posts(posts, checkpoint=mark)
            if neardup is not None:
                neardup.index(saved.new_ids + saved.updated_ids)
        counts[0] += saved.inserted
        counts[1] += saved.updated
        counts[2] += saved.unchanged
        new_ids.extend(saved.new_ids)
        updated_ids.extend(saved.updated_ids)
        if progress is not None:
            progress(len(batch))

    def run() -> None:
        batch: list[RawPost] = []
        for raw in raws:
            batch.append(raw)
            if len(batch) >= batch_size:
                flush(batch)
                batch = []
        if batch:
            flush(batch)

    if atomic:
        with transaction(store.db):
            run()
    else:
        run()
    return SaveResult(*counts, new_ids=tuple(new_ids), updated_ids=tuple(updated_ids))
