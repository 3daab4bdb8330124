"""The parts `tgmonitor run` starts: one source, and the bot.

The source is the Telethon listener when API_ID/API_HASH are set, else the credential-free t.me/s web
preview; both hand what they read to the archive's ingest path. The bot answers commands (in a worker
thread, bot/commands/worker.py) and is the sender of digests and alerts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx
from telethon import TelegramClient
from telethon.errors import AccessTokenExpiredError, AccessTokenInvalidError

from bot.app.archive import Archive
from bot.commands import CommandRouter
from bot.commands.worker import CommandWorker, on_loop
from bot.config import Settings
from bot.models import SaveResult
from bot.outputs import ConsoleSender, FileSender, MessageSender
from bot.outputs.telegram import TelethonBotSender
from bot.sources.media import MediaDownloader
from bot.sources.ports import ChannelBook
from bot.sources.telethon_source import Resolution, TelethonSource
from bot.sources.web_preview import DEFAULT_USER_AGENT, WebPreviewSource, resolve_channel
from bot.telegram.bot_client import BotClient
from bot.telegram.client import TelethonClientEdge, make_user_client
from storage.store import Store

_log = logging.getLogger(__name__)

ClientFactory = Callable[[Settings], TelegramClient]
BotStarter = Callable[[Settings], Awaitable[TelegramClient]]
# Archived messages the listener re-reads per channel on every catch-up, so an edit whose live update
# was missed (offline, a dropped update) still reaches the edit history; the web preview's newest page
# plays the same part for the credential-free source.
EDIT_RECHECK = 20


class ServiceConfigError(RuntimeError):
    """Start-up cannot succeed until a person changes something; restarting would only loop."""


class ServiceStartError(RuntimeError):
    """Start-up failed for a reason a restart may fix (Telegram unreachable): exit 1, one log line."""


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True, slots=True)
class PollOutcome:
    ok: int  # channels read
    failed: int  # channels whose read failed (the error is on the channel row)
    new_ids: tuple[int, ...] = ()  # posts inserted

    @classmethod
    def of(cls, results: Mapping[str, SaveResult | BaseException], *, failed: int = 0) -> PollOutcome:
        saved = [r for r in results.values() if isinstance(r, SaveResult)]
        ids = tuple(i for r in saved for i in r.new_ids)
        return cls(ok=len(saved), failed=failed + len(results) - len(saved), new_ids=ids)


class Source(Protocol):
    """What feeds the archive: started once, polled by the scheduler, silenced and closed on stop."""

    name: str

    async def start(self) -> str: ...  # returns the start-up line describing what runs

    async def poll(self) -> PollOutcome: ...

    async def refresh(self) -> None: ...  # the watched channels changed (bot /watch, /unwatch)

    def stop_updates(self) -> None: ...

    async def close(self) -> None: ...

    def lost(self) -> Awaitable[object] | None: ...  # completes if the source dies for good


class WebPreviewPart:
    """The credential-free source: public channels through t.me/s/, one channel after another."""

    name = "web preview"

    def __init__(
        self,
        settings: Settings,
        archive: Archive,
        client_factory: Callable[[], httpx.AsyncClient] = httpx.AsyncClient,
    ) -> None:
        self.archive = archive
        self.client_factory = client_factory
        self.client: httpx.AsyncClient | None = None
        self.source: WebPreviewSource | None = None
        self.base_url = settings.web_preview_base
        self.read_watched = settings.read_channels == "all"
        self.configured: list[str] = []
        self.skipped: dict[str, str] = {}
        for ident in settings.channels:
            try:
                name = resolve_channel(ident)
            except ValueError as exc:
                self.skipped[ident] = str(exc)
                continue
            if name not in self.configured:
                self.configured.append(name)

    def channels(self) -> list[str]:
        """Configured channels plus those watched in the archive (bot /watch), read on every poll;
        with READ_CHANNELS=configured the configured ones only (other listeners read the rest)."""
        rows = self.archive.store.channels(watched_only=True) if self.read_watched else []
        watched = [r.username for r in rows if r.username]
        return list(dict.fromkeys([*self.configured, *watched]))

    async def start(self) -> str:
        for ident, why in self.skipped.items():
            _log.warning("web preview: skipping %s: %s", ident, why)
        self.client = self.client_factory()
        self.source = WebPreviewSource(
            self.client,
            self.archive.ingest,
            self.archive.store,
            base_url=self.base_url,
            user_agent=DEFAULT_USER_AGENT,
        )
        names = self.channels()
        listed = ", ".join("@" + n for n in names[:5]) + (", …" if len(names) > 5 else "")
        return (
            f"listener: off (no API_ID/API_HASH) → web preview source for {plural(len(names), 'channel')}"
            f" ({listed}) from {self.base_url}"
        )

    async def poll(self) -> PollOutcome:
        assert self.source is not None
        return PollOutcome.of(await self.source.poll_all(self.channels()))

    async def refresh(self) -> None:
        """Nothing to do: `channels()` reads the watched list on every poll."""

    def stop_updates(self) -> None:
        """Nothing pushes updates here; the scheduler's pause already stops new polls."""

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    def lost(self) -> Awaitable[object] | None:
        return None


