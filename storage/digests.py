"""The `digests` table: the record that makes each scheduled digest go out exactly once.

A window is written (status 'sending', with its rendered messages frozen) before the first
message leaves; each message id is recorded as soon as Telegram returns it; the row is marked
'sent' at the end. After a crash the row says exactly where to resume, and the frozen messages
mean the resumed part is the same text that was cut off, even if posts arrived or were edited
since. An interruption between Telegram accepting a message and the id being recorded resends at
most that one message.

The frozen messages live in `meta` under `digest_parts:<id>` and are deleted when the row is
marked sent (schema v1 has no column for them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import sqlite_utils

from bot.core.windows import Window
from storage.db import transaction
from storage.timefmt import from_db_time, to_db_time

DigestStatus = Literal["sending", "sent"]
_COLUMNS = (
    "id, subscription_id, chat_id, window_start, window_end, status, parts_total, parts_sent, "
    "message_ids, started_at, sent_at"
)


@dataclass(frozen=True, slots=True)
class DigestRecord:
    id: int
    subscription_id: int
    chat_id: int
    window: Window
    status: DigestStatus
    parts_total: int
    parts_sent: int
    message_ids: tuple[int, ...]
    started_at: datetime
    sent_at: datetime | None
    parts: tuple[str, ...] | None  # the frozen messages while sending; None once sent


def _parts_key(record_id: int) -> str:
    return f"digest_parts:{record_id}"


class DigestLog:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def _records(self, where: str, params: list[object]) -> list[DigestRecord]:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM digests WHERE {where} ORDER BY window_end", params).fetchall()
        out = []
        for r in rows:
            frozen = self.db.execute("SELECT value FROM meta WHERE key = ?", [_parts_key(r[0])]).fetchone()
            out.append(
                DigestRecord(
                    id=r[0],
                    subscription_id=r[1],
                    chat_id=r[2],
                    window=Window(_utc(r[3]), _utc(r[4])),
                    status=r[5],
                    parts_total=r[6],
                    parts_sent=r[7],
                    message_ids=tuple(json.loads(r[8])),
                    started_at=_utc(r[9]),
                    sent_at=from_db_time(r[10]),
                    parts=tuple(json.loads(frozen[0])) if frozen else None,
                )
            )
        return out

    def get(self, record_id: int) -> DigestRecord | None:
        found = self._records("id = ?", [record_id])
        return found[0] if found else None

    def find(self, subscription_id: int, window_end: datetime) -> DigestRecord | None:
        found = self._records("subscription_id = ? AND window_end = ?", [subscription_id, to_db_time(window_end)])
        return found[0] if found else None

    def history(self, subscription_id: int) -> list[DigestRecord]:
        return self._records("subscription_id = ?", [subscription_id])

    def unfinished(self, subscription_id: int) -> list[DigestRecord]:
        return self._records("subscription_id = ? AND status = 'sending'", [subscription_id])

    def last_window_end(self, subscription_id: int) -> datetime | None:
        row = self.db.execute(
            "SELECT max(window_end) FROM digests WHERE subscription_id = ?", [subscription_id]
        ).fetchone()
        return _utc(row[0]) if row and row[0] else None

    def subscription_start(self, subscription_id: int) -> datetime | None:
        """When the subscription was created: windows that closed before it are not owed."""
        row = self.db.execute("SELECT created_at FROM subscriptions WHERE id = ?", [subscription_id]).fetchone()
        return _utc(row[0]) if row and row[0] else None

    def begin(
        self, subscription_id: int, chat_id: int, window: Window, parts: list[str], *, now: datetime | None = None
    ) -> DigestRecord:
        """Record the window as 'sending' with its messages, before any is sent; an existing row wins."""
        with transaction(self.db):
            cur = self.db.execute(
                "INSERT INTO digests(subscription_id, chat_id, window_start, window_end, status, parts_total, "
                "parts_sent, message_ids, started_at) VALUES (?, ?, ?, ?, 'sending', ?, 0, '[]', ?) "
                "ON CONFLICT(subscription_id, window_end) DO NOTHING",
                [
                    subscription_id,
                    chat_id,
                    to_db_time(window.start),
                    to_db_time(window.end),
                    len(parts),
                    to_db_time(now or datetime.now(UTC)),
                ],
            )
            if cur.rowcount:
                self.db.execute(
                    "INSERT INTO meta(key, value) VALUES (?, ?)",
                    [_parts_key(int(cur.lastrowid or 0)), json.dumps(parts, ensure_ascii=False)],
                )
        record = self.find(subscription_id, window.end)
        assert record is not None
        return record

    def part_sent(self, record_id: int, index: int, message_id: int) -> None:
        """Record message `index` as delivered; a repeated call for the same index changes nothing."""
        with transaction(self.db):
            row = self.db.execute("SELECT parts_sent, message_ids FROM digests WHERE id = ?", [record_id]).fetchone()
            if row is None or row[0] != index:
                return
            ids = [*json.loads(row[1]), message_id]
            self.db.execute(
                "UPDATE digests SET parts_sent = ?, message_ids = ? WHERE id = ?",
                [index + 1, json.dumps(ids), record_id],
            )

    def finish(self, record_id: int, *, now: datetime | None = None) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE digests SET status = 'sent', sent_at = ? WHERE id = ?",
                [to_db_time(now or datetime.now(UTC)), record_id],
            )
            self.db.execute("DELETE FROM meta WHERE key = ?", [_parts_key(record_id)])


def _utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
