"""What a statement is, and which posts carry the same one: the one rule every fold in the project uses.

A statement is a post with every copy of it: the same forward origin (a real forward names its source
post), the same clean text (a copy without a forward header) or the same near-duplicate cluster (a
light paraphrase). Digest items, "fold copies" in search, the web viewer's copies, the charts' copies
per statement and the spread/amplifier analysis all group by `statement_roots`, so "seen in 3
channels" means the same thing on every page.

Text only joins posts when it says something. "👍", ".", "??", "🙏" or "Thanks" are written
independently in thousands of chats; folding them by their text made a thumbs-up in one group a
"copy" of a thumbs-up in an unrelated one (22 of them across two real exports). A text of fewer than
MIN_WORDS words or MIN_LETTERS letters and digits is no statement: it folds by neither hash nor
cluster, only as a real forward (by origin key). `bot.core.fingerprint.content_hash` marks such a
text's hash with TRIVIAL_MARK, so a fold that reads only keys from an index (no text) can tell too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Five words of at least 20 letters in all: "How are you today?" (4 words) and "Good morning
# everyone!" stay apart, as do a sender's name above "Morning!" in an HTML export; "Lavrov met Vucic
# in Belgrade" (5 words, 26 letters) folds. Measured on the real exports in ../shared: the 160 most
# repeated short texts of the groups there are greetings and reactions, all below this.
MIN_WORDS = 5
MIN_LETTERS = 20
TRIVIAL_MARK = "~"  # first character of the content hash of a text that is no statement

_WORD = re.compile(r"[^\W_]+")  # letters and digits in any script; "_" splits user_names


def is_statement(text: str) -> bool:
    """Enough words to be worth folding across posts: MIN_WORDS words, MIN_LETTERS letters and digits.

    Stops reading at the words it needs, so a long post costs as little as a short one."""
    letters = 0
    for words, match in enumerate(_WORD.finditer(text), start=1):
        letters += match.end() - match.start()
        if words >= MIN_WORDS and letters >= MIN_LETTERS:
            return True
    return False


def content_folds(content_hash: str) -> bool:
    """Whether posts with this content hash (and their near-duplicate cluster) fold by text."""
    return not content_hash.startswith(TRIVIAL_MARK)


# A post's folding keys: (origin key, content hash, near-duplicate cluster).
StatementKey = tuple[str, str, int | None]


def statement_roots(
    keys: Iterable[Sequence[Any]],
    extra: Mapping[int, Sequence[str]] | None = None,
    *,
    at: tuple[int, int, int] = (0, 1, 2),
) -> list[int]:
    """Per post (in the given order, which must be oldest first), the index of its statement's first post.

    `keys`: each post's (origin key, content hash, cluster id), or rows holding them at positions `at`
    (a window's index rows as they come, without building a tuple per post). `extra`: more keys some
    posts fold by, by index (the digest's shared linked articles).

    Union-find where a group's root is always its earliest post, so every parent lies before its
    child. That keeps it cheap on a month of posts (~60,000): a post links only to the first earlier
    post sharing each key (a dict per kind of key, no key tuples), and one pass in index order at the
    end resolves every root (a parent's root is already final by then).
    """
    parent: list[int] = []

    def root_of(i: int) -> int:
        while parent[i] != i:
            parent[i] = i = parent[parent[i]]  # path halving: parents only move earlier
        return i

    by_origin: dict[str, int] = {}
    by_hash: dict[str, int] = {}
    by_cluster: dict[int, int] = {}
    by_extra: dict[str, int] = {}
    at_origin, at_hash, at_cluster = at
    for index, key in enumerate(keys):
        origin, content, cluster = key[at_origin], key[at_hash], key[at_cluster]
        parent.append(index)
        root = index  # nothing has been joined to a post before its own turn: it is its own root
        other = by_origin.setdefault(origin, index)
        if other != index:
            root = parent[index] = root_of(other)
        if content[:1] != TRIVIAL_MARK:  # content_folds, inlined: this loop runs per post of a month
            other = by_hash.setdefault(content, index)
            if other != index:
                root = _join(parent, root, root_of(other))
            if cluster is not None:
                other = by_cluster.setdefault(cluster, index)
                if other != index:
                    root = _join(parent, root, root_of(other))
        if extra and index in extra:
            for key in extra[index]:
                other = by_extra.setdefault(key, index)
                if other != index:
                    root = _join(parent, root, root_of(other))
    for index, up in enumerate(parent):  # in index order: parent[up] (up <= index) is already a root
        parent[index] = parent[up]
    return parent


def _join(parent: list[int], a: int, b: int) -> int:
    """Join the groups rooted at `a` and `b` under the earlier one; returns that root."""
    if a == b:
        return a
    if a < b:
        parent[b] = a
        return a
    parent[a] = b
    return b


def own_key_of(origin_key: str, message_id: int, username: str | None, tg_id: int | None = None) -> bool:
    """Whether `origin_key` is the post's own (not a forward): `@user/ID` or `tg:N/ID` of its channel.

    Without the channel's Telegram id, any `tg:…/ID` with the post's own message id counts as its own:
    a forward from another private channel's post of the very same number is taken for an own post.
    """
    if username and origin_key == f"@{username}/{message_id}":
        return True
    if tg_id is not None:
        return origin_key == f"tg:{tg_id}/{message_id}"
    return origin_key.startswith("tg:") and origin_key.endswith(f"/{message_id}")


def origin_link(origin_key: str) -> str | None:
    """The t.me link of a public channel's post named by an origin key (`@user/ID`), else None."""
    if origin_key.startswith("@") and "/" in origin_key:
        username, _, message_id = origin_key[1:].partition("/")
        if message_id.isascii() and message_id.isdecimal():
            return f"https://t.me/{username}/{message_id}"
    return None
