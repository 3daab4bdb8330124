"""Charts kept for a few minutes: each reads one to three months of posts, which takes seconds on a
busy archive, while the picture hardly changes between two polls of the service.

An entry is reused until it is `ttl` seconds old, new posts or not, so a chart is at most that stale
(the page says so). One instance per app, shared by the request threads.

Uncached work is bounded too (issue #27 item 9: eight requests with eight different `days` computed
eight charts at once, 7 s each): the parameters are snapped to a few steps (bot/web/forms.py), so
there are few keys to vary; requests for a key that is being computed wait for that computation
instead of repeating it; and at most `max_computing` computations run at once. A request that cannot
start one within `wait` seconds gets ChartsBusy (a 503 that says to try again), not a queue that
grows with the requests.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class ChartsBusy(Exception):
    """Every computation slot stayed taken for `wait` seconds."""


class ChartCache:
    def __init__(
        self,
        *,
        ttl: float = 300.0,
        max_entries: int = 64,
        max_computing: int = 2,
        wait: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.wait = wait
        self.clock = clock
        self.computed = 0  # computations run (tests and the bench read it)
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_computing)
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def _fresh(self, key: Hashable) -> tuple[Any, float] | None:
        now = self.clock()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now - found[0] < self.ttl:
                self._entries.move_to_end(key)
                return found[1], now - found[0]
        return None

    def get(self, key: Hashable, compute: Callable[[], T]) -> tuple[T, float]:
        """The value for `key` and its age in seconds, computing it when missing or stale."""
        found = self._fresh(key)
        if found is not None:
            return found
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        if not key_lock.acquire(timeout=self.wait):  # another request computes this very chart
            raise ChartsBusy
        try:
            found = self._fresh(key)  # it may have just been computed by the request waited for
            if found is not None:
                return found
            if not self._slots.acquire(timeout=self.wait):
                raise ChartsBusy
            try:
                now = self.clock()
                value = compute()
                self.computed += 1
            finally:
                self._slots.release()
            with self._lock:
                self._entries[key] = (now, value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return value, 0.0
        finally:
            key_lock.release()
            with self._lock:
                if not key_lock.locked():
                    self._key_locks.pop(key, None)
