"""Digest subscriptions: who gets which digest, when, in which time zone.

Settings give one subscription (DIGEST_CHAT/DIGEST_TIME/TZ/DIGEST_TAGS); bot commands add more.
Both live in the same table so the scheduler has one list to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import sqlite_utils

from storage.db import transaction


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    chat_id: int
    tags: tuple[str, ...]  # case-folded tag keys; empty: everything
    time: time
    tz: ZoneInfo
    enabled: bool
    origin: str  # "settings" or "bot"
    subscriber_id: int | None = None  # the user who sent /subscribe (None: from the settings, or older rows)
    paused: bool = False  # the chat or its subscriber is no longer allowed; resumes when they are again
    sinks: tuple[str, ...] = ()  # where the digest goes (docs/sinks-and-rules.md); empty: the chat itself
    rule: str | None = None  # a rule (bot/core/rules.py) the digest's posts must match besides the tags

    @property
    def destinations(self) -> tuple[str, ...]:
        return self.sinks or ("telegram",)


def _normalize_tags(tags: tuple[str, ...] | list[str]) -> str:
    return ",".join(sorted({t.lstrip("#").casefold() for t in tags if t.strip("# ")}))


class Subscriptions:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def _rows(self, where: str, params: Sequence[object]) -> list[Subscription]:
        rows = self.db.execute(
            "SELECT id, chat_id, tags, time, tz, enabled, origin, subscriber_id, paused_at, sinks, rule "
            f"FROM subscriptions WHERE {where} ORDER BY id",
            params,
        ).fetchall()
        return [
            Subscription(
                id=r[0],
                chat_id=r[1],
                tags=tuple(t for t in r[2].split(",") if t),
                time=time.fromisoformat(r[3]),
                tz=ZoneInfo(r[4]),
                enabled=bool(r[5]),
                origin=r[6],
                subscriber_id=r[7],
                paused=r[8] is not None,
                sinks=tuple(n for n in (r[9] or "").split(",") if n),
                rule=r[10],
            )
            for r in rows
        ]

    def add(
        self,
        chat_id: int,
        *,
        at: time,
        tz: ZoneInfo,
        tags: tuple[str, ...] | list[str] = (),
        origin: str = "bot",
        subscriber_id: int | None = None,
        sinks: tuple[str, ...] = (),
        rule: str | None = None,
    ) -> Subscription:
        """Same chat, tags, time and zone again re-enables the existing subscription instead of doubling it."""
        key = _normalize_tags(tags)
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO subscriptions(chat_id, tags, time, tz, enabled, origin, created_at, subscriber_id, sinks, "
                "rule) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?) "
                "ON CONFLICT(chat_id, tags, time, tz) DO UPDATE SET enabled = 1, "
                "created_at = CASE WHEN subscriptions.enabled = 0 THEN excluded.created_at "
                "ELSE subscriptions.created_at END, "
                "subscriber_id = coalesce(excluded.subscriber_id, subscriptions.subscriber_id), "
                "sinks = excluded.sinks, rule = excluded.rule",
                [
                    chat_id,
                    key,
                    at.strftime("%H:%M"),
                    tz.key,
                    origin,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                    subscriber_id,
                    ",".join(sinks) if sinks and tuple(sinks) != ("telegram",) else None,
                    rule or None,
                ],
            )
        return self._rows(
            "chat_id = ? AND tags = ? AND time = ? AND tz = ?", [chat_id, key, at.strftime("%H:%M"), tz.key]
        )[0]

    def remove(self, chat_id: int, subscription_id: int | None = None) -> int:
        """Disable (keep the digest history) one subscription of the chat, or all of them."""
        where, params = "chat_id = ? AND enabled = 1", [chat_id]
        if subscription_id is not None:
            where += " AND id = ?"
            params.append(subscription_id)
        with transaction(self.db):
            cur = self.db.execute(f"UPDATE subscriptions SET enabled = 0 WHERE {where}", params)
        return cur.rowcount

    def pause(self, subscription_id: int, now: datetime | None = None) -> bool:
        """Stop sending (the chat lost access); True if it was running."""
        with transaction(self.db):
            cur = self.db.execute(
                "UPDATE subscriptions SET paused_at = ? WHERE id = ? AND paused_at IS NULL",
                [(now or datetime.now(UTC)).isoformat(timespec="seconds"), subscription_id],
            )
        return cur.rowcount == 1

    def resume(self, subscription_id: int, now: datetime | None = None) -> bool:
        """Access is back: send again from now on (the paused days are not owed); True if it was paused."""
        with transaction(self.db):
            cur = self.db.execute(
                "UPDATE subscriptions SET paused_at = NULL, created_at = ? WHERE id = ? AND paused_at IS NOT NULL",
                [(now or datetime.now(UTC)).isoformat(timespec="seconds"), subscription_id],
            )
        return cur.rowcount == 1

    def list(self, chat_id: int | None = None, *, enabled_only: bool = True) -> list[Subscription]:
        where, params = ("enabled = 1" if enabled_only else "1"), []
        if chat_id is not None:
            where += " AND chat_id = ?"
            params.append(chat_id)
        return self._rows(where, params)

    def get(self, subscription_id: int) -> Subscription | None:
        found = self._rows("id = ?", [subscription_id])
        return found[0] if found else None

    def sync_from_settings(
        self,
        chat_id: int | None,
        *,
        at: time,
        tz: ZoneInfo,
        tags: tuple[str, ...],
        sinks: tuple[str, ...] = (),
        rule: str | None = None,
    ) -> Subscription | None:
        """The settings subscription follows the settings: a changed DIGEST_TIME replaces the old one."""
        key = _normalize_tags(tags)
        with transaction(self.db):
            self.db.execute(
                "UPDATE subscriptions SET enabled = 0 WHERE origin = 'settings' "
                "AND NOT (chat_id IS ? AND tags = ? AND time = ? AND tz = ?)",
                [chat_id, key, at.strftime("%H:%M"), tz.key],
            )
        if chat_id is None:
            return None
        return self.add(chat_id, at=at, tz=tz, tags=tags, origin="settings", sinks=sinks, rule=rule)
