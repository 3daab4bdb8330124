"""The archive's one door: every read and write of posts, channels and checkpoints goes through here.

Writes are idempotent (saving the same post twice changes nothing) and each call is one transaction,
with the channel checkpoint moved inside it, so a crash loses nothing and duplicates nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from bot.core.textnorm import TextNormaliser
from bot.models import ChannelRef, Post, SaveResult, StoredPost, Tag
from storage.db import open_db, transaction
from storage.search_index import SearchIndex
from storage.tag_list import TagDecoder, encode_tags

SearchOrder = Literal["newest", "rank", "oldest"]


class QueryError(ValueError):
    """A search query FTS5 cannot run; the message is safe to show to a user."""


def to_db_time(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def from_db_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def quote_fts(query: str) -> str:
    """Every user word becomes a quoted FTS5 string, so `NEAR(`, `*`, `-` and stray quotes are just text."""
    words = query.replace('"', " ").split()
    return " ".join(f'"{word}"' for word in words)


@dataclass(frozen=True, slots=True)
class ChannelRow:
    id: int
    tg_id: int | None
    username: str | None
    title: str | None
    source: str | None
    watched: bool
    last_message_id: int
    last_polled_at: datetime | None
    last_error: str | None

    @property
    def ref(self) -> ChannelRef:
        return ChannelRef(tg_id=self.tg_id, username=self.username, title=self.title)

    @property
    def label(self) -> str:
        return self.ref.label


_POST_COLUMNS = (
    "p.id, p.channel_id, c.username, c.title, p.message_id, p.date, p.text, p.url, p.origin_key, "
    "p.content_hash, p.lang, p.forward_name, p.media_kind, p.views, p.cluster_id, p.edit_date, p.deleted, "
    "p.tag_list"
)
# What decides "this post changed": a re-import with the same values writes nothing.
# tag_list is among them: a re-import after the keyword rules changed re-tags the post.
# Above this many posts behind a filter, reading newest first by date beats sorting what it keeps.
_MANY = 5000
_CONTENT_FIELDS = (
    "raw_text",
    "text",
    "edit_date",
    "lang",
    "origin_key",
    "content_hash",
    "media_kind",
    "url",
    "tag_list",
)


class Store:
    def __init__(self, db: sqlite_utils.Database, normaliser: TextNormaliser | None = None) -> None:
        self.db = db
        self._channel_ids: dict[tuple[int | None, str | None, str | None], int] = {}
        self._tag_decoder = TagDecoder()
        self.search_index = SearchIndex(db, normaliser)
        self.search_index.check_version()

    @classmethod
    def open(cls, path: Path | str, normaliser: TextNormaliser | None = None) -> Store:
        normaliser = normaliser or TextNormaliser()
        return cls(open_db(path, normaliser), normaliser)

    def close(self) -> None:
        self.db.conn.close()

    # ----------------------------------------------------------------- channels
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

    def find_channel(self, ident: str | int) -> ChannelRow | None:
        """`@name`, `name`, `t.me/name`, a Telegram id, or `#internal-id`."""
        if isinstance(ident, int):
            rows = self._channel_rows("tg_id = ? OR id = ?", [ident, ident])
            return rows[0] if rows else None
        text = ident.strip()
        for prefix in ("https://", "http://", "t.me/", "telegram.me/", "t.me/s/", "s/"):
            if text.lower().startswith(prefix):
                text = text[len(prefix) :]
        text = text.strip("/").lstrip("@").lower()
        if text.lstrip("-").isdigit():
            return self.find_channel(int(text))
        rows = self._channel_rows("username = ?", [text])
        return rows[0] if rows else None

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

    # -------------------------------------------------------------------- posts
    def save_posts(self, posts: Iterable[Post], *, checkpoint: tuple[ChannelRef, int] | None = None) -> SaveResult:
        """Upsert a batch in one transaction; the checkpoint (if given) moves only if all of it commits."""
        inserted = updated = unchanged = 0
        new_ids: list[int] = []
        updated_ids: list[int] = []
        with transaction(self.db):
            for post in posts:
                channel_id = self.ensure_channel(post.channel, post.source)
                outcome, post_id = self._upsert(channel_id, post)
                if outcome == "inserted":
                    inserted += 1
                    new_ids.append(post_id)
                elif outcome == "updated":
                    updated += 1
                    updated_ids.append(post_id)
                else:
                    unchanged += 1
            if checkpoint is not None:
                ref, message_id = checkpoint
                self.db.execute(
                    "UPDATE channels SET last_message_id = max(last_message_id, ?) WHERE id = ?",
                    [message_id, self.ensure_channel(ref)],
                )
        return SaveResult(inserted, updated, unchanged, tuple(new_ids), tuple(updated_ids))

    def _upsert(self, channel_id: int, post: Post) -> tuple[str, int]:
        values = {
            "raw_text": post.raw_text,
            "text": post.text,
            "edit_date": to_db_time(post.edit_date) if post.edit_date else None,
            "lang": post.lang,
            "origin_key": post.origin_key,
            "content_hash": post.content_hash,
            "media_kind": post.media_kind,
            "url": post.url,
            "tag_list": encode_tags(post.tags),
        }
        existing = self.db.execute(
            f"SELECT id, views, {', '.join(_CONTENT_FIELDS)} FROM posts WHERE channel_id = ? AND message_id = ?",
            [channel_id, post.message_id],
        ).fetchone()
        if existing is None:
            cur = self.db.execute(
                "INSERT INTO posts(channel_id, message_id, date, forward_name, views, grouped_id, source, "
                f"{', '.join(values)}) VALUES (?, ?, ?, ?, ?, ?, ?, {', '.join('?' * len(values))})",
                [
                    channel_id,
                    post.message_id,
                    to_db_time(post.date),
                    post.forward_name,
                    post.views,
                    post.grouped_id,
                    post.source,
                    *values.values(),
                ],
            )
            post_id = int(cur.lastrowid or 0)
            self._write_tags(post_id, post.tags)
            return "inserted", post_id
        post_id, views = existing[0], existing[1]
        changed = {k: v for k, v in zip(_CONTENT_FIELDS, existing[2:], strict=True) if values[k] != v}
        changed = {k: values[k] for k in changed}
        if post.views is not None and post.views != views:
            changed["views"] = post.views
        if not changed:
            return "unchanged", post_id
        sets = ", ".join(f"{k} = ?" for k in changed)
        self.db.execute(f"UPDATE posts SET {sets} WHERE id = ?", [*changed.values(), post_id])
        if changed.keys() - {"views"}:
            self.db.execute("DELETE FROM post_tags WHERE post_id = ?", [post_id])
            self._write_tags(post_id, post.tags)
        return "updated", post_id

    def _write_tags(self, post_id: int, tags: Iterable[Tag]) -> None:
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO post_tags(post_id, tag, kind, display) VALUES (?, ?, ?, ?)",
            [(post_id, t.key, t.kind, t.display) for t in tags],
        )

    def mark_deleted(self, ref: ChannelRef, message_ids: Iterable[int]) -> int:
        """Deleted on Telegram means hidden here, never erased: the archive keeps what was said."""
        channel_id = self.ensure_channel(ref)
        ids = list(message_ids)
        with transaction(self.db):
            cur = self.db.conn.executemany(
                "UPDATE posts SET deleted = 1 WHERE channel_id = ? AND message_id = ? AND deleted = 0",
                [(channel_id, m) for m in ids],
            )
        return cur.rowcount

    # -------------------------------------------------------------------- reads
    def _hydrate(self, rows: list[sqlite3.Row | tuple[Any, ...]]) -> list[StoredPost]:
        decode = self._tag_decoder.decode
        parse = datetime.fromisoformat
        # Positional, in StoredPost's field order: a search's whole Python cost is these 20 objects.
        return [
            StoredPost(
                r[0],  # id
                r[1],  # channel_id
                r[2],  # channel_username
                r[3],  # channel_title
                r[4],  # message_id
                parse(r[5]),  # date (NOT NULL)
                r[6],  # text
                r[7],  # url
                r[8],  # origin_key
                r[9],  # content_hash
                r[10],  # lang
                decode(r[17]),  # tags
                r[11],  # forward_name
                r[12],  # media_kind
                r[13],  # views
                r[14],  # cluster_id
                parse(r[15]) if r[15] else None,  # edit_date
                bool(r[16]),  # deleted
            )
            for r in rows
        ]

    def get_post(self, post_id: int) -> StoredPost | None:
        rows = self.db.execute(
            f"SELECT {_POST_COLUMNS} FROM posts p JOIN channels c ON c.id = p.channel_id WHERE p.id = ?",
            [post_id],
        ).fetchall()
        found = self._hydrate(rows)
        return found[0] if found else None

    def search(
        self,
        query: str | None = None,
        *,
        tags: Sequence[str] = (),
        channel: str | int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
        offset: int = 0,
        order: SearchOrder = "newest",
        include_deleted: bool = False,
    ) -> list[StoredPost]:
        """Full-text and filtered listing. Raises QueryError for an unknown channel or an empty query."""
        where = [] if include_deleted else ["p.deleted = 0"]
        params: list[Any] = []
        join = ""
        newest = rank = "p.date DESC, p.id DESC"
        if query is not None:
            parsed = self.search_index.parse(query)
            if parsed.empty:
                raise QueryError("the search query is empty")
            clause = self.search_index.clause(parsed)  # storage/search_index.py: inflections, scripts, "exact"
            join, newest, rank = clause.join, clause.newest, clause.rank
            where.append(clause.where)
            params.extend(clause.params)
        tag_keys = [tag.lstrip("#").casefold() for tag in tags]
        channel_id: int | None = None
        if channel is not None:
            row = self.find_channel(channel)
            if row is None:
                raise QueryError(f"unknown channel {channel!r}")
            channel_id = row.id
        # Without a query the order is the date's. Walking the posts_date index and stopping at `limit`
        # is instant when the filters keep many posts and a scan of the archive when they keep few,
        # for which fetching the few and sorting them is instant instead; SQLite cannot tell which
        # (a common tag sorted 830k posts: 5 s on 1M posts), so look at how many the filters keep.
        # The same holds for FTS5's newest-first matches: probing each for its tags stops after `limit`.
        many = self._filters_keep_many(tag_keys, channel_id)
        by_date = query is None and many
        for key in tag_keys:
            if many:
                where.append("EXISTS (SELECT 1 FROM post_tags t WHERE t.tag = ? AND t.post_id = p.id)")
            else:
                where.append("p.id IN (SELECT post_id FROM post_tags WHERE tag = ?)")
            params.append(key)
        if channel_id is not None:
            where.append("p.channel_id = ?")
            params.append(channel_id)
        if since is not None:
            where.append("p.date >= ?")
            params.append(to_db_time(since))
        if until is not None:
            where.append("p.date < ?")
            params.append(to_db_time(until))
        # With a query, newest first is the FTS table's own rowid (= p.id): only that lets FTS5 hand out
        # matches newest first and stop after `limit`; ordering by p.id sorts every match
        # (80x slower for a common word on 20k posts, and it grows with the archive).
        # Without a query, newest first is by date (the posts_date index, whose entries end in the
        # rowid, delivers exactly this order): an imported history is archived after newer live posts.
        order_sql = rank if order == "rank" else newest
        if order == "oldest":
            order_sql = "p.date, p.id"  # the posts_date index's own order: a day's window needs no sort
        sql = (
            f"SELECT {_POST_COLUMNS} FROM posts p {'INDEXED BY posts_date' if by_date else ''} {join} "
            "JOIN channels c ON c.id = p.channel_id "
            f"WHERE {' AND '.join(where) or '1'} ORDER BY {order_sql} LIMIT ? OFFSET ?"
        )
        try:
            rows = self.db.execute(sql, [*params, max(0, limit), max(0, offset)]).fetchall()
        except sqlite3.OperationalError as exc:
            raise QueryError(f"cannot search for {query!r}: {exc}") from exc
        return self._hydrate(rows)

    def _filters_keep_many(self, tag_keys: Sequence[str], channel_id: int | None) -> bool:
        """Whether every tag and the channel hold at least _MANY posts (counting stops there)."""
        counts = [
            self.db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM post_tags WHERE tag = ? LIMIT ?)", [key, _MANY]
            ).fetchone()[0]
            for key in tag_keys
        ]
        if channel_id is not None:
            counts.append(
                self.db.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM posts WHERE channel_id = ? LIMIT ?)", [channel_id, _MANY]
                ).fetchone()[0]
            )
        return min(counts, default=_MANY) >= _MANY

    def posts_between(self, start: datetime, end: datetime, *, tags: Sequence[str] = ()) -> list[StoredPost]:
        """Posts dated in [start, end), oldest first: the raw material of a digest window."""
        found = self.search(None, tags=(), since=start, until=end, limit=1_000_000, order="oldest")
        if tags:
            wanted = {t.lstrip("#").casefold() for t in tags}
            found = [p for p in found if wanted & {t.key for t in p.tags}]
        return sorted(found, key=lambda p: (p.date, p.id))

    def top_tags(
        self, since: datetime | None = None, limit: int = 20, kinds: Sequence[str] = ()
    ) -> list[tuple[Tag, int]]:
        where = ["p.deleted = 0"]
        params: list[Any] = []
        if since is not None:
            where.append("p.date >= ?")
            params.append(to_db_time(since))
        if kinds:
            where.append(f"t.kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        rows = self.db.execute(
            "SELECT t.tag, t.kind, min(t.display), count(*) AS n FROM post_tags t JOIN posts p ON p.id = t.post_id "
            f"WHERE {' AND '.join(where)} GROUP BY t.tag, t.kind ORDER BY n DESC, t.tag LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [(Tag(r[0], r[2], r[1]), r[3]) for r in rows]

    def sightings(self, origin_key: str) -> list[tuple[int, int, datetime]]:
        rows = self.db.execute(
            "SELECT channel_id, message_id, date FROM sightings WHERE origin_key = ? ORDER BY date",
            [origin_key],
        ).fetchall()
        return [(r[0], r[1], from_db_time(r[2]) or datetime.min) for r in rows]

    def stats(self) -> dict[str, Any]:
        def scalar(sql: str) -> Any:
            return self.db.execute(sql).fetchone()[0]

        channels = [
            {
                "channel": c.label,
                "posts": scalar(f"SELECT count(*) FROM posts WHERE channel_id = {int(c.id)}"),
                "last_message_id": c.last_message_id,
                "last_polled_at": c.last_polled_at.isoformat() if c.last_polled_at else None,
                "last_error": c.last_error,
                "watched": c.watched,
            }
            for c in self.channels()
        ]
        return {
            "posts": scalar("SELECT count(*) FROM posts WHERE deleted = 0"),
            "deleted": scalar("SELECT count(*) FROM posts WHERE deleted = 1"),
            "items": scalar("SELECT count(DISTINCT origin_key) FROM posts WHERE deleted = 0"),
            "channels": len(channels),
            "tags": scalar("SELECT count(DISTINCT tag) FROM post_tags"),
            "first_post": scalar("SELECT min(date) FROM posts"),
            "last_post": scalar("SELECT max(date) FROM posts"),
            "per_channel": channels,
        }

    def meta_get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def meta_set(self, key: str, value: str) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    def optimize(self) -> tuple[int, int, int]:
        """Upkeep for a long-running writer: fresh planner statistics, and the WAL folded back and reset.

        Without TRUNCATE the -wal file only ever grows to its high-water mark. A reader holding an old
        snapshot makes the checkpoint report busy (first value) instead of blocking the service for
        the usual 30 s busy timeout. Returns SQLite's (busy, wal frames, checkpointed frames).
        """
        self.db.execute("PRAGMA optimize")
        self.db.execute("PRAGMA busy_timeout = 1000")
        try:
            row = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            self.db.execute("PRAGMA busy_timeout = 30000")
        return int(row[0]), int(row[1]), int(row[2])

    def dump_json(self) -> str:
        """Content of every table in a stable order: what "the same archive" means in tests."""
        out = {}
        for table in ("channels", "posts", "post_tags", "subscriptions", "digests", "alerts_sent"):
            out[table] = [list(r) for r in self.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
        return json.dumps(out, ensure_ascii=False, sort_keys=True, default=str)
