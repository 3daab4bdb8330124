"""Digest: fold a window's posts into items and group them by tag (rendering: bot/core/digest_render.py).

Pure functions on StoredPost lists: the scheduler, the CLI and the bot all call these, so a digest
looks the same wherever it is read.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo

from bot.core.articles import display_title
from bot.core.learned_boilerplate import strip_learned, window_boilerplate
from bot.core.sentences import says_something
from bot.core.statements import origin_link, own_key_of, statement_roots
from bot.core.versions import edit_time
from bot.models import LinkedArticle, PostChange, StoredPost, Tag

# A photo or video without text is shown with the post of its channel sent this close to it (the
# caption of its album, the statement it illustrates), else counted on one line per channel.
MEDIA_FOLD = timedelta(minutes=5)


# An article linked from more posts of one channel than this is that channel's standing link (its
# site's section page under every post), not a statement two posts share: it folds nothing.
STANDING_LINK_POSTS = 2
GROUP_KINDS = ("hashtag", "topic")
# A tag on this share of the items (a hashtag: of its channel's items), and on 3 or more, is common:
# it is the home section only of items with nothing more specific (_home_section).
COMMON_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One statement, however many channels carried it; `posts[0]` is the earliest (the original).

    `media`: posts of the same channel with no text of their own, sent within MEDIA_FOLD of it
    (the other photos of its album, a video that illustrates it); shown as "+ 2 photos".
    `edited_at` / `deleted`: the shown post was edited (last at that time) or deleted in the window.
    """

    posts: tuple[StoredPost, ...]
    media: tuple[StoredPost, ...] = ()
    edited_at: datetime | None = None
    deleted: bool = False

    @property
    def first(self) -> StoredPost:
        return self.posts[0]

    @property
    def channels(self) -> list[str]:
        return list(dict.fromkeys(p.channel_label for p in self.posts))

    @property
    def seen_in(self) -> int:
        return len(self.channels)

    @property
    def tags(self) -> list[Tag]:
        merged: dict[tuple[str, str], Tag] = {}
        for post in self.posts:
            for tag in post.tags:
                merged.setdefault((tag.kind, tag.key), tag)
        return list(merged.values())

    @property
    def article(self) -> LinkedArticle | None:
        """The page the item links to that has a title to show: fetched ones first, in post order."""
        linked = [a for post in self.posts for a in post.articles if a.title]
        return next((a for a in linked if a.status == "done"), linked[0] if linked else None)

    @property
    def link(self) -> str | None:
        """The original's link when the origin is a public channel post we know, else the first copy's."""
        return origin_link(self.first.origin_key) or next((p.url for p in self.posts if p.url), None)

    @property
    def carried(self) -> tuple[int, int] | None:
        """(channels other than the first post's, seconds until the last of them first carried it), or
        None when no other channel did: "carried by 4 channels within 2 h 10 min"."""
        first = self.posts[0]
        firsts: dict[int, datetime] = {}
        for post in self.posts[1:]:
            if post.channel_id != first.channel_id:
                firsts.setdefault(post.channel_id, post.date)
        if not firsts:
            return None
        return len(firsts), max(0, round((max(firsts.values()) - first.date).total_seconds()))

    @property
    def forwarded_from(self) -> str | None:
        """The link of the post the item's posts forward, when one of them is a real forward: what a page
        may call "Original" (a copy without a forward header names none). The original's own link when
        it is archived too, else the public post the forward header names."""
        own = [own_key_of(p.origin_key, p.message_id, p.channel_username) for p in self.posts]
        for post, is_own in zip(self.posts, own, strict=True):
            if not is_own:
                original = next(
                    (
                        q.url
                        for q, q_own in zip(self.posts, own, strict=True)
                        if q_own and q.origin_key == post.origin_key
                    ),
                    None,
                )
                link = original or origin_link(post.origin_key)
                if link:
                    return link
        return None


@dataclass(frozen=True, slots=True)
class DigestSection:
    tag: Tag | None  # None: items with no grouping tag
    items: tuple[DigestItem, ...]


@dataclass(frozen=True, slots=True)
class MediaRun:
    """One channel's posts with no text and no neighbour to join: one line "+ 3 photos from …"."""

    posts: tuple[StoredPost, ...]

    @property
    def first(self) -> StoredPost:
        return self.posts[0]


@dataclass(frozen=True, slots=True)
class AmplifierLine:
    """One channel of the weekly amplification section: what it carried from other channels."""

    channel: str
    statements: int
    first: int
    median_delay_seconds: int | None


@dataclass(frozen=True, slots=True)
class AmplificationSection:
    """The channels that carried most of other channels' statements in the week before the digest,
    and the unmonitored sources they forwarded most (names)."""

    start: datetime
    end: datetime
    amplifiers: tuple[AmplifierLine, ...]
    sources: tuple[tuple[str, int], ...] = ()  # (name, monitored channels forwarding it)


