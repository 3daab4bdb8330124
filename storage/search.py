"""Search and listings over the archive: full-text (literal and normalised word forms), filters, the
digest window, top tags, sightings. Mixed into `Store` (storage/store.py), which hydrates the rows.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlite_utils

from bot.core.rules import Rule, RuleError
from bot.models import ArticleMatch, ChannelRow, StoredPost, Tag
from storage.post_filters import filter_clauses, tag_keys
from storage.post_rows import POST_COLUMNS as _POST_COLUMNS
from storage.post_rows import POST_DATE, POST_LINKS
from storage.rule_sql import RuleSql, hoist_filters
from storage.search_index import Clause, SearchIndex, words_query
from storage.search_newest import NewestFirst
from storage.timefmt import from_db_time, to_db_time

if TYPE_CHECKING:
    from storage.articles import ArticleStore

SearchOrder = Literal["newest", "rank", "oldest"]
# Above this many posts behind a filter, reading newest first by date beats sorting what it keeps.
_MANY = 5000
_MAX_ROWS = 2**60  # a limit or offset above it reads as it (see `search`; sums and triples stay in 64 bits)


class QueryError(ValueError):
    """A search query FTS5 cannot run; the message is safe to show to a user."""


class QuerySyntaxError(QueryError):
    """The query is not a rule the language reads (bot/core/rules.py); the message names the position."""


_CONTROLS = re.compile("[\x00-\x1f\x7f]")


def quote_fts(query: str) -> str:
    """Every user word becomes a quoted FTS5 string, so `NEAR(`, `*`, `-` and stray quotes are just text.

    Control characters (a NUL ends an FTS5 string early: "unterminated string") separate words.
    """
    words = _CONTROLS.sub(" ", query).replace('"', " ").split()
    return " ".join(f'"{word}"' for word in words)


class SearchTable(NewestFirst):
    db: sqlite_utils.Database
    search_index: SearchIndex

    if TYPE_CHECKING:

        def find_channel(self, ident: str | int) -> ChannelRow | None: ...

        def _hydrate(self, rows: list[sqlite3.Row | tuple[Any, ...]]) -> list[StoredPost]: ...

        @property
        def articles(self) -> ArticleStore: ...

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
        # `--limit`/`--offset` may be up to 2**63 - 1 and their sum (the rows to read) must still be a SQLite
        # integer (an OverflowError before): no archive holds 2**60 posts, so no answer changes.
        limit, offset = min(max(0, limit), _MAX_ROWS), min(max(0, offset), _MAX_ROWS)
        join = ""
        newest = rank = "p.date DESC, p.id DESC"
        fts: str | None = None  # the query as literal FTS5 words: what linked articles are searched with
        clause: Clause | None = None
        query_where: list[str] = []
        query_params: list[Any] = []
        if query is not None:
            clause, fts, tags, channel = self._compile_query(query, tags, channel)
            if clause is not None and order == "rank":
                join, newest, rank = clause.join, clause.newest, clause.rank
                query_where, query_params = [clause.where], list(clause.params)
            elif clause is not None:  # by date: the matches as a set of rowids, no join (storage/search_newest.py)
                query_where, query_params = [clause.ids_where], list(clause.ids_params)
        where, params, many = self._filter_where(tags, channel, lang, since, until, include_deleted)
        order_sql = rank if order == "rank" else newest
        if order == "oldest":
            order_sql = "p.date, p.id"  # the posts_date index's own order: a day's window needs no sort
        post_where = [*query_where, *where]
        post_params = [*query_params, *params]
        try:
            hits = []
            if fts is not None:
                # Words found only in a linked article find the post too (the hit says so).
                want = max(0, offset) + max(0, limit)
                hits = self.articles.matching_posts(fts, where, params, order, want)
            if fts is not None and hits:
                if clause is not None and order == "newest":  # its own matches by the newest-first plans
                    own = self._newest_rows(clause, where, params, 0, want)
                else:
                    own = self.db.execute(
                        f"SELECT p.id, p.date, {rank if rank.endswith('.rank') else '0'} FROM posts p {join} "
                        f"WHERE {' AND '.join(post_where)} ORDER BY {order_sql} LIMIT ?",
                        [*post_params, want],
                    ).fetchall()
                return self._merge_article_hits(hits, own, order, want)[max(0, offset) : want]
            if clause is not None and order == "newest":
                # Newest first is by date, with a query too (storage/search_newest.py).
                return self._newest_first(clause, where, params, offset, limit)
            if clause is not None and order == "oldest":
                return self._posts(self._sorted_rows(clause.ids_where, post_params, where, order, False, offset, limit))
            hint = "INDEXED BY posts_date" if many and clause is None else ""
            sql = (
                f"SELECT {_POST_COLUMNS} FROM posts p {hint} {join} JOIN channels c ON c.id = p.channel_id "
                f"WHERE {' AND '.join(post_where) or '1'} ORDER BY {order_sql} LIMIT ? OFFSET ?"
            )
            rows = self.db.execute(sql, [*post_params, max(0, limit), max(0, offset)]).fetchall()
        except sqlite3.OperationalError as exc:
            raise QueryError(f"cannot search for {query!r}: {exc}") from exc
        return self.articles.attach(self._hydrate(rows), [r[POST_LINKS] for r in rows])

    def _filter_where(
        self,
        tags: Sequence[str],
        channel: str | int | None,
        lang: str | None,
        since: datetime | None,
        until: datetime | None,
        include_deleted: bool,
    ) -> tuple[list[str], list[Any], bool]:
        """The filters' SQL (alias `p`), and whether they keep many posts (see `search`)."""
        where = [] if include_deleted else ["p.deleted = 0"]
        keys = tag_keys(tags)
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
        many = self._filters_keep_many(keys, channel_id)
        clauses, values = filter_clauses(
            tags=keys, tag_form="exists" if many else "in", channel_id=channel_id, lang=lang, since=since, until=until
        )
        return where + clauses, values, many

    def count_matches(
        self,
        query: str | None = None,
        *,
        tags: Sequence[str] = (),
        channel: str | int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        lang: str | None = None,
        cap: int = 10_000,
    ) -> int:
        """How many posts `search` would list with these filters, counted up to `cap` (then `cap`):
        the result count a search page shows, bounded because a common word matches most posts."""
        clause: Clause | None = None
        if query is not None:
            clause, _fts, tags, channel = self._compile_query(query, tags, channel)
        where, params, _ = self._filter_where(tags, channel, lang, since, until, False)
        join = ""
        if clause is not None:
            # The join form: FTS5 streams matches and the count stops at `cap` (the set of rowids
            # would be built whole first: 45,000 matches, 17 ms on 100k posts).
            join, where, params = clause.join, [clause.where, *where], [*clause.params, *params]
        try:
            row = self.db.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM posts p {join} WHERE {' AND '.join(where) or '1'} LIMIT ?)",
                [*params, cap],
            ).fetchone()
        except sqlite3.OperationalError as exc:
            raise QueryError(f"cannot search for {query!r}: {exc}") from exc
        return int(row[0])

    def _compile_query(
        self, query: str, tags: Sequence[str], channel: str | int | None
    ) -> tuple[Clause | None, str | None, Sequence[str], str | int | None]:
        """The query in the one rule language (bot/core/rules.py) as SQL: words and "phrases" only take the
        plain search's clause (its fast paths, linked articles: the FTS5 words returned); any other rule is
        compiled by RuleSql, its required #tag or channel: handed to the ordinary filters. Returns the
        clause (None: filters alone), the literal FTS5 words or None, and the tags and channel to filter by."""
        try:
            rule = self.search_index.parse_rule(query)
        except RuleError as exc:
            raise QuerySyntaxError(str(exc)) from None
        parsed = words_query(rule)
        if parsed is not None:
            if parsed.empty:
                raise QueryError("the search query is empty")
            fts = " ".join(f'"{w.replace(chr(34), "")}"' for w in parsed.words) or '""'
            return self.search_index.clause(parsed), fts, tags, channel  # inflections, scripts, "exact"
        rest, hoisted_tag, hoisted_channel = hoist_filters(rule.root, tags=bool(tags), channel=channel is not None)
        if hoisted_tag is not None:
            tags = [hoisted_tag]
        if hoisted_channel is not None:
            channel = hoisted_channel
        if rest is None:
            return None, None, tags, channel
        compiler = RuleSql(self._rule_channels, self.search_index.words_pending())
        return compiler.clause(Rule(rule.text, rest)), None, tags, channel

    def _rule_channels(self, value: str) -> frozenset[int]:
        row = self.find_channel(value if value.startswith("@") else int(value))
        if row is None:
            raise QueryError(f"unknown channel {value!r} (`tgmonitor channels` lists them)")
        return frozenset({row.id})

    def _merge_article_hits(
        self,
        hits: list[tuple[int, str, float, ArticleMatch]],
        own: list[sqlite3.Row | tuple[Any, ...]],
        order: SearchOrder,
        want: int,
    ) -> list[StoredPost]:
        """The first `want` results of two ordered streams: posts matching in their own text (`own`:
        id, date, rank first; whole rows (POST_COLUMNS) newest first by date), and posts matching
        through an article (`hits`, already cut at `want`)."""

        def key(post_id: int, date: str, rank: float) -> Any:
            return (-rank, post_id) if order == "rank" else (date, post_id)

        whole = order == "newest"
        entries: dict[int, tuple[Any, ArticleMatch | None]] = {
            r[0]: (key(r[0], r[1] if not whole else r[POST_DATE], 0.0 if whole else r[2]), None) for r in own
        }
        for post_id, date, rank, match in hits:
            entries.setdefault(post_id, (key(post_id, date, rank), match))  # a match in its own text wins
        # newest: by date, then id, descending (as the SQL orders); rank: best (lowest) first, then newest
        page = sorted(entries, key=lambda i: entries[i][0], reverse=order != "oldest")[:want]
        if not page:
            return []
        found = self._posts(self._whole(page, own if whole else []))
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
