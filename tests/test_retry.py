from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from telethon.errors import ChannelPrivateError, FloodWaitError

from bot.telegram.retry import FloodWaitTooLong, RetriesExhausted, call_with_retry
from tests.tg_factory import SleepRecorder


def scripted(*outcomes: BaseException | str) -> tuple[Callable[[], object], list[int]]:
    """A call that fails with each exception in turn, then returns the string outcome."""
    calls: list[int] = []

    async def fn() -> str:
        calls.append(1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return fn, calls


def run(fn: Callable[[], object], sleep: SleepRecorder, **kwargs: object) -> object:
    options = {"max_wait": 10.0, "max_attempts": 3, "sleep": sleep, **kwargs}
    return asyncio.run(call_with_retry(fn, **options))  # type: ignore[arg-type]


def test_success_after_one_flood_wait_sleeps_the_asked_seconds_plus_one() -> None:
    sleep = SleepRecorder()
    fn, calls = scripted(FloodWaitError(request=None, capture=3), "ok")
    assert run(fn, sleep) == "ok"
    assert sleep.waits == [4]
    assert len(calls) == 2


def test_flood_wait_exactly_at_max_is_waited() -> None:
    sleep = SleepRecorder()
    fn, _ = scripted(FloodWaitError(request=None, capture=10), "ok")
    assert run(fn, sleep, max_wait=10.0) == "ok"
    assert sleep.waits == [11]


def test_flood_wait_above_max_raises_a_clear_error_without_waiting() -> None:
    sleep = SleepRecorder()
    fn, calls = scripted(FloodWaitError(request=None, capture=11), "ok")
    with pytest.raises(FloodWaitTooLong, match=r"read @news: Telegram asks to wait 11s .* allowed 10s") as info:
        run(fn, sleep, max_wait=10.0, what="read @news")
    assert info.value.seconds == 11
    assert isinstance(info.value.__cause__, FloodWaitError)
    assert sleep.waits == [] and len(calls) == 1


def test_connection_errors_back_off_exponentially_then_give_up() -> None:
    sleep = SleepRecorder()
    fn, calls = scripted(ConnectionError("reset"), OSError("unreachable"), TimeoutError(), "never")
    with pytest.raises(RetriesExhausted, match="gave up after 3 attempts: TimeoutError") as info:
        run(fn, sleep, max_attempts=3, base_delay=2.0)
    assert sleep.waits == [2.0, 4.0]
    assert len(calls) == 3
    assert isinstance(info.value, ConnectionError)


def test_backoff_is_capped() -> None:
    sleep = SleepRecorder()
    fn, _ = scripted(*[ConnectionError("x")] * 5, "ok")
    assert run(fn, sleep, max_attempts=6, base_delay=1.0, max_delay=5.0) == "ok"
    assert sleep.waits == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_connection_error_then_success() -> None:
    sleep = SleepRecorder()
    fn, calls = scripted(ConnectionError("reset"), "ok")
    assert run(fn, sleep) == "ok"
    assert sleep.waits == [1.0] and len(calls) == 2


def test_flood_waits_count_as_attempts_so_endless_flooding_ends() -> None:
    sleep = SleepRecorder()
    fn, calls = scripted(*[FloodWaitError(request=None, capture=1)] * 3, "never")
    with pytest.raises(RetriesExhausted, match="gave up after 3 attempts: FloodWaitError"):
        run(fn, sleep, max_attempts=3)
    assert sleep.waits == [2, 2] and len(calls) == 3


def test_other_rpc_errors_propagate_at_once() -> None:
    sleep = SleepRecorder()
    fn, calls = scripted(ChannelPrivateError(request=None), "never")
    with pytest.raises(ChannelPrivateError):
        run(fn, sleep)
    assert sleep.waits == [] and len(calls) == 1


def test_single_attempt_never_sleeps() -> None:
    sleep = SleepRecorder()
    fn, _ = scripted(ConnectionError("down"))
    with pytest.raises(RetriesExhausted):
        run(fn, sleep, max_attempts=1)
    assert sleep.waits == []
    with pytest.raises(ValueError):
        run(fn, sleep, max_attempts=0)


def test_waits_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    fn, _ = scripted(FloodWaitError(request=None, capture=3), "ok")
    with caplog.at_level(logging.WARNING, logger="bot.telegram.retry"):
        run(fn, SleepRecorder(), what="resolve @alpha")
    assert "resolve @alpha: flood wait 3s (attempt 1/3)" in caplog.text
