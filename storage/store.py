"""The archive's one door: every read and write of posts, channels and checkpoints goes through here.

Writes are idempotent (saving the same post twice changes nothing) and each call is one transaction,
with the channel checkpoint moved inside it, so a crash loses nothing and duplicates nothing.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import sqlite_utils

from bot.core.textnorm import TextNormaliser
from bot.core.versions import compare, later
from bot.models import ArticleMatch, ChannelRef, Post, SaveResult, StoredPost, Tag
from storage.alerts import AlertLog
from storage.articles import ArticleStore
from storage.channels import ChannelTable
from storage.db import open_db, transaction
from storage.digests import DigestLog
from storage.edit_alerts import EditAlertLog
from storage.housekeeping import Housekeeping
from storage.refusals import Refusals
from storage.search_index import SearchIndex
from storage.signatures import Signatures
from storage.subscriptions import Subscriptions
from storage.tag_list import TagDecoder, encode_tags
from storage.timefmt import from_db_time, to_db_time
from storage.versions import VersionTable

SearchOrder = Literal["newest", "rank", "oldest"]
T = TypeVar("T")


class QueryError(ValueError):
    """A search query FTS5 cannot run; the message is safe to show to a user."""


_CONTROLS = re.compile("[\x00-\x1f\x7f]")


def quote_fts(query: str) -> str:
    """Every user word becomes a quoted FTS5 string, so `NEAR(`, `*`, `-` and stray quotes are just text.

    Control characters (a NUL ends an FTS5 string early: "unterminated string") separate words.
    """
    words = _CONTROLS.sub(" ", query).replace('"', " ").split()
    return " ".join(f'"{word}"' for word in words)


_POST_COLUMNS = (
    "p.id, p.channel_id, c.username, c.title, p.message_id, p.date, p.text, p.url, p.origin_key, "
    "p.content_hash, p.lang, p.forward_name, p.media_kind, p.views, p.cluster_id, p.edit_date, p.deleted, "
    "p.tag_list, "
    # Whether the post links to an article: a probe inside the same statement, so a page of posts
    # that link nowhere (most) costs no second query (storage/articles.py: attach).
    "EXISTS (SELECT 1 FROM post_articles pa WHERE pa.post_id = p.id)"
)
# What decides "this post changed": a re-import with the same values writes nothing.
# tag_list is among them: a re-import after the keyword rules changed re-tags the post.
# Above this many posts behind a filter, reading newest first by date beats sorting what it keeps.
_MANY = 5000
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


def utc_now() -> datetime:
    return datetime.now(UTC)


class Store(ChannelTable, Housekeeping, VersionTable):
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
        self.search_index = SearchIndex(db, normaliser)
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
                elif outcome == "views":  # a new view count is no edit: nothing to re-sign
                    updated += 1
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
            f"SELECT id, views, text_seen_at, {', '.join(_CONTENT_FIELDS)} FROM posts "
            "WHERE channel_id = ? AND message_id = ?",
            [channel_id, post.message_id],
        ).fetchone()
        if existing is None:
            cur = self.db.execute(
                "INSERT INTO posts(channel_id, message_id, date, forward_name, views, grouped_id, source, "
                "text_seen_at, "
                f"{', '.join(values)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, {', '.join('?' * len(values))})",
                [
                    channel_id,
                    post.message_id,
                    to_db_time(post.date),
                    post.forward_name,
                    post.views,
                    post.grouped_id,
                    post.source,
                    to_db_time(self.clock()),
                    *values.values(),
                ],
            )
            post_id = int(cur.lastrowid or 0)
            self._write_tags(post_id, post.tags)
            if post.links:
                self.articles.link_post(post_id, post.links, self.clock())
            return "inserted", post_id
        post_id, views, seen_at = existing[0], existing[1], existing[2]
        old = dict(zip(_CONTENT_FIELDS, existing[3:], strict=True))
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
            return "views", post_id
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
        """The near-duplicate index's tables (bot/neardup_index.py decides what goes in them)."""
        return self._part("signatures", Signatures)

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
        lang: str | None = None,
    ) -> list[StoredPost]:
        """Full-text and filtered listing. Raises QueryError for an unknown channel or an empty query."""
        where = [] if include_deleted else ["p.deleted = 0"]
        params: list[Any] = []
        join = ""
        newest = rank = "p.date DESC, p.id DESC"
        fts: str | None = None  # the query as literal FTS5 words: what linked articles are searched with
        query_where: list[str] = []
        query_params: list[Any] = []
        if query is not None:
            parsed = self.search_index.parse(query)
            if parsed.empty:
                raise QueryError("the search query is empty")
            clause = self.search_index.clause(parsed)  # storage/search_index.py: inflections, scripts, "exact"
            join, newest, rank = clause.join, clause.newest, clause.rank
            query_where, query_params = [clause.where], list(clause.params)
            fts = quote_fts(query) or '""'
        tag_keys = list(dict.fromkeys(tag.lstrip("#").casefold() for tag in tags))
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
        if tag_keys:  # several tags: posts with any of them (as digests, subscriptions and alerts read them)
            marks = ", ".join("?" * len(tag_keys))
            if many:
                where.append(f"EXISTS (SELECT 1 FROM post_tags t WHERE t.tag IN ({marks}) AND t.post_id = p.id)")
            else:
                where.append(f"p.id IN (SELECT post_id FROM post_tags WHERE tag IN ({marks}))")
            params.extend(tag_keys)
        if channel_id is not None:
            where.append("p.channel_id = ?")
            params.append(channel_id)
        if lang is not None:
            where.append("p.lang = ?")
            params.append(lang)
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
        post_where = [*query_where, *where]
        post_params = [*query_params, *params]
        sql = (
            f"SELECT {_POST_COLUMNS} FROM posts p {'INDEXED BY posts_date' if by_date else ''} {join} "
            "JOIN channels c ON c.id = p.channel_id "
            f"WHERE {' AND '.join(post_where) or '1'} ORDER BY {order_sql} LIMIT ? OFFSET ?"
        )
        try:
            if fts is not None:
                # Words found only in a linked article find the post too (the hit says so).
                want = max(0, offset) + max(0, limit)
                hits = self.articles.matching_posts(fts, where, params, order, want)
                if hits:
                    page = self._merge_article_hits(
                        hits,
                        join,
                        post_where,
                        post_params,
                        order_sql,
                        order,
                        want,
                        rank if rank.endswith(".rank") else "0",
                    )
                    return page[max(0, offset) : want]
            rows = self.db.execute(sql, [*post_params, max(0, limit), max(0, offset)]).fetchall()
        except sqlite3.OperationalError as exc:
            raise QueryError(f"cannot search for {query!r}: {exc}") from exc
        return self.articles.attach(self._hydrate(rows), [r[18] for r in rows])

    def _merge_article_hits(
        self,
        hits: list[tuple[int, str, float, ArticleMatch]],
        join: str,
        where: list[str],
        params: list[Any],
        order_sql: str,
        order: SearchOrder,
        want: int,
        rank_value: str = "posts_fts.rank",
    ) -> list[StoredPost]:
        """The first `want` results of two ordered streams: posts matching in their own text, and posts
        matching through an article (`hits`, already cut at `want`)."""
        own = self.db.execute(
            f"SELECT p.id, p.date, {rank_value} FROM posts p {join} WHERE {' AND '.join(where)} "
            f"ORDER BY {order_sql} LIMIT ?",
            [*params, want],
        ).fetchall()

        def key(post_id: int, date: str, rank: float) -> Any:
            return (date, post_id) if order == "oldest" else (rank, -post_id) if order == "rank" else -post_id

        entries: dict[int, tuple[Any, ArticleMatch | None]] = {i: (key(i, d, r), None) for i, d, r in own}
        for post_id, date, rank, match in hits:
            entries.setdefault(post_id, (key(post_id, date, rank), match))  # a match in its own text wins
        page = sorted(entries, key=lambda i: entries[i][0])[:want]
        if not page:
            return []
        rows = self.db.execute(
            f"SELECT {_POST_COLUMNS} FROM posts p JOIN channels c ON c.id = p.channel_id "
            f"WHERE p.id IN ({','.join('?' * len(page))})",
            page,
        ).fetchall()
        by_id = {post.id: post for post in self.articles.attach(self._hydrate(rows), [r[18] for r in rows])}
        found = [by_id[i] for i in page if i in by_id]
        return [replace(p, article_match=entries[p.id][1]) if entries[p.id][1] else p for p in found]

    def _filters_keep_many(self, tag_keys: Sequence[str], channel_id: int | None) -> bool:
        """Whether the tags (together) and the channel hold at least _MANY posts (counting stops there)."""
        counts = []
        if tag_keys:
            marks = ", ".join("?" * len(tag_keys))
            counts.append(
                self.db.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM post_tags WHERE tag IN ({marks}) LIMIT ?)",
                    [*tag_keys, _MANY],
                ).fetchone()[0]
            )
        if channel_id is not None:
            counts.append(
                self.db.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM posts WHERE channel_id = ? LIMIT ?)", [channel_id, _MANY]
                ).fetchone()[0]
            )
        return min(counts, default=_MANY) >= _MANY

    def posts_between(
        self, start: datetime, end: datetime, *, tags: Sequence[str] = (), include_deleted: bool = False
    ) -> list[StoredPost]:
        """Posts dated in [start, end), oldest first: the raw material of a digest window."""
        found = self.search(
            None, since=start, until=end, limit=1_000_000, order="oldest", include_deleted=include_deleted
        )
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

    # ------------------------------------------------------------ re-cleaning
    def posts_after(self, after_id: int, limit: int) -> list[tuple[int, str, str, str, tuple[Tag, ...]]]:
        """(id, raw_text, text, origin_key, tags) of the next `limit` posts by id: what `reclean` redoes."""
        rows = self.db.execute(
            "SELECT id, raw_text, text, origin_key, tag_list FROM posts WHERE id > ? ORDER BY id LIMIT ?",
            [after_id, limit],
        ).fetchall()
        decode = self._tag_decoder.decode
        return [(r[0], r[1] or "", r[2] or "", r[3], decode(r[4])) for r in rows]

    def count_posts_after(self, after_id: int) -> int:
        return int(self.db.execute("SELECT count(*) FROM posts WHERE id > ?", [after_id]).fetchone()[0])

    def update_cleaning(
        self, post_id: int, *, text: str, content_hash: str, lang: str | None, origin_key: str, tags: Sequence[Tag]
    ) -> None:
        """A post's derived fields after re-cleaning; FTS follows through the posts_au trigger."""
        self.db.execute(
            "UPDATE posts SET text = ?, content_hash = ?, lang = ?, origin_key = ?, tag_list = ? WHERE id = ?",
            [text, content_hash, lang, origin_key, encode_tags(tags), post_id],
        )
        self.db.execute("DELETE FROM post_tags WHERE post_id = ?", [post_id])
        self._write_tags(post_id, tags)
