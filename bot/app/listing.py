"""Lists of items over the archive: what "fold copies" means for the bot, the CLI and the demo alike.

An item is one statement however many channels carried it: posts sharing an origin key, a content hash
or a near-duplicate cluster (`bot.core.digest.fold_items`, the digest's own rule). A listing is items,
newest first; "seen in N channels" counts every channel that carried the item, also outside the
current filter or page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.digest import DigestItem, fold_items
from bot.models import StoredPost
from storage.browse import Browse
from storage.store import SearchOrder, Store

MAX_KEYS_FOLLOWED = 10  # an item's posts whose copies are looked up (each its own indexed query)
MAX_SCANNED_POSTS = 2000  # folding needs posts, not rows; this bounds one page's work on deep pages


def _when(post: StoredPost) -> tuple[datetime, int]:
    return post.date, post.id


def newest_post(item: DigestItem) -> StoredPost:
    """The item's newest post by date (ties: the later archived): what places the item in a listing."""
    return max(item.posts, key=_when)


def newest_first(items: list[DigestItem]) -> list[DigestItem]:
    """By the date of each item's newest post, as Store.search orders posts (not by archive order:
    an imported history is archived after newer live posts)."""
    return sorted(items, key=lambda item: _when(newest_post(item)), reverse=True)


def collect_items(
    store: Store,
    *,
    want: int,
    query: str | None = None,
    tags: Sequence[str] = (),
    channel: str | int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    lang: str | None = None,
    max_posts: int = MAX_SCANNED_POSTS,
) -> list[DigestItem]:
    """At least `want + 1` items (when there are that many), newest first, copies folded together.

    Items are ordered by their newest post, so the first N items are final once N items are known:
    reading older posts can only add copies to them (or new items after them), never reorder them.
    """
    posts: list[StoredPost] = []
    batch = max(50, want * 2)
    while True:
        got = store.search(
            query, tags=tags, channel=channel, since=since, until=until, lang=lang, limit=batch, offset=len(posts)
        )
        posts.extend(got)
        items = newest_first(fold_items(posts))
        if len(items) > want or len(got) < batch or len(posts) >= max_posts:
            return items


def seen_in_channels(item: DigestItem, store: Store) -> list[str]:
    """Labels of the channels that carried this item across the whole archive, outside the current filter
    or page too: every post sharing an origin key, a content hash or a near-duplicate cluster with one of
    the item's posts (the digest's own rule; the web viewer's post page counts the same way)."""
    labels = {p.channel_id: p.channel_label for p in item.posts}
    browse = Browse(store)
    for post in item.posts[:MAX_KEYS_FOLLOWED]:
        for copy in browse.copies(post):
            labels.setdefault(copy.channel_id, copy.channel_label)
    return list(labels.values())


def seen_in(item: DigestItem, store: Store) -> int:
    """How many channels carried this item ("seen in N channels"), the same count everywhere."""
    return len(seen_in_channels(item, store))


def find_items(
    store: Store,
    *,
    offset: int,
    limit: int,
    query: str | None = None,
    tags: Sequence[str] = (),
    channel: str | int | None = None,
    since: datetime | None = None,
    order: SearchOrder = "newest",
    until: datetime | None = None,
    lang: str | None = None,
) -> tuple[list[DigestItem], bool]:
    """One page of items and whether there are more; ranked order keeps the best-placed post's rank."""
    if order == "newest":
        items = collect_items(
            store, want=offset + limit, query=query, tags=tags, channel=channel, since=since, until=until, lang=lang
        )
    else:
        posts = store.search(
            query,
            tags=tags,
            channel=channel,
            since=since,
            until=until,
            lang=lang,
            limit=MAX_SCANNED_POSTS,
            order=order,
        )
        place = {post.id: index for index, post in enumerate(posts)}
        items = sorted(fold_items(posts), key=lambda item: min(place[p.id] for p in item.posts))
    return items[offset : offset + limit], len(items) > offset + limit
