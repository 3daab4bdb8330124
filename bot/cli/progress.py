"""A dependency-free progress bar on stderr, shown only to a person at a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, total: int | None, label: str, stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._last = 0.0

    def __call__(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.done == self.total):
            self._last = now
            if self.total:
                filled = int(30 * self.done / self.total)
                bar = "#" * filled + "." * (30 - filled)
                self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
            else:
                self.stream.write(f"\r{self.label} {self.done}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
