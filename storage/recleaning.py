"""Re-cleaning stored posts (bot/app/reclean.py): reading them in id order and writing the derived fields."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlite_utils

from bot.models import Tag
from storage.carried import mark_posts
from storage.search_index import SearchIndex
from storage.tag_list import TagDecoder, encode_tags


class RecleanTable:
    """Mixed into `Store`."""

    db: sqlite_utils.Database
    _tag_decoder: TagDecoder
    search_index: SearchIndex

    def _write_tags(self, post_id: int, tags: Iterable[Tag]) -> None:
        raise NotImplementedError  # Store's

    def posts_after(self, after_id: int, limit: int) -> list[tuple[int, str, str, str, tuple[Tag, ...]]]:
        """(id, raw_text, text, origin_key, tags) of the next `limit` posts by id: what `reclean` redoes."""
        rows = self.db.execute(
            "SELECT id, raw_text, text, origin_key, tag_list FROM posts WHERE id > ? ORDER BY id LIMIT ?",
            [after_id, limit],
        ).fetchall()
        decode = self._tag_decoder.decode
        return [(r[0], r[1] or "", r[2] or "", r[3], decode(r[4])) for r in rows]

    def count_posts_after(self, after_id: int) -> int:
        return int(self.db.execute("SELECT count(*) FROM posts WHERE id > ?", [after_id]).fetchone()[0])

    def update_cleaning(
        self, post_id: int, *, text: str, content_hash: str, lang: str | None, origin_key: str, tags: Sequence[Tag]
    ) -> None:
        """A post's derived fields after re-cleaning; FTS follows through the posts_au trigger."""
        self.db.execute(
            "UPDATE posts SET text = ?, content_hash = ?, lang = ?, origin_key = ?, tag_list = ? WHERE id = ?",
            [text, content_hash, lang, origin_key, encode_tags(tags), post_id],
        )
        mark_posts(self.db, [post_id])  # the new text or origin key may join it to others
        self.db.execute("DELETE FROM post_tags WHERE post_id = ?", [post_id])
        self._write_tags(post_id, tags)
        self.search_index.index_posts([post_id])  # PostgreSQL's posts_norm (SQLite's trigger did it)
