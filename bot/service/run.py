"""`tgmonitor run`: every long-running part in one asyncio loop, started in order, stopped cleanly.

Parts, in start order: one *source* (the Telethon listener when API_ID/API_HASH are set, else the
t.me/s web preview); the *bot* when BOT_TOKEN is set (commands, and the sender of digests and
alerts; without it they go to stdout or the DIGEST_OUTPUT file); *digests* (a daily job per
subscription; windows missed while down are sent after the first poll, so they include what
arrived meanwhile); *alerts* (checked after every poll or live update that stored something, plus a
periodic run that drains a rate-limited backlog); the *poll* job every POLL_INTERVAL with an immediate first run;
hourly database *maintenance*. Start-up logs one line per part: on, or off with the reason and
what happens instead. What is sent (sinks, digests, alerts, edit alerts) is bot/service/outbound.py;
what it notes for `tgmonitor status` (state, polls, heartbeat, under SERVICE_NAME) is bot/service/notes.py.

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
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import httpx

from bot.app.archive import Archive
from bot.app.articles import JOB_EVERY, ArticleJob
from bot.config import Settings
from bot.outputs import MessageSender, output_sender
from bot.outputs.telegram import start_bot_client
from bot.scheduler import MAINTENANCE_EVERY, Scheduler
from bot.service.account_book import AssignedBook, channel_key
from bot.service.accounts import AccountsPart
from bot.service.notes import ServiceNotes
from bot.service.outbound import Outbound
from bot.service.parts import (
    BotPart,
    BotStarter,
    ClientFactory,
    ListenerPart,
    PollOutcome,
    ServiceConfigError,
    ServiceStartError,
    Source,
    WebPreviewPart,
    plural,
    sink_label,
)
from bot.service.systemd import StopSignals, notify_systemd, watchdog
from bot.sources.article_fetcher import ArticleFetcher, FetchPolicy
from bot.telegram.client import make_user_client
from storage import services
from storage.db import shown as shown_location

__all__ = ["EX_CONFIG", "PollOutcome", "Service", "ServiceConfigError", "notify_systemd"]

_log = logging.getLogger(__name__)

EX_CONFIG = 78  # sysexits.h: the systemd unit does not restart on it (RestartPreventExitStatus)
MERGE_BUDGET = 60.0  # seconds of search-index merging per maintenance run at most; the rest next hour


# A start that failed for a reason a restart may fix waits this long before exiting: podman restarts
# with no back-off, and with systemd's RestartSec=10 five tries then span more than StartLimitIntervalSec
# (600 s), so an outage never trips StartLimitBurst=5 (deploy/tgmonitor.service) and stops it for good.
START_RETRY_WAIT = 120.0


def _interval(seconds: float) -> str:
    whole = int(seconds)
    for unit, size in (("h", 3600), ("m", 60)):
        if whole >= size and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


class Service:
    def __init__(
        self,
        settings: Settings,
        archive: Archive,
        *,
        http_client_factory: Callable[[], httpx.AsyncClient] = httpx.AsyncClient,
        user_client_factory: ClientFactory = make_user_client,
        bot_starter: BotStarter = start_bot_client,
        notify: Callable[[str], bool] = notify_systemd,
        shutdown_grace: float = 4.0,
        shutdown_deadline: float = 9.5,
        start_retry_wait: float = START_RETRY_WAIT,
        log: logging.Logger = _log,
        article_fetcher_factory: Callable[[FetchPolicy], ArticleFetcher] = ArticleFetcher,
    ) -> None:
        self.settings = settings
        self.archive = archive
        self.store = archive.store
        self.http_client_factory = http_client_factory
        self.user_client_factory = user_client_factory
        self.bot_starter = bot_starter
        self.notify = notify
        self.shutdown_grace = shutdown_grace
        self.shutdown_deadline = shutdown_deadline
        self.start_retry_wait = start_retry_wait
        self.log = log
        self.scheduler = Scheduler(settings.tz, log=log)
        self.source: Source | None = None
        self.bot: BotPart | None = None
        self.articles = ArticleJob(
            settings,
            archive.store,
            archive.pipeline,
            fetcher_factory=article_fetcher_factory,
            on_stored=self._articles_stored,
            log=log,
        )
        self._stop = asyncio.Event()
        self.outbound = Outbound(settings, archive.store, self.scheduler, self._stop)  # digests, alerts, sinks
        self._stop_reason: str | None = None
        self._exit_code = 0
        self._started = False
        self._polled = False
        # What `tgmonitor status` reads.
        self.notes = ServiceNotes(archive.store, settings.service_name, log, settings.secrets)
        self._start_error: str | None = None

    # ---------------------------------------------------------------- running
    async def run(self) -> int:
        """Start everything, run until a signal (or a fatal loss), stop cleanly; returns the exit code."""
        loop = asyncio.get_running_loop()
        signals = StopSignals(self.request_stop, self._stop.is_set, self.log)
        signals.install(loop)
        try:
            return await self._run()
        finally:
            signals.remove(loop)

    async def _run(self) -> int:
        self.log.info(
            "tgmonitor starting (pid %d): archive %s, poll every %s",
            os.getpid(),
            shown_location(self.settings.archive),  # a URL without its password
            _interval(self.settings.poll_interval),
        )
        retry_later = False
        self.notes.starting(self.settings.poll_interval)
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
            self._start_error = str(exc)
        except (ServiceStartError, OSError, EOFError) as exc:  # EOFError: Telethon's IncompleteReadError
            # Telegram unreachable (network, a proxy answering instead): one line, and the supervisor retries.
            what = str(exc) if isinstance(exc, ServiceStartError) else f"{exc.__class__.__name__}: {exc}"
            self.log.error(
                "cannot start yet: %s; exiting with 1 in %s so the supervisor retries",
                what,
                _interval(self.start_retry_wait),
            )
            self._exit_code = 1
            self._start_error = what
            retry_later = True
        except Exception as exc:
            self.log.exception("start-up failed: %s", exc)
            self._exit_code = 1
            self._start_error = f"{exc.__class__.__name__}: {exc}"
        finally:
            stopping.cancel()
            await self._shutdown()
        if retry_later:
            await self._wait_before_retry()
        return self._exit_code

    async def _wait_before_retry(self) -> None:
        """Exit only after a pause: without it a restart policy with no back-off (podman, compose
        `restart:`) retries an unreachable Telegram in a tight loop. A stop request ends the pause."""
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=self.start_retry_wait)
        except TimeoutError:
            return
        self._exit_code = 0  # asked to stop, and stopped

    async def _until_stopped(self) -> None:
        lost = {
            name: future
            for name, future in (
                (self.source.name if self.source else "", self.source.lost() if self.source else None),
                ("bot", self.bot.lost() if self.bot is not None else None),
            )
            if future is not None
        }
        waiters: dict[asyncio.Future[object], str] = {asyncio.ensure_future(self._stop.wait()): ""}
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
            if s.read_channels == "none":
                raise ServiceConfigError(
                    "READ_CHANNELS=none and no bot (BOT_TOKEN with API_ID/API_HASH): this service would do nothing"
                )
            raise ServiceConfigError(
                "nothing to monitor: set CHANNELS (e.g. CHANNELS=@mfa_russia, read through the public "
                "t.me/s/ preview; with API_ID/API_HASH through your account) and/or BOT_TOKEN with "
                "API_ID/API_HASH for the bot, in .env or the environment (see .env.example)"
            )
        lines = [await self.source.start() if self.source is not None else self._no_source_line()]
        self.notes.running(self.source.name if self.source is not None else "none", s.poll_interval)
        self._started = True
        self.scheduler.start()
        sender, bot_line = await self._start_bot()
        lines.append(bot_line)
        lines += await self.outbound.start(sender, has_bot=self.bot is not None)
        lines.append(self.articles.start())
        if self.articles.worker is not None:
            self.scheduler.add_interval("articles", self.articles.run, seconds=JOB_EVERY)
        if self.source is not None:
            self.scheduler.add_interval("poll", self._poll, seconds=s.poll_interval, run_now=True)
            lines.append(f"poll: every {_interval(s.poll_interval)}, first one now, never two at once")
        else:
            lines.append("poll: off (no source)")
        self.scheduler.add_interval("maintenance", self._maintain, seconds=MAINTENANCE_EVERY)
        self.scheduler.add_interval("heartbeat", self._heartbeat, seconds=services.heartbeat_every(s.poll_interval))
        lines.append(
            f"maintenance: search indexes merged, database optimized (SQLite: PRAGMA optimize + WAL checkpoint) "
            f"every {_interval(MAINTENANCE_EVERY)}"
        )
        for line in lines:
            self.log.info("%s", line)

    def _make_source(self) -> Source | None:
        s = self.settings
        if s.read_channels == "none":  # the listeners beside it read (docs/team.md)
            return None
        if s.accounts:  # TELEGRAM_ACCOUNTS: one listener per account (bot/service/accounts.py)
            return AccountsPart(s, self.archive, self.user_client_factory, self._live_saved)
        if s.has_api_credentials:
            own = frozenset(channel_key(c) for c in s.channels)  # READ_CHANNELS=configured: these only
            book = AssignedBook(self.store, lambda: own) if s.read_channels == "configured" else None
            return ListenerPart(s, self.archive, self.user_client_factory, self._live_saved, book=book)
        part = WebPreviewPart(s, self.archive, self.http_client_factory)
        return part if part.channels() else None

    def _no_source_line(self) -> str:
        if self.settings.read_channels == "none":
            return "listener: off (READ_CHANNELS=none: other services read the channels); web preview: off"
        return "listener: off (no API_ID/API_HASH); web preview: off (no CHANNELS set and no watched channels)"

    async def _start_bot(self) -> tuple[MessageSender, str]:
        s = self.settings
        if s.accounts and not s.has_api_credentials:
            # Only per-account credentials: the one bot signs in with the first account's API id (docs/accounts.md).
            s = replace(s, api_id=s.accounts[0].api_id, api_hash=s.accounts[0].api_hash)
        if s.bot_token and s.has_api_credentials:
            self.bot = BotPart(s, self.store, self._subscriptions_changed, self._channels_changed)
            return await self.bot.start(self.bot_starter)
        sender = output_sender(s.digest_output)
        why = "no BOT_TOKEN" if not s.bot_token else "BOT_TOKEN set, but the bot also needs API_ID/API_HASH"
        return sender, f"bot: off ({why}) → no bot commands; digests and alerts to {sink_label(sender)}"

    # ------------------------------------------------------------------- jobs
    async def _poll(self) -> None:
        assert self.source is not None
        started = time.monotonic()
        outcome = await self.source.poll()
        self.notes.polled(bool(outcome.ok or not outcome.failed))
        self.log.info(
            "poll: %s read, %d failed, %s in %.1fs",
            plural(outcome.ok, "channel"),
            outcome.failed,
            plural(len(outcome.new_ids), "new post"),
            time.monotonic() - started,
        )
        first, self._polled = not self._polled, True
        await self.outbound.polled(outcome.new_ids, first=first)
        if outcome.new_ids:
            self.scheduler.run_soon("articles")  # their links, now rather than within a minute

    async def _articles_stored(self) -> None:
        await self.outbound.articles_stored()

    def _live_saved(self, post_ids: Sequence[int]) -> None:
        self.outbound.live_saved(post_ids)

    async def _maintain(self) -> None:
        # Every ingest clusters as it saves; catch_up only finds posts an older version left unclustered.
        now = datetime.now(UTC)
        self.archive.neardup.catch_up(now)
        self.archive.neardup.prune(now)
        # The search indexes back to one segment each, a short transaction per step (before the WAL
        # checkpoint, which then folds the merge's pages back): live writes otherwise leave a query
        # reading many segments (storage/search_index.py `merge`).
        merged = await self._merge_search_indexes()
        busy, wal_frames, moved = self.store.optimize()
        note = " (a reader was busy; again next hour)" if busy else ""
        steps = ", ".join(f"{table} {n} steps" for table, n in merged.items()) or "nothing to do"
        self.log.info(
            "maintenance: search indexes merged (%s), optimize done, WAL checkpoint %d/%d frames%s",
            steps,
            moved,
            wal_frames,
            note,
        )

    async def _merge_search_indexes(self) -> dict[str, int]:
        """`SearchIndex.merge_step` until done or MERGE_BUDGET seconds, handing the event loop back
        between steps (each a short write transaction), so live updates and commands go on meanwhile."""
        deadline = time.monotonic() + MERGE_BUDGET
        steps: dict[str, int] = {}
        while time.monotonic() < deadline and (table := self.store.search_index.merge_step()) is not None:
            steps[table] = steps.get(table, 0) + 1
            await asyncio.sleep(0)
        return steps

    async def _refresh_and_poll(self) -> None:
        if self.source is not None:
            await self.source.refresh()
        self.scheduler.run_soon("poll")

    def _channels_changed(self) -> None:
        """Bot /watch or /unwatch: pick the change up now rather than at the next poll."""
        self.scheduler.add_once("channels-changed", self._refresh_and_poll)

    def _subscriptions_changed(self) -> None:
        self.outbound.subscriptions_changed()

    async def _heartbeat(self) -> None:
        """A sign of life for `tgmonitor status`: the loop runs, and the bot (if any) is connected.

        Without it a service that reads no channel (READ_CHANNELS=none) would look alive for ever after
        a kill; with a disconnected bot it stays silent, so its status turns stale."""
        if self.bot is not None and not self.bot.alive():
            return
        self.notes.heartbeat()

    # --------------------------------------------------------------- stopping
    def request_stop(self, reason: str) -> None:
        if self._stop_reason is None:
            self._stop_reason = reason
        self._stop.set()

    async def _close(self, what: str, closing: Awaitable[object]) -> None:
        try:
            await asyncio.wait_for(closing, timeout=2.0)
        except Exception as exc:
            self.log.warning("closing %s: %s: %s", what, exc.__class__.__name__, exc)

    async def _shutdown(self) -> None:
        began = time.monotonic()
        self.notify("STOPPING=1")
        with watchdog(self.shutdown_deadline, self.log):
            if self.source is not None:
                self.source.stop_updates()
            if self.bot is not None:
                self.bot.stop_updates()
            if self.scheduler.aps.running:
                cancelled = await self.scheduler.stop(self.shutdown_grace)
                if cancelled:
                    self.log.warning(
                        "%s cancelled after %.0fs; what it had not saved is read again on the next start",
                        plural(cancelled, "running job"),
                        self.shutdown_grace,
                    )
            if self.source is not None:
                await self._close(self.source.name, self.source.close())
            if self.bot is not None:
                await self._close("bot", self.bot.close())
            await self._close("articles", self.articles.close())
            await self.outbound.close()
            self.notes.stopped(started=self._started, start_error=self._start_error)
        took = time.monotonic() - began
        if self._exit_code == 0:
            self.log.info("tgmonitor stopped cleanly in %.2fs", took)
        else:
            self.log.info("tgmonitor stopped in %.2fs with exit code %d", took, self._exit_code)


async def pause_before_retry(reason: str, seconds: float = START_RETRY_WAIT, log: logging.Logger = _log) -> int:
    """For a service that could not even open its archive (the database server is down): one line, then
    wait before exiting 1, as `_wait_before_retry` does for Telegram, so a restart policy with no back-off
    does not retry in a tight loop. A stop request ends the pause with 0."""
    log.error("cannot start yet: %s; exiting with 1 in %s so the supervisor retries", reason, _interval(seconds))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = StopSignals(lambda _reason: stop.set(), stop.is_set, log)
    signals.install(loop)
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return 1
    finally:
        signals.remove(loop)
    return 0
