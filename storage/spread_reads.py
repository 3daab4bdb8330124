"""Reads for the spread and amplification analysis: one statement's rows, a window's keys, channels.

Only reads (works on a `mode=ro` connection), over indexes: one statement's rows through posts_origin,
posts_hash and posts_cluster; a window's keys from the covering index posts_keys alone (schema v8),
never the posts' text. What the rows mean is bot/core/spread.py's and bot/core/amplification.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core.amplification import WindowKey
from bot.core.spread import ChannelInfo, KeyRow
from bot.core.statements import content_folds, statement_roots
from storage.store import Store
from storage.timefmt import to_db_time

_WINDOW = "date >= ? AND date < ? AND deleted = 0"
MAX_STATEMENT_ROWS = 5000  # one statement's posts read at most (a statement carried 5,000 times is rare)
MAX_HOPS = 4  # copies of copies: a paraphrase of a copy of a forward is three hops from the original
_ROW = "id, channel_id, date, origin_key, content_hash, cluster_id, message_id, views, url, forward_date, forward_name"


def _key_row(r: Sequence[Any]) -> KeyRow:
    return KeyRow(
        post_id=r[0],
        channel_id=r[1],
        date=datetime.fromisoformat(r[2]),
        origin_key=r[3],
        content_hash=r[4],
        cluster_id=r[5],
        message_id=r[6],
        views=r[7],
        url=r[8],
        forward_date=datetime.fromisoformat(r[9]) if r[9] else None,
        forward_name=r[10],
    )


class SpreadReads:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def channel_infos(self, rows: Sequence[KeyRow] | None = None) -> dict[int, ChannelInfo]:
        """Archived channels; monitored: watched, or it has posts archived (one probe of the
        (channel_id, message_id) index per channel, not a count of its posts). With `rows`, only the
        channels they were posted in or forward from (what one statement's description needs)."""
        where, params = "1", []
        if rows is not None:
            parts = {r.origin_key[: r.origin_key.rfind("/")] for r in rows}
            tg_ids = [int(p[3:]) for p in parts if p.startswith("tg:") and p[3:].isascii() and p[3:].isdecimal()]
            names = [p[1:] for p in parts if p.startswith("@")]
            ids = sorted({r.channel_id for r in rows})
            lists = [
                (column, values) for column, values in (("id", ids), ("tg_id", tg_ids), ("username", names)) if values
            ]
            # (an empty `IN ()` is SQLite's only: PostgreSQL reads it as a syntax error)
            where = " OR ".join(f"c.{column} IN ({','.join('?' * len(values))})" for column, values in lists) or "0"
            params = [v for _, values in lists for v in values]
        found = self.db.execute(
            "SELECT c.id, c.tg_id, c.username, c.title, c.watched != 0 OR EXISTS "
            f"(SELECT 1 FROM posts p WHERE p.channel_id = c.id) FROM channels c WHERE {where} ORDER BY c.id",
            params,
        ).fetchall()
        return {r[0]: ChannelInfo(r[0], r[1], r[2], r[3], bool(r[4])) for r in found}

    def statement_rows(self, post_id: int) -> list[KeyRow]:
        """The post and every live post carrying the same statement, oldest first ([] if no such post).

        Follows the keys hop by hop (a copy of a forward shares the text, not the origin), each hop one
        compound query (each kind of key through its own index), until nothing new turns up (at most
        MAX_HOPS hops and MAX_STATEMENT_ROWS rows); then keeps what the statement grouping joins to the post.
        """
        row = self.db.execute(f"SELECT {_ROW} FROM posts WHERE id = ?", [post_id]).fetchone()
        if row is None:
            return []
        found: dict[int, Sequence[Any]] = {row[0]: row}
        origins: set[str] = set()
        hashes: set[str] = set()
        clusters: set[int] = set()
        fresh = [row]
        for _ in range(MAX_HOPS):
            new_origins = {r[3] for r in fresh} - origins
            new_hashes = {r[4] for r in fresh if content_folds(r[4])} - hashes
            new_clusters = {r[5] for r in fresh if r[5] is not None and content_folds(r[4])} - clusters
            origins |= new_origins
            hashes |= new_hashes
            clusters |= new_clusters
            fresh = []
            # One statement per hop: each kind of key through its own index, in one compound SELECT
            parts: list[str] = []
            params: list[Any] = []
            for column, values in (
                ("origin_key", new_origins),
                ("content_hash", new_hashes),
                ("cluster_id", new_clusters),
            ):
                if values:
                    marks = ",".join("?" * len(values))
                    parts.append(f"SELECT {_ROW} FROM posts WHERE {column} IN ({marks}) AND deleted = 0")
                    params += list(values)
            if not parts:
                break
            for r in self.db.execute(f"{' UNION ALL '.join(parts)} LIMIT ?", [*params, MAX_STATEMENT_ROWS]):
                if r[0] not in found and len(found) < MAX_STATEMENT_ROWS:
                    found[r[0]] = r
                    fresh.append(r)
            if not fresh:
                break
        rows = sorted(found.values(), key=lambda r: (r[2], r[0]))
        keys = [_key_row(r) for r in rows]
        roots = statement_roots((k.origin_key, k.content_hash, k.cluster_id) for k in keys)
        mine = roots[next(i for i, k in enumerate(keys) if k.post_id == post_id)]
        return [k for k, root in zip(keys, roots, strict=True) if root == mine]

    def window_keys(self, since: datetime, until: datetime) -> list[WindowKey]:
        """The keys of every live post dated in [since, until), oldest first, from posts_keys alone."""
        return self.db.execute(
            f"SELECT id, channel_id, date, origin_key, content_hash, cluster_id FROM posts WHERE {_WINDOW} "
            "ORDER BY date, id",
            [to_db_time(since), to_db_time(until)],
        ).fetchall()

    def window_carried(self, since: datetime, until: datetime) -> tuple[list[WindowKey], dict[int, int]]:
        """The keys of the window's posts that can carry a statement with another post or a forward,
        oldest first, and every channel's live posts in the window.

        What `window_keys` gives, less posts that are their channel's own and share no key with any
        other post of the archive: those are statements of one post, which only count. Which posts
        can is kept as they are stored (`posts.carried`, storage/carried.py), so this reads only them,
        in (date, id) order, from the partial index posts_carried; the counts group the window on
        posts_keys. A flag is never wrong the other way (a post flagged for a partner outside the
        window is folded, alone, like any other), so the result groups exactly as `window_keys`
        would (tests/test_spread.py checks it).
        """
        window = [to_db_time(since), to_db_time(until)]
        counts = dict(
            self.db.execute(f"SELECT channel_id, count(*) FROM posts WHERE {_WINDOW} GROUP BY channel_id", window)
        )
        rows = self.db.execute(
            "SELECT id, channel_id, date, origin_key, content_hash, cluster_id FROM posts "
            f"WHERE {_WINDOW} AND carried = 1 ORDER BY date, id",
            window,
        ).fetchall()
        return rows, counts

    def post_links(self, post_ids: Sequence[int]) -> dict[int, tuple[str | None, int, str | None]]:
        """(link, channel id, forward name) of a few posts, by id (examples shown beside a source)."""
        ids = [int(i) for i in post_ids]
        if not ids:
            return {}
        rows = self.db.execute(
            f"SELECT id, url, channel_id, forward_name FROM posts WHERE id IN ({','.join('?' * len(ids))})", ids
        ).fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def post_by_link(self, username: str | None, tg_id: int | None, message_id: int) -> int | None:
        """The archive id of `https://t.me/NAME/MSG` or `https://t.me/c/ID/MSG`, if archived."""
        if username:
            row = self.db.execute(
                "SELECT p.id FROM posts p JOIN channels c ON c.id = p.channel_id "
                "WHERE c.username = ? AND p.message_id = ?",
                [username.lower(), message_id],
            ).fetchone()
        else:
            row = self.db.execute(
                "SELECT p.id FROM posts p JOIN channels c ON c.id = p.channel_id "
                "WHERE c.tg_id = ? AND p.message_id = ?",
                [tg_id, message_id],
            ).fetchone()
        return int(row[0]) if row else None

    def post_text(self, post_id: int) -> str:
        row = self.db.execute("SELECT text FROM posts WHERE id = ?", [post_id]).fetchone()
        return str(row[0]) if row else ""