class ListenerPart:
    """The Telegram user client: live updates saved at once, catch-up from checkpoints on every poll."""

    name = "listener"

    def __init__(
        self,
        settings: Settings,
        archive: Archive,
        client_factory: ClientFactory = make_user_client,
        on_live_saved: Callable[[Sequence[int]], None] | None = None,
        *,
        book: ChannelBook | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.archive = archive
        self.client_factory = client_factory
        self.on_live_saved = on_live_saved
        # One account of several (bot/service/accounts.py) sees only its own channels, and sleeps its own waits.
        self.book: ChannelBook = book if book is not None else archive.store
        self.sleep = sleep
        self.client: TelegramClient | None = None
        self.source: TelethonSource | None = None
        self.resolution: Resolution | None = None  # the configured channels' at start

    async def start(self) -> str:
        client = self.client_factory(self.settings)
        self.client = client
        await client.connect()
        if not await client.is_user_authorized():
            raise ServiceConfigError(
                "API_ID/API_HASH are set but the Telegram session is not logged in: run `tgmonitor login` "
                "once (or set TG_SESSION to a StringSession), or remove API_ID/API_HASH to use the web preview"
            )
        edge = TelethonClientEdge(client)
        media = MediaDownloader.from_settings(edge, self.settings)
        source = TelethonSource(
            edge,
            self.archive.ingest,
            self.book,
            forwards_from=self.settings.forwards_from,
            media=media,
            on_live_saved=self.on_live_saved,
            recheck=EDIT_RECHECK,
            sleep=self.sleep,
        )
        self.source = source
        resolution = await source.resolve_channels(self.settings.channels)
        self.resolution = resolution
        source.register_handlers()
        failed = f"; {plural(len(resolution.failures), 'channel')} failed to resolve" if resolution.failures else ""
        files = f"; media files to {media.media_dir}" if media is not None else ""
        return (
            f"listener: on (Telegram user client, live updates + catch-up) for "
            f"{plural(len(resolution.channels), 'channel')}{failed}{files}; web preview: off (API credentials set)"
        )

    async def poll(self, only: Collection[int] | None = None) -> PollOutcome:
        """Catch up every watched channel (`only`: just these channel rows, e.g. ones just taken over)."""
        assert self.source is not None
        results = await self.source.catch_up(only=only)
        rows = self.book.channels(watched_only=True)
        readable = [r for r in rows if r.tg_id is not None and (only is None or r.id in only)]
        return PollOutcome.of(results, failed=max(0, len(readable) - len(results)))

    async def refresh(self) -> None:
        """A channel watched by username only gets its Telegram id, so live updates reach it."""
        assert self.source is not None
        await self.source.resolve_channels()

    def stop_updates(self) -> None:
        client = self.client
        if client is None:
            return
        for callback, event in client.list_event_handlers():
            client.remove_event_handler(callback, event)

    async def close(self) -> None:
        if self.source is not None:
            await self.source.flush_albums()
        if self.client is not None:
            await self.client.disconnect()

    def lost(self) -> Awaitable[object] | None:
        return self.client.disconnected if self.client is not None else None


def sink_label(sender: MessageSender) -> str:
    if isinstance(sender, FileSender):
        return f"file {sender.path}"
    return "stdout" if isinstance(sender, ConsoleSender) else "the bot"


class BotPart:
    """The bot account: commands answered off the loop, and the Telegram sender of digests and alerts."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        on_subscriptions_changed: Callable[[], object],
        on_channels_changed: Callable[[], object],
    ) -> None:
        self.settings = settings
        self.store = store
        self.on_subscriptions_changed = on_subscriptions_changed
        self.on_channels_changed = on_channels_changed
        self.client: TelegramClient | None = None
        self.commands: CommandWorker | None = None
        self.adapter: BotClient | None = None

    async def start(self, bot_starter: BotStarter) -> tuple[MessageSender, str]:
        s = self.settings
        try:
            client = await bot_starter(s)
        except (AccessTokenInvalidError, AccessTokenExpiredError) as exc:
            raise ServiceConfigError(f"Telegram refused BOT_TOKEN ({exc}); get a valid one from @BotFather") from exc
        self.client = client
        self.commands = self._command_worker()
        self.adapter = BotClient(client, self.commands)
        username = await self.adapter.start()
        who = plural(len(s.allowed_users | s.allowed_chats | s.admin_users), "allowed user/chat")
        return TelethonBotSender(client), f"bot: on (@{username}) → commands for {who}; sends digests and alerts"

    def _command_worker(self) -> CommandWorker:
        """The router in a worker thread on a connection of its own (in memory: on the loop, shared)."""
        loop = asyncio.get_running_loop()
        path = self.store.file_path()
        store = Store.open(path) if path is not None else self.store
        router = CommandRouter(
            store,
            self.settings,
            on_subscriptions_changed=on_loop(loop, self.on_subscriptions_changed),
            on_channels_changed=on_loop(loop, self.on_channels_changed),
        )
        return CommandWorker(router) if path is not None else CommandWorker.inline(router)

    def stop_updates(self) -> None:
        if self.adapter is not None:
            self.adapter.stop()

    async def close(self) -> None:
        if self.client is not None:
            await self.client.disconnect()
        if self.commands is not None:
            self.commands.close()

    def lost(self) -> Awaitable[object] | None:
        return self.client.disconnected if self.client is not None else None

    def alive(self) -> bool:
        """Connected, and not given up (Telethon reconnects on its own meanwhile): the heartbeat's test."""
        if self.client is None:
            return False
        lost = self.client.disconnected
        return not lost.done() and bool(self.client.is_connected())
