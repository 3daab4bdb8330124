"""APScheduler 3.x inside the service's asyncio loop, plus the in-flight bookkeeping a clean stop needs.

Why a wrapper at all:

* every job runs as a task in the service loop, plain functions too (APScheduler's own asyncio
  executor runs those in a thread pool): the service has one SQLite connection, and a thread
  using it beside the loop is a race. In the loop, store writes happen strictly one after another;
* APScheduler's asyncio executor *cancels* running jobs on shutdown. Cancelling is safe for the
  archive (store writes are synchronous transactions, so a cancel can only land between them), but
  it throws away a fetch that was about to be saved or a digest half sent. `stop()` therefore
  pauses, gives every running job (ours, the digest and alert jobs registered directly on `aps`)
  a grace period to finish, and only then cancels what is left;
* one place sets the defaults every job wants: never two runs of one job at once (`max_instances=1`),
  missed runs folded into one (`coalesce`), and a job that throws is logged, not lost.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from apscheduler.executors.base import BaseExecutor, run_coroutine_job, run_job
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import iscoroutinefunction_partial

_log = logging.getLogger(__name__)

JobFn = Callable[[], Awaitable[Any]]
MAINTENANCE_EVERY = 3600  # seconds


class LoopExecutor(BaseExecutor):
    """Runs every job as a task in the running loop and remembers the tasks until they finish."""

    def __init__(self) -> None:
        super().__init__()
        self.tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._loop = asyncio.get_running_loop()

    def shutdown(self, wait: bool = True) -> None:
        for task in self.tasks:
            task.cancel()

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        assert self._loop is not None, "executor used before the scheduler started"
        store = job._jobstore_alias  # what APScheduler's own executors pass on
        if iscoroutinefunction_partial(job.func):
            coro = run_coroutine_job(job, store, run_times, self._logger.name)
        else:
            coro = _run_sync(job, store, run_times, self._logger.name)
        task = self._loop.create_task(coro, name=f"job:{job.id}")
        self.tasks.add(task)
        task.add_done_callback(functools.partial(self._finished, job.id))

    def _finished(self, job_id: str, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        try:
            events = task.result()
        except BaseException:
            self._run_job_error(job_id, *sys.exc_info()[1:])
        else:
            self._run_job_success(job_id, events)


async def _run_sync(job: Job, store: str, run_times: list[datetime], logger_name: str) -> Any:
    return run_job(job, store, run_times, logger_name)


class Scheduler:
    def __init__(self, tz: tzinfo, *, log: logging.Logger = _log) -> None:
        self.executor = LoopExecutor()
        self.aps = AsyncIOScheduler(
            timezone=tz,
            executors={"default": self.executor},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        self._log = log

    # ------------------------------------------------------------------ jobs
    def add_job(self, name: str, fn: JobFn, trigger: BaseTrigger, **options: Any) -> Job:
        """Register `fn` (a zero-argument coroutine function) under `name`, its errors logged."""

        async def run() -> None:
            try:
                await fn()
            except asyncio.CancelledError:
                # Swallowed on purpose: APScheduler would log a cancel as a job crash with a traceback.
                self._log.warning("job %s cancelled by shutdown", name)
            except Exception:
                self._log.exception("job %s failed", name)

        return self.aps.add_job(run, trigger, id=name, name=name, replace_existing=True, **options)

    def add_interval(self, name: str, fn: JobFn, *, seconds: float, run_now: bool = False) -> Job:
        """Every `seconds`; with `run_now` the first run is immediate instead of one interval away."""
        first = {"next_run_time": datetime.now(UTC)} if run_now else {}
        # misfire grace of one interval: a loop stalled for a moment still runs the job once, late.
        return self.add_job(
            name, fn, IntervalTrigger(seconds=seconds), misfire_grace_time=max(1, int(seconds)), **first
        )

    def run_soon(self, name: str) -> None:
        """Bring a job's next run forward to now (a no-op while it runs: max_instances=1 skips it)."""
        if self.aps.running and self.aps.get_job(name) is not None:
            self.aps.modify_job(name, next_run_time=datetime.now(UTC))

    @property
    def running_jobs(self) -> int:
        return len(self.executor.tasks)

    # ------------------------------------------------------------ life cycle
    def start(self) -> None:
        """Must be called inside the running loop: the scheduler binds to it here."""
        asyncio.get_running_loop()  # fail here, clearly, rather than on the first job
        self.aps.start()

    async def stop(self, grace: float) -> int:
        """No new runs; wait up to `grace` seconds for running jobs; cancel the rest. Returns how many."""
        if self.aps.running:
            self.aps.pause()
        pending = set(self.executor.tasks)
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
