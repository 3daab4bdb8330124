"""What a source may ask of the archive: save raw posts, and keep its channels' bookkeeping.

Sources depend on these two protocols only (not on `storage`), so every source reaches the archive
through the same door (`bot.app.ingest.Ingest` implements `PostSink`, `storage.store.Store` implements
`ChannelBook`) and a test can hand a source the real ones or something smaller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from bot.models import ChannelRef, ChannelRow, RawPost, SaveResult

# (channel, message id): move the channel's checkpoint up to this id once the posts are committed.
Checkpoint = tuple[ChannelRef, int]
Progress = Callable[[int], None]


class PostSink(Protocol):
    def save(
        self,
        raws: Iterable[RawPost],
        *,
        checkpoint: Checkpoint | ChannelRef | None = None,
        progress: Progress | None = None,
    ) -> SaveResult:
        """Clean, tag, store and cluster; one transaction per batch, the checkpoint moved inside it."""
        ...

    def mark_deleted(self, ref: ChannelRef, message_ids: Iterable[int]) -> int:
        """Posts deleted on Telegram: flagged, never erased; returns how many were archived."""
        ...


class ChannelBook(Protocol):
    def ensure_channel(self, ref: ChannelRef, source: str | None = None) -> int: ...

    def find_channel(self, ident: str | int) -> ChannelRow | None: ...

    def channels(self, *, watched_only: bool = False) -> list[ChannelRow]: ...

    def set_watched(self, ref: ChannelRef, watched: bool) -> int: ...

    def checkpoint(self, channel_id: int) -> int: ...

    def record_poll(self, channel_id: int, *, error: str | None = None, at: datetime | None = None) -> None: ...

    def meta_get(self, key: str) -> str | None: ...

    def meta_set(self, key: str, value: str) -> None: ...
