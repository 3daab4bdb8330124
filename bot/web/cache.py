"""Charts kept for a few minutes: each reads one to three months of posts, which takes seconds on a
busy archive, while the picture hardly changes between two polls of the service.

An entry is reused until it is `ttl` seconds old, new posts or not, so a chart is at most that stale
(the page says so). One instance per app, shared by the request threads; computing happens outside
the lock, so two first visits at once may both compute, and the later result is kept.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class ChartCache:
    def __init__(
        self, *, ttl: float = 300.0, max_entries: int = 64, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> tuple[T, float]:
        """The value for `key` and its age in seconds, computing it when missing or stale."""
        now = self.clock()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now - found[0] < self.ttl:
                self._entries.move_to_end(key)
                return found[1], now - found[0]
        value = compute()
        with self._lock:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value, 0.0
