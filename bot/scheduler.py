"""APScheduler 3.x inside the service's asyncio loop, plus the in-flight bookkeeping a clean stop needs.

Why a wrapper at all:

* jobs must be coroutine functions: APScheduler runs plain functions in a thread pool, and a thread
  sharing the service's SQLite connection with the loop is a race; a coroutine runs in the loop, so
  store writes stay strictly one after another;
* APScheduler's AsyncIOExecutor *cancels* running jobs on shutdown. Cancelling is safe for the archive
  (store writes are synchronous transactions, so a cancel can only land between them, never inside),
  but it throws away a fetch that was about to be saved. `stop()` therefore pauses first, gives the
  running jobs a grace period to finish, and only then cancels what is left;
* one place sets the defaults every job wants: never two runs of one job at once (`max_instances=1`),
  missed runs folded into one (`coalesce`), and a job that throws is logged, not lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

_log = logging.getLogger(__name__)

JobFn = Callable[[], Awaitable[Any]]
MAINTENANCE_EVERY = 3600  # seconds


class Scheduler:
    def __init__(self, tz: tzinfo, *, log: logging.Logger = _log) -> None:
        self.aps = AsyncIOScheduler(
            timezone=tz,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        self._log = log
        self._running: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ jobs
    def add_job(self, name: str, fn: JobFn, trigger: BaseTrigger, **options: Any) -> Job:
        """Register `fn` (a zero-argument coroutine function) under `name`, tracked and error-logged."""

        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                await fn()
            except asyncio.CancelledError:
                # Swallowed on purpose: APScheduler would log a cancel as a job crash with a traceback.
                self._log.warning("job %s cancelled by shutdown", name)
            except Exception:
                self._log.exception("job %s failed", name)
            finally:
                self._running.discard(task)

        return self.aps.add_job(run, trigger, id=name, name=name, replace_existing=True, **options)

    def add_interval(self, name: str, fn: JobFn, *, seconds: float, run_now: bool = False) -> Job:
        """Every `seconds`; with `run_now` the first run is immediate instead of one interval away."""
        first = {"next_run_time": datetime.now(UTC)} if run_now else {}
        # misfire grace of one interval: a loop stalled for a moment still runs the job once, late.
        return self.add_job(
            name, fn, IntervalTrigger(seconds=seconds), misfire_grace_time=max(1, int(seconds)), **first
        )

    @property
    def running_jobs(self) -> int:
        return len(self._running)

    # ------------------------------------------------------------ life cycle
    def start(self) -> None:
        """Must be called inside the running loop: the scheduler binds to it here."""
        asyncio.get_running_loop()  # fail here, clearly, rather than on the first job
        self.aps.start()

    async def stop(self, grace: float) -> int:
        """No new runs; wait up to `grace` seconds for running jobs; cancel the rest. Returns how many."""
        if self.aps.running:
            self.aps.pause()
        pending = set(self._running)
        if pending:
            self._log.info("waiting up to %.0fs for %d running job(s) to finish", grace, len(pending))
            _done, pending = await asyncio.wait(pending, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self.aps.running:
            self.aps.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler.shutdown is scheduled with call_soon
        return len(pending)