@dataclass(frozen=True, slots=True)
class Digest:
    """`item_count` is what the header counts and what the sections add up to: the statements listed.

    `post_count` counts every post of the window (copies and media without text included);
    `tag_counts` counts, for each grouping tag, the items that carry it, wherever they are listed
    (the JSON's `tag_counts`; the header shows the sections instead).
    """

    start: datetime
    end: datetime
    sections: tuple[DigestSection, ...]
    post_count: int
    tag_counts: tuple[tuple[Tag, int], ...] = field(default=())
    title: str = "Digest"
    media: tuple[MediaRun, ...] = ()
    amplification: AmplificationSection | None = None  # DIGEST_AMPLIFICATION=weekly, once a week

    @property
    def item_count(self) -> int:
        return sum(len(s.items) for s in self.sections)

    def spans_years(self, tz: tzinfo) -> bool:
        last = self.end - timedelta(microseconds=1)  # the end is exclusive
        return self.start.astimezone(tz).year != last.astimezone(tz).year

    @property
    def empty(self) -> bool:
        return self.post_count == 0


def _shared_articles(posts: Sequence[StoredPost]) -> set[int]:
    """Articles that may fold posts: none that a channel links from more than STANDING_LINK_POSTS posts."""
    per_channel: Counter[tuple[int, int]] = Counter()
    for post in posts:
        for article in post.articles:
            per_channel[(article.id, post.channel_id)] += 1
    standing = {article for (article, _), n in per_channel.items() if n > STANDING_LINK_POSTS}
    return {article for article, _ in per_channel} - standing


def fold_items(posts: Iterable[StoredPost]) -> list[DigestItem]:
    """Posts carrying one statement (bot/core/statements.py: same origin key, same text or near-duplicate
    cluster when the text is a statement) or linking to the same article (two channels pointing at the
    same statement) as one item."""
    ordered = sorted(posts, key=lambda p: (p.date, p.id))
    shared = _shared_articles(ordered)
    extra = {
        index: [f"a:{a.id}" for a in post.articles if a.id in shared]
        for index, post in enumerate(ordered)
        if post.articles
    }
    roots = statement_roots(((p.origin_key, p.content_hash, p.cluster_id) for p in ordered), extra)
    groups: dict[int, list[StoredPost]] = {}
    for post, root in zip(ordered, roots, strict=True):
        groups.setdefault(root, []).append(post)
    return [DigestItem(tuple(group)) for _, group in sorted(groups.items())]


def mark_changes(
    items: Iterable[DigestItem], changes: Iterable[PostChange], start: datetime, end: datetime
) -> list[DigestItem]:
    """Mark items whose shown post was edited or deleted in [start, end). A deletion from before
    deletion times were recorded (schema v5) has no time and is marked whenever the post is deleted."""
    by_post: dict[int, list[PostChange]] = {}
    for change in changes:
        by_post.setdefault(change.post_id, []).append(change)
    marked = []
    for item in items:
        post = item.first
        mine = by_post.get(post.id, [])
        edits = [t for c in mine if not c.deleted and start <= (t := edit_time(c, post.date)) < end]
        deletions = [c.noticed_at for c in mine if c.deleted]
        deleted = post.deleted and (not deletions or min(deletions) < end)
        if edits or deleted:
            item = replace(item, edited_at=max(edits) if edits else None, deleted=deleted)
        marked.append(item)
    return marked


def _home_section(
    item: DigestItem,
    common: Callable[[DigestItem, tuple[str, str]], bool],
    group_kinds: Sequence[str],
    rank: Callable[[tuple[str, str]], tuple[int, int, str]],
) -> tuple[str, str] | None:
    """Where an item is listed: its curated hashtag if it has one, else its most telling topic.

    A tag on most items (every MFA post mentions Russia; a channel that puts its language hashtag
    `#E_中文` on every post) would swallow the digest, so it only serves as the home of items that have
    nothing more specific: specific hashtags, then specific topics, then the common ones.
    """
    keys = [(t.kind, t.key) for t in item.tags if t.kind in group_kinds]
    specific = [k for k in keys if not common(item, k)]
    for candidates in ([k for k in specific if k[0] == "hashtag"], specific, [k for k in keys if k[0] == "hashtag"]):
        if candidates:
            return min(candidates, key=rank)
    return min(keys, key=rank) if keys else None


def _commonness(
    items: Sequence[DigestItem], group_kinds: Sequence[str]
) -> Callable[[DigestItem, tuple[str, str]], bool]:
    """Whether a tag is on most of the window's items, or a hashtag on most of its channel's items
    (a channel's standing hashtag is common even when other channels dilute it in the window)."""
    overall: Counter[tuple[str, str]] = Counter()
    per_channel: Counter[tuple[int, str, str]] = Counter()
    channel_items: Counter[int] = Counter()
    for item in items:
        channel = item.first.channel_id
        channel_items[channel] += 1
        for key in {(t.kind, t.key) for t in item.tags if t.kind in group_kinds}:
            overall[key] += 1
            per_channel[(channel, *key)] += 1

    def common(item: DigestItem, key: tuple[str, str]) -> bool:
        if overall[key] >= max(3, COMMON_SHARE * len(items)):
            return True
        channel = item.first.channel_id
        mine = per_channel[(channel, *key)]
        return key[0] == "hashtag" and mine >= max(3, COMMON_SHARE * channel_items[channel])

    return common


