"""Telegram channels read as a user: live updates, scheduled catch-up, resumable backfill.

Three paths feed the same idempotent `Store.save_posts`, so overlap between them is harmless:

* catch-up (scheduled) reads history contiguously above each channel's checkpoint, oldest first, and
  is the ONLY path that moves the checkpoint, inside the same transaction as the page it saved;
* live handlers save new and edited posts at once for low latency but never move the checkpoint:
  Telegram does not guarantee delivery of every update, and a checkpoint moved past a missed message
  would hide it from catch-up forever;
* backfill walks older history downwards and records its own low-water mark in `meta`, so an
  interrupted run resumes where it stopped.

Albums: one album is several messages sharing a `grouped_id`; it is stored as one post whose id is the
album's smallest message id. History pages never split an album (a page ending inside one holds it
back for the next page). Live album parts are buffered for `album_wait` seconds and saved merged; the
parts stay remembered for a while, so a late part or a caption edit re-merges into the same post.

Media files (DOWNLOAD_MEDIA, an optional `MediaDownloader`) are fetched on all three paths after the
text is saved, for the stored messages only; a file that fails is logged and the text stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from telethon.errors import RPCError
from telethon.tl import types

from bot.core.channels import ChannelIdentError, parse_channel
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, RawPost, SaveResult
from bot.sources.media import MediaDownloader
from bot.sources.telethon_convert import merge_album, merge_albums, message_to_raw
from bot.telegram.client import TelegramEdge
from bot.telegram.retry import FloodWaitTooLong, call_with_retry
from storage.store import Store

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
_ALBUM_WINDOW = 10  # Telegram albums hold at most 10 messages
_REMEMBERED_ALBUMS = 256


class ChannelResolveError(ValueError):
    """A configured channel that cannot be read; the message names it."""


def parse_channel_ident(value: str | int) -> str | int:
    """A lower-case username or a bare channel id, as Telethon resolves them (bot/core/channels.py reads it)."""
    try:
        ident = parse_channel(value)
    except ChannelIdentError as exc:
        raise ChannelResolveError(str(exc)) from None
    return ident.tg_id if ident.tg_id is not None else str(ident.username)


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


@dataclass(frozen=True, slots=True)
class Resolution:
    channels: tuple[ChannelRef, ...] = ()
    failures: Mapping[str, str] = field(default_factory=dict)


class TelethonSource:
    def __init__(
        self,
        edge: TelegramEdge,
        store: Store,
        pipeline: Pipeline,
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
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self.edge = edge
        self.store = store
        self.pipeline = pipeline
        self.forwards_from = tuple(forwards_from)
        self.page_size = page_size
        self.initial_limit = initial_limit
        self.max_flood_wait = max_flood_wait
        self.max_attempts = max_attempts
        self.album_wait = album_wait
        self._sleep = sleep
        self._log = log
        self.media = media
        self._entities: dict[int, Any] = {}  # tg id -> what iter_messages is given
        self._watched: dict[int, ChannelRef] = {}
        self._ff_ids: set[int] = set()
        self._ff_usernames: set[str] = set()
        self._filters_ready = False
        self._albums: OrderedDict[tuple[int, int], dict[int, RawPost]] = OrderedDict()
        self._album_timers: dict[tuple[int, int], asyncio.Task[None]] = {}

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

    def _entity(self, ref: ChannelRef) -> Any:
        assert ref.tg_id is not None
        return self._entities.get(ref.tg_id) or types.PeerChannel(ref.tg_id)

    async def _page(self, ref: ChannelRef, **kwargs: Any) -> list[Any]:
        """One bounded history request, retried as a whole (a half-read page is simply read again)."""

        async def fetch() -> list[Any]:
            return [m async for m in self.edge.iter_messages(self._entity(ref), **kwargs)]

        try:
            return await self._call(fetch, f"read {ref.label}")
        except ValueError:
            # The session lacks this channel's access hash (new session file, StringSession after a
            # restart): resolving the username once stores it, then the page is read again.
            if not ref.username or ref.tg_id in self._entities:
                raise
            self._entities[ref.tg_id or 0] = await self._call(
                lambda: self.edge.get_entity(ref.username or ""), f"resolve {ref.label}"
            )
            return await self._call(fetch, f"read {ref.label}")

    # --------------------------------------------------------------- channels
    def _row_by_tg_id(self, tg_id: int) -> ChannelRef | None:
        rows = [r for r in self.store.channels() if r.tg_id == tg_id]
        return rows[0].ref if rows else None

    async def resolve(self, ident: str | int) -> ChannelRef:
        """A channel with its Telegram id, from the `channels` table when known, else from Telegram once."""
        parsed = parse_channel_ident(ident)
        if isinstance(parsed, int):
            known = self._row_by_tg_id(parsed)
        else:
            row = self.store.find_channel(parsed)
            known = row.ref if row is not None else None
        if known is not None and known.tg_id is not None:
            return known
        query: str | types.PeerChannel = parsed if isinstance(parsed, str) else types.PeerChannel(parsed)
        label = f"@{parsed}" if isinstance(parsed, str) else f"channel {parsed}"
        try:
            entity = await self._call(lambda: self.edge.get_entity(query), f"resolve {label}")
        except (RPCError, ValueError, TypeError, FloodWaitTooLong, ConnectionError) as exc:
            raise ChannelResolveError(f"cannot resolve {label}: {exc}") from exc
        if not isinstance(entity, types.Channel):
            kind = type(entity).__name__
            raise ChannelResolveError(f"{label} is not a channel (Telegram says it is a {kind})")
        self._entities[entity.id] = entity
        ref = ChannelRef(tg_id=entity.id, username=entity.username, title=entity.title)
        self.store.ensure_channel(ref, "telethon")
        return ref

    def _record_failure(self, ident: str | int, error: str) -> str | int | None:
        """Keep the error on the channel's row, so `stats` shows why a configured channel is silent."""
        try:
            parsed = parse_channel_ident(ident)
        except ValueError:
            return None  # not even a channel name: nothing to attach the error to; logged and returned
        ref = ChannelRef(tg_id=parsed) if isinstance(parsed, int) else ChannelRef(username=parsed)
        self.store.record_poll(self.store.ensure_channel(ref), error=error)
        return parsed

    async def resolve_channels(self, refs: Iterable[str | int] = ()) -> Resolution:
        """Configured channels plus those already watched in the archive; one bad name stops nothing."""
        failures: dict[str, str] = {}
        failed: set[str | int] = set()
        for ident in refs:
            try:
                ref = await self.resolve(ident)
            except ChannelResolveError as exc:
                failures[str(ident)] = str(exc)
                self._log.error("%s", exc)
                recorded = self._record_failure(ident, str(exc))
                if recorded is not None:
                    failed.add(recorded)
                continue
            self.store.set_watched(ref, True)
        for row in self.store.channels(watched_only=True):
            if row.tg_id is None and row.username and row.username not in failed:
                # Watched by another source (web preview) under its username: learn its id once.
                try:
                    await self.resolve(row.username)
                except ChannelResolveError as exc:
                    failures["@" + row.username] = str(exc)
                    self._log.error("%s", exc)
                    self.store.record_poll(row.id, error=str(exc))
        await self.resolve_forwards_from()
        self._refresh_watched()
        return Resolution(tuple(self._watched.values()), failures)

    async def resolve_forwards_from(self) -> None:
        """FORWARDS_FROM as ids, once per source: a forward header carries the id, not the username."""
        if self._filters_ready:
            return
        self._filters_ready = True
        for ident in self.forwards_from:
            try:
                parsed = parse_channel_ident(ident)
            except ChannelResolveError as exc:
                self._log.warning("FORWARDS_FROM: %s", exc)
                continue
            if isinstance(parsed, int):
                self._ff_ids.add(parsed)
                continue
            self._ff_usernames.add(parsed)
            try:
                ref = await self.resolve(parsed)
            except ChannelResolveError as exc:
                self._log.warning("FORWARDS_FROM: %s; matching forwards by username only", exc)
                continue
            if ref.tg_id is not None:
                self._ff_ids.add(ref.tg_id)

    def _refresh_watched(self) -> None:
        self._watched = {r.tg_id: r.ref for r in self.store.channels(watched_only=True) if r.tg_id is not None}

    def _forward_usernames(self) -> dict[int, str]:
        return {r.tg_id: r.username for r in self.store.channels() if r.tg_id is not None and r.username}

    def _wanted(self, raw: RawPost) -> bool:
        """FORWARDS_FROM: only posts forwarded from those channels, and those channels' own posts."""
        if not self._ff_ids and not self._ff_usernames:
            return True
        if raw.channel.tg_id in self._ff_ids or raw.channel.username in self._ff_usernames:
            return True
        forward = raw.forward
        return forward is not None and (
            forward.channel_id in self._ff_ids or (forward.username or "") in self._ff_usernames
        )

    # ------------------------------------------------------------------ saving
    def _save_raws(self, raws: Iterable[RawPost], checkpoint: tuple[ChannelRef, int] | None = None) -> SaveResult:
        posts = [self.pipeline.process(raw) for raw in raws if self._wanted(raw)]
        return self.store.save_posts(posts, checkpoint=checkpoint)

    def _save_messages(self, ref: ChannelRef, messages: Sequence[Any], *, move_checkpoint: bool) -> SaveResult:
        # Skipped messages (service, filtered) still move the checkpoint: they were read.
        upto = max(m.id for m in messages) if move_checkpoint and messages else None
        return self._save_messages_upto(ref, messages, upto)

    def _save_messages_upto(self, ref: ChannelRef, messages: Sequence[Any], upto: int | None) -> SaveResult:
        usernames = self._forward_usernames()
        raws = [r for m in messages if (r := message_to_raw(m, ref, forward_usernames=usernames)) is not None]
        return self._save_raws(merge_albums(raws), (ref, upto) if upto is not None else None)

    def _stored_messages(self, ref: ChannelRef, messages: Sequence[Any]) -> list[Any]:
        """The messages behind the posts `_save_raws` keeps; FORWARDS_FROM judges an album as a whole."""
        usernames = self._forward_usernames()
        raws = {m.id: r for m in messages if (r := message_to_raw(m, ref, forward_usernames=usernames)) is not None}
        kept = [post for post in merge_albums(list(raws.values())) if self._wanted(post)]
        ids = {post.message_id for post in kept}
        groups = {post.grouped_id for post in kept if post.grouped_id is not None}
        return [m for m in messages if m.id in raws and (m.id in ids or raws[m.id].grouped_id in groups)]

    async def _download(self, ref: ChannelRef, messages: Sequence[Any]) -> None:
        """After the save: a slow or failing file never holds back the text or the checkpoint."""
        if self.media is not None and ref.tg_id is not None and messages:
            await self.media.download_all(ref.tg_id, self._stored_messages(ref, messages))

    # ---------------------------------------------------------------- catch-up
    async def catch_up(self) -> dict[str, SaveResult]:
        """Every watched channel from its checkpoint up; a failing channel is recorded and skipped."""
        results: dict[str, SaveResult] = {}
        await self.resolve_forwards_from()
        self._refresh_watched()
        for row in self.store.channels(watched_only=True):
            if row.tg_id is None:
                continue  # not resolved yet (resolve_channels records why)
            try:
                results[row.label] = await self.catch_up_channel(row.ref)
            except TELEGRAM_ERRORS as exc:
                error = f"{exc.__class__.__name__}: {exc}"
                self._log.error("catch-up %s failed: %s", row.label, error)
                self.store.record_poll(row.id, error=error)
                continue
            self.store.record_poll(row.id, error=None)
        return results

    async def catch_up_channel(self, ref: ChannelRef) -> SaveResult:
        checkpoint = self.store.checkpoint(self.store.ensure_channel(ref))
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
        total = SaveResult()
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
                total += self._save_messages(ref, batch, move_checkpoint=True)
                await self._download(ref, batch)
            if last:
                break
        if carry:
            total += self._save_messages(ref, carry, move_checkpoint=True)
            await self._download(ref, carry)
        return total

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
        await self.resolve_forwards_from()
        key = f"backfill:{self.store.ensure_channel(ref)}"
        offset = 0 if restart else int(self.store.meta_get(key) or 0)
        report = progress or (lambda done, total: None)
        since = _aware(since) if since is not None else None
        total = SaveResult()
        done = 0
        carry: list[Any] = []
        if offset == 1:
            report(0, 0)
            return total  # already down to the channel's first message
        while True:
            want = self.page_size if limit is None else min(self.page_size, limit - done - len(carry))
            if want <= 0:
                break  # limit reached; a held-back album is left for the next run, whole
            page = await self._page(ref, offset_id=offset, limit=want)
            page = sorted((m for m in page if offset == 0 or m.id < offset), key=lambda m: m.id)
            if not page:
                carry_done = await self._backfill_commit(ref, key, carry)
                total += carry_done[0]
                done += carry_done[1]
                break
            offset = page[0].id
            old = {m.id for m in page if since is not None and m.date is not None and _aware(m.date) < since}
            keep = [m for m in page if m.id not in old]
            finished = bool(old) or len(page) < want
            batch, carry = (keep + carry, []) if finished else _split_album_edge(keep + carry, at_end=False)
            saved, count = await self._backfill_commit(ref, key, batch)
            total += saved
            done += count
            estimate = done + max(0, offset - 1)
            report(done, min(limit, estimate) if limit is not None else estimate)
            if finished:
                break
        report(done, done)
        return total

    async def _backfill_commit(self, ref: ChannelRef, key: str, batch: list[Any]) -> tuple[SaveResult, int]:
        if not batch:
            return SaveResult(), 0
        result = self._save_messages(ref, batch, move_checkpoint=False)
        self.store.meta_set(key, str(min(m.id for m in batch)))
        await self._download(ref, batch)
        return result, len(batch)

    # -------------------------------------------------------------------- live
    def register_handlers(self, edge: TelegramEdge | None = None) -> None:
        """The one place live events are wired to this source."""
        edge = edge or self.edge
        edge.on_new_message(self.on_new_message)
        edge.on_message_edited(self.on_message_edited)
        edge.on_message_deleted(self.on_message_deleted)

    def _live_ref(self, msg: Any) -> ChannelRef | None:
        peer = getattr(msg, "peer_id", None)
        if not isinstance(peer, types.PeerChannel):
            return None
        return self._watched.get(peer.channel_id)

    async def on_new_message(self, msg: types.TypeMessage) -> None:
        ref = self._live_ref(msg)
        raw = message_to_raw(msg, ref, forward_usernames=self._forward_usernames()) if ref else None
        if ref is None or raw is None:
            return
        if raw.grouped_id is None:
            self._save_raws([raw])
            await self._download_live(ref, msg, raw)
            return
        key = self._remember_part(ref, raw)
        if self.album_wait <= 0:
            self._flush_album(key)
        elif key not in self._album_timers:
            self._album_timers[key] = asyncio.create_task(self._flush_later(key))
        # The part's text is saved by the album timer; its file need not wait for the other parts.
        await self._download_live(ref, msg, merge_album(list((self._albums.get(key) or {0: raw}).values())))

    async def _download_live(self, ref: ChannelRef, msg: Any, post: RawPost) -> None:
        if self.media is not None and ref.tg_id is not None and self._wanted(post):
            await self.media.download(ref.tg_id, msg)

    async def on_message_edited(self, msg: types.TypeMessage) -> None:
        ref = self._live_ref(msg)
        raw = message_to_raw(msg, ref, forward_usernames=self._forward_usernames()) if ref else None
        if ref is None or raw is None:
            return
        if raw.grouped_id is None:
            self._save_raws([raw])
            return
        assert ref.tg_id is not None
        key = (ref.tg_id, raw.grouped_id)
        if key not in self._albums:
            # An old album's caption edited: its other parts are needed to rebuild the merged post.
            try:
                siblings = await self._page(
                    ref, min_id=max(0, raw.message_id - _ALBUM_WINDOW), max_id=raw.message_id + _ALBUM_WINDOW
                )
            except TELEGRAM_ERRORS as exc:
                self._log.error("edit of %s/%s not applied: %s", ref.label, raw.message_id, exc)
                return
            for sibling in siblings:
                part = message_to_raw(sibling, ref, forward_usernames=self._forward_usernames())
                if part is not None and part.grouped_id == raw.grouped_id:
                    self._remember_part(ref, part)
        self._remember_part(ref, raw)
        if key not in self._album_timers:
            self._flush_album(key)

    async def on_message_deleted(self, channel_tg_id: int | None, message_ids: Sequence[int]) -> None:
        """Flag, never erase. Telegram names the channel only for channel deletions, which is all we read."""
        ref = self._watched.get(channel_tg_id) if channel_tg_id is not None else None
        if ref is None or not message_ids:
            return
        count = self.store.mark_deleted(ref, message_ids)
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
        return self._save_raws([merge_album(list(parts.values()))])

    async def flush_albums(self) -> None:
        """Save buffered live album parts now (shutdown, tests) instead of after `album_wait`."""
        timers, self._album_timers = self._album_timers, {}
        for task in timers.values():
            task.cancel()
        await asyncio.gather(*timers.values(), return_exceptions=True)
        for key in timers:
            self._flush_album(key)

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
