"""The `alerts_sent` table and the alert watermark: what was alerted, and how far posts were examined.

A row is inserted *before* the message is sent (a claim) and gets its message id after: a crash
between the two loses that one alert rather than sending it twice, which is the promise alerts make
("never twice for the same post"). The watermark (`meta` key `alerts_watermark:<chat>`) is the
highest post id already decided, so posts waiting for the rate limit survive a restart: they are
simply above the watermark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from bot.core.statements import content_folds
from bot.models import StoredPost
from storage.db import transaction
from storage.timefmt import to_db_time


@dataclass(frozen=True, slots=True)
class Candidate:
    post_id: int
    date: datetime
    deleted: bool


def _key(chat_id: int) -> str:
    return f"alerts_watermark:{chat_id}"


class AlertLog:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def watermark(self, chat_id: int) -> int | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [_key(chat_id)]).fetchone()
        return int(row[0]) if row else None

    def set_watermark(self, chat_id: int, post_id: int) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [_key(chat_id), str(post_id)],
            )

    def max_post_id(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(id), 0) FROM posts").fetchone()[0])

    def candidates(self, after_id: int, limit: int) -> list[Candidate]:
        rows = self.db.execute(
            "SELECT id, date, deleted FROM posts WHERE id > ? ORDER BY id LIMIT ?", [after_id, limit]
        ).fetchall()
        return [Candidate(r[0], datetime.fromisoformat(r[1]), bool(r[2])) for r in rows]

    def origin_alerted(self, chat_id: int, post: StoredPost) -> bool:
        """Whether this statement (same origin; same text or near-duplicate cluster when the text is a
        statement, bot/core/statements.py) was alerted."""
        folds = content_folds(post.content_hash)
        row = self.db.execute(
            "SELECT 1 FROM alerts_sent a JOIN posts p ON p.id = a.post_id WHERE a.chat_id = ? AND ("
            "p.origin_key = ? OR (? = 1 AND (p.content_hash = ? OR p.cluster_id = ?))) LIMIT 1",
            [chat_id, post.origin_key, int(folds), post.content_hash, post.cluster_id],
        ).fetchone()
        return row is not None

    def claim(self, post_id: int, chat_id: int, now: datetime) -> bool:
        with transaction(self.db):
            cur = self.db.execute(
                "INSERT OR IGNORE INTO alerts_sent(post_id, chat_id, sent_at) VALUES (?, ?, ?)",
                [post_id, chat_id, to_db_time(now)],
            )
        return cur.rowcount == 1

    def confirm(self, post_id: int, chat_id: int, message_id: int) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE alerts_sent SET message_id = ? WHERE post_id = ? AND chat_id = ?",
                [message_id, post_id, chat_id],
            )

    def release(self, post_id: int, chat_id: int) -> None:
        """Undo a claim whose send certainly failed, so the alert is tried again later."""
        with transaction(self.db):
            self.db.execute("DELETE FROM alerts_sent WHERE post_id = ? AND chat_id = ?", [post_id, chat_id])

    def sent_since(self, chat_id: int, since: datetime) -> int:
        """Alerts of every kind sent to the chat since then: new posts, and edits and deletions
        (storage/edit_alerts.py), which share ALERT_RATE_PER_MINUTE."""
        after = to_db_time(since)
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM alerts_sent WHERE chat_id = ? AND sent_at > ?) + "
            "(SELECT count(*) FROM edit_alerts WHERE chat_id = ? AND decided_at > ? "
            "AND status IN ('sending', 'sent', 'failed'))",
            [chat_id, after, chat_id, after],
        ).fetchone()
        return int(row[0])

    def sent(self, chat_id: int) -> list[tuple[int, int | None]]:
        """(post id, message id) in the order they were claimed."""
        # Claims at the same instant in claim order: SQLite's rowid; PostgreSQL's rows have none, and
        # one run claims in post id order.
        then = "post_id" if getattr(self.db, "dialect", "sqlite") == "postgresql" else "rowid"
        rows = self.db.execute(
            f"SELECT post_id, message_id FROM alerts_sent WHERE chat_id = ? ORDER BY sent_at, {then}", [chat_id]
        ).fetchall()
        return [(r[0], r[1]) for r in rows]
