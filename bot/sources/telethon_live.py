"""Live updates from the listener: new, edited and deleted channel posts saved as they happen.

Live handlers save at once for low latency but never move a checkpoint: Telegram does not guarantee
delivery of every update, and a checkpoint moved past a missed message would hide it from catch-up.

Albums: one album is several messages sharing a `grouped_id`, stored as one post whose id is the
album's smallest message id. Live album parts are buffered for `album_wait` seconds and saved merged;
the parts stay remembered for a while, so a late part or a caption edit re-merges into the same post.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telethon.tl import types

from bot.models import ChannelRef, RawPost, SaveResult
from bot.sources.media import MediaDownloader
from bot.sources.ports import PostSink
from bot.sources.telethon_channels import ChannelResolver
from bot.sources.telethon_convert import merge_album, message_to_raw

ALBUM_WINDOW = 10  # Telegram albums hold at most 10 messages
_REMEMBERED_ALBUMS = 256

PageReader = Callable[..., Awaitable[list[Any]]]


class LiveHandlers:
    def __init__(
        self,
        sink: PostSink,
        resolver: ChannelResolver,
        read_page: PageReader,
        *,
        errors: tuple[type[BaseException], ...],
        album_wait: float,
        media: MediaDownloader | None,
        log: logging.Logger,
        on_saved: Callable[[Sequence[int]], None] | None = None,
    ) -> None:
        self.sink = sink
        # Told the ids of posts a live update inserted (the service's alerts), so they need not wait for a poll.
        self.on_saved = on_saved
        self.resolver = resolver
        self._read_page = read_page
        self._errors = errors
        self.album_wait = album_wait
        self.media = media
        self._log = log
        self._albums: OrderedDict[tuple[int, int], dict[int, RawPost]] = OrderedDict()
        self._album_timers: dict[tuple[int, int], asyncio.Task[None]] = {}

    def save(self, raws: Sequence[RawPost]) -> SaveResult:
        result = self.sink.save([raw for raw in raws if self.resolver.wanted(raw)])
        if result.new_ids and self.on_saved is not None:
            self.on_saved(result.new_ids)
        return result

    def _live_ref(self, msg: Any) -> ChannelRef | None:
        peer = getattr(msg, "peer_id", None)
        if not isinstance(peer, types.PeerChannel):
            return None
        return self.resolver.watched.get(peer.channel_id)

    def _raw(self, msg: Any) -> tuple[ChannelRef, RawPost] | None:
        ref = self._live_ref(msg)
        raw = message_to_raw(msg, ref, forward_usernames=self.resolver.forward_usernames()) if ref else None
        return (ref, raw) if ref is not None and raw is not None else None

    async def on_new_message(self, msg: types.TypeMessage) -> None:
        found = self._raw(msg)
        if found is None:
            return
        ref, raw = found
        if raw.grouped_id is None:
            self.save([raw])
            await self._download(ref, msg, raw)
            return
        key = self._remember_part(ref, raw)
        if self.album_wait <= 0:
            self._flush_album(key)
        elif key not in self._album_timers:
            self._album_timers[key] = asyncio.create_task(self._flush_later(key))
        # The part's text is saved by the album timer; its file need not wait for the other parts.
        await self._download(ref, msg, merge_album(list((self._albums.get(key) or {0: raw}).values())))

    async def _download(self, ref: ChannelRef, msg: Any, post: RawPost) -> None:
        if self.media is not None and ref.tg_id is not None and self.resolver.wanted(post):
            await self.media.download(ref.tg_id, msg)

    async def on_message_edited(self, msg: types.TypeMessage) -> None:
        found = self._raw(msg)
        if found is None:
            return
        ref, raw = found
        if raw.grouped_id is None:
            self.save([raw])
            return
        assert ref.tg_id is not None
        key = (ref.tg_id, raw.grouped_id)
        if key not in self._albums:
            # An old album's caption edited: its other parts are needed to rebuild the merged post.
            try:
                siblings = await self._read_page(
                    ref, min_id=max(0, raw.message_id - ALBUM_WINDOW), max_id=raw.message_id + ALBUM_WINDOW
                )
            except self._errors as exc:
                self._log.error("edit of %s/%s not applied: %s", ref.label, raw.message_id, exc)
                return
            usernames = self.resolver.forward_usernames()
            for sibling in siblings:
                part = message_to_raw(sibling, ref, forward_usernames=usernames)
                if part is not None and part.grouped_id == raw.grouped_id:
                    self._remember_part(ref, part)
        self._remember_part(ref, raw)
        if key not in self._album_timers:
            self._flush_album(key)

    async def on_message_deleted(self, channel_tg_id: int | None, message_ids: Sequence[int]) -> None:
        """Flag, never erase. Telegram names the channel only for channel deletions, which is all we read."""
        ref = self.resolver.watched.get(channel_tg_id) if channel_tg_id is not None else None
        if ref is None or not message_ids:
            return
        count = self.sink.mark_deleted(ref, message_ids)
        self._log.info("%s: %d of %d deleted messages were archived", ref.label, count, len(message_ids))

    def _remember_part(self, ref: ChannelRef, raw: RawPost) -> tuple[int, int]:
        assert ref.tg_id is not None and raw.grouped_id is not None
        key = (ref.tg_id, raw.grouped_id)
        self._albums.setdefault(key, {})[raw.message_id] = raw
        self._albums.move_to_end(key)
        while len(self._albums) > _REMEMBERED_ALBUMS:
            oldest = next(iter(self._albums))
            if oldest in self._album_timers:
                break
            del self._albums[oldest]
        return key

    async def _flush_later(self, key: tuple[int, int]) -> None:
        try:
            await asyncio.sleep(self.album_wait)
        finally:
            self._album_timers.pop(key, None)
        self._flush_album(key)

    def _flush_album(self, key: tuple[int, int]) -> SaveResult:
        parts = self._albums.get(key)
        if not parts:
            return SaveResult()
        return self.save([merge_album(list(parts.values()))])

    async def flush_albums(self) -> None:
        """Save buffered live album parts now (shutdown, tests) instead of after `album_wait`."""
        timers, self._album_timers = self._album_timers, {}
        for task in timers.values():
            task.cancel()
        await asyncio.gather(*timers.values(), return_exceptions=True)
        for key in timers:
            self._flush_album(key)
