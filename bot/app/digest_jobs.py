"""Scheduled digests: one daily job per enabled subscription, every window sent exactly once.

`DigestRunner` decides and sends (no scheduler): for a subscription it first finishes any window
left 'sending' by a crash, from the next unsent message, then sends every window that closed since
the last recorded one, oldest first, one digest per missed day (at most MAX_CATCH_UP, the newest;
older ones are logged and skipped). Because it always works from the `digests` table and the
clock, running it twice, late, or after a restart sends nothing twice; APScheduler only decides
*when* to look.

`DigestScheduler` registers the jobs on the service's scheduler (bot/scheduler.py): a daily job per
subscription in its own time zone (DST-safe, see bot/core/windows.py),
a catch-up run at start, `reload()` after subscriptions change, and a retry with backoff when
a send fails (the cron job would otherwise wait a whole day).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime

from bot.app.analytics import amplification_section
from bot.app.rule_alerts import rule_filter
from bot.app.sink_delivery import SinkDelivery
from bot.config import Settings
from bot.core.digest import Digest, build_digest
from bot.core.digest_render import SECTION_ITEMS, digest_messages
from bot.core.rules import RuleError
from bot.core.windows import MAX_CATCH_UP, Window, due_windows, missed_before
from bot.models import PostChange, StoredPost
from bot.outputs import MessageSender
from bot.scheduler import Scheduler, Trigger
from storage.digests import DigestLog, DigestRecord
from storage.file_lock import ProcessLock
from storage.store import Store
from storage.subscriptions import Subscription, Subscriptions

Clock = Callable[[], datetime]
_log = logging.getLogger(__name__)
_LOCK_POLL = 0.25  # seconds between looks at another process's digest lock


def sink_key(subscription_id: int, window: Window) -> str:
    """What a subscription's window is called in the sink outbox: one delivery per sink, ever."""
    return f"digest:{subscription_id}:{window.end.isoformat()}"


