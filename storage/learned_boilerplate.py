"""Learned boilerplate read from the archive: each channel's recent posts, counted on demand.

Computed rather than stored: a sample of `recent` posts per channel is a few milliseconds to count,
is always current, and leaves nothing to keep in step when posts are edited or the limits change.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

from bot.core.learned_boilerplate import MIN_POSTS, MIN_SHARE, LearnedParagraph, learn_boilerplate

RECENT_POSTS = 200


class LearnedBoilerplate:
    def __init__(
        self,
        db: sqlite_utils.Database,
        *,
        recent: int = RECENT_POSTS,
        min_posts: int = MIN_POSTS,
        min_share: float = MIN_SHARE,
    ) -> None:
        self.db = db
        self.recent = recent
        self.min_posts = min_posts
        self.min_share = min_share

    def learned(self, channel_id: int) -> list[LearnedParagraph]:
        """The channel's boilerplate paragraphs over its `recent` newest posts, most frequent first."""
        return self.sample(channel_id)[0]

    def sample(self, channel_id: int) -> tuple[list[LearnedParagraph], int]:
        """`learned`, and how many posts it was learned from (fewer than `recent`: a young channel)."""
        rows = self.db.execute(
            "SELECT text FROM posts WHERE channel_id = ? AND deleted = 0 ORDER BY message_id DESC LIMIT ?",
            [channel_id, self.recent],
        ).fetchall()
        found = learn_boilerplate(
            (row[0].split("\n\n") for row in rows), min_posts=self.min_posts, min_share=self.min_share
        )
        return found, len(rows)

    def keys(self, channel_id: int) -> frozenset[str]:
        return frozenset(p.key for p in self.learned(channel_id))

    def keys_by_channel(self, channel_ids: Iterable[int] | None = None) -> dict[int, frozenset[str]]:
        """What `strip_learned` and `build_digest(boilerplate=...)` take; channels with none are left out."""
        if channel_ids is None:
            channel_ids = [row[0] for row in self.db.execute("SELECT id FROM channels ORDER BY id")]
        found = {channel_id: self.keys(channel_id) for channel_id in dict.fromkeys(channel_ids)}
        return {channel_id: keys for channel_id, keys in found.items() if keys}
