"""Reads for `tgmonitor export`: the archive in pages of posts, oldest first, however large it is.

Keyset pages on the posts_date index (`(date, id) > (last date, last id)`), so every page is one
indexed range read and memory holds one page whatever the archive's size; an OFFSET would re-read
every earlier row. A page's statements are folded above the store (bot/app/exports.py) from the page's
posts and their copies, found here through the indexes on origin key, content hash and cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core.fingerprint import EMPTY_TEXT_HASH
from bot.models import StoredPost
from storage.post_filters import filter_clauses, tag_keys
from storage.post_rows import POST_COLUMNS, POST_WIDTH
from storage.store import Store
from storage.timefmt import to_db_time

MAX_COPIES_PER_PAGE = 20_000  # copies read beside one page; a statement carried by more is cut there


class ExportReads:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def page(
        self,
        after: tuple[datetime, int] | None,
        limit: int,
        *,
        tags: Sequence[str] = (),
        channel_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_deleted: bool = False,
    ) -> tuple[list[StoredPost], dict[int, str]]:
        """Up to `limit` posts after `after` (date, id), oldest first, with the filters of search, and
        their raw texts (read in the same statement: a second look-up per post costs ~10%)."""
        where: list[str] = [] if include_deleted else ["p.deleted = 0"]
        params: list[Any] = []
        if after is not None:
            where.append("(p.date, p.id) > (?, ?)")
            params += [to_db_time(after[0]), after[1]]
        # Walked in date order on posts_date: each post's tags probed (EXISTS), as search does with many.
        clauses, values = filter_clauses(
            tags=tag_keys(tags), tag_form="exists", channel_id=channel_id, since=since, until=until
        )
        where += clauses
        params += values
        rows = self.db.execute(
            f"SELECT {POST_COLUMNS}, p.raw_text FROM posts p INDEXED BY posts_date "
            "JOIN channels c ON c.id = p.channel_id "
            f"WHERE {' AND '.join(where) or '1'} ORDER BY p.date, p.id LIMIT ?",
            [*params, limit],
        ).fetchall()
        return self.store._hydrate(rows), {int(r[0]): r[POST_WIDTH] or "" for r in rows}

    def raw_texts(self, post_ids: Sequence[int]) -> dict[int, str]:
        if not post_ids:
            return {}
        rows = self.db.execute(
            f"SELECT id, raw_text FROM posts WHERE id IN ({','.join('?' * len(post_ids))})", list(post_ids)
        ).fetchall()
        return {int(r[0]): r[1] or "" for r in rows}

    def copies(self, posts: Sequence[StoredPost]) -> list[StoredPost]:
        """Posts outside `posts` sharing an origin key, a non-empty text's hash or a cluster with one of them
        (the keys `fold_items` joins on, one hop), not deleted, oldest first."""
        if not posts:
            return []
        origins = list({p.origin_key for p in posts})
        hashes = list({p.content_hash for p in posts if p.content_hash != EMPTY_TEXT_HASH})
        clusters = list({p.cluster_id for p in posts if p.cluster_id is not None})
        where = [f"origin_key IN ({','.join('?' * len(origins))})"]
        params: list[Any] = [*origins]
        if hashes:
            where.append(f"(content_hash IN ({','.join('?' * len(hashes))}))")
            params += hashes
        if clusters:
            where.append(f"cluster_id IN ({','.join('?' * len(clusters))})")
            params += clusters
        rows = self.db.execute(
            f"SELECT id FROM posts WHERE deleted = 0 AND ({' OR '.join(where)}) LIMIT ?",
            [*params, MAX_COPIES_PER_PAGE + len(posts)],
        ).fetchall()
        have = {p.id for p in posts}
        wanted = [int(r[0]) for r in rows if int(r[0]) not in have][:MAX_COPIES_PER_PAGE]
        found: list[StoredPost] = []
        for start in range(0, len(wanted), 5000):
            found += self.store.get_posts(wanted[start : start + 5000])
        return found

    def max_post_id(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(id), 0) FROM posts").fetchone()[0])
