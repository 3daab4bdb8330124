"""`tgmonitor run`: every long-running part in one asyncio loop, started in order, stopped cleanly.

Parts, in start order: one *source* (the Telethon listener when API_ID/API_HASH are set, else the
t.me/s web preview); the *bot* when BOT_TOKEN is set (commands, and the sender of digests and
alerts; without it they go to stdout or the DIGEST_OUTPUT file); *digests* (a daily job per
subscription; windows missed while down are sent after the first poll, so they include what
arrived meanwhile); *alerts* (checked after every poll that stored something, plus a periodic run
that drains a rate-limited backlog); the *poll* job every POLL_INTERVAL with an immediate first run;
hourly database *maintenance*. Start-up logs one line per part: on, or off with the reason and
what happens instead.

Stopping (SIGTERM / SIGINT): updates are dropped first (nothing is lost: the listener never moves a
checkpoint, so the next catch-up reads them again, and an unanswered bot command is just that), the
scheduler takes no new runs and gives running jobs `shutdown_grace` seconds, clients close, the
process exits 0. A watchdog thread ends the process (exit 1) if that takes longer than
`shutdown_deadline`; a second signal ends it at once (exit 128+signal). Both are safe for the
archive: signal handlers run between loop callbacks, never inside a store write, and every write
is a transaction anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import httpx
from apscheduler.triggers.date import DateTrigger
from telethon import TelegramClient
from telethon.errors import AccessTokenExpiredError, AccessTokenInvalidError

from bot.alerts import Alerter, alert_chat_id, make_alerter
from bot.commands import CommandRouter
from bot.config import Settings
from bot.core.alerts import AlertRules
from bot.core.pipeline import Pipeline
from bot.digest_jobs import DigestRunner, DigestScheduler, sync_settings_subscription
from bot.models import SaveResult
from bot.scheduler import MAINTENANCE_EVERY, Scheduler
from bot.sources.media import MediaDownloader
from bot.sources.telethon_source import TelethonSource
from bot.sources.web_preview import DEFAULT_USER_AGENT, WebPreviewSource, resolve_channel
from bot.telegram.bot_client import BotClient
from bot.telegram.client import TelethonClientEdge, make_user_client
from bot.telegram.sender import (
    ConsoleSender,
    FileSender,
    MessageSender,
    TelethonBotSender,
    output_sender,
    start_bot_client,
)
from storage import status as keys
from storage.db import transaction
from storage.learned_boilerplate import LearnedBoilerplate
from storage.neardup_index import NearDupIndex
from storage.store import Store, to_db_time
from storage.subscriptions import Subscriptions

_log = logging.getLogger(__name__)

EX_CONFIG = 78  # sysexits.h: the systemd unit does not restart on it (RestartPreventExitStatus)
ALERT_DRAIN_EVERY = 30.0  # seconds between alert runs that drain a rate-limited backlog

ClientFactory = Callable[[Settings], TelegramClient]
BotStarter = Callable[[Settings], Awaitable[TelegramClient]]


class ServiceConfigError(RuntimeError):
    """Start-up cannot succeed until a person changes something; restarting would only loop."""


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


def notify_systemd(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET; a no-op outside systemd."""
    address = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        _log.debug("sd_notify %s failed: %s", message, exc)
        return False
    return True


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _interval(seconds: float) -> str:
    whole = int(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if whole >= size and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def _sink(sender: MessageSender) -> str:
    if isinstance(sender, FileSender):
        return f"file {sender.path}"
    return "stdout" if isinstance(sender, ConsoleSender) else "the bot"


# --------------------------------------------------------------------------------------- sources
class WebPreviewPart:
    """The credential-free source: public channels through t.me/s/, one channel after another."""

    name = "web preview"

    def __init__(
        self,
        settings: Settings,
        store: Store,
        pipeline: Pipeline,
        client_factory: Callable[[], httpx.AsyncClient] = httpx.AsyncClient,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.client_factory = client_factory
        self.client: httpx.AsyncClient | None = None
        self.source: WebPreviewSource | None = None
        self.base_url = settings.web_preview_base
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
        """Configured channels plus those watched in the archive (bot /watch), read on every poll."""
        watched = [r.username for r in self.store.channels(watched_only=True) if r.username]
        return list(dict.fromkeys([*self.configured, *watched]))

    async def start(self) -> str:
        for ident, why in self.skipped.items():
            _log.warning("web preview: skipping %s: %s", ident, why)
        self.client = self.client_factory()
        self.source = WebPreviewSource(
            self.client, self.store, self.pipeline, base_url=self.base_url, user_agent=DEFAULT_USER_AGENT
        )
        names = self.channels()
        listed = ", ".join("@" + n for n in names[:5]) + (", …" if len(names) > 5 else "")
        return (
            f"listener: off (no API_ID/API_HASH) → web preview source for {_plural(len(names), 'channel')}"
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
        self, settings: Settings, store: Store, pipeline: Pipeline, client_factory: ClientFactory = make_user_client
    ) -> None:
        self.settings = settings
        self.store = store
        self.pipeline = pipeline
        self.client_factory = client_factory
        self.client: TelegramClient | None = None
        self.source: TelethonSource | None = None

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
        source = TelethonSource(edge, self.store, self.pipeline, forwards_from=self.settings.forwards_from, media=media)
        self.source = source
        resolution = await source.resolve_channels(self.settings.channels)
        source.register_handlers()
        failed = f"; {_plural(len(resolution.failures), 'channel')} failed to resolve" if resolution.failures else ""
        files = f"; media files to {media.media_dir}" if media is not None else ""
        return (
            f"listener: on (Telegram user client, live updates + catch-up) for "
            f"{_plural(len(resolution.channels), 'channel')}{failed}{files}; web preview: off (API credentials set)"
        )

    async def poll(self) -> PollOutcome:
        assert self.source is not None
        results = await self.source.catch_up()
        readable = [r for r in self.store.channels(watched_only=True) if r.tg_id is not None]
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


# --------------------------------------------------------------------------------------- service
class Service:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        pipeline: Pipeline,
        *,
        http_client_factory: Callable[[], httpx.AsyncClient] = httpx.AsyncClient,
        user_client_factory: ClientFactory = make_user_client,
        bot_starter: BotStarter = start_bot_client,
        notify: Callable[[str], bool] = notify_systemd,
        shutdown_grace: float = 4.0,
        shutdown_deadline: float = 9.5,
        log: logging.Logger = _log,
        neardup: NearDupIndex | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.pipeline = pipeline
        # Sources save straight to the store, so each poll clusters what arrived (catch_up) and the
        # hourly maintenance prunes the index to its window.
        self.neardup = neardup or NearDupIndex(
            store.db, boilerplate=LearnedBoilerplate(store.db), window_days=settings.neardup_window_days
        )
        self.http_client_factory = http_client_factory
        self.user_client_factory = user_client_factory
        self.bot_starter = bot_starter
        self.notify = notify
        self.shutdown_grace = shutdown_grace
        self.shutdown_deadline = shutdown_deadline
        self.log = log
        self.scheduler = Scheduler(settings.tz, log=log)
        self.subscriptions = Subscriptions(store.db)
        self.source: Source | None = None
        self.bot: BotClient | None = None
        self.bot_client: TelegramClient | None = None
        self.digests: DigestScheduler | None = None
        self.alerter: Alerter | None = None
        self._stop = asyncio.Event()
        self._stop_reason: str | None = None
        self._exit_code = 0
        self._started = False
        self._polled = False

    # ---------------------------------------------------------------- running
    async def run(self) -> int:
        """Start everything, run until a signal (or a fatal loss), stop cleanly; returns the exit code."""
        loop = asyncio.get_running_loop()
        installed = self._install_signals(loop)
        try:
            return await self._run()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    async def _run(self) -> int:
        self.log.info(
            "tgmonitor starting (pid %d): archive %s, poll every %s",
            os.getpid(),
            self.settings.db_path,
            _interval(self.settings.poll_interval),
        )
        starting = asyncio.ensure_future(self._start())
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            done, _ = await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if starting in done:
                starting.result()
                self.notify("READY=1")
                self.log.info("running; SIGTERM or Ctrl-C stops, `tgmonitor status` shows progress")
                await self._until_stopped()
            else:
                starting.cancel()
                await asyncio.gather(starting, return_exceptions=True)
        except ServiceConfigError as exc:
            self.log.error("cannot start: %s", exc)
            self._exit_code = EX_CONFIG
        except Exception as exc:
            self.log.exception("start-up failed: %s", exc)
            self._exit_code = 1
        finally:
            stopping.cancel()
            await self._shutdown()
        return self._exit_code

    async def _until_stopped(self) -> None:
        lost = {
            name: future
            for name, future in (
                (self.source.name if self.source else "", self.source.lost() if self.source else None),
                ("bot", self.bot_client.disconnected if self.bot_client is not None else None),
            )
            if future is not None
        }
        waiters = {asyncio.ensure_future(self._stop.wait()): ""}
        waiters.update({asyncio.ensure_future(future): name for name, future in lost.items()})
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if not self._stop.is_set():
            task = next(iter(done))
            # Telethon ends `disconnected` with the error that made it give up reconnecting.
            error = None if task.cancelled() else task.exception()
            why = f": {error.__class__.__name__}: {error}" if error else ""
            self.log.error(
                "%s lost its Telegram connection for good%s; exiting so the supervisor restarts it", waiters[task], why
            )
            self._exit_code = 1
            self._stop_reason = "connection lost"

    async def _start(self) -> None:
        s = self.settings
        self.source = self._make_source()
        if self.source is None and not (s.bot_token and s.has_api_credentials):
            # Nothing would ever arrive and nobody could ask: idling forever only looks like working.
            raise ServiceConfigError(
                "nothing to monitor: set CHANNELS (e.g. CHANNELS=@mfa_russia, read through the public "
                "t.me/s/ preview; with API_ID/API_HASH through your account) and/or BOT_TOKEN with "
                "API_ID/API_HASH for the bot, in .env or the environment (see .env.example)"
            )
        lines = [await self.source.start() if self.source is not None else self._no_source_line()]
        self._note(
            {
                keys.SERVICE_STATE: "running",
                keys.SERVICE_PID: str(os.getpid()),
                keys.SERVICE_STARTED_AT: to_db_time(datetime.now(UTC)),
                keys.SERVICE_SOURCE: self.source.name if self.source is not None else "none",
                keys.SERVICE_POLL_INTERVAL: str(s.poll_interval),
            }
        )
        self._started = True
        self.scheduler.start()
        sender, bot_line = await self._start_bot()
        lines.append(bot_line)
        lines.append(await self._start_digests(sender))
        lines.append(await self._start_alerts(sender))
        if self.source is not None:
            self.scheduler.add_interval("poll", self._poll, seconds=s.poll_interval, run_now=True)
            lines.append(f"poll: every {_interval(s.poll_interval)}, first one now, never two at once")
        else:
            lines.append("poll: off (no source)")
        self.scheduler.add_interval("maintenance", self._maintain, seconds=MAINTENANCE_EVERY)
        lines.append(f"maintenance: PRAGMA optimize + WAL checkpoint every {_interval(MAINTENANCE_EVERY)}")
        for line in lines:
            self.log.info("%s", line)

    def _make_source(self) -> Source | None:
        s = self.settings
        if s.has_api_credentials:
            return ListenerPart(s, self.store, self.pipeline, self.user_client_factory)
        part = WebPreviewPart(s, self.store, self.pipeline, self.http_client_factory)
        return part if part.channels() else None

    def _no_source_line(self) -> str:
        return "listener: off (no API_ID/API_HASH); web preview: off (no CHANNELS set and no watched channels)"

    async def _start_bot(self) -> tuple[MessageSender, str]:
        s = self.settings
        if s.bot_token and s.has_api_credentials:
            try:
                client = await self.bot_starter(s)
            except (AccessTokenInvalidError, AccessTokenExpiredError) as exc:
                raise ServiceConfigError(
                    f"Telegram refused BOT_TOKEN ({exc}); get a valid one from @BotFather"
                ) from exc
            self.bot_client = client
            router = CommandRouter(
                self.store,
                s,
                subscriptions=self.subscriptions,
                on_subscriptions_changed=self._subscriptions_changed,
                on_channels_changed=self._channels_changed,
            )
            self.bot = BotClient(client, router)
            username = await self.bot.start()
            allowed = len(s.allowed_users | s.allowed_chats | s.admin_users)
            who = _plural(allowed, "allowed user/chat")
            line = f"bot: on (@{username}) → commands for {who}; sends digests and alerts"
            return TelethonBotSender(client), line
        sender = output_sender(s.digest_output)
        why = "no BOT_TOKEN" if not s.bot_token else "BOT_TOKEN set, but the bot also needs API_ID/API_HASH"
        return sender, f"bot: off ({why}) → no bot commands; digests and alerts to {_sink(sender)}"

    async def _start_digests(self, sender: MessageSender) -> str:
        s = self.settings
        await sync_settings_subscription(s, self.subscriptions, sender)
        runner = DigestRunner(store=self.store, subscriptions=self.subscriptions, sender=sender, empty=s.digest_empty)
        self.digests = DigestScheduler(runner, self.scheduler.aps)
        self.digests.start(catch_up=False)  # caught up after the first poll: see _poll
        subs = self.subscriptions.list()
        if not subs:
            return "digests: off (no subscription: set DIGEST_CHAT" + (
                ", or /subscribe in the bot)" if self.bot else ", or DIGEST_OUTPUT=- to print)"
            )
        first = subs[0]
        more = f" and {len(subs) - 1} more" if len(subs) > 1 else ""
        return (
            f"digests: on, {_plural(len(subs), 'subscription')} (daily {first.time:%H:%M} {first.tz.key}{more}) "
            f"→ {_sink(sender)}; missed windows go out after the first poll"
        )

    async def _start_alerts(self, sender: MessageSender) -> str:
        s = self.settings
        rules = AlertRules.from_settings(s.alert_tags, s.alert_words)
        if not rules.active:
            return "alerts: off (no ALERT_TAGS or ALERT_WORDS)"
        chat = await alert_chat_id(s, sender)
        if chat is None:
            return "alerts: off (no ALERT_CHAT or DIGEST_CHAT to send to, and no DIGEST_OUTPUT)"
        self.alerter = make_alerter(s, self.store, sender, chat)
        self.alerter.schedule(self.scheduler.aps, every=ALERT_DRAIN_EVERY)
        return (
            f"alerts: on ({_plural(len(rules.tags), 'tag')}, {_plural(len(rules.words), 'word')}) → {_sink(sender)}, "
            f"at most {s.alert_rate_per_minute} a minute"
        )

    # ------------------------------------------------------------------- jobs
    async def _poll(self) -> None:
        assert self.source is not None
        started = time.monotonic()
        outcome = await self.source.poll()
        self.neardup.catch_up(datetime.now(UTC))
        now = to_db_time(datetime.now(UTC))
        values = {keys.SERVICE_LAST_POLL: now}
        if outcome.ok or not outcome.failed:
            values[keys.SERVICE_LAST_POLL_OK] = now
        self._note(values)
        self.log.info(
            "poll: %s read, %d failed, %s in %.1fs",
            _plural(outcome.ok, "channel"),
            outcome.failed,
            _plural(len(outcome.new_ids), "new post"),
            time.monotonic() - started,
        )
        if not self._polled:
            self._polled = True
            if self.digests is not None:
                # Digest windows missed while down, now that the archive holds what arrived meanwhile.
                self.scheduler.add_job("digest-catch-up", self.digests.runner.catch_up, DateTrigger())
        if self.alerter is not None and outcome.new_ids:
            await self.alerter.check(outcome.new_ids)

    async def _maintain(self) -> None:
        self.neardup.prune(datetime.now(UTC))
        busy, wal_frames, moved = self.store.optimize()
        note = " (a reader was busy; again next hour)" if busy else ""
        self.log.info("maintenance: optimize done, WAL checkpoint %d/%d frames%s", moved, wal_frames, note)

    async def _refresh_and_poll(self) -> None:
        if self.source is not None:
            await self.source.refresh()
        self.scheduler.run_soon("poll")

    def _channels_changed(self) -> None:
        """Bot /watch or /unwatch: pick the change up now rather than at the next poll."""
        self.scheduler.add_job("channels-changed", self._refresh_and_poll, DateTrigger())

    def _subscriptions_changed(self) -> None:
        if self.digests is not None:
            self.digests.reload()

    def _note(self, values: Mapping[str, str]) -> None:
        with transaction(self.store.db):
            for key, value in values.items():
                self.store.meta_set(key, value)

    # --------------------------------------------------------------- stopping
    def request_stop(self, reason: str) -> None:
        if self._stop_reason is None:
            self._stop_reason = reason
        self._stop.set()

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> list[int]:
        installed = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._on_signal, sig)
                installed.append(sig)
        return installed

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self._stop.is_set():
            self.log.critical("second signal (%s): exiting now without cleanup; the archive is safe", name)
            _flush_logs()
            os._exit(128 + sig)
        self.log.info("%s received: stopping (a second signal exits at once)", name)
        self.request_stop(name)

    def _deadline_exit(self) -> None:
        self.log.critical("shutdown did not finish within %.1fs: exiting now", self.shutdown_deadline)
        _flush_logs()
        os._exit(1)

    async def _close(self, what: str, closing: Awaitable[object]) -> None:
        try:
            await asyncio.wait_for(closing, timeout=2.0)
        except Exception as exc:
            self.log.warning("closing %s: %s: %s", what, exc.__class__.__name__, exc)

    async def _shutdown(self) -> None:
        began = time.monotonic()
        self.notify("STOPPING=1")
        watchdog = threading.Timer(self.shutdown_deadline, self._deadline_exit)
        watchdog.daemon = True
        watchdog.start()
        try:
            if self.source is not None:
                self.source.stop_updates()
            if self.bot is not None:
                self.bot.stop()
            if self.scheduler.aps.running:
                cancelled = await self.scheduler.stop(self.shutdown_grace)
                if cancelled:
                    self.log.warning(
                        "%s cancelled after %.0fs; what it had not saved is read again on the next start",
                        _plural(cancelled, "running job"),
                        self.shutdown_grace,
                    )
            if self.source is not None:
                await self._close(self.source.name, self.source.close())
            if self.bot_client is not None:
                await self._close("bot", self.bot_client.disconnect())
            if self._started:
                self._note({keys.SERVICE_STATE: "stopped", keys.SERVICE_STOPPED_AT: to_db_time(datetime.now(UTC))})
        finally:
            watchdog.cancel()
        took = time.monotonic() - began
        if self._exit_code == 0:
            self.log.info("tgmonitor stopped cleanly in %.2fs", took)
        else:
            self.log.info("tgmonitor stopped in %.2fs with exit code %d", took, self._exit_code)


def _flush_logs() -> None:
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
