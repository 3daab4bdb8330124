from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC

import pytest
from apscheduler.triggers.date import DateTrigger

from bot.scheduler import Scheduler


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_interval_job_runs_now_and_never_twice_at_once() -> None:
    async def scenario() -> tuple[list[float], int]:
        loop = asyncio.get_running_loop()
        scheduler = Scheduler(UTC)
        starts: list[float] = []
        running = peak = 0

        async def slow_poll() -> None:
            nonlocal running, peak
            starts.append(loop.time())
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.25)  # longer than the interval
            running -= 1

        began = loop.time()
        scheduler.start()
        scheduler.add_interval("poll", slow_poll, seconds=0.05, run_now=True)
        await asyncio.sleep(0.6)
        await scheduler.stop(grace=1.0)
        return [s - began for s in starts], peak

    starts, peak = run(scenario())  # type: ignore[misc]
    assert starts and starts[0] < 0.1  # the first poll is immediate, not one interval away
    assert peak == 1
    assert 2 <= len(starts) <= 4  # overlapping runs were skipped, not queued up


def test_stop_waits_for_a_job_that_finishes_within_the_grace() -> None:
    async def scenario() -> tuple[int, list[str]]:
        scheduler = Scheduler(UTC)
        events: list[str] = []
        started = asyncio.Event()

        async def poll() -> None:
            started.set()
            await asyncio.sleep(0.2)
            events.append("saved")

        scheduler.start()
        scheduler.add_interval("poll", poll, seconds=60, run_now=True)
        await started.wait()
        cancelled = await scheduler.stop(grace=2.0)
        events.append("stopped")
        return cancelled, events

    assert run(scenario()) == (0, ["saved", "stopped"])


def test_stop_cancels_what_outlasts_the_grace_and_logs_it_once(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[int, bool, float]:
        loop = asyncio.get_running_loop()
        scheduler = Scheduler(UTC, log=logging.getLogger("tests.scheduler"))
        started = asyncio.Event()
        seen_cancel = False

        async def hanging() -> None:
            nonlocal seen_cancel
            started.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                seen_cancel = True
                raise

        scheduler.start()
        scheduler.add_interval("poll", hanging, seconds=60, run_now=True)
        await started.wait()
        began = loop.time()
        cancelled = await scheduler.stop(grace=0.2)
        return cancelled, seen_cancel, loop.time() - began

    with caplog.at_level(logging.INFO):
        cancelled, seen_cancel, took = run(scenario())  # type: ignore[misc]
    assert cancelled == 1 and seen_cancel and took < 1.0
    assert "job poll cancelled by shutdown" in caplog.text
    assert "raised an exception" not in caplog.text  # no APScheduler traceback for a planned cancel


def test_jobs_added_directly_on_aps_are_tracked_and_plain_functions_run_in_the_loop() -> None:
    async def scenario() -> tuple[int, list[str], bool]:
        scheduler = Scheduler(UTC)
        events: list[str] = []
        loop_thread = threading.get_ident()
        same_thread = False
        started = asyncio.Event()

        async def digest() -> None:  # like DigestScheduler's jobs: registered on `aps` itself
            started.set()
            await asyncio.sleep(0.2)
            events.append("digest sent")

        def plain() -> None:
            nonlocal same_thread
            same_thread = threading.get_ident() == loop_thread

        scheduler.start()
        scheduler.aps.add_job(digest, DateTrigger(), id="digest:1")
        scheduler.aps.add_job(plain, DateTrigger(), id="plain")
        await started.wait()
        assert scheduler.running_jobs >= 1
        cancelled = await scheduler.stop(grace=2.0)
        return cancelled, events, same_thread

    assert run(scenario()) == (0, ["digest sent"], True)


def test_a_failing_job_is_logged_and_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> int:
        scheduler = Scheduler(UTC, log=logging.getLogger("tests.scheduler"))
        calls = 0

        async def flaky() -> None:
            nonlocal calls
            calls += 1
            raise RuntimeError("t.me is down")

        scheduler.start()
        scheduler.add_interval("poll", flaky, seconds=0.05, run_now=True)
        await asyncio.sleep(0.3)
        await scheduler.stop(grace=1.0)
        return calls

    with caplog.at_level(logging.ERROR):
        calls = run(scenario())
    assert isinstance(calls, int) and calls >= 2
    assert "job poll failed" in caplog.text and "t.me is down" in caplog.text


def test_run_soon_brings_the_next_run_forward() -> None:
    async def scenario() -> int:
        scheduler = Scheduler(UTC)
        calls = 0

        async def poll() -> None:
            nonlocal calls
            calls += 1

        scheduler.start()
        scheduler.add_interval("poll", poll, seconds=3600, run_now=True)
        await asyncio.sleep(0.1)
        scheduler.run_soon("poll")
        scheduler.run_soon("no-such-job")  # ignored
        await asyncio.sleep(0.1)
        await scheduler.stop(grace=1.0)
        return calls

    assert run(scenario()) == 2
