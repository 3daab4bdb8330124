"""Telegram channels read as a user: live updates, scheduled catch-up, resumable backfill.

Three paths feed the same idempotent ingest (`PostSink.save`), so overlap between them is harmless:

* catch-up (scheduled) reads history contiguously above each channel's checkpoint, oldest first, and
  is the ONLY path that moves the checkpoint, inside the same transaction as the page it saved;
* live handlers save new and edited posts at once for low latency but never move the checkpoint:
  Telegram does not guarantee delivery of every update, and a checkpoint moved past a missed message
  would hide it from catch-up forever;
* backfill walks older history downwards and records its own low-water mark in `meta`, so an
  interrupted run resumes where it stopped;
* with `recheck=N`, catch-up also re-reads the newest N messages at or below the checkpoint: an edit
  whose live update was missed (the client was offline) still reaches the archive's edit history,
  because the re-read post's text and edit date moved. Unchanged posts write nothing.

Albums: one album is several messages sharing a `grouped_id`; it is stored as one post whose id is the
album's smallest message id. History pages never split an album (a page ending inside one holds it
back for the next page); live album parts are buffered (bot/sources/telethon_live.py). Which channels
are read and the FORWARDS_FROM filter live in bot/sources/telethon_channels.py.

Media files (DOWNLOAD_MEDIA, an optional `MediaDownloader`) are fetched on all three paths after the
text is saved, for the stored messages only; a file that fails is logged and the text stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from telethon.errors import RPCError

from bot.models import ChannelRef, RawPost, SaveResult, SaveTally
from bot.sources.media import MediaDownloader
from bot.sources.ports import ChannelBook, PostSink
from bot.sources.telethon_channels import (
    ChannelResolveError,
    ChannelResolver,
    NoAccessHashError,
    Resolution,
    is_unknown_peer,
    parse_channel_ident,
)
from bot.sources.telethon_convert import merge_albums, message_to_raw
from bot.sources.telethon_live import LiveHandlers
from bot.telegram.client import TelegramEdge
from bot.telegram.retry import FloodWaitTooLong, call_with_retry

__all__ = [
    "TELEGRAM_ERRORS",
    "ChannelResolveError",
    "NoAccessHashError",
    "Resolution",
    "TelethonSource",
    "parse_channel_ident",
]

T = TypeVar("T")
Progress = Callable[[int, int | None], None]

_log = logging.getLogger(__name__)

# What one channel's failure may look like; anything else (a broken database) is a real crash.
# ValueError is Telethon's "cannot find the entity" and our own ChannelResolveError.
TELEGRAM_ERRORS: tuple[type[BaseException], ...] = (
    RPCError,
    FloodWaitTooLong,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
    ValueError,
)


def _split_album_edge(messages: list[Any], *, at_end: bool) -> tuple[list[Any], list[Any]]:
    """(complete, held back): the album touching the page boundary may continue on the next page."""
    if not messages:
        return messages, []
    edge = messages[-1] if at_end else messages[0]
    group = getattr(edge, "grouped_id", None)
    if group is None:
        return messages, []
    if at_end:
        i = len(messages)
        while i > 0 and getattr(messages[i - 1], "grouped_id", None) == group:
            i -= 1
        return messages[:i], messages[i:]
    i = 0
    while i < len(messages) and getattr(messages[i], "grouped_id", None) == group:
        i += 1
    return messages[i:], messages[:i]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class TelethonSource:
    """Reads channels as a user through `edge`; everything it reads goes to `sink` (the ingest path)."""

    def __init__(
        self,
        edge: TelegramEdge,
        sink: PostSink,
        channels: ChannelBook,
        *,
        forwards_from: Sequence[str | int] = (),
        page_size: int = 100,
        initial_limit: int = 100,
        max_flood_wait: float = 300.0,
        max_attempts: int = 5,
        album_wait: float = 1.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        log: logging.Logger = _log,
        media: MediaDownloader | None = None,
        on_live_saved: Callable[[Sequence[int]], None] | None = None,
        recheck: int = 0,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self.edge = edge
        self.sink = sink
        self.channels = channels
        self.page_size = page_size
        self.initial_limit = initial_limit
        self.max_flood_wait = max_flood_wait
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._log = log
        self.media = media
        self.recheck = recheck
        self.resolver = ChannelResolver(edge, channels, self._call, forwards_from=forwards_from, log=log)
        self.live = LiveHandlers(
            sink,
            self.resolver,
            self._page,
            errors=TELEGRAM_ERRORS,
            album_wait=album_wait,
            media=media,
            log=log,
            on_saved=on_live_saved,
        )

    # --------------------------------------------------------------- telegram
    async def _call(self, fn: Callable[[], Awaitable[T]], what: str) -> T:
        return await call_with_retry(
            fn,
            max_wait=self.max_flood_wait,
            max_attempts=self.max_attempts,
            sleep=self._sleep,
            log=self._log,
            what=what,
        )

    async def _page(self, ref: ChannelRef, **kwargs: Any) -> list[Any]:
        """One bounded history request, retried as a whole (a half-read page is simply read again)."""

        async def fetch() -> list[Any]:
            return [m async for m in self.edge.iter_messages(self.resolver.entity(ref), **kwargs)]

        try:
            return await self._call(fetch, f"read {ref.label}")
        except ValueError as exc:
            if await self.resolver.relearn_entity(ref):
                return await self._call(fetch, f"read {ref.label}")
            if is_unknown_peer(exc) and ref.tg_id not in self.resolver.entities:
                raise NoAccessHashError(ref.tg_id) from exc  # a bare id: no username to learn the hash from
            raise

    # --------------------------------------------------------------- channels
    async def resolve(self, ident: str | int) -> ChannelRef:
        return await self.resolver.resolve(ident)

    async def resolve_channels(self, refs: Iterable[str | int] = ()) -> Resolution:
        return await self.resolver.resolve_channels(refs)

    # ------------------------------------------------------------------ saving
    def _raws(self, ref: ChannelRef, messages: Sequence[Any]) -> list[RawPost]:
        usernames = self.resolver.forward_usernames()
        raws = [r for m in messages if (r := message_to_raw(m, ref, forward_usernames=usernames)) is not None]
        return merge_albums(raws)

    def _save_messages(self, ref: ChannelRef, messages: Sequence[Any], *, move_checkpoint: bool) -> SaveResult:
        # Skipped messages (service, filtered) still move the checkpoint: they were read.
        upto = max(m.id for m in messages) if move_checkpoint and messages else None
        return self._save_messages_upto(ref, messages, upto)

    def _save_messages_upto(self, ref: ChannelRef, messages: Sequence[Any], upto: int | None) -> SaveResult:
        kept = [raw for raw in self._raws(ref, messages) if self.resolver.wanted(raw)]
        return self.sink.save(kept, checkpoint=(ref, upto) if upto is not None else None)

    def _stored_messages(self, ref: ChannelRef, messages: Sequence[Any]) -> list[Any]:
        """The messages behind the posts saved; FORWARDS_FROM judges an album as a whole."""
        usernames = self.resolver.forward_usernames()
        raws = {m.id: r for m in messages if (r := message_to_raw(m, ref, forward_usernames=usernames)) is not None}
        kept = [post for post in merge_albums(list(raws.values())) if self.resolver.wanted(post)]
        ids = {post.message_id for post in kept}
        groups = {post.grouped_id for post in kept if post.grouped_id is not None}
        return [m for m in messages if m.id in raws and (m.id in ids or raws[m.id].grouped_id in groups)]

    async def _download(self, ref: ChannelRef, messages: Sequence[Any]) -> None:
        """After the save: a slow or failing file never holds back the text or the checkpoint."""
        if self.media is not None and ref.tg_id is not None and messages:
            await self.media.download_all(ref.tg_id, self._stored_messages(ref, messages))

    # ---------------------------------------------------------------- catch-up
    async def catch_up(self, only: Collection[int] | None = None) -> dict[str, SaveResult]:
        """Every watched channel (`only`: these channel row ids) from its checkpoint up; a failing
        channel is recorded and skipped."""
        results: dict[str, SaveResult] = {}
        await self.resolver.resolve_forwards_from()
        self.resolver.refresh_watched()
        for row in self.channels.channels(watched_only=True):
            if row.tg_id is None or (only is not None and row.id not in only):
                continue  # not resolved yet (resolve_channels records why), or not asked for
            try:
                results[row.label] = await self.catch_up_channel(row.ref)
            except TELEGRAM_ERRORS as exc:
                error = f"{exc.__class__.__name__}: {exc}"
                self._log.error("catch-up %s failed: %s", row.label, error)
                self.channels.record_poll(row.id, error=error)
                continue
            self.channels.record_poll(row.id, error=None)
        return results

    async def catch_up_channel(self, ref: ChannelRef) -> SaveResult:
        checkpoint = self.channels.checkpoint(self.channels.ensure_channel(ref))
        if checkpoint == 0:
            # Never read: start from the latest page; older history is `backfill`'s job.
            latest = sorted(await self._page(ref, limit=self.initial_limit), key=lambda m: m.id)
            if len(latest) >= self.initial_limit:
                # The oldest album on a full page may continue below it: leave it whole to backfill.
                complete, _older = _split_album_edge(latest, at_end=False)
                if complete:
                    first = self._save_messages_upto(ref, complete, latest[-1].id)
                    await self._download(ref, complete)
                    return first
            first = self._save_messages(ref, latest, move_checkpoint=True)
            await self._download(ref, latest)
            return first
        tally = SaveTally()
        if self.recheck > 0:
            tally.add(await self._recheck(ref, checkpoint))
        cursor = checkpoint
        carry: list[Any] = []
        while True:
            page = await self._page(ref, min_id=cursor, limit=self.page_size, reverse=True)
            page = sorted((m for m in page if m.id > cursor), key=lambda m: m.id)
            if not page:
                break
            cursor = page[-1].id
            last = len(page) < self.page_size
            batch, carry = (carry + page, []) if last else _split_album_edge(carry + page, at_end=True)
            if batch:
                tally.add(self._save_messages(ref, batch, move_checkpoint=True))
                await self._download(ref, batch)
            if last:
                break
        if carry:
            tally.add(self._save_messages(ref, carry, move_checkpoint=True))
            await self._download(ref, carry)
        return tally.result()

    async def _recheck(self, ref: ChannelRef, checkpoint: int) -> SaveResult:
        """The newest archived messages read again (edits missed live); the checkpoint is not touched."""
        recent = sorted(await self._page(ref, max_id=checkpoint + 1, limit=self.recheck), key=lambda m: m.id)
        complete, _cut = _split_album_edge(recent, at_end=False) if len(recent) >= self.recheck else (recent, [])
        return self._save_messages(ref, complete, move_checkpoint=False)

    # ---------------------------------------------------------------- backfill
    async def backfill(
        self,
        channel: str | int | ChannelRef,
        *,
        since: datetime | None = None,
        limit: int | None = None,
        progress: Progress | None = None,
        restart: bool = False,
    ) -> SaveResult:
        """Older history, newest to oldest, down to `since` or `limit` messages in this run.

        `meta["backfill:<channel id>"]` keeps the lowest message id whose page is committed; a new run
        continues below it (`restart` starts again from the newest). The checkpoint is not touched:
        the range above it stays catch-up's, so a limited backfill can never hide a gap.
        """
        ref = channel if isinstance(channel, ChannelRef) else await self.resolve(channel)
        await self.resolver.resolve_forwards_from()
        key = f"backfill:{self.channels.ensure_channel(ref)}"
        offset = 0 if restart else int(self.channels.meta_get(key) or 0)
        report = progress or (lambda done, total: None)
        since = _aware(since) if since is not None else None
        tally = SaveTally()
        done = 0
        carry: list[Any] = []
        if offset == 1:
            report(0, 0)
            return SaveResult()  # already down to the channel's first message
        while True:
            want = self.page_size if limit is None else min(self.page_size, limit - done - len(carry))
            if want <= 0:
                break  # limit reached; a held-back album is left for the next run, whole
            page = await self._page(ref, offset_id=offset, limit=want)
            page = sorted((m for m in page if offset == 0 or m.id < offset), key=lambda m: m.id)
            if not page:
                done += await self._backfill_commit(ref, key, carry, tally)
                break
            offset = page[0].id
            old = {m.id for m in page if since is not None and m.date is not None and _aware(m.date) < since}
            keep = [m for m in page if m.id not in old]
            finished = bool(old) or len(page) < want
            batch, carry = (keep + carry, []) if finished else _split_album_edge(keep + carry, at_end=False)
            done += await self._backfill_commit(ref, key, batch, tally)
            estimate = done + max(0, offset - 1)
            report(done, min(limit, estimate) if limit is not None else estimate)
            if finished:
                break
        report(done, done)
        return tally.result()

    async def _backfill_commit(self, ref: ChannelRef, key: str, batch: list[Any], tally: SaveTally) -> int:
        if not batch:
            return 0
        tally.add(self._save_messages(ref, batch, move_checkpoint=False))
        self.channels.meta_set(key, str(min(m.id for m in batch)))
        await self._download(ref, batch)
        return len(batch)

    # -------------------------------------------------------------------- live
    def register_handlers(self, edge: TelegramEdge | None = None) -> None:
        """The one place live events are wired to this source."""
        edge = edge or self.edge
        edge.on_new_message(self.live.on_new_message)
        edge.on_message_edited(self.live.on_message_edited)
        edge.on_message_deleted(self.live.on_message_deleted)

    async def flush_albums(self) -> None:
        await self.live.flush_albums()

    # --------------------------------------------------------------------- run
    async def run(self, refs: Iterable[str | int], *, interval: float, stop: asyncio.Event) -> None:
        """Resolve, listen, and catch up every `interval` seconds until `stop` is set."""
        await self.resolve_channels(refs)
        self.register_handlers()
        try:
            while not stop.is_set():
                await self.catch_up()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
        finally:
            await self.flush_albums()