class DigestBusyError(RuntimeError):
    """Another process is sending this subscription's digest; the scheduler retries later."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def digest_title(tags: tuple[str, ...]) -> str:
    return "Digest" + (f" · {', '.join(tags)}" if tags else "")


def window_posts(
    store: Store, start: datetime, end: datetime, tags: tuple[str, ...] | list[str] = ()
) -> tuple[list[StoredPost], list[PostChange]]:
    """A digest window's posts, deleted ones included (a deleted statement is news; it is marked), and
    their edits and deletions, which mark the items: what every digest (scheduled, /digest, CLI) reads."""
    posts = store.posts_between(start, end, tags=tags, include_deleted=True)
    return posts, store.changes_of(p.id for p in posts)


def subscription_digest(
    posts: list[StoredPost],
    start: datetime,
    end: datetime,
    tags: tuple[str, ...],
    changes: list[PostChange] | tuple[PostChange, ...] = (),
) -> Digest:
    """The digest of a tag-filtered window, titled with the tags as the posts write them (#RussiaSerbia)."""
    digest = build_digest(posts, start, end, changes=changes)
    shown = {t.key: t.display for p in posts for t in p.tags}
    return replace(digest, title=digest_title(tuple(shown.get(t.lstrip("#").casefold(), t) for t in tags)))


class DigestRunner:
    def __init__(
        self,
        *,
        store: Store,
        sender: MessageSender,
        subscriptions: Subscriptions | None = None,
        log: DigestLog | None = None,
        empty: str = "notice",
        clock: Clock = utc_now,
        max_catch_up: int = MAX_CATCH_UP,
        logger: logging.Logger = _log,
        lock_wait: float = 600.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        may_receive: Callable[[Subscription], bool] | None = None,
        amplification: str = "off",
        sinks: SinkDelivery | None = None,
        per_section: int | None = SECTION_ITEMS,
    ) -> None:
        self.store = store
        self.per_section = per_section  # items listed per section (DIGEST_SECTION_ITEMS; None: all)
        self.subscriptions = subscriptions or store.subscriptions
        self.sender = sender
        self.log = log or store.digest_log
        self.empty = empty
        self.clock = clock
        self.max_catch_up = max_catch_up
        self.logger = logger
        # One run per subscription at a time: the cron job, a retry and the start-up catch-up may
        # all wake at once, and the second must see what the first recorded.
        self._locks: dict[int, asyncio.Lock] = {}
        # ... and one process at a time: the service and a `digest --due` from cron (storage/file_lock.py).
        self.lock_wait = lock_wait
        self._sleep = sleep
        # The allow-list, checked at send time (bot.app.access.AccessPolicy.may_receive); None: send to all.
        self.may_receive = may_receive
        self.amplification = amplification  # "weekly": the digest of a window ending on Monday gets the section
        # Sinks besides the chat (bot/app/sink_delivery.py): owed when a window is decided, sent by their own tasks.
        self.sinks = sinks

    def digest(self, sub: Subscription, window: Window) -> Digest:
        posts, changes = window_posts(self.store, window.start, window.end, sub.tags)
        if sub.rule:  # checked when it was set; one the language no longer reads filters nothing out
            try:
                posts = rule_filter(self.store, sub.rule)(posts)
            except RuleError as exc:
                self.logger.warning("digest subscription %d: rule %r ignored: %s", sub.id, sub.rule, exc)
        digest = subscription_digest(posts, window.start, window.end, sub.tags, changes)
        if self.amplification == "weekly" and window.end.astimezone(sub.tz).weekday() == 0:
            digest = replace(digest, amplification=amplification_section(self.store, window.end))
        return digest

    def render(self, sub: Subscription, window: Window, digest: Digest | None = None) -> list[str]:
        """The chat's messages of one window ([] when empty and DIGEST_EMPTY=skip, or the chat is not
        among the subscription's destinations)."""
        if "telegram" not in sub.destinations:
            return []
        return digest_messages(
            digest or self.digest(sub, window), sub.tz, empty=self.empty, per_section=self.per_section
        )

    def _owe_sinks(self, sub: Subscription, window: Window, digest: Digest) -> None:
        """The window owed to the subscription's other sinks, before the chat's record is written: a
        crash in between leaves the window due, and owing it again is a no-op (storage/sink_outbox.py)."""
        others = [n for n in sub.destinations if n != "telegram"]
        if self.sinks is None or not others or (digest.empty and self.empty == "skip"):
            return
        self.sinks.enqueue_digest(sink_key(sub.id, window), digest, sub.tz, others)

    def due(self, sub: Subscription) -> list[Window]:
        # Nothing is owed from before the subscription (re)started, nor twice after the last window.
        marks = [m for m in (self.log.last_window_end(sub.id), self.log.subscription_start(sub.id)) if m]
        after = max(marks) if marks else self.clock()
        windows = due_windows(sub.time, sub.tz, now=self.clock(), after=after, limit=self.max_catch_up)
        if missed_before(windows, after):
            self.logger.warning(
                "digest subscription %d: down since %s; sending only the last %d windows",
                sub.id,
                after.isoformat(),
                len(windows),
            )
        return windows

    async def run_subscription(self, subscription_id: int) -> list[DigestRecord]:
        """Finish interrupted windows, then send the due ones; returns the records completed now."""
        lock = self._locks.setdefault(subscription_id, asyncio.Lock())
        async with lock:
            held = await self._hold_process_lock(subscription_id)
            try:
                return await self._run_locked(subscription_id)
            finally:
                if held is not None:
                    held.release()

    async def _hold_process_lock(self, subscription_id: int) -> ProcessLock | None:
        """Wait (without blocking the loop) for another process sending this subscription to finish."""
        file_lock = self.store.lock(f"digest-{subscription_id}")
        if file_lock is None:
            return None
        waited = 0.0
        while not file_lock.try_acquire():
            if waited >= self.lock_wait:
                raise DigestBusyError(
                    f"digest subscription {subscription_id}: another tgmonitor process has been sending it "
                    f"for over {self.lock_wait:g}s (lock {file_lock.path}); not sending alongside it"
                )
            await self._sleep(_LOCK_POLL)
            waited += _LOCK_POLL
        return file_lock

    async def _run_locked(self, subscription_id: int) -> list[DigestRecord]:
        sub = self.subscriptions.get(subscription_id)
        if sub is None or not sub.enabled or not self._access(sub):
            return []
        done = [await self._deliver(sub, record) for record in self.log.unfinished(sub.id)]
        for window in self.due(sub):
            digest = self.digest(sub, window)
            self._owe_sinks(sub, window, digest)
            record = self.log.begin(sub.id, sub.chat_id, window, self.render(sub, window, digest), now=self.clock())
            if record.status == "sent":  # another process got there first
                continue
            done.append(await self._deliver(sub, record))
        return done

    def _access(self, sub: Subscription) -> bool:
        """Pause a subscription whose chat lost access (once, logged); resume it when access is back."""
        if self.may_receive is None:
            return True
        if not self.may_receive(sub):
            if self.subscriptions.pause(sub.id, now=self.clock()):
                self.logger.warning(
                    "digest subscription %d for chat %s paused: the chat (or the user who subscribed it) is no "
                    "longer in ALLOWED_USERS/ALLOWED_CHATS; it resumes if they are added again",
                    sub.id,
                    sub.chat_id,
                )
            return False
        if sub.paused and self.subscriptions.resume(sub.id, now=self.clock()):
            self.logger.info("digest subscription %d for chat %s resumed: access is back", sub.id, sub.chat_id)
        return True

    async def catch_up(self) -> dict[int, list[DigestRecord] | BaseException]:
        """Every enabled subscription once; one failing chat does not hold up the others."""
        results: dict[int, list[DigestRecord] | BaseException] = {}
        for sub in self.subscriptions.list():
            try:
                results[sub.id] = await self.run_subscription(sub.id)
            except Exception as exc:
                self.logger.exception("digest subscription %d: catch-up failed", sub.id)
                results[sub.id] = exc
        return results

    async def _deliver(self, sub: Subscription, record: DigestRecord) -> DigestRecord:
        parts = record.parts
        if parts is None:  # a row without frozen messages (should not happen): render again
            parts = tuple(self.render(sub, record.window))
        for index in range(record.parts_sent, len(parts)):
            message_id = await self.sender.send_html(record.chat_id, parts[index])
            self.log.part_sent(record.id, index, message_id)
        self.log.finish(record.id, now=self.clock())
        self.logger.info(
            "digest subscription %d: window %s → %s sent to %s in %d message(s)",
            sub.id,
            record.window.start.isoformat(),
            record.window.end.isoformat(),
            record.chat_id,
            len(parts),
        )
        finished = self.log.get(record.id)
        assert finished is not None
        return finished


class DigestScheduler:
    """Registers the runner's jobs on the service's scheduler (which it does not start or stop)."""

    JOB_PREFIX = "digest:"

    def __init__(
        self,
        runner: DigestRunner,
        scheduler: Scheduler,
        *,
        retry_delay: float = 300.0,
        max_retry_delay: float = 3600.0,
        trigger: Callable[[Subscription], Trigger] | None = None,
        logger: logging.Logger = _log,
    ) -> None:
        self.runner = runner
        self.scheduler = scheduler
        self.trigger = trigger
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.logger = logger
        self._specs: dict[int, tuple[int, int, str]] = {}
        self._failures: dict[int, int] = {}

    def start(self, *, catch_up: bool = True) -> None:
        """Add the daily jobs and (unless told not to) a catch-up run as soon as the scheduler runs.

        Pass catch_up=False and await `runner.catch_up()` yourself to catch up only after the
        sources have fetched what arrived while tgmonitor was down.
        """
        self.reload()
        if catch_up:
            self.scheduler.add_once(f"{self.JOB_PREFIX}catch-up", self.runner.catch_up)

    def reload(self) -> None:
        """Make the jobs match the enabled subscriptions; call after a subscription changes."""
        subs = {sub.id: sub for sub in self.runner.subscriptions.list()}
        wanted = {sub.id: (sub.time.hour, sub.time.minute, sub.tz.key) for sub in subs.values()}
        for sub_id, spec in list(self._specs.items()):
            if wanted.get(sub_id) != spec:
                self.scheduler.remove(f"{self.JOB_PREFIX}{sub_id}")
                self.scheduler.remove(f"{self.JOB_PREFIX}retry:{sub_id}")
                del self._specs[sub_id]
        for sub_id, spec in wanted.items():
            if sub_id in self._specs:
                continue
            sub = subs[sub_id]
            self.scheduler.add_daily(
                f"{self.JOB_PREFIX}{sub_id}",
                functools.partial(self._fire, sub_id),
                at=sub.time,
                tz=sub.tz,
                trigger=self.trigger(sub) if self.trigger is not None else None,
            )
            self._specs[sub_id] = spec

    def stop(self) -> None:
        for job_id in self.job_ids():
            self.scheduler.remove(job_id)
        self._specs.clear()

    def job_ids(self) -> list[str]:
        return self.scheduler.job_ids(self.JOB_PREFIX)

    async def _fire(self, subscription_id: int) -> None:
        try:
            await self.runner.run_subscription(subscription_id)
        except Exception:
            failures = self._failures.get(subscription_id, 0) + 1
            self._failures[subscription_id] = failures
            delay = min(self.max_retry_delay, self.retry_delay * 2 ** (failures - 1))
            self.logger.exception(
                "digest subscription %d: send failed (%d in a row); retrying in %gs", subscription_id, failures, delay
            )
            self.scheduler.add_once(
                f"{self.JOB_PREFIX}retry:{subscription_id}", functools.partial(self._fire, subscription_id), delay=delay
            )
        else:
            self._failures.pop(subscription_id, None)


async def sync_settings_subscription(
    settings: Settings, subscriptions: Subscriptions, sender: MessageSender
) -> Subscription | None:
    """DIGEST_CHAT/DIGEST_TIME/TZ/DIGEST_TAGS as a subscription.

    With no DIGEST_CHAT but a DIGEST_OUTPUT and no BOT_TOKEN (no-credentials mode) the digest
    still runs, addressed to chat 0, which the console/file sender ignores.
    """
    chat: int | str | None = settings.digest_chat
    if chat is None and settings.digest_output and not settings.bot_token:
        chat = 0
    if chat is None and "telegram" not in settings.digest_to:
        chat = 0  # only sinks (DIGEST_TO without telegram): no chat needed
    chat_id = None if chat is None else await sender.resolve_chat(chat)
    return subscriptions.sync_from_settings(
        chat_id,
        at=settings.digest_time,
        tz=settings.tz,
        tags=settings.digest_tags,
        sinks=settings.digest_to,
        rule=settings.digest_rule,
    )
