"""Which channels the listener reads: names resolved to Telegram ids once, and the FORWARDS_FROM filter.

Resolution is cached in the archive's `channels` table (through the `ChannelBook` port), so restarts
do not repeat username look-ups, which Telegram rate-limits hard.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telethon.errors import RPCError
from telethon.tl import types

from bot.core.channels import ChannelIdentError, parse_channel
from bot.models import ChannelRef, RawPost
from bot.sources.ports import ChannelBook
from bot.telegram.client import TelegramEdge
from bot.telegram.retry import FloodWaitTooLong

T = TypeVar("T")
Call = Callable[[Callable[[], Awaitable[Any]], str], Awaitable[Any]]


class ChannelResolveError(ValueError):
    """A configured channel that cannot be read; the message names it."""


class NoAccessHashError(ChannelResolveError):
    """A channel known only by its numeric id that this session has never seen: Telegram needs the
    id's access hash, which a session learns by resolving the @username or by meeting the channel
    (its dialogs). Another account may have it, so the accounts service hands the channel on."""

    def __init__(self, tg_id: int | None) -> None:
        super().__init__(
            f"cannot read channel {tg_id}: this session has no access hash for it "
            "(configure the channel as @username, or let this account open it once)"
        )


def is_unknown_peer(exc: BaseException) -> bool:
    """Telethon's ValueError for a bare id missing from the session's entity cache."""
    return isinstance(exc, ValueError) and "Could not find the input entity" in str(exc)


def parse_channel_ident(value: str | int) -> str | int:
    """A lower-case username or a bare channel id, as Telethon resolves them (bot/core/channels.py reads it)."""
    try:
        ident = parse_channel(value)
    except ChannelIdentError as exc:
        raise ChannelResolveError(str(exc)) from None
    return ident.tg_id if ident.tg_id is not None else str(ident.username)


@dataclass(frozen=True, slots=True)
class Resolution:
    channels: tuple[ChannelRef, ...] = ()
    failures: Mapping[str, str] = field(default_factory=dict)


class ChannelResolver:
    """Watched channels by Telegram id, their entities (with access hashes) and the forwards filter."""

    def __init__(
        self,
        edge: TelegramEdge,
        channels: ChannelBook,
        call: Call,
        *,
        forwards_from: Sequence[str | int] = (),
        log: logging.Logger,
    ) -> None:
        self.edge = edge
        self.channels = channels
        self._call = call
        self.forwards_from = tuple(forwards_from)
        self._log = log
        self.entities: dict[int, Any] = {}  # tg id -> what iter_messages is given
        self.watched: dict[int, ChannelRef] = {}
        self._ff_ids: set[int] = set()
        self._ff_usernames: set[str] = set()
        self._filters_ready = False

    def entity(self, ref: ChannelRef) -> Any:
        assert ref.tg_id is not None
        return self.entities.get(ref.tg_id) or types.PeerChannel(ref.tg_id)

    def _row_by_tg_id(self, tg_id: int) -> ChannelRef | None:
        rows = [r for r in self.channels.channels() if r.tg_id == tg_id]
        return rows[0].ref if rows else None

    async def resolve(self, ident: str | int) -> ChannelRef:
        """A channel with its Telegram id, from the `channels` table when known, else from Telegram once."""
        parsed = parse_channel_ident(ident)
        if isinstance(parsed, int):
            known = self._row_by_tg_id(parsed)
        else:
            row = self.channels.find_channel(parsed)
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
        self.entities[entity.id] = entity
        ref = ChannelRef(tg_id=entity.id, username=entity.username, title=entity.title)
        self.channels.ensure_channel(ref, "telethon")
        return ref

    async def relearn_entity(self, ref: ChannelRef) -> bool:
        """The session lacks this channel's access hash (new session file, StringSession after a restart,
        an account that took the channel over from another): resolving the username once stores it.
        False when there is nothing to re-resolve."""
        if not ref.username or ref.tg_id in self.entities:
            return False
        self.entities[ref.tg_id or 0] = await self._call(
            lambda: self.edge.get_entity(ref.username or ""), f"resolve {ref.label}"
        )
        return True

    def _record_failure(self, ident: str | int, error: str) -> str | int | None:
        """Keep the error on the channel's row, so `stats` shows why a configured channel is silent."""
        try:
            parsed = parse_channel_ident(ident)
        except ValueError:
            return None  # not even a channel name: nothing to attach the error to; logged and returned
        ref = ChannelRef(tg_id=parsed) if isinstance(parsed, int) else ChannelRef(username=parsed)
        self.channels.record_poll(self.channels.ensure_channel(ref), error=error)
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
            self.channels.set_watched(ref, True)
        for row in self.channels.channels(watched_only=True):
            if row.tg_id is None and row.username and row.username not in failed:
                # Watched by another source (web preview) under its username: learn its id once.
                try:
                    await self.resolve(row.username)
                except ChannelResolveError as exc:
                    failures["@" + row.username] = str(exc)
                    self._log.error("%s", exc)
                    self.channels.record_poll(row.id, error=str(exc))
        await self.resolve_forwards_from()
        self.refresh_watched()
        return Resolution(tuple(self.watched.values()), failures)

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

    def refresh_watched(self) -> None:
        self.watched = {r.tg_id: r.ref for r in self.channels.channels(watched_only=True) if r.tg_id is not None}

    def forward_usernames(self) -> dict[int, str]:
        return {r.tg_id: r.username for r in self.channels.channels() if r.tg_id is not None and r.username}

    def wanted(self, raw: RawPost) -> bool:
        """FORWARDS_FROM: only posts forwarded from those channels, and those channels' own posts."""
        if not self._ff_ids and not self._ff_usernames:
            return True
        if raw.channel.tg_id in self._ff_ids or raw.channel.username in self._ff_usernames:
            return True
        forward = raw.forward
        return forward is not None and (
            forward.channel_id in self._ff_ids or (forward.username or "") in self._ff_usernames
        )
