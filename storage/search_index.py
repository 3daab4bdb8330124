"""The normalised search index: `posts_norm`, an FTS5 table of each post's index tokens.

Beside `posts_fts` (the text as written), every post is indexed under the tokens of
bot/core/textnorm.py (case, ё, script, inflection and emoji folded).  The table is contentless and
`detail=none` (rowids only: what "every word must appear" needs; a quarter of a full index) and is
kept in step by triggers calling `tg_index_text(text, lang)`, a function each connection registers
(`register`): every insert, edit or deletion of a post, whatever code makes it, updates the index in
the same statement, so it commits or rolls back with the row.  A connection without the function
cannot write posts at all, rather than write them unindexed.

A contentless table forgets a row by being told its old tokens again, so every token must come from
the same normaliser: `check_version` rebuilds the index when the normaliser (or PyStemmer,
cyrtranslit) would produce other tokens.

Archives from before this index, and rebuilds, fill it by `backfill`: newest posts first, in batches,
each batch committed with the low-water mark `search_norm_pending_below` in `meta` (posts with a
smaller id are not indexed yet; triggers skip them).  A kill at any point loses at most the batch in
flight, nothing is indexed twice (the mark is read inside the batch's write transaction), and posts
not yet indexed are still searched, literally, through `posts_fts`.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import sqlite_utils

from bot.core.rule_match import from_matches, near_match
from bot.core.rules import And, Phrase, Rule, Term, parse_rule
from bot.core.search_query import SearchQuery, contains_exact, parse_query
from bot.core.textnorm import TextNormaliser

MARK_KEY = "search_norm_pending_below"
VERSION_KEY = "search_norm_version"
_MARK = f"(SELECT CAST(value AS INTEGER) FROM meta WHERE key = '{MARK_KEY}')"

Progress = Callable[[int, int], None]  # (indexed so far, total to index)
MERGED = ("posts_norm", "posts_fts")  # the indexes a search reads, kept merged by the service (`merge`)
_RULES_KEPT = 256  # parsed queries a SearchIndex keeps (`parse_rule`)
_HAS_WORD = re.compile(r"[^\W_]")
_DRIVE_FTS = "SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?"
_DRIVE_NORM = "SELECT rowid FROM posts_norm WHERE posts_norm MATCH ?"
_IN_FTS = f"p.id IN ({_DRIVE_FTS})"
_IN_NORM = f"p.id IN ({_DRIVE_NORM})"


def create(db: sqlite_utils.Database) -> None:
    """Schema v4: the table and its triggers; every existing post is pending (backfill fills it)."""
    db.execute(
        "CREATE VIRTUAL TABLE posts_norm USING fts5("
        "tokens, content='', detail='none', tokenize='unicode61 remove_diacritics 0')"
    )
    db.execute(
        f"""CREATE TRIGGER posts_norm_ai AFTER INSERT ON posts WHEN new.id >= {_MARK} BEGIN
             INSERT INTO posts_norm(rowid, tokens) VALUES (new.id, tg_index_text(new.text, new.lang));
           END"""
    )
    db.execute(
        f"""CREATE TRIGGER posts_norm_ad AFTER DELETE ON posts WHEN old.id >= {_MARK} BEGIN
             INSERT INTO posts_norm(posts_norm, rowid, tokens)
             VALUES ('delete', old.id, tg_index_text(old.text, old.lang));
           END"""
    )
    db.execute(
        f"""CREATE TRIGGER posts_norm_au AFTER UPDATE OF text, lang ON posts WHEN old.id >= {_MARK} BEGIN
             INSERT INTO posts_norm(posts_norm, rowid, tokens)
             VALUES ('delete', old.id, tg_index_text(old.text, old.lang));
             INSERT INTO posts_norm(rowid, tokens) VALUES (new.id, tg_index_text(new.text, new.lang));
           END"""
    )
    _reset(db)


def _reset(db: sqlite_utils.Database) -> None:
    """Every post pending: the index holds nothing below the mark, the triggers index what comes."""
    top = db.execute("SELECT coalesce(max(id) + 1, 0) FROM posts").fetchone()[0]
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [MARK_KEY, str(top)])


@contextmanager
def _atomic(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction (storage/db.transaction's twin: db.py imports this module)."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def register(conn: sqlite3.Connection, normaliser: TextNormaliser) -> None:
    """The functions the triggers and searches call; before any migration can write posts."""
    conn.create_function("tg_index_text", 2, normaliser.index_text, deterministic=True)
    conn.create_function("tg_exact", 2, _exact, deterministic=True)

    def near(text: str | None, lang: str | None, spec: str) -> int:
        distance, _, words = spec.partition("|")
        terms = [frozenset(w.split(",")) for w in words.split(";")]
        return int(near_match(text or "", lang, terms, int(distance), normaliser))

    conn.create_function("tg_near", 3, near, deterministic=True)  # rules' NEAR (storage/rule_sql.py)
    conn.create_function("tg_from", 6, _from, deterministic=True)  # rules' from:


def _exact(text: str | None, phrase: str) -> int:
    return int(contains_exact(text, phrase))


def _from(
    value: str, origin_key: str | None, name: str | None, username: str | None, tg_id: int | None, message_id: int
) -> int:
    return int(from_matches(value, origin_key, name, username, tg_id, message_id))


def words_query(rule: Rule) -> SearchQuery | None:
    """A rule of required words and phrases only, as the plain search's query (its fast paths, the
    literal index for phrases, linked articles); None for any other rule."""
    children = rule.root.children if isinstance(rule.root, And) else (rule.root,)
    if not all(isinstance(c, Term | Phrase) for c in children):
        return None
    terms: list[frozenset[str]] = []
    bare: list[frozenset[str]] = []
    phrases: list[str] = []
    words: list[str] = []
    for child in children:
        if isinstance(child, Term):
            terms.append(child.tokens)
            bare.append(child.tokens)
            words.append(child.word)
        elif isinstance(child, Phrase):
            terms.extend(t.tokens for t in child.terms)
            phrases.append(child.text)
            words.extend(child.text.split())
    return SearchQuery(
        rule.text, tuple(dict.fromkeys(terms)), tuple(dict.fromkeys(phrases)), tuple(words), tuple(dict.fromkeys(bare))
    )


@dataclass(frozen=True, slots=True)
class Clause:
    """The part of Store.search's SQL that a query adds."""

    join: str
    where: str
    params: tuple[object, ...]
    newest: str  # ORDER BY for the FTS table's own order (rowid, i.e. archive order), no sort
    rank: str  # ORDER BY for best match first
    # The same match as `p.id IN (...)` tests with no join, for newest first by date: the posts_date
    # index walked with each post tested against the set of matching rowids (built once), or the few
    # matches looked up and sorted by date.
    ids_where: str = ""
    ids_params: tuple[object, ...] = ()
    # The index query that finds the candidates (counted, up to a bound, to choose between the two).
    driver: str = ""
    driver_params: tuple[object, ...] = ()


