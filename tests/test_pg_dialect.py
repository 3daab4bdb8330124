"""storage/pg/dialect.translate: each rewrite the PostgreSQL backend relies on, pinned (no server needed).

The translator runs on every statement the storage layer sends to PostgreSQL; a rule that fired inside
a string literal, or missed a form the layer writes, would change what a query means.
"""

from __future__ import annotations

import pytest

pytest.importorskip("psycopg", reason="the PostgreSQL backend's extra (tgmonitor[postgres]) is not installed")

from storage.pg.connection import redact
from storage.pg.dialect import UnsupportedSql, translate


@pytest.mark.parametrize(
    ("sqlite", "postgresql"),
    [
        ("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = %s AND c = %s"),
        ("SELECT '?' || x FROM t WHERE y LIKE '%a%'", "SELECT '?' || x FROM t WHERE y LIKE '%%a%%'"),
        (
            "INSERT OR IGNORE INTO post_tags(post_id, tag) VALUES (?, ?)",
            "INSERT INTO post_tags(post_id, tag) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        ),
        (
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            "INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        ),
        (
            "UPDATE channels SET last_message_id = max(last_message_id, ?) WHERE id = ?",
            "UPDATE channels SET last_message_id = GREATEST(last_message_id, %s) WHERE id = %s",
        ),
        ("SELECT max(id), min(date) FROM posts", "SELECT max(id), min(date) FROM posts"),
        ("SELECT min(max(a, b), c) FROM t", "SELECT LEAST(GREATEST(a, b), c) FROM t"),
        (
            "UPDATE posts SET c = ? WHERE id = ? AND c IS NOT ?",
            "UPDATE posts SET c = %s WHERE id = %s AND c IS DISTINCT FROM %s",
        ),
        ("SELECT 1 FROM t WHERE a IS ?", "SELECT 1 FROM t WHERE a IS NOT DISTINCT FROM %s"),
        (  # a post not in posts_norm yet (a reindex under way) passes NEAR on its words, as on SQLite
            "SELECT p.id FROM posts p WHERE tg_near(p.text, p.lang, ?) AND p.id > ?",
            "SELECT p.id FROM posts p WHERE (tg_near_at(p.id, %s) OR NOT EXISTS "
            "(SELECT 1 FROM posts_norm WHERE posts_norm.rowid = p.id)) AND p.id > %s",
        ),
        ("SELECT 1 FROM t WHERE a IS NULL", "SELECT 1 FROM t WHERE a IS NULL"),
        (
            "SELECT rowid FROM posts_norm WHERE posts_norm MATCH ? ORDER BY posts_norm.rank",
            # best match first: ts_rank against the statement's own MATCH parameter (its number, $1)
            "SELECT rowid FROM posts_norm WHERE posts_norm.tsv @@ tg_norm_query(%s) "
            "ORDER BY (-ts_rank(posts_norm.tsv, tg_norm_query($1), 1))",
        ),
        (
            "SELECT 1 FROM posts_fts WHERE posts_fts MATCH ?",
            "SELECT 1 FROM posts_fts WHERE posts_fts.tsv @@ tg_fts_query(%s)",
        ),
        (
            "SELECT p.id FROM posts p CROSS JOIN posts_fts ON posts_fts.rowid = p.id",
            "SELECT p.id FROM posts p JOIN posts_fts ON posts_fts.rowid = p.id",
        ),
        (
            "SELECT a FROM posts p INDEXED BY posts_date WHERE 1 ORDER BY a",
            "SELECT a FROM posts p WHERE TRUE ORDER BY a",
        ),
        ("SELECT a FROM t WHERE x = 1 AND 0", "SELECT a FROM t WHERE x = 1 AND FALSE"),
        (
            "SELECT count(*) FROM (SELECT id FROM posts LIMIT ?)",
            "SELECT count(*) FROM (SELECT id FROM posts LIMIT %s) AS _q1",
        ),
        ("SELECT n FROM (SELECT 1 AS n) AS named", "SELECT n FROM (SELECT 1 AS n) AS named"),
        ("SELECT n FROM (SELECT 1 AS n) named WHERE n = 1", "SELECT n FROM (SELECT 1 AS n) named WHERE n = 1"),
        ("SELECT 1 FROM t WHERE id IN (SELECT id FROM u)", "SELECT 1 FROM t WHERE id IN (SELECT id FROM u)"),
        ("BEGIN IMMEDIATE", "BEGIN"),
        ("ALTER TABLE posts ADD COLUMN sender_id INTEGER", "ALTER TABLE posts ADD COLUMN sender_id BIGINT"),
        (
            "CREATE TABLE b (k INTEGER NOT NULL, s BLOB, PRIMARY KEY (k)) WITHOUT ROWID",
            "CREATE TABLE b (k BIGINT NOT NULL, s BYTEA, PRIMARY KEY (k))",
        ),
        ("SELECT 'INSERT OR IGNORE max(a, b) WHERE 1' FROM t", "SELECT 'INSERT OR IGNORE max(a, b) WHERE 1' FROM t"),
    ],
)
def test_each_rewrite(sqlite: str, postgresql: str) -> None:
    assert translate(sqlite) == postgresql


def test_pragma_is_refused_by_name() -> None:
    with pytest.raises(UnsupportedSql, match="PRAGMA is SQLite's: PRAGMA journal_mode"):
        translate("PRAGMA journal_mode")


def test_passwords_never_shown() -> None:
    assert redact("postgresql://tg:s3cret@db.example:5432/archive") == "postgresql://tg:***@db.example:5432/archive"
    assert redact("postgresql://tg@db/archive") == "postgresql://tg@db/archive"
