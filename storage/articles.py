"""The linked-articles tables: the fetch queue, the archived pages, and which posts point where.

Stores only. A post's article links are queued in the transaction that saves the post (the store's
save path calls `link_post`), so a crash can never leave a post whose links were forgotten; the
worker (bot/app/articles.py) takes due rows from `due()` and writes each outcome in one transaction, so
a restart in the middle of a queue simply finds the unfinished rows still due.

One row per canonical link. When two links turn out to be one article (a short link and the full
one; the page names the same canonical URL and has the same text or title), the later becomes an
`alias` of the first and its posts are moved over: the article is stored once.

Topics of a fetched article are copied to the `post_tags` of every post linking to it (kind `topic`),
so tag filters, counts and digests see them; `posts.tag_list` keeps the post's own tags only, and
readers merge the article's (see `attach`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from bot.core.articles import ArticleContent
from bot.core.links import url_host
from storage.article_reads import ArticleReads, _t
from storage.db import transaction
from storage.in_lists import chunks
from storage.tag_list import TagDecoder, encode_tags


@dataclass(frozen=True, slots=True)
class QueuedArticle:
    """A due queue entry: what the worker needs to fetch it (validators only for a re-check)."""

    id: int
    url: str
    host: str
    status: str
    attempts: int
    etag: str | None = None
    last_modified: str | None = None


class ArticleStore(ArticleReads):
    """The queue and the outcomes (writes); the reads are `ArticleReads`."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._tags = TagDecoder()

    # ------------------------------------------------------------------ queueing (inside a post save)
    def link_post(self, post_id: int, links: Sequence[str], now: datetime, *, retag: bool = False) -> None:
        """Queue the post's links (new ones only) and link the post to their articles. Add-only: a link a
        post once carried stays linked (sources differ in which links they see; the archive keeps
        what was said). `retag`: the post's tags were just rewritten, so its articles' topics go back.
        """
        conn = self.db.conn
        if links:
            stamp = _t(now)
            conn.executemany(
                "INSERT OR IGNORE INTO articles(url, host, status, next_try_at, created_at) "
                "VALUES (?, ?, 'queued', ?, ?)",
                [(url, url_host(url), stamp, stamp) for url in links],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO post_articles(post_id, article_id, position) "
                "SELECT ?, coalesce(alias_of, id), ? FROM articles WHERE url = ?",
                [(post_id, position, url) for position, url in enumerate(links)],
            )
        if links or retag:
            self._copy_tags([post_id])

    def posts_with_text(self, since: datetime | None, after_id: int, limit: int) -> list[tuple[int, str]]:
        """(id, raw text) of stored posts that mention a web address, in id order: for queueing the
        links of an archive from before linked articles (`tgmonitor articles queue`)."""
        where = "id > ? AND (raw_text LIKE '%http%' OR raw_text LIKE '%www.%')"
        params: list[Any] = [after_id]
        if since is not None:
            where += " AND date >= ?"
            params.append(_t(since))
        rows = self.db.execute(
            f"SELECT id, raw_text FROM posts WHERE {where} ORDER BY id LIMIT ?", [*params, limit]
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def queue_links(self, found: Sequence[tuple[int, Sequence[str]]], now: datetime) -> None:
        """Link posts already archived to the articles picked from their text, in one transaction."""
        with transaction(self.db):
            for post_id, links in found:
                self.link_post(post_id, links, now)

    # ------------------------------------------------------------------ the queue
    def due(self, now: datetime, limit: int, *, exclude: Iterable[int] = ()) -> list[QueuedArticle]:
        skip = list(exclude)
        extra = f" AND id NOT IN ({','.join('?' * len(skip))})" if skip else ""
        rows = self.db.execute(
            "SELECT id, url, host, status, attempts, etag, last_modified FROM articles "
            f"WHERE status IN ('queued', 'retry') AND next_try_at <= ?{extra} ORDER BY next_try_at, id LIMIT ?",
            [_t(now), *skip, limit],
        ).fetchall()
        return [QueuedArticle(*r) for r in rows]

    def refresh_candidates(self, checked_before: datetime, since: datetime | None, limit: int) -> list[QueuedArticle]:
        """Done articles last checked before `checked_before`, linked by posts dated from `since`."""
        where, params = ["a.status = 'done'", "coalesce(a.checked_at, a.fetched_at) < ?"], [_t(checked_before)]
        if since is not None:
            where.append("EXISTS (SELECT 1 FROM post_articles pa JOIN posts p ON p.id = pa.post_id "
                         "WHERE pa.article_id = a.id AND p.date >= ?)")  # fmt: skip
            params.append(_t(since))
        rows = self.db.execute(
            "SELECT a.id, a.url, a.host, a.status, a.attempts, a.etag, a.last_modified FROM articles a "
            f"WHERE {' AND '.join(where)} ORDER BY a.id LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [QueuedArticle(*r) for r in rows]

    def reset_skipped(self, now: datetime) -> int:
        """Links skipped by settings or robots.txt get another look (the settings may have changed)."""
        with transaction(self.db):
            cur = self.db.execute(
                "UPDATE articles SET status = 'queued', next_try_at = ? WHERE status = 'skipped'", [_t(now)]
            )
        return cur.rowcount

    def retry_failed(self, now: datetime) -> int:
        with transaction(self.db):
            cur = self.db.execute(
                "UPDATE articles SET status = 'queued', attempts = 0, next_try_at = ? WHERE status = 'failed'",
                [_t(now)],
            )
        return cur.rowcount

    def defer(self, article_id: int, until: datetime) -> None:
        """Not tried now (its site asked for a pause): later, without counting an attempt."""
        with transaction(self.db):
            self.db.execute(
                "UPDATE articles SET next_try_at = ? WHERE id = ? AND status IN ('queued', 'retry')",
                [_t(until), article_id],
            )

    # ------------------------------------------------------------------ outcomes
    def save_done(
        self,
        article_id: int,
        content: ArticleContent,
        *,
        now: datetime,
        final_url: str,
        http_status: int,
        etag: str | None,
        last_modified: str | None,
    ) -> int:
        """Store the article; returns the id it is kept under (another one's when it is an alias)."""
        with transaction(self.db):
            twin = self.db.execute(
                "SELECT id FROM articles WHERE canonical_url = ? AND id != ? AND status = 'done' "
                "AND (content_hash = ? OR title = ?) ORDER BY id LIMIT 1",
                [content.canonical_url, article_id, content.content_hash, content.title],
            ).fetchone()
            common = {
                "final_url": final_url,
                "canonical_url": content.canonical_url,
                "http_status": http_status,
                "error": None,
                "next_try_at": None,
                "fetched_at": _t(now),
                "checked_at": _t(now),
                "etag": etag,
                "last_modified": last_modified,
            }
            if twin is not None:
                self._update(article_id, {**common, "status": "alias", "alias_of": twin[0]})
                self._move_posts(article_id, twin[0])
                return int(twin[0])
            previous = self.db.execute(
                "SELECT content_hash, done_seq FROM articles WHERE id = ?", [article_id]
            ).fetchone()
            values: dict[str, Any] = {
                **common,
                "status": "done",
                "title": content.title,
                "author": content.author,
                "published": content.published,
                "sitename": content.sitename,
                "lang": content.lang,
                "text": content.text,
                "tag_list": encode_tags(content.tags),
                "content_hash": content.content_hash,
            }
            if previous is None or previous[1] is None or previous[0] != content.content_hash:
                # New or changed text: the alert job looks at it again (alerts_sent keeps it to one per post).
                seq = self.db.execute("SELECT coalesce(max(done_seq), 0) + 1 FROM articles").fetchone()[0]
                values["done_seq"] = seq
            self._update(article_id, values)
            self._copy_tags(self.post_ids(article_id))
        return article_id

    def save_failure(
        self,
        article_id: int,
        *,
        status: str,
        attempts: int,
        now: datetime,
        next_try_at: datetime | None,
        http_status: int | None,
        error: str,
        title: str | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "next_try_at": _t(next_try_at) if next_try_at else None,
            "checked_at": _t(now),
            "http_status": http_status,
            "error": error[:500],
        }
        if title:
            values["title"] = title  # a page with no readable text can still be named in a digest
        with transaction(self.db):
            self._update(article_id, values)

    def save_check(self, article_id: int, *, now: datetime, http_status: int | None, error: str | None) -> None:
        """A re-check of a stored article: a 304, or a failure that must not erase what was archived."""
        with transaction(self.db):
            self._update(article_id, {"checked_at": _t(now), "http_status": http_status, "error": error})

    def _update(self, article_id: int, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        self.db.execute(f"UPDATE articles SET {sets} WHERE id = ?", [*values.values(), article_id])

    def _move_posts(self, source: int, target: int) -> None:
        posts = self.post_ids(source)
        self.db.execute(
            "INSERT OR IGNORE INTO post_articles(post_id, article_id, position) "
            "SELECT post_id, ?, position FROM post_articles WHERE article_id = ?",
            [target, source],
        )
        self.db.execute("DELETE FROM post_articles WHERE article_id = ?", [source])
        self._copy_tags(posts)

    def _copy_tags(self, post_ids: Sequence[int]) -> None:
        """post_tags of these posts = their own tags (posts.tag_list) + the topics of their done articles."""
        for chunk in chunks(list(post_ids)):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT pa.post_id, a.tag_list FROM post_articles pa JOIN articles a ON a.id = pa.article_id "
                f"WHERE pa.post_id IN ({marks}) AND a.status = 'done' AND a.tag_list != ''",
                list(chunk),
            ).fetchall()
            own = dict(self.db.execute(f"SELECT id, tag_list FROM posts WHERE id IN ({marks})", list(chunk)).fetchall())
            self.db.conn.executemany(
                "DELETE FROM post_tags WHERE post_id = ? AND kind = 'topic' AND tag = ?",
                [
                    (post_id, key)
                    for post_id, key in self.db.execute(
                        f"SELECT post_id, tag FROM post_tags WHERE kind = 'topic' AND post_id IN ({marks})", list(chunk)
                    ).fetchall()
                    if key not in {t.key for t in self._tags.decode(own.get(post_id) or "")}
                ],
            )
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO post_tags(post_id, tag, kind, display) VALUES (?, ?, ?, ?)",
                [
                    (post_id, t.key, t.kind, t.display)
                    for post_id, tag_list in rows
                    for t in self._tags.decode(tag_list)
                ],
            )

    # ------------------------------------------------------------------ reads