def build_digest(
    posts: Sequence[StoredPost],
    start: datetime,
    end: datetime,
    *,
    title: str = "Digest",
    group_kinds: Sequence[str] = GROUP_KINDS,
    boilerplate: Mapping[int, frozenset[str]] | None = None,
    changes: Sequence[PostChange] = (),
) -> Digest:
    """Each item appears once, under its most active tag; sections most active first.

    Each channel's learned boilerplate (sign-offs, "Subscribe to…") is left out of the shown text:
    `boilerplate` as learned from the archive (storage.learned_boilerplate), else from these posts.
    `changes` (the posts' edits and deletions, `Store.changes_of`) mark items edited or deleted.
    """
    key_cache: dict[str, str] = {}  # paragraph -> loose key, shared by learning and stripping
    keys = window_boilerplate(posts, key_cache) if boilerplate is None else boilerplate
    items = fold_items(strip_learned(posts, keys, key_cache) if keys else posts)
    if changes or any(p.deleted for p in posts):
        items = mark_changes(items, changes, start, end)
    items, media = fold_media(items)
    counts: Counter[tuple[str, str]] = Counter()
    tag_by_key: dict[tuple[str, str], Tag] = {}
    for item in items:
        for tag in item.tags:
            if tag.kind in group_kinds:
                counts[(tag.kind, tag.key)] += 1
                tag_by_key.setdefault((tag.kind, tag.key), tag)

    def rank(key: tuple[str, str]) -> tuple[int, int, str]:
        return (-counts[key], 0 if key[0] == "hashtag" else 1, key[1])

    sections: dict[tuple[str, str] | None, list[DigestItem]] = {}
    common = _commonness(items, group_kinds)
    for item in items:
        home = _home_section(item, common, group_kinds, rank)
        sections.setdefault(home, []).append(item)
    ordered = sorted(
        sections.items(), key=lambda kv: (kv[0] is None, -len(kv[1]), rank(kv[0]) if kv[0] else (0, 0, ""))
    )
    return Digest(
        start=start,
        end=end,
        sections=tuple(DigestSection(tag_by_key[k] if k else None, tuple(v)) for k, v in ordered),
        post_count=len(posts),
        tag_counts=tuple((tag_by_key[k], n) for k, n in sorted(counts.items(), key=lambda kv: rank(kv[0]))),
        title=title,
        media=media,
    )


def fold_media(items: Sequence[DigestItem]) -> tuple[list[DigestItem], tuple[MediaRun, ...]]:
    """Items with no text join the nearest item of their channel within MEDIA_FOLD, else a MediaRun.

    A Desktop export carries an album as one message per photo with the caption on one of them,
    and channels post a photo a minute after the statement it goes with; listing each as "[photo]"
    would fill a digest with lines that say nothing.
    """
    texted: list[DigestItem] = []
    bare: list[DigestItem] = []
    for item in items:
        text = item.first.text
        # A long post always says something; only short ones need reading (most posts: no cost).
        # A photo whose only words are a linked article's title still has a line: the title.
        says = len(text) > 200 or says_something(text) or bool(item.article and display_title(item.article.title or ""))
        (texted if says else bare).append(item)
    if not bare:
        return list(items), ()
    times: dict[int, list[tuple[datetime, int]]] = {}  # channel -> (date, index in texted), by date
    for index, item in enumerate(texted):
        for post in item.posts:
            times.setdefault(post.channel_id, []).append((post.date, index))
    for entries in times.values():
        entries.sort()
    attached: dict[int, list[StoredPost]] = {}
    runs: dict[int, list[StoredPost]] = {}
    for item in bare:
        post = item.first
        entries = times.get(post.channel_id, [])
        at = bisect.bisect_left(entries, (post.date, -1))
        near = [entries[i] for i in (at - 1, at) if 0 <= i < len(entries)]
        best = min(near, key=lambda e: (abs(e[0] - post.date), e[1]), default=None)
        if best is not None and abs(best[0] - post.date) <= MEDIA_FOLD:
            attached.setdefault(best[1], []).extend(item.posts)
        else:
            runs.setdefault(post.channel_id, []).extend(item.posts)
    folded = [
        replace(item, media=tuple(sorted(attached[i], key=lambda p: (p.date, p.id)))) if i in attached else item
        for i, item in enumerate(texted)
    ]
    ordered = sorted(runs.values(), key=lambda ps: min((p.date, p.id) for p in ps))
    return folded, tuple(MediaRun(tuple(sorted(ps, key=lambda p: (p.date, p.id)))) for ps in ordered)
