"""Delivering digests and alerts to sinks: decided once, sent once, a failing sink paused, none waiting on another.

* Deciding: `enqueue_digest` / `enqueue_alert` render the notice for each named sink
  (bot/core/sink_format.py) and owe it in the outbox under a key (storage/sink_outbox.py): deciding
  the same window or alert again owes nothing more.
* Sending: `deliver(sink)` sends what that sink owes, message by message, recording each one the
  service accepted; a crash re-sends at most the message in flight.  Each sink has its own thread
  (a one-worker executor) and every send a timeout, so a hanging service blocks only its own queue:
  not the other sinks, the listener or the bot, which share the event loop with these awaits only.
* Failing: a refused or timed-out send is retried with exponential backoff (`retry_base` doubling
  up to `retry_max`); after `pause_after` failures in a row the sink is paused (logged, shown by
  `tgmonitor status`) and nothing is sent to it until `tgmonitor sinks resume NAME` or a successful
  `tgmonitor sinks test NAME`.  What it is owed stays owed meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from bot.config import Settings
from bot.core.digest import Digest
from bot.core.sink_format import Rendered, render_alert_notice, render_digest, render_test
from bot.models import StoredPost
from bot.outputs.sinks import ApprisePoster, SinkTarget, load_target
from storage.sink_outbox import SinkOutbox

_log = logging.getLogger(__name__)


class Poster(Protocol):
    def post(self, target: SinkTarget, title: str, body: str) -> tuple[bool, str]: ...


@dataclass
class SinkRun:
    sent: list[str] = field(default_factory=list)  # delivery keys completed
    failed: str | None = None  # what the service answered when it stopped the run
    paused: bool = False


def utc_now() -> datetime:
    return datetime.now(UTC)


class SinkDelivery:
    def __init__(
        self,
        *,
        outbox: SinkOutbox,
        targets: Iterable[SinkTarget],
        poster: Poster,
        timeout: float = 30.0,
        retry_base: float = 30.0,
        retry_max: float = 3600.0,
        pause_after: int = 5,
        clock: Callable[[], datetime] = utc_now,
        logger: logging.Logger = _log,
    ) -> None:
        self.outbox = outbox
        self.targets = {t.name: t for t in targets}
        self.poster = poster
        self.timeout = timeout
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.pause_after = pause_after
        self.clock = clock
        self.logger = logger
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._wake: asyncio.Event | None = None  # created in run(), on the running loop

    # ------------------------------------------------------------------ deciding
    def _owe(self, names: Iterable[str], key: str, kind: str, render: Callable[[SinkTarget], Rendered]) -> list[str]:
        owed = []
        for name in names:
            target = self.targets.get(name)
            if target is None:
                continue  # 'telegram' (the chat, sent by the digest and alert jobs) or a sink since removed
            rendered = render(target)
            if self.outbox.enqueue(name, key, kind, rendered.title, rendered.parts, now=self.clock()):
                owed.append(name)
        if owed and self._wake is not None:
            self._wake.set()
        return owed

    def enqueue_digest(self, key: str, digest: Digest, tz: tzinfo, names: Iterable[str]) -> list[str]:
        return self._owe(names, key, "digest", lambda t: render_digest(digest, tz, t.format, t.limit))

    def enqueue_alert(
        self, key: str, post: StoredPost, reasons: list[str], tz: tzinfo, names: Iterable[str]
    ) -> list[str]:
        return self._owe(names, key, "alert", lambda t: render_alert_notice(post, reasons, tz, t.format, t.limit))

    # ------------------------------------------------------------------ sending
    def _executor(self, name: str) -> ThreadPoolExecutor:
        if name not in self._executors:
            self._executors[name] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sink-{name}")
        return self._executors[name]

    async def _post(self, target: SinkTarget, title: str, body: str) -> tuple[bool, str]:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor(target.name), self.poster.post, target, title, body)
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            return False, f"no answer within {self.timeout:g}s"
        except Exception as exc:
            return False, target.redact(f"{type(exc).__name__}: {exc}")[:500]

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.retry_max, self.retry_base * 2 ** max(0, attempts - 1)))

    async def deliver(self, name: str) -> SinkRun:
        """Send what `name` owes now; stops at the first failure (later ones wait their turn)."""
        run = SinkRun()
        target = self.targets.get(name)
        if target is None:
            return run
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            if self.outbox.health(name).paused_at is not None:
                run.paused = True
                return run
            for delivery in self.outbox.due(name, self.clock()):
                for index in range(delivery.parts_sent, len(delivery.parts)):
                    accepted, answer = await self._post(target, delivery.title, delivery.parts[index])
                    if not accepted:
                        self._failed(target, delivery.id, delivery.attempts + 1, answer, run)
                        return run
                    self.outbox.part_sent(delivery.id, index)
                self.outbox.finish(delivery.id, now=self.clock())
                self.outbox.record_ok(name, now=self.clock())
                run.sent.append(delivery.key)
                self.logger.info("sink %s: %s delivered in %d message(s)", name, delivery.key, len(delivery.parts))
        return run

    def _failed(self, target: SinkTarget, delivery_id: int, attempts: int, answer: str, run: SinkRun) -> None:
        run.failed = answer
        failures = self.outbox.record_failure(target.name, answer)
        wait = self.backoff(attempts)
        self.outbox.retry_later(delivery_id, answer, self.clock() + wait)
        if failures >= self.pause_after:
            self.outbox.pause(target.name, now=self.clock())
            run.paused = True
            self.logger.warning(
                "sink %s (%s) paused after %d failures in a row: %s; `tgmonitor sinks resume %s` when it is fixed",
                target.name,
                target.shown,
                failures,
                answer,
                target.name,
            )
        else:
            self.logger.warning(
                "sink %s: not delivered (%s); retrying in %ds", target.name, answer, int(wait.total_seconds())
            )

    async def deliver_all(self) -> dict[str, SinkRun]:
        """Every sink at once, each on its own: one hanging does not hold up the others."""
        names = list(self.targets)
        results = await asyncio.gather(*(self.deliver(n) for n in names))
        return dict(zip(names, results, strict=True))

    async def test(self, name: str) -> tuple[bool, str]:
        """A test message, sent now (paused or not); success resumes a paused sink."""
        target = self.targets[name]
        rendered = render_test(name, target.format)
        accepted, answer = await self._post(target, rendered.title, rendered.parts[0])
        if accepted:
            self.outbox.resume(name, now=self.clock())
            self.outbox.record_ok(name, now=self.clock())
        return accepted, answer

    async def run(self, stop: asyncio.Event, *, every: float = 5.0) -> None:
        """The service's loop: each sink delivered by its own task, woken by new deliveries or `every`."""
        self._wake = asyncio.Event()

        async def one(name: str) -> None:
            while not stop.is_set():
                try:
                    await self.deliver(name)
                except Exception:
                    self.logger.exception("sink %s: delivery round failed", name)
                wake = self._wake
                assert wake is not None
                try:
                    await asyncio.wait_for(wake.wait(), every)
                    wake.clear()
                except TimeoutError:
                    pass

        await asyncio.gather(*(one(n) for n in self.targets))

    def close(self) -> None:
        for executor in self._executors.values():
            executor.shutdown(wait=False, cancel_futures=True)
        self._executors.clear()


def sink_targets(settings: Settings) -> list[SinkTarget]:
    """Every SINK_<NAME> as a target; SinkError (secrets redacted) for one Apprise cannot use."""
    return [load_target(name, url) for name, url in settings.sinks]


def make_sink_delivery(settings: Settings, outbox: SinkOutbox, **kwargs: object) -> SinkDelivery | None:
    """The sinks of the settings, or None when there are none (only the Telegram chat)."""
    if not settings.sinks:
        return None
    return SinkDelivery(outbox=outbox, targets=sink_targets(settings), poster=ApprisePoster(), **kwargs)  # type: ignore[arg-type]
