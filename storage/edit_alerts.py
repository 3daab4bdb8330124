"""The `edit_alerts` table: one decision per (post, version, chat) for edit and deletion alerts.

Every edit or deletion the alerter looks at gets a row, whatever it decides ('skipped' when it is not
worth an alert; every other status spends the chat's alert budget, shared with new-post alerts in
storage/alerts.py), so the candidates are simply the changes noticed since a point in time that have no
row yet for the chat. A row is written *before* the message is sent (status 'sending') and marked
'sent' after: a crash between the two loses that one alert rather than sending it twice (at most
once per version). A change stored just before a crash has no row, so the next run finds it and sends
it, once. Version 0 stands for the deletion.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from bot.models import PostChange
from storage.db import transaction
from storage.timefmt import from_db_time, to_db_time
from storage.versions import change_of


def _key(chat_id: int) -> str:
    return f"edit_alerts_since:{chat_id}"


class EditAlertLog:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def since(self, chat_id: int) -> datetime | None:
        """When edit alerts started for this chat: nothing noticed before is alerted."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [_key(chat_id)]).fetchone()
        return from_db_time(row[0]) if row else None

    def start(self, chat_id: int, now: datetime) -> datetime:
        """Set the start once (a restart keeps the first one, so what it missed is still owed)."""
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
                [_key(chat_id), to_db_time(now)],
            )
        found = self.since(chat_id)
        assert found is not None
        return found

    def candidates(self, chat_id: int, since: datetime, limit: int) -> list[PostChange]:
        """Edits and deletions noticed since `since` with no decision for this chat, oldest first."""
        after = to_db_time(since)
        undecided = (
            "NOT EXISTS (SELECT 1 FROM edit_alerts a WHERE a.post_id = {p} AND a.version = {v} AND a.chat_id = ?)"
        )
        rows = self.db.execute(
            "SELECT v.post_id, v.version + 1, v.replaced_at, "
            "CASE WHEN n.post_id IS NULL THEN p.edit_date ELSE n.edit_date END "
            "FROM post_versions v JOIN posts p ON p.id = v.post_id "
            "LEFT JOIN post_versions n ON n.post_id = v.post_id AND n.version = v.version + 1 "
            f"WHERE v.replaced_at >= ? AND {undecided.format(p='v.post_id', v='v.version + 1')} "
            "UNION ALL "
            "SELECT p.id, 0, p.deleted_at, NULL FROM posts p "
            f"WHERE p.deleted_at >= ? AND {undecided.format(p='p.id', v='0')} "
            "ORDER BY 3, 1, 2 LIMIT ?",
            [after, chat_id, after, chat_id, limit],
        ).fetchall()
        return [change_of(r) for r in rows]

    def decide(self, change: PostChange, chat_id: int, status: str, now: datetime) -> bool:
        """Record a decision; False when one was already there (another run got to it first)."""
        with transaction(self.db):
            cur = self.db.execute(
                "INSERT OR IGNORE INTO edit_alerts(post_id, version, chat_id, status, decided_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [change.post_id, change.version, chat_id, status, to_db_time(now)],
            )
        return cur.rowcount == 1

    def finish(self, change: PostChange, chat_id: int, status: str, message_id: int | None = None) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE edit_alerts SET status = ?, message_id = ? WHERE post_id = ? AND version = ? AND chat_id = ?",
                [status, message_id, change.post_id, change.version, chat_id],
            )

    def release(self, change: PostChange, chat_id: int) -> None:
        """Undo a claim whose send certainly failed, so the alert is tried again later."""
        with transaction(self.db):
            self.db.execute(
                "DELETE FROM edit_alerts WHERE post_id = ? AND version = ? AND chat_id = ?",
                [change.post_id, change.version, chat_id],
            )

    def decisions(self, chat_id: int) -> list[tuple[int, int, str, int | None]]:
        """(post id, version, status, message id) in the order they were decided."""
        rows = self.db.execute(
            "SELECT post_id, version, status, message_id FROM edit_alerts WHERE chat_id = ? ORDER BY decided_at, "
            "post_id, version",
            [chat_id],
        ).fetchall()
        return [(r[0], r[1], r[2], r[3]) for r in rows]
