"""The archive's one door: every read and write of posts, channels and checkpoints goes through here.

Search and listings are `SearchTable` (storage/search.py), mixed in like channels and edit history.

Writes are idempotent (saving the same post twice changes nothing) and each call is one transaction,
with the channel checkpoint moved inside it, so a crash loses nothing and duplicates nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlite_utils

from bot.core.text_links import decode_text_links, encode_text_links
from bot.core.textnorm import TextNormaliser
from bot.core.versions import compare, later
from bot.models import ChannelRef, Post, SaveResult, Sender, StoredPost, Tag
from storage.alert_rules import AlertRuleTable
from storage.alerts import AlertLog
from storage.articles import ArticleStore
from storage.carried import flag_partners, mark_posts, new_flags
from storage.channels import ChannelTable
from storage.db import open_db, transaction
from storage.digests import DigestLog
from storage.edit_alerts import EditAlertLog
from storage.housekeeping import Housekeeping
from storage.post_rows import POST_COLUMNS as _POST_COLUMNS
from storage.recleaning import RecleanTable
from storage.refusals import Refusals
from storage.search import QueryError, QuerySyntaxError, SearchOrder, SearchTable, quote_fts
from storage.search_index import search_index_for
from storage.signatures import Signatures
from storage.sink_outbox import SinkOutbox
from storage.subscriptions import Subscriptions
from storage.tag_list import TagDecoder, encode_tags
from storage.timefmt import from_db_time, to_db_time
from storage.versions import VersionTable

__all__ = ["QueryError", "QuerySyntaxError", "SearchOrder", "Store", "quote_fts"]
T = TypeVar("T")


# What decides "this post changed": a re-import with the same values writes nothing.
# tag_list is among them: a re-import after the keyword rules changed re-tags the post.
_MAX_IDS = 10_000  # get_posts: far below SQLite's 32,766 bound parameters
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


# Who wrote it and its hidden links: written with the post (with `time_approx`, how sure its date is);
# a re-import that knows more fills them in without making a new version (`_upsert`).
_FACT_FIELDS = ("sender_name", "sender_id", "text_links")

_INSERT_COLUMNS = (
    "id, channel_id, message_id, date, forward_name, forward_date, views, grouped_id, source, text_seen_at, "
    f"time_approx, carried, {', '.join(_FACT_FIELDS)}, " + ", ".join(_CONTENT_FIELDS)
)
_ROW_MARKS = f"({', '.join('?' * (12 + len(_FACT_FIELDS) + len(_CONTENT_FIELDS)))})"
_INSERT_POST = f"INSERT INTO posts({_INSERT_COLUMNS}) VALUES {_ROW_MARKS}"
# New posts of a batch go in as multi-row INSERTs of up to this many rows (fewer where SQLite allows
# fewer bound parameters). Why not `executemany`: every execution of a statement that fires the
# search-index triggers opens a statement savepoint, and FTS5 flushes its pending terms to a new
# segment at each one, so row by row each post became a segment of both indexes that automerge then
# rewrote; one statement per 500 rows is one flush (bench/ingest.md: the store's CPU per post -45 %).
_ROWS_PER_INSERT = 500


def _fact_values(post: Post) -> tuple[Any, ...]:
    """A post's `_FACT_FIELDS`, in order."""
    sender = post.sender
    return (
        sender.name if sender else None,
        sender.id if sender else None,
        encode_text_links(post.text_links),
    )


def _content_values(post: Post) -> tuple[Any, ...]:
    """A post's content columns, in `_CONTENT_FIELDS` order: what an insert writes and an update compares."""
    return (
        post.raw_text,
        post.text,
        to_db_time(post.edit_date) if post.edit_date else None,
        post.lang,
        post.origin_key,
        post.content_hash,
        post.media_kind,
        post.url,
        encode_tags(post.tags),
    )


