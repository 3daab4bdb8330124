"""Who was already told "no" today: strangers get one polite refusal a day, then silence.

Kept in SQLite (table `refusals`) rather than memory so a restart does not re-open the door to a
second refusal, and a stranger flooding the bot costs one row a day, not one reply per message.
"""

from __future__ import annotations

from datetime import date

import sqlite_utils

from storage.db import transaction


class Refusals:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def first_today(self, user_id: int, day: date) -> bool:
        """Record the refusal; True only for the first one of `day`. Older days are forgotten."""
        key = day.isoformat()
        with transaction(self.db):
            self.db.execute("DELETE FROM refusals WHERE day < ?", [key])
            cur = self.db.execute("INSERT OR IGNORE INTO refusals(user_id, day) VALUES (?, ?)", [user_id, key])
        return cur.rowcount == 1
