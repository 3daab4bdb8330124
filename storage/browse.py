"""Read-only queries for browsing the archive (the web viewer): highlights, copies, versions, counts.

Only reads, so it works on a `mode=ro` connection (storage/readonly.py). Post rows are hydrated by
`Store` (`get_posts`), so a post looks the same here as in search, digests and the bot. Counts come
back as plain rows; what they mean (a week, a statement, a chart) is decided above the store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from bot.core.copies import CopyKey
from bot.core.statements import content_folds
from bot.models import PostVersion, StoredPost, Tag
from storage.store import QueryError, Store, quote_fts
from storage.timefmt import from_db_time, to_db_time

# Private-use characters around each FTS5 match: never produced by cleaning, and the page escapes the
# text between them, so a post containing them can only mis-place a highlight, never inject markup.
MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"
MAX_COPIES = 500  # a post page lists at most this many copies of one statement


class Browse:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    # ------------------------------------------------------------------- posts
    def highlights(self, query: str, post_ids: Sequence[int]) -> dict[int, str]:
        """Each post's clean text with the query's matches between MARK_OPEN and MARK_CLOSE."""
        fts = quote_fts(query)
        if not fts or not post_ids:
            return {}
        ids = [int(i) for i in post_ids]
        try:
            rows = self.db.execute(
                f"SELECT rowid, highlight(posts_fts, 0, ?, ?) FROM posts_fts WHERE posts_fts MATCH ? "
                f"AND rowid IN ({','.join('?' * len(ids))})",
                [MARK_OPEN, MARK_CLOSE, fts, *ids],
            ).fetchall()
        except sqlite3.OperationalError as exc:
            raise QueryError(f"cannot search for {query!r}: {exc}") from exc
        return {int(r[0]): r[1] or "" for r in rows}

    def copies(self, post: StoredPost) -> list[StoredPost]:
        """Every post carrying the same statement (origin key, content hash or near-duplicate cluster).

        The keys the digest folds by; `post` itself is included, oldest first. Deleted copies are
        left out, except `post` when it is the deleted one.
        """
        where, params = _same_statement(post)
        rows = self.db.execute(
            f"SELECT id FROM posts WHERE {where} AND (deleted = 0 OR id = ?) ORDER BY date, id LIMIT ?",
            [*params, post.id, MAX_COPIES],
        ).fetchall()
        return self.store.get_posts([r[0] for r in rows])

    def posts_per_channel(self) -> dict[int, int]:
        rows = self.db.execute("SELECT channel_id, count(*) FROM posts WHERE deleted = 0 GROUP BY channel_id")
        return {int(r[0]): int(r[1]) for r in rows}

    def raw_text(self, post_id: int) -> str | None:
        row = self.db.execute("SELECT raw_text FROM posts WHERE id = ?", [post_id]).fetchone()
        return row[0] if row else None

    def versions(self, post_id: int) -> list[PostVersion]:
        """The post's earlier texts, oldest first (the current one is the post itself); [] if never edited."""
        return self.store.versions(post_id)[:-1]

    # ------------------------------------------------------------------ counts
    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The first and last post dates (two index look-ups).

        Two subqueries, because SQLite answers a lone min() or max() from the index's ends but reads
        the whole posts_date index for both in one SELECT (~20 ms on 100k posts, every charts view)."""
        row = self.db.execute("SELECT (SELECT min(date) FROM posts), (SELECT max(date) FROM posts)").fetchone()
        return from_db_time(row[0]), from_db_time(row[1])

    def latest(self, *, channel_id: int | None = None, tag: str | None = None) -> datetime | None:
        """The date of a channel's newest message, or of the newest post archived with a tag (index look-ups)."""
        params: list[Any]
        if channel_id is not None:
            sql, params = "SELECT date FROM posts WHERE channel_id = ? ORDER BY message_id DESC LIMIT 1", [channel_id]
        else:
            sql = "SELECT date FROM posts WHERE id = (SELECT max(post_id) FROM post_tags WHERE tag = ?)"
            params = [tag]
        row = self.db.execute(sql, params).fetchone()
        return from_db_time(row[0]) if row else None

    def neighbours(self, post: StoredPost) -> tuple[int | None, int | None]:
        """The ids of the channel's message before and after this one (its unique index, two look-ups)."""
        before = self.db.execute(
            "SELECT id FROM posts WHERE channel_id = ? AND message_id < ? ORDER BY message_id DESC LIMIT 1",
            [post.channel_id, post.message_id],
        ).fetchone()
        after = self.db.execute(
            "SELECT id FROM posts WHERE channel_id = ? AND message_id > ? ORDER BY message_id LIMIT 1",
            [post.channel_id, post.message_id],
        ).fetchone()
        return (int(before[0]) if before else None, int(after[0]) if after else None)

    def channel_spans(self) -> dict[int, tuple[datetime | None, datetime | None]]:
        """Each channel's first and last message date (its unique index's ends: two look-ups a channel)."""
        spans: dict[int, tuple[datetime | None, datetime | None]] = {}
        for (channel_id,) in self.db.execute("SELECT id FROM channels").fetchall():
            ends = [
                self.db.execute(
                    f"SELECT date FROM posts WHERE channel_id = ? ORDER BY message_id {way} LIMIT 1", [channel_id]
                ).fetchone()
                for way in ("", "DESC")
            ]
            spans[int(channel_id)] = (
                from_db_time(ends[0][0]) if ends[0] else None,
                from_db_time(ends[1][0]) if ends[1] else None,
            )
        return spans

    def earliest(self, *, channel_id: int) -> datetime | None:
        """The date of a channel's first message (its unique index's first entry)."""
        row = self.db.execute(
            "SELECT date FROM posts WHERE channel_id = ? ORDER BY message_id LIMIT 1", [channel_id]
        ).fetchone()
        return from_db_time(row[0]) if row else None

    def count_posts(self, *, channel_id: int | None = None, tag: str | None = None) -> int:
        """Posts archived in a channel or with a tag, deleted ones included: read from an index alone
        (telling deleted ones apart would read every row, ~0.6 s for a tag on 90k posts)."""
        if tag is not None:
            row = self.db.execute("SELECT count(DISTINCT post_id) FROM post_tags WHERE tag = ?", [tag]).fetchone()
        else:
            row = self.db.execute("SELECT count(*) FROM posts WHERE channel_id = ?", [channel_id]).fetchone()
        return int(row[0])

    def languages(self, codes: Sequence[str]) -> list[str]:
        """Which of `codes` some post is tagged with, in that order: one indexed probe each
        (post_tags_tag), ~100 probes in ~1 ms, where listing the distinct languages would read every
        post or every tag row."""
        return [
            code
            for code in codes
            if self.db.execute("SELECT 1 FROM post_tags WHERE tag = ? AND kind = 'lang' LIMIT 1", [code]).fetchone()
        ]

    def tag_display(self, key: str) -> Tag | None:
        row = self.db.execute(
            "SELECT tag, min(display), kind, count(*) AS n FROM post_tags WHERE tag = ? GROUP BY tag, kind "
            "ORDER BY n DESC LIMIT 1",
            [key],
        ).fetchone()
        return Tag(row[0], row[1], row[2]) if row else None

    def posts_per_day(
        self, since: datetime, until: datetime, *, channel_id: int | None = None, tag: str | None = None
    ) -> list[tuple[str, int, int]]:
        """(UTC day YYYY-MM-DD, channel id, posts) for posts dated in [since, until), deleted ones included
        (they were posted), optionally only those with a tag."""
        where, params = _range(since, until, channel_id, live_only=False)
        if tag is not None:
            where += " AND id IN (SELECT post_id FROM post_tags WHERE tag = ?)"
            params.append(tag)
        rows = self.db.execute(
            f"SELECT substr(date, 1, 10) AS day, channel_id, count(*) FROM posts WHERE {where} "
            "GROUP BY day, channel_id ORDER BY day, channel_id",
            params,
        ).fetchall()
        return [(r[0], int(r[1]), int(r[2])) for r in rows]

    def tags_per_day(
        self,
        since: datetime,
        until: datetime,
        *,
        kinds: Sequence[str] = ("hashtag", "topic"),
        channel_id: int | None = None,
    ) -> list[tuple[str, Tag, int]]:
        """(UTC day YYYY-MM-DD, tag, posts) for posts dated in [since, until), deleted ones included,
        in order of day, then tag key and kind.

        One statement per UTC day rather than one GROUP BY over the whole range: the grouping is a sort
        of every (post, tag) row, and twelve weeks of a busy archive are ~1.2 million of them (1.2 s of
        the 1.8 s charts page on 100k posts). A day's ~25,000 rows, sorted by tag alone (the day is the
        piece's, not a `substr` per row in the sort key), take less than half that per row. Rows come
        out as before. One channel's posts are found through its own index and are few: one statement
        (a statement per day would read every post of every day to find the channel's). By day rather
        than week: a week would need `date(…, 'weekday 0')` per row, and a few thousand day rows are
        quickly summed into weeks above.
        """
        if channel_id is not None:  # one channel's posts, found by its index: few rows, one statement
            return self._tags_in(since, until, kinds, channel_id, by_day=True)
        rows: list[tuple[str, Tag, int]] = []
        for start, end in utc_days(since, until):  # UTC, so each piece's date is its posts' day
            rows.extend(self._tags_in(start, end, kinds, None, by_day=False))
        return rows

    def _tags_in(
        self, since: datetime, until: datetime, kinds: Sequence[str], channel_id: int | None, *, by_day: bool
    ) -> list[tuple[str, Tag, int]]:
        """Tag rows of posts dated in [since, until); without `by_day` they all lie in since's UTC day."""
        # Deleted posts count (they were posted): then the posts side is read from the posts_date index
        # alone, without a row per post; a month of a busy archive is ~60,000 rows of ~3 KB otherwise.
        where = ["p.date >= ?", "p.date < ?"]
        params: list[Any] = [to_db_time(since), to_db_time(until)]
        if channel_id is not None:
            where.append("p.channel_id = ?")
            params.append(channel_id)
        day = "substr(p.date, 1, 10)" if by_day else "?"
        if not by_day:  # dates are stored in UTC, and the piece is one UTC day
            params.insert(0, since.date().isoformat())
        rows = self.db.execute(
            f"SELECT {day} AS day, t.tag, t.kind, min(t.display), count(*) "
            f"FROM posts p JOIN post_tags t ON t.post_id = p.id WHERE {' AND '.join(where)} "
            f"AND t.kind IN ({','.join('?' * len(kinds))}) "
            f"GROUP BY {'day, ' if by_day else ''}t.tag, t.kind ORDER BY {'day, ' if by_day else ''}t.tag, t.kind",
            [*params, *kinds],
        ).fetchall()
        return [(r[0], Tag(r[1], r[3], r[2]), int(r[4])) for r in rows]

    def copy_keys(self, since: datetime, until: datetime, *, limit: int) -> list[CopyKey]:
        """What folding reads of the posts in [since, until), oldest first, at most `limit` of them.

        Read from the covering index posts_keys alone: whether a text folds is told by its content hash
        (bot/core/statements.py), so no post's text (~3 KB, often on overflow pages) is read.
        """
        where, params = _range(since, until, None)
        rows = self.db.execute(
            f"SELECT id, channel_id, origin_key, content_hash, cluster_id FROM posts WHERE {where} "
            "ORDER BY date, id LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def utc_days(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """[since, until) cut at each UTC midnight: every piece holds posts of a single UTC day."""
    pieces: list[tuple[datetime, datetime]] = []
    start, end = (
        v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC) for v in (since, until)
    )  # as to_db_time
    while start < end:
        midnight = datetime.combine(start.date() + timedelta(days=1), time(0), tzinfo=UTC)
        pieces.append((start, min(midnight, end)))
        start = midnight
    return pieces


def _same_statement(post: StoredPost) -> tuple[str, list[Any]]:
    """The digest's folding keys, one hop: same origin, and when the text is a statement
    (bot/core/statements.py) the same clean text or near-duplicate cluster."""
    where = ["origin_key = ?"]
    params: list[Any] = [post.origin_key]
    if content_folds(post.content_hash):
        where.append("content_hash = ?")
        params.append(post.content_hash)
        if post.cluster_id is not None:
            where.append("cluster_id = ?")
            params.append(post.cluster_id)
    return f"({' OR '.join(where)})", params


def _range(
    since: datetime, until: datetime, channel_id: int | None, *, live_only: bool = True
) -> tuple[str, list[Any]]:
    where = ["date >= ?", "date < ?", *(["deleted = 0"] if live_only else [])]
    params: list[Any] = [to_db_time(since), to_db_time(until)]
    if channel_id is not None:
        where.append("channel_id = ?")
        params.append(channel_id)
    return " AND ".join(where), params


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
