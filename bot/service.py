"""`tgmonitor run`: every long-running part in one asyncio loop, started in order, stopped cleanly.

Parts: one *source* (the Telethon listener when API_ID/API_HASH are set, else the t.me/s web preview),
the scheduler (poll every POLL_INTERVAL with an immediate first run, hourly database upkeep), and the
outputs (digests, alerts, bot commands) when their modules and settings are present. Start-up logs
one line per part saying whether it runs and, when it does not, why and what happens instead.

Stopping (SIGTERM / SIGINT): live updates are dropped first (nothing is lost: the listener never moves
a checkpoint, so the next catch-up reads them again), the scheduler takes no new runs and gives the
running poll `shutdown_grace` seconds to finish, clients close, and the process exits 0. A
watchdog thread ends the process (exit 1) if all that takes longer than `shutdown_deadline`; a
second signal ends it at once (exit 128+signal). Both are safe for the archive: signal handlers
run between loop callbacks, never inside a store write, and every write is a transaction anyway.
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
from telethon import TelegramClient

from bot.config import Settings
from bot.core.pipeline import Pipeline
from bot.models import SaveResult
from bot.scheduler import MAINTENANCE_EVERY, Scheduler
from bot.sources.telethon_source import TelethonSource
from bot.sources.web_preview import DEFAULT_USER_AGENT, WebPreviewSource, resolve_channel
from bot.telegram.client import TelethonClientEdge, make_user_client
from storage import status as keys
from storage.db import transaction
from storage.store import Store, to_db_time

_log = logging.getLogger(__name__)

EX_CONFIG = 78  # sysexits.h: the systemd unit does not restart on it (RestartPreventExitStatus)


class ServiceConfigError(RuntimeError):
    """Start-up cannot succeed until a person changes something; restarting would only loop."""


@dataclass(frozen=True, slots=True)
class PollOutcome:
    ok: int  # channels read
    failed: int  # channels whose read failed (the error is on the channel row)
    new: int  # posts inserted


class Source(Protocol):
    """What feeds the archive: started once, polled by the scheduler, silenced and closed on stop."""

    name: str

    async def start(self) -> str: ...  # returns the start-up line describing what runs

    async def poll(self) -> PollOutcome: ...

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


ClientFactory = Callable[[Settings], TelegramClient]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _interval(seconds: int) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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
        results = await self.source.poll_all(self.channels())
        saved = [r for r in results.values() if isinstance(r, SaveResult)]
        return PollOutcome(ok=len(saved), failed=len(results) - len(saved), new=sum(r.inserted for r in saved))

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
        source = TelethonSource(
            TelethonClientEdge(client), self.store, self.pipeline, forwards_from=self.settings.forwards_from
        )
        self.source = source
        resolution = await source.resolve_channels(self.settings.channels)
        source.register_handlers()
        failed = f"; {_plural(len(resolution.failures), 'channel')} failed to resolve" if resolution.failures else ""
        return (
            f"listener: on (Telegram user client, live updates + catch-up) for "
            f"{_plural(len(resolution.channels), 'channel')}{failed}; web preview: off (API credentials set)"
        )

    async def poll(self) -> PollOutcome:
        assert self.source is not None
        results = await self.source.catch_up()
        readable = [r for r in self.store.channels(watched_only=True) if r.tg_id is not None]
        return PollOutcome(
            ok=len(results), failed=max(0, len(readable) - len(results)), new=sum(r.inserted for r in results.values())
        )

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
        notify: Callable[[str], bool] = notify_systemd,
        shutdown_grace: float = 4.0,
        shutdown_deadline: float = 9.5,
        log: logging.Logger = _log,
    ) -> None:
        self.settings = settings
        self.store = store
        self.pipeline = pipeline
        self.http_client_factory = http_client_factory
        self.user_client_factory = user_client_factory
        self.notify = notify
        self.shutdown_grace = shutdown_grace
        self.shutdown_deadline = shutdown_deadline
        self.log = log
        self.scheduler = Scheduler(settings.tz, log=log)
        self.source: Source | None = None
        self._stop = asyncio.Event()
        self._stop_reason: str | None = None
        self._exit_code = 0
        self._started = False

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
        lost = self.source.lost() if self.source is not None else None
        if lost is None:
            await self._stop.wait()
            return
        waiters = {asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(lost)}
        _done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if not self._stop.is_set():
            self.log.error("%s lost its connection for good; exiting so the supervisor restarts it", self.source.name)  # type: ignore[union-attr]
            self._exit_code = 1
            self._stop_reason = "connection lost"

    async def _start(self) -> None:
        s = self.settings
        self.source = self._make_source()
        source_line = await self.source.start() if self.source is not None else self._no_source_line()
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
        lines = [source_line]
        if self.source is not None:
            self.scheduler.add_interval("poll", self._poll, seconds=s.poll_interval, run_now=True)
            lines.append(f"poll: every {_interval(s.poll_interval)}, first one now, never two at once")
        else:
            lines.append("poll: off (no source)")
        self.scheduler.add_interval("maintenance", self._maintain, seconds=MAINTENANCE_EVERY)
        lines.append(f"maintenance: PRAGMA optimize + WAL checkpoint every {_interval(MAINTENANCE_EVERY)}")
        lines.extend(self._output_lines())
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

    def _output_lines(self) -> list[str]:
        """Digests, alerts and the bot: wired here as their modules land (see the issue notes)."""
        s = self.settings
        sink = "stdout" if s.digest_output in (None, "-") else f"file {s.digest_output}"
        bot = (
            "bot: off (bot client not in this build yet) → digests to " + sink
            if s.bot_token
            else f"bot: off (no BOT_TOKEN) → digests to {sink}"
        )
        return [
            "digests: off (digest scheduler not in this build yet)",
            "alerts: off (alerts not in this build yet)",
            bot,
        ]

    # ------------------------------------------------------------------- jobs
    async def _poll(self) -> None:
        assert self.source is not None
        started = time.monotonic()
        outcome = await self.source.poll()
        now = to_db_time(datetime.now(UTC))
        values = {keys.SERVICE_LAST_POLL: now}
        if outcome.ok or not outcome.failed:
            values[keys.SERVICE_LAST_POLL_OK] = now
        self._note(values)
        self.log.info(
            "poll: %s read, %d failed, %s in %.1fs",
            _plural(outcome.ok, "channel"),
            outcome.failed,
            _plural(outcome.new, "new post"),
            time.monotonic() - started,
        )

    async def _maintain(self) -> None:
        busy, wal_frames, moved = self.store.optimize()
        self.log.info(
            "maintenance: optimize done, WAL checkpoint %d/%d frames%s",
            moved,
            wal_frames,
            " (a reader was busy; retried next hour)" if busy else "",
        )

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

    async def _shutdown(self) -> None:
        began = time.monotonic()
        self.notify("STOPPING=1")
        watchdog = threading.Timer(self.shutdown_deadline, self._deadline_exit)
        watchdog.daemon = True
        watchdog.start()
        try:
            if self.source is not None:
                self.source.stop_updates()
            if self.scheduler.aps.running:
                cancelled = await self.scheduler.stop(self.shutdown_grace)
                if cancelled:
                    self.log.warning(
                        "%s cancelled after %.0fs; what it had not saved is read again on the next start",
                        _plural(cancelled, "running job"),
                        self.shutdown_grace,
                    )
            if self.source is not None:
                try:
                    await asyncio.wait_for(self.source.close(), timeout=2.0)
                except Exception as exc:
                    self.log.warning("closing %s: %s: %s", self.source.name, exc.__class__.__name__, exc)
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


async def run_service(settings: Settings, store: Store, pipeline: Pipeline) -> int:
    return await Service(settings, store, pipeline).run()
