"""Named locks between processes sharing a PostgreSQL archive: session advisory locks.

storage/file_lock.py's `flock` beside the file serves one host; writers of a server archive may be
on several. `pg_try_advisory_lock(namespace, hashtext(name))` is held by this connection's session
until released, and the server drops it when the session ends (a crashed holder never leaves it
held), which is the file lock's contract. The two-key form keeps these apart from the writer lock
(storage/pg/schema.py WRITER_LOCK, one bigint key). Two names hashing alike would only serialise
each other, never run together.
"""

from __future__ import annotations

from typing import Any

NAMESPACE = 0x74676D6E  # "tgmn": the first key of every named lock


class AdvisoryLock:
    def __init__(self, db: Any, name: str) -> None:
        self.db = db
        self.name = name
        self.path = f"advisory lock {name!r} on the database"
        self._held = False

    def try_acquire(self) -> bool:
        """True when this session now holds the lock; False when another session holds it."""
        if self._held:
            return True
        sql = "SELECT pg_try_advisory_lock(CAST(? AS integer), hashtext(?))"
        row = self.db.execute(sql, [NAMESPACE, self.name]).fetchone()
        self._held = bool(row[0])
        return self._held

    def release(self) -> None:
        if self._held:
            self._held = False
            self.db.execute("SELECT pg_advisory_unlock(CAST(? AS integer), hashtext(?))", [NAMESPACE, self.name])
