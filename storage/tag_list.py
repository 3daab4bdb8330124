"""A post's tags kept on its own row, in display order, so reading a post needs no second query.

`post_tags` stays the truth for every tag query (filters, counts, /tags); `posts.tag_list` is a copy
written in the same statement as the post. Reading 20 search hits used to cost a GROUP BY over
`post_tags` and a JSON array per post, twice the FTS5 query itself; splitting one string is cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import cast

from bot.models import Tag, TagKind

# How a post's tags are listed: hashtags, then topics, then the language tag, each by key.
KIND_RANK = {"hashtag": 0, "topic": 1, "lang": 2}
_FIELD = "\x1f"  # ASCII unit separator: never inside a hashtag, topic or language name
_ENTRY = "\x1e"  # ASCII record separator


def _field(value: str) -> str:
    return value.replace(_FIELD, "").replace(_ENTRY, "")


def encode_tags(tags: Iterable[Tag]) -> str:
    """Deduplicated like post_tags' key (tag, kind), sorted as they are shown."""
    unique = {(t.key, t.kind): t for t in reversed(list(tags))}  # first one of a key wins, as INSERT OR IGNORE
    ordered = sorted(unique.values(), key=lambda t: (KIND_RANK.get(t.kind, 9), t.key, t.kind))
    fields: list[tuple[str, str, str]] = [(t.kind, t.key, t.display) for t in ordered]
    joined = "".join(chain.from_iterable(fields))
    if _FIELD in joined or _ENTRY in joined:  # rare: only then each field is cleaned (one check per post)
        fields = [(_field(kind), _field(key), _field(display)) for kind, key, display in fields]
    return _ENTRY.join(_FIELD.join(entry) for entry in fields)


class TagDecoder:
    """Turns tag_list strings back into Tags, building each distinct tag once.

    A 2,000-post digest window carries ~26,000 tags but only a few hundred distinct ones; the cache is
    bounded so a long-running service reading many years of hashtags does not grow without end.
    """

    def __init__(self, max_entries: int = 50_000, max_lists: int = 4096) -> None:
        self._known: dict[str, Tag] = {}
        self._max = max_entries
        # Whole tag lists already decoded: posts share few combinations of topics and language, and one
        # dict lookup is a third of splitting the list and looking each tag up (a search page of 20
        # posts: ~30 us of its ~90 us of hydration, bench/search.md). Small bound: the strings are kept.
        self._lists: dict[str, tuple[Tag, ...]] = {}
        self._max_lists = max_lists

    def decode(self, tag_list: str) -> tuple[Tag, ...]:
        known = self._lists.get(tag_list)
        if known is not None:
            return known
        if not tag_list:
            return ()
        if len(self._lists) >= self._max_lists:
            self._lists.clear()
        decoded = self._lists[tag_list] = self._decode(tag_list)
        return decoded

    def _decode(self, tag_list: str) -> tuple[Tag, ...]:
        entries = tag_list.split(_ENTRY)
        try:
            return tuple(map(self._known.__getitem__, entries))  # the common case, without a Python loop
        except KeyError:
            pass
        if len(self._known) > self._max:
            self._known.clear()
        for entry in entries:
            if entry not in self._known:
                kind, key, display = entry.split(_FIELD)
                self._known[entry] = Tag(key, display, cast(TagKind, kind))
        return tuple(map(self._known.__getitem__, entries))
