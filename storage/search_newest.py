"""A query's matches newest first by date, in as few statements as the archive's order allows.

Mixed into `SearchTable` (storage/search.py). Newest first is by date, not by archive order: the rowid
is arrival order, and an imported history is archived after newer live posts. FTS5 hands matches out
by rowid (newest arrivals first) and stops after the page; the oldest date among them bounds what else
can rank above: only a match archived earlier (a smaller id) but dated later (bench/newest_first.md).

The common case, a live archive and a word with many matches, is ONE statement: the page's matches in
rowid order, ranked by date, and beside them whether any post at all lies "late" (archived earlier,
dated later); when none does, the page's rows with their columns. The late check reads the posts_keys
index from the oldest match's date up, so it is only made when the page's matches are recent (their
lowest id at most _DEEP posts below the newest post): that bounds its scan, as every post dated later
is either one of the newer arrivals or a late one. Otherwise, and when late posts exist, the older
plans take over from what was read: count the matches (up to _FEW), test the late posts (at most
_LATE: in one pass over the index's matches in their rowid range when near, else each by rowid), or
sort all matches by date. Every plan returns the same posts in the same order (tests/test_store.py
runs each; bench/search.md). PostgreSQL counts first: its GIN index does not stream matches by rowid.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

import sqlite_utils

from bot.models import StoredPost
from storage.post_rows import POST_COLUMNS, POST_DATE, POST_LINKS
from storage.search_index import Clause

if TYPE_CHECKING:
    from storage.articles import ArticleStore

# A query with fewer matches than this has them sorted by date; more are read in rowid order.
_FEW = 500
# Posts archived out of date order that one newest-first page may test one by one (FTS5 probes).
_LATE = 300
# The late check runs inside the page's statement when the page's matches lie at most this many ids
# below the newest post: its index scan reads at most that many entries (~0.4 ms at 10,000). Late
# posts within as many ids below the page are tested by one pass over the index's matches in that range.
_DEEP = 10_000

Row = sqlite3.Row | tuple[Any, ...]


class NewestFirst:
    db: sqlite_utils.Database

    if TYPE_CHECKING:

        def _hydrate(self, rows: list[Row]) -> list[StoredPost]: ...

        @property
        def articles(self) -> ArticleStore: ...

    def _newest_first(
        self, clause: Clause, where: list[str], params: list[Any], offset: int, limit: int
    ) -> list[StoredPost]:
        """The page `offset`, `limit` of the posts matching `clause` and the filters, newest first by date."""
        return self._posts(self._newest_rows(clause, where, params, offset, limit))

    def _newest_rows(self, clause: Clause, where: list[str], params: list[Any], offset: int, limit: int) -> list[Row]:
        """`_newest_first`'s page as rows (POST_COLUMNS), newest first by date."""
        offset, limit = max(0, offset), max(0, limit)
        if limit == 0:
            return []
        want = offset + limit
        filters = " AND ".join([clause.where, *where])
        every = [*clause.params, *params]
        many: bool | None = None if clause.driver else True  # partly indexed archive: the date walk is bounded
        if clause.driver and getattr(self.db, "dialect", "sqlite") == "postgresql":
            # PostgreSQL's GIN index finds the matches as a set, not streamed in rowid order as FTS5 does: a
            # word in few posts walked in rowid order tests every post (54 ms for a word in none of 8,000).
            many = self._matches_many(clause, _FEW)
        if clause.driver and many is not False:
            rows, late = self._rowid_order(clause.join, clause.newest, filters, every, offset, want)
            if late is None and many is None:
                many = self._matches_many(clause, _FEW)
            if late == 0:
                return rows[offset:]
            if late or many:
                found = [(r[-3], r[-2]) for r in rows]
                keys = self._with_late(clause.join, clause.newest, filters, every, found, want)
                if keys is not None:
                    return self._whole([key[0] for key in keys[offset:want]], rows)
        walk = many if many is not None else self._matches_many(clause, _FEW)
        ids_params = [*clause.ids_params, *params]
        return self._sorted_rows(clause.ids_where, ids_params, where, "newest", walk, offset, limit)

    def _rowid_order(
        self, join: str, newest: str, filters: str, params: list[Any], offset: int, want: int
    ) -> tuple[list[Row], int | None]:
        """The first `want` matches in the index's (rowid) order, sorted by date (newest first), each row
        ending in the match's id and date and whether posts lie late behind them: 0 none (then the rows
        from `offset` on are the page's, with their columns: POST_COLUMNS), 1 some, None not looked (too
        deep); the columns are NULLs otherwise (the page is not known yet: no post row is read)."""
        rows = self.db.execute(
            f"WITH found AS MATERIALIZED (SELECT p.id, p.date FROM posts p {join} WHERE {filters} "
            f"ORDER BY {newest} LIMIT ?), "
            "edge AS (SELECT count(*) AS n, min(id) AS low, min(date) AS oldest FROM found), "
            "late AS MATERIALIZED (SELECT CASE WHEN edge.n < ? THEN 0 "
            "WHEN (SELECT max(id) FROM posts) - edge.low > ? THEN NULL "
            "WHEN EXISTS (SELECT 1 FROM posts l INDEXED BY posts_keys WHERE l.date > edge.oldest AND l.id < edge.low) "
            "THEN 1 ELSE 0 END AS flag FROM edge), "
            "ranked AS (SELECT id, date, row_number() OVER (ORDER BY date DESC, id DESC) AS place FROM found) "
            f"SELECT {POST_COLUMNS}, f.id, f.date, (SELECT flag FROM late) "
            "FROM ranked f LEFT JOIN posts p ON p.id = f.id AND f.place > ? AND (SELECT flag FROM late) = 0 "
            "LEFT JOIN channels c ON c.id = p.channel_id ORDER BY f.place",
            [*params, want, want, _DEEP, offset],
        ).fetchall()
        if not rows:
            return rows, 0
        late = rows[0][-1]
        return rows, None if late is None else int(late)

    def _with_late(
        self, join: str, newest: str, filters: str, params: list[Any], found: list[tuple[int, str]], want: int
    ) -> list[tuple[int, str]] | None:
        """The first `want` matches by rowid (`found`: id, date) and the matches archived earlier but
        dated later, by date (newest first); None when more than _LATE posts lie so (then the caller
        sorts the whole set of matches).

        Such posts are read from the posts_keys index (date, id) and tested against the query: where
        they lie within _DEEP ids below the page (posts of several channels polled in turn arrive a
        few minutes out of date order), by the index's matches in that rowid range, streamed in one
        pass (0.16-0.26 ms for ~20 late posts on 20k posts); else each probed by its rowid (FTS5
        re-reads the query's doclists for each: 2-4 ms for the same 20). The union is exact."""
        if len(found) == want:
            low = min(i for i, _ in found)
            late = [
                row[0]
                for row in self.db.execute(
                    "SELECT id FROM posts INDEXED BY posts_keys WHERE date > ? AND id < ? LIMIT ?",
                    [min(date for _, date in found), low, _LATE + 1],
                )
            ]
            if len(late) > _LATE:
                return None
            if late:
                marks = ",".join("?" * len(late))
                index = newest.split(".", 1)[0]  # the clause's full-text table
                if low - min(late) <= _DEEP and join == f"JOIN {index} ON {index}.rowid = p.id":
                    # the index first (CROSS JOIN: SQLite keeps the order), its matches in the rowid range
                    sql = (
                        f"SELECT p.id, p.date FROM {index} CROSS JOIN posts p ON p.id = {index}.rowid "
                        f"WHERE p.id IN ({marks}) AND {filters} AND {index}.rowid >= ? AND {index}.rowid < ?"
                    )
                    every = [*late, *params, min(late), low]
                else:
                    probe = join.replace("JOIN", "CROSS JOIN", 1)  # posts first: FTS5 probed per rowid
                    sql = f"SELECT p.id, p.date FROM posts p {probe} WHERE p.id IN ({marks}) AND {filters}"
                    every = [*late, *params]
                found = found + [(row[0], row[1]) for row in self.db.execute(sql, every)]
        return sorted(found, key=lambda key: (key[1], key[0]), reverse=True)

    def _whole(self, ids: list[int], rows: list[Row]) -> list[Row]:
        """These posts' rows (POST_COLUMNS) in this order: those of `rows` that have their columns, the
        others read."""
        known = {r[0]: r for r in rows if r[0] is not None}
        missing = [i for i in ids if i not in known]
        if missing:
            read = self.db.execute(
                f"SELECT {POST_COLUMNS} FROM posts p JOIN channels c ON c.id = p.channel_id "
                f"WHERE p.id IN ({','.join('?' * len(missing))})",
                missing,
            ).fetchall()
            known.update((r[0], r) for r in read)
        return [known[i] for i in ids if i in known]

    def _sorted_rows(
        self,
        ids_where: str,
        ids_params: list[Any],
        where: list[str],
        order: str,
        walk: bool,
        offset: int,
        limit: int,
    ) -> list[Row]:
        """The matches as a set of rowids, by date (newest or oldest first): with many (`walk`), the
        posts_keys index (date, id, channel, deleted …) walked newest first against the set reads no
        post row until the page is found; with few, they are sorted. One statement: the page's ids,
        then their rows."""
        hint = "INDEXED BY posts_keys" if walk else ""
        order_sql = "p.date, p.id" if order == "oldest" else "p.date DESC, p.id DESC"
        rows = self.db.execute(
            f"WITH found AS MATERIALIZED (SELECT p.id FROM posts p {hint} WHERE {' AND '.join([ids_where, *where])} "
            f"ORDER BY {order_sql} LIMIT ? OFFSET ?) "
            f"SELECT {POST_COLUMNS} FROM found f JOIN posts p ON p.id = f.id JOIN channels c ON c.id = p.channel_id",
            [*ids_params, max(0, limit), max(0, offset)],
        ).fetchall()
        return _by_date(rows, newest=order != "oldest")

    def _posts(self, rows: list[Row]) -> list[StoredPost]:
        """The rows (POST_COLUMNS) as posts, in their order, with their linked articles."""
        return self.articles.attach(self._hydrate(rows), [r[POST_LINKS] for r in rows])

    def _matches_many(self, clause: Clause, bound: int) -> bool:
        """Whether the query's index finds at least `bound` posts (counting stops there)."""
        if not clause.driver:
            return True  # partly indexed archive (a reindex running): the date walk is always bounded
        return bool(
            self.db.execute(
                f"SELECT count(*) >= ? FROM ({clause.driver} LIMIT ?)", [bound, *clause.driver_params, bound]
            ).fetchone()[0]
        )


def _by_date(rows: list[Row], *, newest: bool) -> list[Row]:
    """Rows (POST_COLUMNS) by date then id, as `ORDER BY p.date, p.id` (DESC when `newest`) lists them."""
    return sorted(rows, key=lambda r: (r[POST_DATE], r[0]), reverse=newest)
