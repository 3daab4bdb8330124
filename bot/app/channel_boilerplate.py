"""Learned boilerplate of each channel: its recent posts, counted on demand.

Computed rather than stored: a sample of `recent` posts per channel is a few milliseconds to count,
is always current, and leaves nothing to keep in step when posts are edited or the limits change.
The counting is `bot.core.learned_boilerplate`'s; this only reads the sample from the store.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.learned_boilerplate import MIN_POSTS, MIN_SHARE, LearnedParagraph, learn_boilerplate
from storage.store import Store

RECENT_POSTS = 200
COARSE_CACHE = 20_000  # paragraphs (a few MB at most)


class LearnedBoilerplate:
    def __init__(
        self,
        store: Store,
        *,
        recent: int = RECENT_POSTS,
        min_posts: int = MIN_POSTS,
        min_share: float = MIN_SHARE,
    ) -> None:
        self.store = store
        self.recent = recent
        self.min_posts = min_posts
        self.min_share = min_share
        # Coarse keys of the paragraphs sampled lately (learn_boilerplate's `coarse_cache`): the
        # near-duplicate index samples a young channel every few posts, and each sample re-reads
        # mostly what the last one read. Emptied when it holds COARSE_CACHE paragraphs.
        self._coarse: dict[str, tuple[str, str] | None] = {}

    def learned(self, channel_id: int) -> list[LearnedParagraph]:
        """The channel's boilerplate paragraphs over its `recent` newest posts, most frequent first."""
        return self.sample(channel_id)[0]

    def sample(self, channel_id: int) -> tuple[list[LearnedParagraph], int]:
        """`learned`, and how many posts it was learned from (fewer than `recent`: a young channel)."""
        texts = self.store.recent_texts(channel_id, self.recent)
        if len(self._coarse) > COARSE_CACHE:
            self._coarse.clear()
        found = learn_boilerplate(
            (text.split("\n\n") for text in texts),
            min_posts=self.min_posts,
            min_share=self.min_share,
            coarse_cache=self._coarse,
        )
        return found, len(texts)

    def keys(self, channel_id: int) -> frozenset[str]:
        return frozenset(p.key for p in self.learned(channel_id))

    def keys_by_channel(self, channel_ids: Iterable[int] | None = None) -> dict[int, frozenset[str]]:
        """What `strip_learned` and `build_digest(boilerplate=...)` take; channels with none are left out."""
        if channel_ids is None:
            channel_ids = [row.id for row in self.store.channels()]
        found = {channel_id: self.keys(channel_id) for channel_id in dict.fromkeys(channel_ids)}
        return {channel_id: keys for channel_id, keys in found.items() if keys}
