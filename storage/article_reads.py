"""Reading the linked-articles tables: articles by id, URL or post, search matches, queue figures.

Mixed into `storage.articles.ArticleStore` (which writes); split off only to keep each module small.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from bot.models import Article, ArticleMatch, LinkedArticle, StoredPost, Tag
from storage.in_lists import chunks
from storage.tag_list import TagDecoder


def _t(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


_ARTICLE_COLUMNS = (
    "id, url, status, host, final_url, canonical_url, title, author, published, sitename, lang, text, tag_list, "
    "content_hash, http_status, error, attempts, next_try_at, fetched_at, checked_at, alias_of"
)


class ArticleReads:
    db: sqlite_utils.Database
    _tags: TagDecoder

    def post_ids(self, article_id: int) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT post_id FROM post_articles WHERE article_id = ?", [article_id])]

    def get(self, article_id: int) -> Article | None:
        row = self.db.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", [article_id]).fetchone()
        return self._article(row) if row else None

    def by_url(self, url: str) -> Article | None:
        row = self.db.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE url = ?", [url]).fetchone()
        return self._article(row) if row else None

    def for_post(self, post_id: int) -> list[Article]:
        rows = self.db.execute(
            f"SELECT {', '.join('a.' + c.strip() for c in _ARTICLE_COLUMNS.split(','))} "
            "FROM post_articles pa JOIN articles a ON a.id = pa.article_id WHERE pa.post_id = ? ORDER BY pa.position",
            [post_id],
        ).fetchall()
        return [self._article(r) for r in rows]

    def _article(self, r: sqlite3.Row | tuple[Any, ...]) -> Article:
        return Article(
            id=r[0],
            url=r[1],
            status=r[2],
            host=r[3],
            final_url=r[4],
            canonical_url=r[5],
            title=r[6],
            author=r[7],
            published=r[8],
            sitename=r[9],
            lang=r[10],
            text=r[11] or "",
            tags=self._tags.decode(r[12]),
            content_hash=r[13],
            http_status=r[14],
            error=r[15],
            attempts=r[16],
            next_try_at=_dt(r[17]),
            fetched_at=_dt(r[18]),
            checked_at=_dt(r[19]),
            alias_of=r[20],
        )

    def attach(self, posts: list[StoredPost], linking: Sequence[object] | None = None) -> list[StoredPost]:
        """The posts with their linked articles (title, status, topics) and those topics among their tags.

        `linking[i]` says whether posts[i] links anywhere (the search query reads it in the same
        statement); posts known to link nowhere cost nothing, which keeps plain searches as fast.
        """
        ids = [p.id for p, links in zip(posts, linking, strict=True) if links] if linking is not None else None
        if ids is None:
            ids = [p.id for p in posts]
        if not ids:
            return posts
        links: dict[int, list[LinkedArticle]] = {}
        for chunk in chunks(ids):
            rows = self.db.execute(
                "SELECT pa.post_id, a.id, a.url, a.status, a.title, a.lang, a.tag_list, a.final_url "
                "FROM post_articles pa JOIN articles a ON a.id = pa.article_id "
                f"WHERE pa.post_id IN ({','.join('?' * len(chunk))}) ORDER BY pa.post_id, pa.position",
                list(chunk),
            ).fetchall()
            for r in rows:
                links.setdefault(r[0], []).append(
                    LinkedArticle(r[1], r[2], r[3], r[4], r[5], self._tags.decode(r[6]), r[7])
                )
        if not links:
            return posts
        return [_with_articles(p, tuple(links[p.id])) if p.id in links else p for p in posts]

    # ------------------------------------------------------------------ search
    def matching_posts(
        self, fts_query: str, where: Sequence[str], params: Sequence[Any], order: str, limit: int
    ) -> list[tuple[int, str, float, ArticleMatch]]:
        """Posts whose linked article matches `fts_query`, under the same filters as a post search.

        (post id, date, bm25 rank, match) in `order` (newest: by date; rank: best first; oldest:
        by date), at most `limit` posts, each once with its best-placed article.
        """
        order_sql = {
            "newest": "p.date DESC, p.id DESC",
            "rank": "articles_fts.rank, p.id DESC",
            "oldest": "p.date, p.id",
        }[order]
        # PostgreSQL has no snippet(): the text comes back and storage/pg/snippet.py cuts it as FTS5 does.
        postgres = getattr(self.db, "dialect", "sqlite") == "postgresql"
        excerpt_sql = "a.text" if postgres else "snippet(articles_fts, 1, '', '', '…', 16)"
        rows = self.db.execute(
            f"SELECT p.id, p.date, articles_fts.rank, a.id, a.title, {excerpt_sql} "
            "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
            "JOIN post_articles pa ON pa.article_id = a.id JOIN posts p ON p.id = pa.post_id "
            f"WHERE articles_fts MATCH ? AND {' AND '.join(where) or '1'} ORDER BY {order_sql} LIMIT ?",
            [fts_query, *params, limit * 3],  # a post may come once per matching article
        ).fetchall()
        seen: set[int] = set()
        found: list[tuple[int, str, float, ArticleMatch]] = []
        if postgres:
            from storage.pg.snippet import quoted_words, snippet

            words = quoted_words(fts_query)
        for post_id, date, rank, article_id, title, excerpt in rows:
            if post_id not in seen and len(found) < limit:
                seen.add(post_id)
                if postgres:
                    excerpt = snippet(excerpt or "", words)
                found.append((post_id, date, rank, ArticleMatch(article_id, title, " ".join(excerpt.split()))))
        return found

    # ------------------------------------------------------------------ status
    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, count(*) FROM articles GROUP BY status").fetchall()
        return {status: n for status, n in rows}

    def due_count(self, now: datetime) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM articles WHERE status IN ('queued', 'retry') AND next_try_at <= ?", [_t(now)]
        ).fetchone()
        return int(row[0])

    def next_due(self) -> datetime | None:
        row = self.db.execute("SELECT min(next_try_at) FROM articles WHERE status IN ('queued', 'retry')").fetchone()
        return _dt(row[0])

    def problems(self, limit: int = 20) -> list[Article]:
        """Links that failed, are waiting for a retry or were skipped, most recently tried first."""
        rows = self.db.execute(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE status IN ('failed', 'retry', 'skipped') "
            "ORDER BY checked_at DESC, id DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [self._article(r) for r in rows]

    def failing_hosts(self, limit: int = 10) -> list[tuple[str, int]]:
        rows = self.db.execute(
            "SELECT host, count(*) AS n FROM articles WHERE status IN ('failed', 'retry') "
            "GROUP BY host ORDER BY n DESC, host LIMIT ?",
            [limit],
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    # ------------------------------------------------------------------ alerts
    def max_done_seq(self) -> int:
        return int(self.db.execute("SELECT coalesce(max(done_seq), 0) FROM articles").fetchone()[0])

    def done_after(self, seq: int, limit: int) -> list[tuple[int, int, list[int]]]:
        """(done_seq, article id, linked post ids) of articles that became readable after `seq`."""
        rows = self.db.execute(
            "SELECT done_seq, id FROM articles WHERE done_seq > ? ORDER BY done_seq LIMIT ?", [seq, limit]
        ).fetchall()
        return [(r[0], r[1], self.post_ids(r[1])) for r in rows]

    def texts(self, post_id: int) -> list[tuple[str | None, str]]:
        """(title, text) of the post's readable articles: what alert words are matched against."""
        rows = self.db.execute(
            "SELECT a.title, a.text FROM post_articles pa JOIN articles a ON a.id = pa.article_id "
            "WHERE pa.post_id = ? AND a.status = 'done' ORDER BY pa.position",
            [post_id],
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def alerted_through_article(self, chat_id: int, post_id: int, per_channel: int = 2) -> bool:
        """Whether a post sharing one of this post's articles was alerted in this chat.

        An article a channel links from more than `per_channel` posts is its standing link (its site's
        section page under every post), not a shared statement, and does not count.
        """
        row = self.db.execute(
            "SELECT 1 FROM post_articles mine JOIN post_articles theirs ON theirs.article_id = mine.article_id "
            "JOIN alerts_sent s ON s.post_id = theirs.post_id AND s.chat_id = ? "
            "WHERE mine.post_id = ? AND theirs.post_id != mine.post_id AND NOT EXISTS ("
            "  SELECT 1 FROM post_articles x JOIN posts xp ON xp.id = x.post_id WHERE x.article_id = mine.article_id "
            "  GROUP BY xp.channel_id HAVING count(*) > ?) LIMIT 1",
            [chat_id, post_id, per_channel],
        ).fetchone()
        return row is not None


def _with_articles(post: StoredPost, articles: tuple[LinkedArticle, ...]) -> StoredPost:
    """Article topics join the post's tags (after its own, each key once), as post_tags holds them."""
    own = {(t.kind, t.key) for t in post.tags}
    extra: list[Tag] = []
    for article in articles:
        if article.status != "done":
            continue
        for tag in article.tags:
            if (tag.kind, tag.key) not in own:
                own.add((tag.kind, tag.key))
                extra.append(tag)
    if extra:
        # Topics stay ahead of the language tag, as in a post's own list.
        tags = [t for t in post.tags if t.kind != "lang"] + extra + [t for t in post.tags if t.kind == "lang"]
        return replace(post, articles=articles, tags=tuple(tags))
    return replace(post, articles=articles)