def _insert_row(post_id: int | None, channel_id: int, post: Post, seen_at: datetime, carried: bool) -> tuple[Any, ...]:
    """`_INSERT_POST`'s values (`post_id` None: SQLite assigns it). The one place a new post's row is
    made, for the batch path and the single upsert alike, so no column is written by one and not the other.
    `carried`: storage/carried.py's flag, decided before the insert (not an UPDATE of the row after it)."""
    return (
        post_id,
        channel_id,
        post.message_id,
        to_db_time(post.date),
        post.forward_name,
        to_db_time(post.forward_date) if post.forward_date else None,
        post.views,
        post.grouped_id,
        post.source,
        to_db_time(seen_at),
        1 if post.approx_time else 0,
        int(carried),
        *_fact_values(post),
        *_content_values(post),
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


class Store(ChannelTable, Housekeeping, VersionTable, SearchTable, RecleanTable):
    """Posts, channels and search here; the other tables behind the properties below, on the same connection.

    Nothing outside `storage/` touches `db`: callers use these methods and the sub-stores, so what SQL
    runs where is this package's business alone.
    """

    def __init__(self, db: sqlite_utils.Database, normaliser: TextNormaliser | None = None) -> None:
        self.db = db
        self._channel_ids: dict[tuple[int | None, str | None, str | None], int] = {}
        self._tag_decoder = TagDecoder()
        self._parts: dict[str, Any] = {}
        # the normalised search index (storage/search_index.py); rebuilt when its normaliser changed
        self.search_index = search_index_for(db, normaliser)
        self.search_index.check_version()
        # When versions were seen and deletions noticed; tests set a fixed clock.
        self.clock: Callable[[], datetime] = utc_now

    def _part(self, name: str, make: Callable[[sqlite_utils.Database], T]) -> T:
        part = self._parts.get(name)
        if part is None:
            part = self._parts[name] = make(self.db)
        return cast(T, part)

    @property
    def articles(self) -> ArticleStore:
        """Linked articles: queued with the posts that link to them, attached to every read of posts."""
        return self._part("articles", ArticleStore)

    @property
    def subscriptions(self) -> Subscriptions:
        return self._part("subscriptions", Subscriptions)

    @property
    def digest_log(self) -> DigestLog:
        return self._part("digest_log", DigestLog)

    @property
    def alert_log(self) -> AlertLog:
        return self._part("alert_log", AlertLog)

    @property
    def sink_outbox(self) -> SinkOutbox:
        return self._part("sink_outbox", SinkOutbox)

    @property
    def alert_rules(self) -> AlertRuleTable:
        return self._part("alert_rules", AlertRuleTable)

    @property
    def edit_alert_log(self) -> EditAlertLog:
        return self._part("edit_alert_log", EditAlertLog)

    @property
    def refusals(self) -> Refusals:
        return self._part("refusals", Refusals)

    @classmethod
    def open(cls, path: Path | str, normaliser: TextNormaliser | None = None, *, create: bool = True) -> Store:
        """`create=False` for commands that only read: a missing archive is NoArchiveError, not a new file."""
        normaliser = normaliser or TextNormaliser()
        return cls(open_db(path, normaliser, create=create), normaliser)

    def close(self) -> None:
        self.db.conn.close()

    # -------------------------------------------------------------------- posts
    def save_posts(
        self,
        posts: Iterable[Post],
        *,
        checkpoint: tuple[ChannelRef, int] | None = None,
        tokens: Sequence[str | None] | None = None,
    ) -> SaveResult:
        """Upsert a batch in one transaction; the checkpoint (if given) moves only if all of it commits.

        `tokens`: each post's search tokens, computed elsewhere with this store's normaliser (the
        ingest worker); the search index's triggers take them instead of normalising again."""
        known: list[tuple[str, str | None, str]] = []
        if tokens:
            posts = list(posts)
            known = [(p.text, p.lang, t) for p, t in zip(posts, tokens, strict=True) if t is not None]
        with self.search_index.primed(known):
            return self._save_posts(posts, checkpoint)

    def _save_posts(self, posts: Iterable[Post], checkpoint: tuple[ChannelRef, int] | None) -> SaveResult:
        """New posts are written together: one lookup of the batch's existing rows per channel, one
        `executemany` for the rows and one for their tags, where each post used to cost a SELECT, an
        INSERT and a tag statement of its own. Their ids are given explicitly, as SQLite would
        (max(id) + 1 onwards: the table has no AUTOINCREMENT, and the write lock is held), so the
        rows are the very rows the per-post path wrote. A post already stored, or seen earlier in the
        batch, goes through `_upsert` after the pending inserts, in input order."""
        inserted = updated = unchanged = 0
        new_ids: list[int] = []
        updated_ids: list[int] = []
        with transaction(self.db):
            batch = [(self.ensure_channel(post.channel, post.source), post) for post in posts]
            stored = self._stored_keys(batch)
            seen: set[tuple[int, int]] = set()
            pending: list[tuple[int, int, Post, datetime, datetime | None]] = []
            next_id = 0
            for channel_id, post in batch:
                key = (channel_id, post.message_id)
                if key not in stored and key not in seen:
                    if not next_id:
                        next_id = int(self.db.execute("SELECT coalesce(max(id), 0) + 1 FROM posts").fetchone()[0])
                    seen.add(key)
                    # the clock is read in the per-post path's order: the row's time, then its links'
                    linked_at = None
                    seen_at = self.clock()
                    if post.links:
                        linked_at = self.clock()
                    pending.append((next_id, channel_id, post, seen_at, linked_at))
                    new_ids.append(next_id)
                    inserted += 1
                    next_id += 1
                    continue
                self._insert(pending)
                pending, next_id = [], 0
                outcome, post_id = self._upsert(channel_id, post)
                if outcome == "updated":
                    updated += 1
                    updated_ids.append(post_id)
                elif outcome == "views":  # a new view count is no edit: nothing to re-sign
                    updated += 1
                else:
                    unchanged += 1
            self._insert(pending)
            self.search_index.index_posts([*new_ids, *updated_ids])
            if checkpoint is not None:
                ref, message_id = checkpoint
                self.db.execute(
                    "UPDATE channels SET last_message_id = max(last_message_id, ?) WHERE id = ?",
                    [message_id, self.ensure_channel(ref)],
                )
        return SaveResult(inserted, updated, unchanged, tuple(new_ids), tuple(updated_ids))

    def _stored_keys(self, batch: Sequence[tuple[int, Post]]) -> set[tuple[int, int]]:
        """(channel id, message id) of the batch's posts that are already in the archive."""
        by_channel: dict[int, list[int]] = {}
        for channel_id, post in batch:
            by_channel.setdefault(channel_id, []).append(post.message_id)
        found: set[tuple[int, int]] = set()
        for channel_id, message_ids in by_channel.items():
            unique = list(dict.fromkeys(message_ids))
            for start in range(0, len(unique), _MAX_IDS):
                chunk = unique[start : start + _MAX_IDS]
                marks = ",".join("?" * len(chunk))
                rows = self.db.execute(
                    f"SELECT message_id FROM posts WHERE channel_id = ? AND message_id IN ({marks})",
                    [channel_id, *chunk],
                ).fetchall()
                found.update((channel_id, r[0]) for r in rows)
        return found

    def _insert(self, pending: Sequence[tuple[int, int, Post, datetime, datetime | None]]) -> None:
        """Insert new posts with the ids given, then their tags, then their links, as `_upsert` would."""
        if not pending:
            return
        conn = self.db.conn
        flags, partners = new_flags(
            self.db, [(channel_id, p.origin_key, p.content_hash) for _, channel_id, p, _, _ in pending]
        )
        rows = [
            _insert_row(post_id, channel_id, post, at, flag)
            for (post_id, channel_id, post, at, _), flag in zip(pending, flags, strict=True)
        ]
        per = max(1, min(_ROWS_PER_INSERT, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(rows[0])))
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            sql = f"INSERT INTO posts({_INSERT_COLUMNS}) VALUES {', '.join([_ROW_MARKS] * len(chunk))}"
            conn.execute(sql, [value for row in chunk for value in row])
        flag_partners(self.db, partners)
        conn.executemany(
            "INSERT OR IGNORE INTO post_tags(post_id, tag, kind, display) VALUES (?, ?, ?, ?)",
            [(post_id, t.key, t.kind, t.display) for post_id, _, post, _, _ in pending for t in post.tags],
        )
        for post_id, _, post, _, linked_at in pending:
            if post.links and linked_at is not None:
                self.articles.link_post(post_id, post.links, linked_at)

    def _upsert(self, channel_id: int, post: Post) -> tuple[str, int]:
        values = dict(zip(_CONTENT_FIELDS, _content_values(post), strict=True))
        existing = self.db.execute(
            f"SELECT id, views, text_seen_at, time_approx, {', '.join(_FACT_FIELDS)}, {', '.join(_CONTENT_FIELDS)} "
            "FROM posts "
            "WHERE channel_id = ? AND message_id = ?",
            [channel_id, post.message_id],
        ).fetchone()
        if existing is None:
            flags, partners = new_flags(self.db, [(channel_id, post.origin_key, post.content_hash)])
            cur = self.db.execute(_INSERT_POST, _insert_row(None, channel_id, post, self.clock(), flags[0]))
            post_id = int(cur.lastrowid or 0)
            flag_partners(self.db, partners)
            self._write_tags(post_id, post.tags)
            if post.links:
                self.articles.link_post(post_id, post.links, self.clock())
            return "inserted", post_id
        post_id, views, seen_at, approx = existing[0], existing[1], existing[2], existing[3]
        facts = existing[4 : 4 + len(_FACT_FIELDS)]
        old = dict(zip(_CONTENT_FIELDS, existing[4 + len(_FACT_FIELDS) :], strict=True))
        # Edit history: what counts as a new version is bot/core/versions.py's rule.
        old_edit = from_db_time(old["edit_date"])
        decision = compare(old["raw_text"], old_edit, post.raw_text, post.edit_date, post.date)
        if decision == "stale":  # an older state of the post: it keeps the newer text
            values = {k: old[k] for k in _CONTENT_FIELDS}
        else:
            newest = later(old_edit, post.edit_date)
            values["edit_date"] = to_db_time(newest) if newest else None
        changed: dict[str, Any] = {k: values[k] for k in _CONTENT_FIELDS if values[k] != old[k]}
        content = bool(changed)
        if post.views is not None and post.views != views:
            changed["views"] = post.views
        # Sender and hidden links a re-import knows and the row lacks (an archive from before they were
        # kept); what the row has is never blanked by a source that knows less (the t.me/s preview).
        # An edit brings its own hidden links.
        for key, value, had in zip(_FACT_FIELDS, _fact_values(post), facts, strict=True):
            if (value is not None and had is None) or (key == "text_links" and content and value != had):
                changed[key] = value
        if approx and not post.approx_time:  # an exact time for a post stored on an exporter's clock
            changed["date"] = to_db_time(post.date)
            changed["time_approx"] = 0
        if post.links and not content:
            # Also for an unchanged post: an archive from before linked articles gets them on re-import.
            self.articles.link_post(post_id, post.links, self.clock())
        if not changed:
            return "unchanged", post_id
        if decision == "new":
            now = to_db_time(self.clock())
            self._keep_version(post_id, old["text"], old["raw_text"], old["edit_date"], seen_at, now)
            changed["text_seen_at"] = now
        sets = ", ".join(f"{k} = ?" for k in changed)
        self.db.execute(f"UPDATE posts SET {sets} WHERE id = ?", [*changed.values(), post_id])
        if not content:
            return "views", post_id  # or new facts: no edit either
        mark_posts(self.db, [post_id])  # a new origin key or text may join it to others
        self.db.execute("DELETE FROM post_tags WHERE post_id = ?", [post_id])
        self._write_tags(post_id, post.tags)
        self.articles.link_post(post_id, post.links, self.clock(), retag=True)  # + the articles' topics
        return "updated", post_id

    def _write_tags(self, post_id: int, tags: Iterable[Tag]) -> None:
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO post_tags(post_id, tag, kind, display) VALUES (?, ?, ?, ?)",
            [(post_id, t.key, t.kind, t.display) for t in tags],
        )

    def mark_deleted(self, ref: ChannelRef, message_ids: Iterable[int]) -> int:
        """Deleted on Telegram means flagged here, never erased: the archive keeps what was said, and when
        the deletion was noticed (`deleted_at`)."""
        channel_id = self.ensure_channel(ref)
        ids = list(message_ids)
        now = to_db_time(self.clock())
        with transaction(self.db):
            cur = self.db.conn.executemany(
                "UPDATE posts SET deleted = 1, deleted_at = ? WHERE channel_id = ? AND message_id = ? AND deleted = 0",
                [(now, channel_id, m) for m in ids],
            )
        return cur.rowcount

    # -------------------------------------------------------------------- reads
    def message_dates(self, channel_id: int, first: int, last: int) -> dict[int, datetime]:
        """Dates of the channel's archived messages with ids in [first, last]: is an import the same channel?"""
        rows = self.db.execute(
            "SELECT message_id, date FROM posts WHERE channel_id = ? AND message_id BETWEEN ? AND ?",
            [channel_id, first, last],
        ).fetchall()
        return {int(r[0]): datetime.fromisoformat(r[1]) for r in rows}

    def recent_texts(self, channel_id: int, limit: int) -> list[str]:
        """The channel's newest post texts (by message id): what learned boilerplate is counted on."""
        rows = self.db.execute(
            "SELECT text FROM posts WHERE channel_id = ? AND deleted = 0 ORDER BY message_id DESC LIMIT ?",
            [channel_id, limit],
        ).fetchall()
        return [r[0] for r in rows]

    @property
    def signatures(self) -> Signatures:
        """The near-duplicate index's tables (bot/app/neardup_index.py decides what goes in them)."""
        return self._part("signatures", Signatures)

    def _hydrate(self, rows: list[sqlite3.Row | tuple[Any, ...]]) -> list[StoredPost]:
        decode = self._tag_decoder.decode
        parse = datetime.fromisoformat
        # Positional, in StoredPost's field order, every field (keywords cost the generated __init__ more):
        # a search's whole Python cost is mostly these 20 objects.
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
                (),  # articles (ArticleReads.attach)
                None,  # article_match
                Sender(r[19], r[20]) if r[19] or r[20] else None,  # sender
                bool(r[21]),  # approx_time
                decode_text_links(r[22]) if r[22] else (),  # text_links
            )
            for r in rows
        ]

    def get_post(self, post_id: int) -> StoredPost | None:
        rows = self.db.execute(
            f"SELECT {_POST_COLUMNS} FROM posts p JOIN channels c ON c.id = p.channel_id WHERE p.id = ?",
            [post_id],
        ).fetchall()
        found = self.articles.attach(self._hydrate(rows), [r[18] for r in rows])
        return found[0] if found else None

    def get_posts(self, post_ids: Sequence[int]) -> list[StoredPost]:
        """Several posts by id, oldest first (date, then id); unknown ids are left out."""
        ids = list(dict.fromkeys(int(i) for i in post_ids))[:_MAX_IDS]
        rows = self.db.execute(
            f"SELECT {_POST_COLUMNS} FROM posts p JOIN channels c ON c.id = p.channel_id "
            f"WHERE p.id IN ({','.join('?' * len(ids))}) ORDER BY p.date, p.id",
            ids,
        ).fetchall()
        return self._hydrate(rows)

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
