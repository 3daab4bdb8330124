"""A lock between processes sharing one archive, for work that must not interleave.

The service's digest job and `tgmonitor digest --due` run from cron may wake for the same window at
the same minute. The `digests` table makes each of them exactly-once on its own, but two processes
reading it at once would both resume the same unfinished window and send its next part twice. An
advisory `flock` on a file next to the database serialises them; the kernel drops it when the
holder dies, so a crash never leaves it held. POSIX only: where `fcntl` is missing the lock is a
no-op and the old rule applies (run one sender per archive).

A PostgreSQL archive has no file beside it, and its writers may be on other hosts: there the lock
is a session advisory lock on the server (storage/pg/locks.py), with the same calls.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import sqlite_utils

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class ProcessLock(Protocol):
    @property
    def path(self) -> object:
        """What a message names: the lock file, or the advisory lock."""

    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """True when this process now holds the lock; False when another holds it."""
        if self._fd is not None:
            return True
        if fcntl is None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the flock


def lock_beside(db: sqlite_utils.Database, name: str) -> ProcessLock | None:
    """`<database file>.<name>.lock`, or None for an in-memory database (no other process can see it);
    on PostgreSQL an advisory lock named `name`."""
    if getattr(db, "dialect", "sqlite") == "postgresql":
        from storage.pg.locks import AdvisoryLock

        return AdvisoryLock(db, name)
    row = db.execute("PRAGMA database_list").fetchone()
    if row is None or not row[2]:
        return None
    return FileLock(Path(f"{row[2]}.{name}.lock"))
