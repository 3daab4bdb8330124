"""A canonical dump of what an archive stores, for comparing archives built by different ingest paths.

Rows of every table an ingest writes, in primary-key order, with the columns that record the wall
clock (`channels.added_at`) left out; the two FTS5 indexes as their vocabularies (term, documents,
occurrences), which is what a search reads. Two archives with equal dumps answer every query alike.
"""

from __future__ import annotations

import hashlib
from typing import Any

from storage.store import Store

_TABLES = {
    "channels": "SELECT id, tg_id, username, title, source, watched, last_message_id FROM channels ORDER BY id",
    "posts": "SELECT * FROM posts ORDER BY id",
    "post_tags": "SELECT * FROM post_tags ORDER BY post_id, tag, kind",
    "post_versions": "SELECT * FROM post_versions ORDER BY id",
    "post_signatures": "SELECT * FROM post_signatures ORDER BY post_id",
    "post_bands": "SELECT * FROM post_bands ORDER BY band_key, post_id",
    "articles": "SELECT * FROM articles ORDER BY id",
    "post_articles": "SELECT * FROM post_articles ORDER BY post_id, article_id",
    "posts_fts_vocab": "SELECT term, doc, cnt FROM temp.dump_fts_vocab ORDER BY term",
    "posts_norm_vocab": "SELECT term, doc FROM temp.dump_norm_vocab ORDER BY term",
}


# On PostgreSQL the vocabularies come from ts_stat over the tsvector tables (ndoc: documents, nentry: occurrences).
_PG_VOCABS = {
    "posts_fts_vocab": "SELECT word, ndoc, nentry FROM ts_stat('SELECT tsv FROM posts_fts') ORDER BY word",
    "posts_norm_vocab": "SELECT word, ndoc FROM ts_stat('SELECT tsv FROM posts_norm') ORDER BY word",
}


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    db = store.db
    if getattr(db, "dialect", "sqlite") == "postgresql":
        tables = _TABLES | _PG_VOCABS
        return {name: [tuple(r) for r in db.execute(sql).fetchall()] for name, sql in tables.items()}
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.dump_fts_vocab USING fts5vocab(main, posts_fts, 'row')")
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.dump_norm_vocab USING fts5vocab(main, posts_norm, 'row')")
    return {name: [tuple(r) for r in db.execute(sql).fetchall()] for name, sql in _TABLES.items()}


def digest(store: Store) -> dict[str, str]:
    """Per table: row count and a SHA-256 of its rows (what a reference recorded elsewhere is compared to)."""
    rows = dump(store)
    return {name: f"{len(v)}:{hashlib.sha256(repr(v).encode()).hexdigest()[:16]}" for name, v in rows.items()}
