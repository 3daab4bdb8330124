"""Digest: fold a window's posts into items, group them by tag, render and split for Telegram.

Pure functions on StoredPost lists: the scheduler, the CLI and the bot all call these, so a digest
looks the same wherever it is read.
"""

from __future__ import annotations

import html
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo

from bot.core.articles import display_title
from bot.core.clean import is_hashtag_only
from bot.core.learned_boilerplate import strip_learned, window_boilerplate
from bot.core.versions import edit_time
from bot.models import LinkedArticle, PostChange, StoredPost, Tag

TELEGRAM_LIMIT = 4096
SNIPPET_CHARS = 280
# An article linked from more posts of one channel than this is that channel's standing link (its
# site's section page under every post), not a statement two posts share: it folds nothing.
STANDING_LINK_POSTS = 2
LABEL_CHARS = 64  # tag and channel names in headings and lines; see _short
GROUP_KINDS = ("hashtag", "topic")
# Explicit embeddings, overrides and isolates: one post's U+202E must not reverse the rest of the
# line (channel name, link). Plain direction marks (LRM/RLM) are harmless and kept.
# A regex rather than str.translate: translate looks every character up in a dict, 10x slower on the
# Cyrillic posts of a 2,000-post digest (140 ms of it), while re skips to the rare hits in C.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"«„“(\[]?[A-ZА-ЯЁЇІЄҐЂЈЉЊЋЏ0-9])")


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One statement, however many channels carried it; `posts[0]` is the earliest (the original).

    `edited_at` / `deleted`: the shown post was edited (last at that time) or deleted in the window.
    """

    posts: tuple[StoredPost, ...]
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
        origin = self.first.origin_key
        if origin.startswith("@") and "/" in origin:
            username, _, message_id = origin[1:].partition("/")
            return f"https://t.me/{username}/{message_id}"
        return next((p.url for p in self.posts if p.url), None)


@dataclass(frozen=True, slots=True)
class DigestSection:
    tag: Tag | None  # None: items with no grouping tag
    items: tuple[DigestItem, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    start: datetime
    end: datetime
    sections: tuple[DigestSection, ...]
    post_count: int
    tag_counts: tuple[tuple[Tag, int], ...] = field(default=())
    title: str = "Digest"

    @property
    def item_count(self) -> int:
        return sum(len(s.items) for s in self.sections)

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
    """Union posts sharing an origin key, a content hash, a near-duplicate cluster or a linked article
    (two channels pointing at the same statement) into one item."""
    ordered = sorted(posts, key=lambda p: (p.date, p.id))
    shared = _shared_articles(ordered)
    parent = list(range(len(ordered)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_by_key: dict[str, int] = {}
    for index, post in enumerate(ordered):
        keys = [f"o:{post.origin_key}"]
        if post.text.strip():
            keys.append(f"h:{post.content_hash}")
        if post.cluster_id is not None:
            keys.append(f"c:{post.cluster_id}")
        keys += [f"a:{a.id}" for a in post.articles if a.id in shared]
        for key in keys:
            other = first_by_key.setdefault(key, index)
            if other != index:
                a, b = find(other), find(index)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    groups: dict[int, list[StoredPost]] = {}
    for index, post in enumerate(ordered):
        groups.setdefault(find(index), []).append(post)
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
    counts: Counter[tuple[str, str]],
    total: int,
    group_kinds: Sequence[str],
    rank: Callable[[tuple[str, str]], tuple[int, int, str]],
) -> tuple[str, str] | None:
    """Where an item is listed: its curated hashtag if it has one, else its most telling topic.

    A topic on most items of the window (every MFA post mentions Russia) would swallow the digest,
    so it only serves as the home of items that have nothing more specific.
    """
    keys = [(t.kind, t.key) for t in item.tags if t.kind in group_kinds]
    hashtags = [k for k in keys if k[0] == "hashtag"]
    if hashtags:
        return min(hashtags, key=rank)
    specific = [k for k in keys if counts[k] < max(3, 0.6 * total)]
    candidates = specific or keys
    return min(candidates, key=rank) if candidates else None


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
    for item in items:
        home = _home_section(item, counts, len(items), group_kinds, rank)
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
    )


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The first sentence, or up to `limit` characters cut at a word, hashtag-only lines skipped."""
    text = _BIDI_CONTROLS.sub("", text)
    shown = (p for p in text.split("\n\n") if p.strip() and not is_hashtag_only(p.strip()))
    paragraphs = list(itertools.islice(shown, 2))  # the first, and whether there is another
    if not paragraphs:
        return ""
    first = paragraphs[0]
    sentence = _SENTENCE_END.split(first, maxsplit=1)[0]
    if len(sentence) >= 40 or len(paragraphs) == 1:
        first = sentence
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0].rstrip(",;:—-")
    return (cut or first[:limit]) + "…"


