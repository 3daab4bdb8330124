"""The one retry policy for every Telegram call: bounded flood waits, bounded reconnect attempts.

Telegram answers "too many requests" with FloodWaitError(seconds). Waiting that out is the only
correct response, but an unattended monitor must never hang for hours on one call, so a wait above
`max_wait` becomes a clear error the caller can record per channel and move on. Network failures
are retried with exponential backoff; every other RPC error is a real answer and propagates at once.
The user client is built with `flood_sleep_threshold=0`, so Telethon never sleeps silently behind
this policy's back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telethon.errors import FloodError

T = TypeVar("T")

_log = logging.getLogger(__name__)

# TimeoutError is asyncio.TimeoutError on 3.11 and both are OSError subclasses; listed for clarity.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, OSError, asyncio.TimeoutError)


class FloodWaitTooLong(RuntimeError):
    """Telegram asked for a longer pause than this call may take."""

    def __init__(self, what: str, seconds: int, max_wait: float) -> None:
        super().__init__(
            f"{what}: Telegram asks to wait {seconds}s (flood limit), more than the allowed {max_wait:g}s; "
            "try again later or reduce the number of channels/requests"
        )
        self.seconds = seconds
        self.max_wait = max_wait


class RetriesExhausted(ConnectionError):
    """The network kept failing; a ConnectionError so callers treat it like any other outage."""

    def __init__(self, what: str, attempts: int, last: BaseException) -> None:
        super().__init__(f"{what}: gave up after {attempts} attempts: {last.__class__.__name__}: {last}")
        self.attempts = attempts
        self.last = last


def flood_seconds(exc: BaseException) -> int | None:
    """Seconds Telegram asked to wait, for any flood error that carries them (FloodWait, FloodPremiumWait)."""
    seconds = getattr(exc, "seconds", None)
    if isinstance(exc, FloodError) and isinstance(seconds, int):
        return seconds
    return None


async def call_with_retry(
    fn: Callable[[], Awaitable[T]],
    *,
    max_wait: float,
    max_attempts: int,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    log: logging.Logger = _log,
    what: str = "telegram call",
    base_delay: float = 1.0,
    max_delay: float = 60.0,
) -> T:
    """Run `fn()` until it succeeds, within `max_attempts` calls in total.

    Flood waits count as attempts too: a server that floods us forever must still end in an error.
    `fn` is a zero-argument factory because a coroutine object can only be awaited once.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn()
        except FloodError as exc:
            seconds = flood_seconds(exc)
            if seconds is None:
                raise
            if seconds > max_wait:
                raise FloodWaitTooLong(what, seconds, max_wait) from exc
            if attempt >= max_attempts:
                raise RetriesExhausted(what, attempt, exc) from exc
            log.warning("%s: flood wait %ss (attempt %d/%d)", what, seconds, attempt, max_attempts)
            await sleep(seconds + 1)
        except CONNECTION_ERRORS as exc:
            if attempt >= max_attempts:
                raise RetriesExhausted(what, attempt, exc) from exc
            delay = min(max_delay, base_delay * 2 ** (attempt - 1))
            log.warning(
                "%s: %s: %s; retrying in %gs (attempt %d/%d)",
                what,
                exc.__class__.__name__,
                exc,
                delay,
                attempt,
                max_attempts,
            )
            await sleep(delay)
