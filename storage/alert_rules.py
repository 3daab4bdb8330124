"""Rules users keep with /alert add: one row each, listed and removed by their number in the user's list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from storage.db import transaction
from storage.timefmt import to_db_time


@dataclass(frozen=True, slots=True)
class UserRule:
    id: int
    user_id: int
    chat_id: int  # where the user's alerts go (their private chat with the bot)
    rule: str


class AlertRuleTable:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def of_user(self, user_id: int) -> list[UserRule]:
        rows = self.db.execute(
            "SELECT id, user_id, chat_id, rule FROM alert_rules WHERE user_id = ? ORDER BY id", [user_id]
        ).fetchall()
        return [UserRule(*r) for r in rows]

    def every(self) -> list[UserRule]:
        rows = self.db.execute("SELECT id, user_id, chat_id, rule FROM alert_rules ORDER BY id").fetchall()
        return [UserRule(*r) for r in rows]

    def add(self, user_id: int, chat_id: int, rule: str, *, limit: int, now: datetime | None = None) -> int | None:
        """The rule's number in the user's list, or None when the user has `limit` rules already."""
        with transaction(self.db):
            count = self.db.execute("SELECT count(*) FROM alert_rules WHERE user_id = ?", [user_id]).fetchone()[0]
            if count >= limit:
                return None
            self.db.execute(
                "INSERT INTO alert_rules(user_id, chat_id, rule, created_at) VALUES (?, ?, ?, ?)",
                [user_id, chat_id, rule, to_db_time(now or datetime.now(UTC))],
            )
        return int(count) + 1

    def remove(self, user_id: int, number: int) -> UserRule | None:
        """Remove the user's rule number `number` (1-based, as /alert list shows); None if there is none."""
        rules = self.of_user(user_id)
        if not 1 <= number <= len(rules):
            return None
        gone = rules[number - 1]
        with transaction(self.db):
            self.db.execute("DELETE FROM alert_rules WHERE id = ?", [gone.id])
        return gone