def _short(label: str, limit: int = LABEL_CHARS) -> str:
    """Names come from posts and exports: a 3,000-letter hashtag is legal in Telegram, and twelve of them
    in the header would make a digest no message can carry, so headings show a bounded prefix."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _tag_label(tag: Tag | None) -> str:
    if tag is None:
        return "Other"
    return _short(tag.display)


def _when(value: datetime, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%d %b %H:%M")


def strip_bidi(text: str) -> str:
    return _BIDI_CONTROLS.sub("", text)


def _label(post: StoredPost) -> str:
    return _short(strip_bidi(post.channel_label))


MAX_HREF = 600  # a longer article URL is left out of the line: items must stay far below Telegram's limit


def _article_title(item: DigestItem) -> tuple[str, str | None] | None:
    """The title shown beside an item (bounded, like every piece of an item) and where it links."""
    article = item.article
    title = display_title(strip_bidi(article.title or "")) if article is not None else None
    if article is None or not title:
        return None
    href = article.final_url or article.url
    return title, href if len(href) <= MAX_HREF else None


def change_mark(item: DigestItem, tz: tzinfo) -> str | None:
    """ "deleted", "edited 14:05" (with the day when it is not the post's): what an item's line ends with."""
    if item.deleted:
        return "deleted"
    if item.edited_at is None:
        return None
    edited, posted = item.edited_at.astimezone(tz), item.first.date.astimezone(tz)
    return f"edited {edited:%H:%M}" if edited.date() == posted.date() else f"edited {edited:%d %b %H:%M}"


def render_item_html(item: DigestItem, tz: tzinfo) -> str:
    post = item.first
    esc = html.escape
    text = snippet(post.text) or f"[{post.media_kind or 'media'}]"
    line = f"• <i>{esc(_when(post.date, tz))}</i> · {esc(_label(post))} — {esc(text)}"
    titled = _article_title(item)
    if titled is not None and titled[1] is not None:
        line += f' · 📄 <a href="{esc(titled[1], quote=True)}">{esc(titled[0])}</a>'
    elif titled is not None:
        line += f" · 📄 {esc(titled[0])}"
    link = item.link
    if link:
        line += f' <a href="{esc(link, quote=True)}">open</a>'
    if item.seen_in > 1:
        line += f" · seen in {item.seen_in} channels"
    mark = change_mark(item, tz)
    if mark:
        line += f" · <i>{esc(mark)}</i>"
    return line


def render_item_text(item: DigestItem, tz: tzinfo) -> str:
    post = item.first
    text = snippet(post.text) or f"[{post.media_kind or 'media'}]"
    line = f"- {_when(post.date, tz)} {_label(post)}: {text}"
    titled = _article_title(item)
    if titled is not None:
        line += f" [article: {titled[0]}]"
    if item.link:
        line += f" <{item.link}>"
    if item.seen_in > 1:
        line += f" (seen in {item.seen_in} channels)"
    mark = change_mark(item, tz)
    if mark:
        line += f" ({mark})"
    return line


def _header(digest: Digest, tz: tzinfo, *, rich: bool) -> list[str]:
    esc: Callable[[str], str] = html.escape if rich else str
    window = f"{digest.start.astimezone(tz):%Y-%m-%d %H:%M} → {digest.end.astimezone(tz):%Y-%m-%d %H:%M}"
    zone = getattr(tz, "key", None) or str(tz)
    title = f"{_short(digest.title, 4 * LABEL_CHARS)} {window} ({zone})"
    lines = [f"<b>{esc(title)}</b>" if rich else title]
    if digest.empty:
        lines.append("Nothing new in this window.")
        return lines
    summary = f"{digest.item_count} items from {digest.post_count} posts"
    top = " · ".join(f"{_tag_label(t)} {n}" for t, n in digest.tag_counts[:12])
    lines.append(esc(summary + (f" · {top}" if top else "")))
    return lines


def render_html(digest: Digest, tz: tzinfo) -> list[str]:
    """Telegram HTML messages, each under the limit, split only between items."""
    blocks: list[tuple[str | None, str]] = []  # (section heading, item line)
    for section in digest.sections:
        heading = f"<b>{html.escape(_tag_label(section.tag))}</b> ({len(section.items)})"
        blocks.extend((heading, render_item_html(item, tz)) for item in section.items)
    return split_messages("\n".join(_header(digest, tz, rich=True)), blocks)


def digest_messages(digest: Digest, tz: tzinfo, *, empty: str = "notice") -> list[str]:
    """The Telegram messages for one window: none for an empty window when DIGEST_EMPTY=skip."""
    if digest.empty and empty == "skip":
        return []
    return render_html(digest, tz)


def render_text(digest: Digest, tz: tzinfo) -> str:
    lines = _header(digest, tz, rich=False)
    for section in digest.sections:
        lines += ["", f"{_tag_label(section.tag)} ({len(section.items)})"]
        lines += [render_item_text(item, tz) for item in section.items]
    return "\n".join(lines)


def utf16_len(text: str) -> int:
    """Telegram measures messages in UTF-16 code units: an emoji counts twice."""
    return len(text.encode("utf-16-le")) // 2


def split_messages(header: str, blocks: Sequence[tuple[str | None, str]], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Pack (heading, line) blocks into messages; a heading is repeated where a section continues.

    Splitting happens between blocks, so it never breaks a tag or an entity. Digest items are bounded
    by the snippet length, but a command's block may hold anything a channel wrote (a 4,096-character
    hashtag): a block or heading that cannot fit alone is flattened to plain text and shortened
    (`fit_html`), so no message is ever empty or over `limit`. The limit is applied to the HTML source,
    which is never shorter than the text Telegram counts after parsing.
    """
    messages: list[str] = []
    header = fit_html(header, limit)
    current = header
    current_heading: str | None = None
    for heading, line in blocks:
        heading = fit_html(heading, limit // 4) if heading is not None else None
        line = fit_html(line, limit - (utf16_len(heading) + 12 if heading is not None else 0))
        addition = ""
        if heading != current_heading:
            addition += f"\n\n{heading}"
        addition += f"\n{line}"
        if utf16_len(current) + utf16_len(addition) > limit:
            if current.strip():
                messages.append(current)
            if heading is None:
                current = line
            elif heading == current_heading:
                current = f"{heading} (cont.)\n{line}"
            else:
                current = f"{heading}\n{line}"
        else:
            current += addition
        current_heading = heading
    messages.append(current)
    return [m.strip("\n") for m in messages if m.strip()]


_TAG = re.compile(r"<[^>]*>")


def fit_html(fragment: str, limit: int) -> str:
    """`fragment` if it fits in `limit` UTF-16 units; else its text without markup, shortened with "…".

    Cutting HTML could leave a tag or an entity open (Telegram then refuses the whole message), so an
    oversized fragment loses its formatting instead.
    """
    if utf16_len(fragment) <= limit:
        return fragment
    text = html.unescape(_TAG.sub("", fragment))
    budget = max(1, limit - 1)
    while budget > 0:
        shortened = html.escape(text[:budget].rstrip()) + "…"
        if utf16_len(shortened) <= limit:
            return shortened
        budget = budget * 9 // 10 if budget > 10 else budget - 1
    return "…"


def digest_json(digest: Digest) -> dict[str, object]:
    return {
        "start": digest.start.isoformat(),
        "end": digest.end.isoformat(),
        "posts": digest.post_count,
        "items": digest.item_count,
        "tag_counts": [[t.display, n] for t, n in digest.tag_counts],
        "sections": [
            {
                "tag": _tag_label(section.tag),
                "items": [
                    {
                        "date": item.first.date.isoformat(),
                        "channel": item.first.channel_label,
                        "text": snippet(item.first.text),
                        "link": item.link,
                        "seen_in": item.channels,
                        "post_ids": [p.id for p in item.posts],
                        "tags": [t.display for t in item.tags],
                        "article": article_json(item.article) if item.article else None,
                        "edited_at": item.edited_at.isoformat() if item.edited_at else None,
                        "deleted": item.deleted,
                    }
                    for item in section.items
                ],
            }
            for section in digest.sections
        ],
    }


def article_json(article: LinkedArticle) -> dict[str, object]:
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "final_url": article.final_url,
        "status": article.status,
        "lang": article.lang,
    }
