"""The PostgreSQL stand-ins for FTS5's auxiliary functions, checked without a server: `X.rank` as
ts_rank against the statement's own MATCH parameter (storage/pg/dialect.py), and snippet() as FTS5
cuts it (storage/pg/snippet.py, compared with SQLite's own snippet() on random texts)."""

from __future__ import annotations

import random
import sqlite3

import pytest

from storage.pg.dialect import translate
from storage.pg.snippet import quoted_words, snippet


def test_rank_reads_the_match_parameter_again_by_number() -> None:
    sql = translate(
        "SELECT p.id, posts_norm.rank FROM posts p JOIN posts_norm ON posts_norm.rowid = p.id "
        "WHERE p.channel_id = ? AND posts_norm MATCH ? AND tg_exact(p.text, ?) ORDER BY posts_norm.rank LIMIT ?"
    )
    rank = "(-ts_rank(posts_norm.tsv, tg_norm_query($2), 1))"
    assert sql == (
        f"SELECT p.id, {rank} FROM posts p JOIN posts_norm ON posts_norm.rowid = p.id "
        "WHERE p.channel_id = %s AND posts_norm.tsv @@ tg_norm_query(%s) AND tg_exact(p.text, %s) "
        f"ORDER BY {rank} LIMIT %s"
    )


def test_rank_of_each_table_is_its_own_match_and_null_without_one() -> None:
    sql = translate(
        "SELECT articles_fts.rank, posts_fts.rank FROM articles_fts, posts_fts "
        "WHERE x = 'a - b ?' AND articles_fts MATCH ? AND y = ? - 1 AND posts_fts MATCH ?"
    )
    assert "(-ts_rank(articles_fts.tsv, tg_fts_query($1), 1))" in sql
    assert "(-ts_rank(posts_fts.tsv, tg_fts_query($3), 1))" in sql
    assert translate("SELECT posts_norm.rank FROM posts") == "SELECT NULL::real FROM posts"


def test_quoted_words_are_the_query_words_case_folded() -> None:
    assert quoted_words('"Kosovo" "Vučić" "a ""b""" "1244."') == {"kosovo", "vučić", "a", "b", "1244"}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_snippet_is_fts5s_own(seed: int) -> None:
    """The same excerpt SQLite's snippet(t, 1, '', '', '…', 16) gives, text for text."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, text, tokenize='unicode61')")
    rng = random.Random(seed)
    vocab = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "Kosovo",
        "kosovo",
        "Serbia",
        "talks,",
        "met.",
        "the",
        "a",
        "of",
        "—",
        "«x»",
        "end:",
        "Вучич",
        "1244.",
    ]
    compared = 0
    for _ in range(300):
        words = [rng.choice(vocab) for _ in range(rng.randint(1, 60))]
        text = rng.choice(["", " ", "\n"]) + " ".join(words) + rng.choice(["", ".", " !"])
        query = rng.choice(['"kosovo"', '"kosovo" "serbia"', '"talks"', '"alpha" "met"', '"вучич"'])
        conn.execute("DELETE FROM t")
        conn.execute("INSERT INTO t VALUES ('', ?)", [text])
        row = conn.execute("SELECT snippet(t, 1, '', '', '…', 16) FROM t WHERE t MATCH ?", [query]).fetchone()
        if row is not None:
            compared += 1
            assert snippet(text, quoted_words(query)) == row[0], (text, query)
    assert compared > 100
