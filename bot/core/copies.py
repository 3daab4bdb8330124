"""How many channels carried each statement, for a chart over tens of thousands of posts.

The same unions as the digest's `fold_items` (origin key, content hash of non-empty text,
near-duplicate cluster), on bare key tuples instead of StoredPost objects: a month of a busy archive
is ~60,000 posts, and building and sorting that many full posts is most of the cost. A test checks
the two agree on the same posts.
"""

from __future__ import annotations

from collections.abc import Sequence

# (post id, channel id, origin key, content hash, has text, cluster id), oldest first
CopyKey = tuple[int, int, str, str, bool, int | None]


def statement_spread(keys: Sequence[CopyKey]) -> list[tuple[int, int]]:
    """(id of the statement's earliest post, channels carrying it) per statement, in order of first post."""
    parent = list(range(len(keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, object], int] = {}
    for index, (_, _, origin, content, has_text, cluster) in enumerate(keys):
        links: list[tuple[str, object]] = [("o", origin)]
        if has_text:
            links.append(("h", content))
        if cluster is not None:
            links.append(("c", cluster))
        for link in links:
            other = first.setdefault(link, index)
            if other != index:
                a, b = find(other), find(index)
                if a != b:
                    parent[max(a, b)] = min(a, b)  # the root is the group's earliest post
    channels: dict[int, set[int]] = {}
    for index, key in enumerate(keys):
        channels.setdefault(find(index), set()).add(key[1])
    return [(keys[root][0], len(found)) for root, found in sorted(channels.items())]
