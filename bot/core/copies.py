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
    """(id of the statement's earliest post, channels carrying it) per statement, in order of first post.

    Union-find over post indexes where a group's root is always its earliest post, so every parent
    lies before its child. That is what keeps it cheap on a month of posts: a post links only to the
    first earlier post sharing each key (one dict per kind of key, no key tuples); at the end one pass
    in index order resolves every post's root (its parent's root is already final) and collects
    channels only for statements with more than one post: most are carried by a single post.
    """
    parent = list(range(len(keys)))

    def root_of(i: int) -> int:
        while parent[i] != i:
            parent[i] = i = parent[parent[i]]  # path halving: parents only move earlier
        return i

    by_origin: dict[str, int] = {}
    by_hash: dict[str, int] = {}
    by_cluster: dict[int, int] = {}
    for index, (_, _, origin, content, has_text, cluster) in enumerate(keys):
        root = index  # nothing has been joined to a post before its own turn: it is its own root
        other = by_origin.setdefault(origin, index)
        if other != index:
            root = parent[index] = root_of(other)
        if has_text:
            other = by_hash.setdefault(content, index)
            if other != index:
                root = _join(parent, root, root_of(other))
        if cluster is not None:
            other = by_cluster.setdefault(cluster, index)
            if other != index:
                root = _join(parent, root, root_of(other))
    shared: dict[int, set[int]] = {}  # a statement's channels, for the few carried by more than one post
    for index, up in enumerate(parent):  # in index order: parent[up] (up <= index) is already a root
        root = parent[index] = parent[up]
        if root != index:
            shared.setdefault(root, {keys[root][1]}).add(keys[index][1])
    return [(keys[i][0], len(shared[i]) if i in shared else 1) for i, up in enumerate(parent) if up == i]


def _join(parent: list[int], a: int, b: int) -> int:
    """Join the groups rooted at `a` and `b` under the earlier one; returns that root."""
    if a == b:
        return a
    if a < b:
        parent[b] = a
        return a
    parent[a] = b
    return b
