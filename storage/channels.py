"""Channels and their bookkeeping (watch flag, checkpoint, last poll): the part of the store sources need.

Sources see this through the narrow `ChannelBook` port (bot/sources/ports.py), never the whole store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from bot.core.channels import ChannelIdentError, parse_channel, title_matches
from bot.models import ChannelRef, ChannelRow
from storage.db import transaction
from storage.timefmt import from_db_time, to_db_time


class ChannelTable:
    """Mixed into `Store`; needs `db` and the id cache `_channel_ids`."""

    db: sqlite_utils.Database
    _channel_ids: dict[tuple[int | None, str | None, str | None], int]

    def ensure_channel(self, ref: ChannelRef, source: str | None = None) -> int:
        """Find the channel by Telegram id or username (either may be new), filling in what was missing."""
        cache_key = (ref.tg_id, ref.username, ref.title)
        cached = self._channel_ids.get(cache_key)
        if cached is not None:
            return cached
        with transaction(self.db):
            row = None
            if ref.tg_id is not None:
                row = self.db.execute(
                    "SELECT id, tg_id, username, title FROM channels WHERE tg_id = ?", [ref.tg_id]
                ).fetchone()
            if row is None and ref.username:
                row = self.db.execute(
                    "SELECT id, tg_id, username, title FROM channels WHERE username = ?", [ref.username]
                ).fetchone()
            if row is None:
                cur = self.db.execute(
                    "INSERT INTO channels(tg_id, username, title, source, added_at) VALUES (?, ?, ?, ?, ?)",
                    [ref.tg_id, ref.username, ref.title, source, to_db_time(datetime.now(UTC))],
                )
                channel_id = int(cur.lastrowid or 0)
            else:
                channel_id = row[0]
                updates = {
                    "tg_id": ref.tg_id if row[1] is None else None,
                    "username": ref.username if row[2] is None else None,
                    "title": ref.title if ref.title and ref.title != row[3] else None,
                }
                updates = {k: v for k, v in updates.items() if v is not None}
                if updates:
                    sets = ", ".join(f"{k} = ?" for k in updates)
                    self.db.execute(f"UPDATE channels SET {sets} WHERE id = ?", [*updates.values(), channel_id])
        self._channel_ids[cache_key] = channel_id
        return channel_id

    def _channel_rows(self, where: str = "1", params: Sequence[Any] = ()) -> list[ChannelRow]:
        rows = self.db.execute(
            "SELECT id, tg_id, username, title, source, watched, last_message_id, last_polled_at, last_error "
            f"FROM channels WHERE {where} ORDER BY id",
            list(params),
        ).fetchall()
        return [ChannelRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], from_db_time(r[7]), r[8]) for r in rows]

    def channels(self, *, watched_only: bool = False) -> list[ChannelRow]:
        return self._channel_rows("watched = 1" if watched_only else "1")

    def channel_by_id(self, channel_id: int) -> ChannelRow | None:
        """The channel with this archive id (not a Telegram id: find_channel reads those first)."""
        rows = self._channel_rows("id = ?", [channel_id])
        return rows[0] if rows else None

    def find_channel(self, ident: str | int) -> ChannelRow | None:
        """`@name`, `name`, `t.me/name`, a Telegram id (or, failing that, an internal id), or a title.

        Read by bot/core/channels.py; text that cannot name a channel finds nothing. A bare word is
        a username first, then a title; a title matches case- and space-insensitively.
        """
        try:
            parsed = parse_channel(ident, titles=True)
        except ChannelIdentError:
            return None
        if parsed.tg_id is not None:
            rows = self._channel_rows("tg_id = ?", [parsed.tg_id]) or self._channel_rows("id = ?", [parsed.tg_id])
            return rows[0] if rows else None
        if parsed.username is not None:
            rows = self._channel_rows("username = ?", [parsed.username])
            if rows:
                return rows[0]
        title = parsed.title or (ident if isinstance(ident, str) else "")
        return next((row for row in self._channel_rows() if title_matches(title, row.title)), None)

    def channel_post_counts(self) -> dict[int, tuple[int, datetime | None]]:
        """Channel row id -> (posts not deleted, date of the newest), for listing channels."""
        rows = self.db.execute(
            "SELECT channel_id, count(*), max(date) FROM posts WHERE deleted = 0 GROUP BY channel_id"
        ).fetchall()
        return {r[0]: (r[1], from_db_time(r[2])) for r in rows}

    def set_watched(self, ref: ChannelRef, watched: bool) -> int:
        channel_id = self.ensure_channel(ref)
        with transaction(self.db):
            self.db.execute("UPDATE channels SET watched = ? WHERE id = ?", [int(watched), channel_id])
        return channel_id

    def checkpoint(self, channel_id: int) -> int:
        row = self.db.execute("SELECT last_message_id FROM channels WHERE id = ?", [channel_id]).fetchone()
        return int(row[0]) if row else 0

    def record_poll(self, channel_id: int, *, error: str | None = None, at: datetime | None = None) -> None:
        with transaction(self.db):
            self.db.execute(
                "UPDATE channels SET last_polled_at = ?, last_error = ? WHERE id = ?",
                [to_db_time(at or datetime.now(UTC)), error, channel_id],
            )
