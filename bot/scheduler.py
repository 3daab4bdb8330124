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
  missed runs folded into one (`coalesce`), and a job that throws is logged, not lost;
* this is the only module that imports APScheduler: the digest and alert jobs ask for "daily at
  08:00 Europe/Sofia", "every 30 s" or "once in 5 minutes" and never see a trigger class.

`DailyTrigger` replaces APScheduler's CronTrigger for digests: CronTrigger slips around DST changes in
3.x (agronholm/apscheduler#606), and a digest window must end exactly at the local time asked for.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, TypeAlias

from apscheduler.executors.base import BaseExecutor, run_coroutine_job, run_job
from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import iscoroutinefunction_partial

from bot.core.windows import next_occurrence

_log = logging.getLogger(__name__)

JobFn = Callable[[], Awaitable[Any]]
Trigger: TypeAlias = BaseTrigger  # what a test may hand `DigestScheduler` instead of the daily trigger
MAINTENANCE_EVERY = 3600  # seconds


class DailyTrigger(BaseTrigger):
    """Fires once a day at local `at` in `tz`, exactly at the ends of the digest windows."""

    __slots__ = ("at", "tz")

    def __init__(self, at: time, tz: tzinfo) -> None:
        self.at = at
        self.tz = tz

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        if previous_fire_time is None:
            fire = next_occurrence(self.at, self.tz, now, inclusive=True)
        else:
            fire = next_occurrence(self.at, self.tz, previous_fire_time)
        return fire.astimezone(self.tz)

    def __str__(self) -> str:
        return f"daily[{self.at:%H:%M} {getattr(self.tz, 'key', self.tz)}]"


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

    def add_daily(self, name: str, fn: JobFn, *, at: time, tz: tzinfo, trigger: Trigger | None = None) -> Job:
        """Once a day at local `at`; late runs still run (the job works out what is due), never piled up."""
        return self.add_job(name, fn, trigger or DailyTrigger(at, tz), misfire_grace_time=None)

    def add_once(self, name: str, fn: JobFn, *, delay: float = 0.0) -> Job:
        """One run, `delay` seconds from now (as soon as the scheduler runs, for 0)."""
        when = datetime.now(UTC) + timedelta(seconds=max(0.0, delay))
        return self.add_job(name, fn, DateTrigger(when), misfire_grace_time=None)

    def remove(self, name: str) -> None:
        if self.aps.get_job(name) is not None:
            self.aps.remove_job(name)

    def job_ids(self, prefix: str = "") -> list[str]:
        return sorted(job.id for job in self.aps.get_jobs() if job.id.startswith(prefix))

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
