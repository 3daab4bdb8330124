"""The linked-articles tables: the fetch queue, the archived pages, and which posts point where.

Stores only. A post's article links are queued in the transaction that saves the post (the store's
save path calls `link_post`), so a crash can never leave a post whose links were forgotten; the
worker (bot/articles.py) takes due rows from `due()` and writes each outcome in one transaction, so
a restart in the middle of a queue simply finds the unfinished rows still due.

One row per canonical link. When two links turn out to be one article (a short link and the full
one; the page names the same canonical URL and has the same text or title), the later becomes an
`alias` of the first and its posts are moved over: the article is stored once.

Topics of a fetched article are copied to the `post_tags` of every post linking to it (kind `topic`),
so tag filters, counts and digests see them; `posts.tag_list` keeps the post's own tags only, and
readers merge the article's (see `attach`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from bot.core.articles import ArticleContent
from bot.core.links import url_host
from bot.models import Article, ArticleMatch, LinkedArticle, StoredPost, Tag
from storage.db import transaction
from storage.tag_list import TagDecoder, encode_tags

_CHUNK = 500  # ids per IN (...) list


def _t(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


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


_ARTICLE_COLUMNS = (
    "id, url, status, host, final_url, canonical_url, title, author, published, sitename, lang, text, tag_list, "
    "content_hash, http_status, error, attempts, next_try_at, fetched_at, checked_at, alias_of"
)


class ArticleStore:
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
        for chunk in _chunks(list(post_ids)):
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
        for chunk in _chunks(ids):
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

        (post id, date, bm25 rank, match) in `order` (newest: by post id; rank: best first; oldest:
        by date), at most `limit` posts, each once with its best-placed article.
        """
        order_sql = {"newest": "p.id DESC", "rank": "articles_fts.rank, p.id DESC", "oldest": "p.date, p.id"}[order]
        rows = self.db.execute(
            "SELECT p.id, p.date, articles_fts.rank, a.id, a.title, snippet(articles_fts, 1, '', '', '…', 16) "
            "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
            "JOIN post_articles pa ON pa.article_id = a.id JOIN posts p ON p.id = pa.post_id "
            f"WHERE articles_fts MATCH ? AND {' AND '.join(where) or '1'} ORDER BY {order_sql} LIMIT ?",
            [fts_query, *params, limit * 3],  # a post may come once per matching article
        ).fetchall()
        seen: set[int] = set()
        found: list[tuple[int, str, float, ArticleMatch]] = []
        for post_id, date, rank, article_id, title, excerpt in rows:
            if post_id not in seen and len(found) < limit:
                seen.add(post_id)
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
