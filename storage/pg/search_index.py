"""The normalised search index on PostgreSQL: `posts_norm` rows written from Python.

SQLite's triggers call the normaliser inside the write (`tg_index_text`); PostgreSQL cannot call
Python, so the store hands every post it inserts or whose text it changes to `index_posts` in the
same transaction, which writes the tokens (primed by the ingest worker, else normalised here) as a
tsvector of exact lexemes, each with the positions of the words it stands for (the words as
bot/core/rule_match.near_match counts them: rules' NEAR is checked on them by schema.py's
`tg_near_at`, and ts_rank weighs repeats). Deletions cascade (posts_norm.rowid references posts.id).
The pending mark, the version check and the resumable backfill (its batches written by
`_index_range`) keep SQLite's meaning (storage/search_index.py).
GIN needs no segment merging, so `optimize`/`merge` have nothing to do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from bot.core.textnorm import prepare
from storage.search_index import SearchIndex, _reset

# Forget, then insert: two set-wide statements per batch (a multi-row upsert would fail on a repeated id).
_FORGET = "DELETE FROM posts_norm WHERE rowid = ANY(?)"
_INSERT = "INSERT INTO posts_norm(rowid, tsv) VALUES (?, ?::tsvector)"
_WORD = re.compile(r"[^\W_]+")  # a word as bot/core/rule_match.near_match counts them
# PostgreSQL keeps positions 1..16383 and at most 256 of them per lexeme: words past the first
# 16,383 of a post, and a token's 257th occurrence, have none (NEAR cannot see them there).
_LAST_POSITION = 16383
_MAX_POSITIONS = 256
_MAX_LEXEME = 2046  # bytes


def _lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


class PgSearchIndex(SearchIndex):
    def index_posts(self, post_ids: Sequence[int]) -> None:
        below = self.pending_below()
        wanted = sorted({i for i in post_ids if i >= below})
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            rows = self.db.execute(
                f"SELECT id, text, lang FROM posts WHERE id IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            self._write([(i, self._vector(t, lang)) for i, t, lang in rows])

    def _write(self, vectors: list[tuple[int, str]]) -> None:
        if vectors:
            self.db.execute(_FORGET, [list(dict.fromkeys(i for i, _ in vectors))])
            self.db.conn.executemany(_INSERT, list(dict(vectors).items()))

    def _vector(self, text: str | None, lang: str | None) -> str:
        """The post's index tokens as a tsvector literal, each with the positions of its words."""
        # PostgreSQL refuses a lexeme over 2,046 bytes ("word is too long"): such a token (a hashtag of
        # thousands of letters) is left out here, where FTS5 would index it; the post is still found by
        # its other words and, literally, by the literal index.
        tokens = [t for t in self._index_text(text, lang).split() if len(t.encode()) <= _MAX_LEXEME]
        wanted = set(tokens)
        at: dict[str, list[int]] = {}
        known: dict[str, frozenset[str]] = {}
        for position, word in enumerate(_WORD.findall(prepare(text or "")), start=1):
            if position > _LAST_POSITION:
                break
            mine = known.get(word)
            if mine is None:  # a post repeats its words: normalise each once
                mine = known[word] = self.normaliser.word_tokens(word, lang) & wanted
            for token in mine:
                places = at.setdefault(token, [])
                if len(places) < _MAX_POSITIONS:
                    places.append(position)
        return " ".join(_lexeme(t) + (":" + ",".join(map(str, at[t])) if t in at else "") for t in tokens)

    def _table_exists(self) -> bool:
        return self._table_exists_named("posts_norm")

    def _table_exists_named(self, table: str) -> bool:
        return bool(self.db.execute("SELECT to_regclass(?) IS NOT NULL", [table]).fetchone()[0])

    def _read_only(self) -> bool:
        return bool(self.db.execute("SELECT current_setting('transaction_read_only')").fetchone()[0] == "on")

    def _forget_all(self) -> None:
        self.db.execute("DELETE FROM posts_norm")
        _reset(self.db)

    def _index_range(self, low: int, mark: int) -> None:
        rows = self.db.execute("SELECT id, text, lang FROM posts WHERE id >= ? AND id < ?", [low, mark]).fetchall()
        self._write([(i, self._vector(t, lang)) for i, t, lang in rows])

    def optimize(self) -> None:
        """GIN keeps one tree per lexeme: nothing to merge."""

    def segments(self, table: str = "posts_norm") -> int:
        return 1

    def merge_step(self, *, pages: int = 500) -> str | None:
        return None

    def merge(
        self, *, budget: float = 60.0, pages: int = 500, clock: Callable[[], float] | None = None
    ) -> dict[str, int]:
        return {}
