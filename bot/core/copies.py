"""How many channels carried each statement, for a chart over tens of thousands of posts.

The digest's grouping (`bot.core.statements.statement_roots`: origin key, content hash of a text that
is a statement, near-duplicate cluster) on bare key tuples instead of StoredPost objects: a month of a
busy archive is ~60,000 posts, and building and sorting that many full posts is most of the cost. A
test checks this agrees with the digest's `fold_items` on the same posts.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.statements import statement_roots

# (post id, channel id, origin key, content hash, cluster id), oldest first
CopyKey = tuple[int, int, str, str, int | None]


def statement_spread(keys: Sequence[CopyKey]) -> list[tuple[int, int]]:
    """(id of the statement's earliest post, channels carrying it) per statement, in order of first post.

    Channels are collected only for statements with more than one post: most are carried by one.
    """
    roots = statement_roots((k[2], k[3], k[4]) for k in keys)
    shared: dict[int, set[int]] = {}  # a statement's channels, for the few carried by more than one post
    for index, root in enumerate(roots):
        if root != index:
            shared.setdefault(root, {keys[root][1]}).add(keys[index][1])
    return [(keys[i][0], len(shared[i]) if i in shared else 1) for i, root in enumerate(roots) if root == i]