def search_index_for(db: sqlite_utils.Database, normaliser: TextNormaliser | None = None) -> SearchIndex:
    """The index for this archive's engine (storage/pg/search_index.py on PostgreSQL, imported only there)."""
    if getattr(db, "dialect", "sqlite") == "postgresql":
        from storage.pg.search_index import PgSearchIndex

        return PgSearchIndex(db, normaliser)
    return SearchIndex(db, normaliser)


class SearchIndex:
    def __init__(self, db: sqlite_utils.Database, normaliser: TextNormaliser | None = None) -> None:
        self.db = db
        self.normaliser = normaliser or TextNormaliser()
        self._done_at: float | None = None
        self._literal_only = False  # posts_norm missing or made by another normaliser, and read-only
        self._primed: dict[tuple[str, str | None], str] = {}
        self._rules: dict[str, Rule] = {}  # parsed queries (`parse_rule`), by their text
        register(db.conn, self.normaliser)
        db.conn.create_function("tg_index_text", 2, self._index_text, deterministic=True)

    def _index_text(self, text: str | None, lang: str | None) -> str:
        """What the triggers call: the tokens handed over by `primed`, else the normaliser's."""
        if self._primed:
            known = self._primed.get((text or "", lang))
            if known is not None:
                return known
        return self.normaliser.index_text(text, lang)

    @contextmanager
    def primed(self, known: Iterable[tuple[str, str | None, str]]) -> Iterator[None]:
        """Triggers fired inside take these (text, lang) -> tokens instead of normalising the text here:
        the ingest worker (bot/app/ingest_worker.py) computed them with this very normaliser in the other
        process. The triggers still index every write; only who computes the tokens moves."""
        self._primed = {(text, lang): tokens for text, lang, tokens in known}
        try:
            yield
        finally:
            self._primed = {}

    # ------------------------------------------------------------------ state
    def pending_below(self) -> int:
        """Posts with a smaller id are not in the index yet (0: none pending)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [MARK_KEY]).fetchone()
        return int(row[0]) if row else 0

    def _searchable_below(self) -> int:
        """`pending_below` for searches: read at most once a second once it is 0 (the usual state), so
        a search costs no extra query; another process's `reindex --full` is seen within a second."""
        now = time.monotonic()
        if self._done_at is not None and now - self._done_at < 1.0:
            return 0
        pending = self.pending_below()
        if pending and self.db.execute("SELECT 1 FROM posts WHERE id < ? LIMIT 1", [pending]).fetchone() is None:
            pending = 0  # nothing below the mark (a new archive, or a backfill about to write its 0)
        self._done_at = None if pending else now
        return pending

    def pending(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM posts WHERE id < ?", [self.pending_below()]).fetchone()[0])

    def check_version(self) -> bool:
        """Empty the index and mark everything pending when its tokens came from another normaliser.

        Returns whether it did.  Run at open, before anything writes posts."""
        if not self._table_exists():
            self._literal_only = True  # an archive a read-only reader opened before its upgrade
            return False
        if self._stored_version() == self.normaliser.version:
            return False
        if self._read_only():
            self._literal_only = True  # a read-only reader cannot rebuild: search as written meanwhile
            return False
        with _atomic(self.db.conn):
            stored = self._stored_version()  # again, inside the write lock: another process may have
            rebuilt = stored is not None and stored != self.normaliser.version
            if rebuilt:
                self._forget_all()
                self._done_at = None
            self.db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [VERSION_KEY, self.normaliser.version]
            )
        return rebuilt

    def _read_only(self) -> bool:
        return bool(self.db.conn.execute("PRAGMA query_only").fetchone()[0])

    def index_posts(self, post_ids: Sequence[int]) -> None:
        """Index these posts' current text: SQLite's triggers already did (PostgreSQL's index does it here)."""

    def rebuild(self) -> None:
        """Forget every post (they become pending again); `backfill` indexes them anew."""
        with _atomic(self.db.conn):
            self._forget_all()
        self._done_at = None

    def _table_exists(self) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'posts_norm'"
        return self.db.execute(sql).fetchone() is not None

    def _stored_version(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [VERSION_KEY]).fetchone()
        return row[0] if row else None

    def _forget_all(self) -> None:
        self.db.execute("INSERT INTO posts_norm(posts_norm) VALUES ('delete-all')")
        _reset(self.db)

    def backfill(self, *, batch: int = 2000, progress: Progress | None = None, limit: int | None = None) -> int:
        """Index the pending posts, newest first, one committed batch at a time; returns how many.

        Safe to interrupt (kill -9 included) and to run in two processes at once."""
        total = self.pending()
        done = 0
        conn = self.db.conn
        while limit is None or done < limit:
            with _atomic(conn):
                mark = self.pending_below()
                ids = [
                    r[0]
                    for r in conn.execute("SELECT id FROM posts WHERE id < ? ORDER BY id DESC LIMIT ?", [mark, batch])
                ]
                low = ids[-1] if len(ids) == batch else 0
                if ids:
                    self._index_range(low, mark)
                conn.execute("UPDATE meta SET value = ? WHERE key = ?", [str(low), MARK_KEY])
            done += len(ids)
            if progress is not None and ids:
                progress(done, total)
            if low == 0:
                if done:
                    self.optimize()
                break
        return done

    def _index_range(self, low: int, mark: int) -> None:
        """Index the posts with ids in [low, mark): one backfill batch, inside its transaction."""
        self.db.conn.execute(
            "INSERT INTO posts_norm(rowid, tokens) "
            "SELECT id, tg_index_text(text, lang) FROM posts WHERE id >= ? AND id < ?",
            [low, mark],
        )

    def optimize(self) -> None:
        """Merge the index into one b-tree per term.  A backfill writes hundreds of segments in rowid
        ranges, and a newest-first query reads every one of them: on 1M posts 'optimize' took 9 s and
        made the raw query 4x faster (bench/README.md).  Live inserts keep it merged by themselves."""
        with _atomic(self.db.conn):
            self.db.execute("INSERT INTO posts_norm(posts_norm) VALUES ('optimize')")

    def segments(self, table: str = "posts_norm") -> int:
        """How many b-trees (segments) the FTS5 index is made of: what a query reads, one per term each."""
        if table not in MERGED:
            raise ValueError(f"not a search index: {table}")
        return int(self.db.execute(f"SELECT count(DISTINCT segid) FROM {table}_idx").fetchone()[0])

    def merge_step(self, *, pages: int = 500) -> str | None:
        """One step of merging the search indexes back to one segment each; returns the index it
        worked on, None when every one is a single segment (nothing to do).

        Why: live writes (batch after batch, each commit a new segment) leave an index that FTS5's
        automerge keeps at a few segments per level, and a query reads every segment: on 1M posts
        filled by the live path the normalised search was 2.17x the literal raw query, 1.40x after a
        full 'optimize' (bench/README.md). 'optimize' does it in one transaction that holds the write
        lock for seconds on a big archive; the incremental 'merge' with a negative page count merges
        every segment as 'optimize' would, about `pages` leaf pages per step, each step its own short
        transaction, so a listener's batch waits one step at most. A step that writes nothing
        (total_changes moves by less than 2, as FTS5 documents) means the index is one segment.
        """
        conn = self.db.conn
        for table in MERGED:
            if not self._table_exists_named(table) or self.segments(table) <= 1:
                continue
            with _atomic(conn):
                before = conn.total_changes
                conn.execute(f"INSERT INTO {table}({table}, rank) VALUES ('merge', ?)", [-pages])
                worked = conn.total_changes - before >= 2
            if worked:
                return table
        return None

    def merge(
        self, *, budget: float = 60.0, pages: int = 500, clock: Callable[[], float] = time.monotonic
    ) -> dict[str, int]:
        """`merge_step` until every index is one segment or `budget` seconds are spent; steps per index."""
        deadline = clock() + budget
        steps = dict.fromkeys(MERGED, 0)
        while clock() < deadline and (table := self.merge_step(pages=pages)) is not None:
            steps[table] += 1
        return steps

    def _table_exists_named(self, table: str) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self.db.execute(sql, [table]).fetchone() is not None

    # ------------------------------------------------------------------ queries
    def parse(self, text: str) -> SearchQuery:
        return parse_query(text, self.normaliser)

    def parse_rule(self, text: str) -> Rule:
        """The rule language (bot/core/rules.py); RuleError names the position of a mistake.

        Kept by text (a Rule is immutable, and this index's normaliser never changes): a search page
        parses its query twice (the count, the page), paging and refreshing parse it again, and parsing
        with every word's forms is ~20 us of a ~500 us search (bench/search.md)."""
        rule = self._rules.get(text)
        if rule is None:
            rule = parse_rule(text, self.normaliser)
            if len(self._rules) >= _RULES_KEPT:
                self._rules.clear()
            self._rules[text] = rule
        return rule

    def words_pending(self) -> int:
        """0 when posts_norm holds every post; the id below which it does not yet; -1: unusable."""
        return -1 if self._literal_only else self._searchable_below()

    @staticmethod
    def expression(query: SearchQuery, terms: Iterable[frozenset[str]] | None = None) -> str:
        """The FTS5 query for posts_norm: every term, each any of its tokens (all quoted: plain text)."""
        chosen = query.terms if terms is None else terms
        return " AND ".join("(" + " OR ".join(f'"{t}"' for t in sorted(term)) + ")" for term in chosen)

    def clause(self, query: SearchQuery) -> Clause:
        """SQL for the posts matching `query` (alias `p` for posts)."""
        expr = self.expression(query)
        exact = ["tg_exact(p.text, ?)" for _ in query.phrases]
        pending = self._searchable_below() if not self._literal_only else -1
        literal = [p for p in query.phrases if _HAS_WORD.search(p)]
        if literal and pending == 0:
            # "Exact phrases" are found through the literal index, which holds their very words: a rare
            # form ("Сербией") is then a few candidates, not every post with the stem, checked one by one.
            where = ["posts_fts MATCH ?", *exact]
            params: list[object] = [" AND ".join(f'"{p}"' for p in literal), *query.phrases]
            ids = [_IN_FTS, *exact]
            if query.bare:
                where.append("EXISTS (SELECT 1 FROM posts_norm WHERE posts_norm MATCH ? AND posts_norm.rowid = p.id)")
                params.append(self.expression(query, query.bare))
                ids.append(_IN_NORM)
            return Clause(
                "JOIN posts_fts ON posts_fts.rowid = p.id",
                " AND ".join(where),
                tuple(params),
                "posts_fts.rowid DESC",
                "posts_fts.rank",
                " AND ".join(ids),
                tuple(params),
                _DRIVE_FTS,
                (params[0],),
            )
        if pending == 0:
            return Clause(
                "JOIN posts_norm ON posts_norm.rowid = p.id",
                " AND ".join(["posts_norm MATCH ?", *exact]),
                (expr, *query.phrases),
                "posts_norm.rowid DESC",
                "posts_norm.rank",
                " AND ".join([_IN_NORM, *exact]),
                (expr, *query.phrases),
                _DRIVE_NORM,
                (expr,),
            )
        words = " ".join(f'"{w.replace(chr(34), "")}"' for w in query.words if w.replace('"', ""))
        if pending < 0:  # no usable posts_norm: every post as written, by posts_fts
            return Clause(
                "JOIN posts_fts ON posts_fts.rowid = p.id",
                " AND ".join(["posts_fts MATCH ?", *exact]),
                (words or '""', *query.phrases),
                "posts_fts.rowid DESC",
                "posts_fts.rank",
                " AND ".join([_IN_FTS, *exact]),
                (words or '""', *query.phrases),
                _DRIVE_FTS,
                (words or '""',),
            )
        # Part of the archive is not indexed yet: those posts are matched literally, by posts_fts.
        either = (
            "((p.id >= ? AND p.id IN (SELECT rowid FROM posts_norm WHERE posts_norm MATCH ?)) OR "
            "(p.id < ? AND p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)))"
        )
        where_either = " AND ".join([either, *exact])
        params_either = (pending, expr, pending, words or '""', *query.phrases)
        return Clause("", where_either, params_either, "p.id DESC", "p.id DESC", where_either, params_either)
