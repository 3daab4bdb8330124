"""What a feed entry says about a statement or a digest: pure, on the archive's dataclasses.

A statement is a `DigestItem` as `bot.core.digest.fold_items` folds it (the digest's rule, so a
feed, a digest and a search agree on what "one statement" is); its carriers are every post carrying
it across the archive (`bot.app.listing` finds them). The entry's id is derived from the statement's
first *stored* post (the smallest archive id among its posts and copies): a copy that arrives later has a
larger id, and an edit keeps the post's id, so neither changes the id; an edit moves `updated`.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Sequence
from datetime import datetime

from bot.core.digest import DigestItem
from bot.core.digest_render import snippet
from bot.core.feeds import FeedEntry
from bot.core.telegram_text import strip_bidi
from bot.core.text_links import Placement, line_html
from bot.models import StoredPost, TextLink

TITLE_CHARS = 120
SUMMARY_CHARS = 400
_NAMESPACE = uuid.UUID("5b7f0c1e-6a3e-4f0e-9d51-2f7d3c1a9e44")  # tgmonitor's: ids no other tool makes


def stable_id(*parts: object) -> str:
    """`urn:uuid:…` from parts that name a thing in the archive: an IRI every feed format accepts."""
    return uuid.uuid5(_NAMESPACE, "\x1f".join(str(p) for p in parts)).urn


def statement_id(item: DigestItem, copies: Sequence[StoredPost] = ()) -> str:
    """The statement's entry id: its first stored post's channel and message (not its date order),
    over its copies across the archive too, so a tag feed and a channel feed give it the same id."""
    anchor = min([*item.posts, *copies], key=lambda p: p.id)
    return stable_id("post", anchor.channel_id, anchor.message_id)


def post_link(post: StoredPost, base_url: str) -> str:
    """The post on Telegram, else its page in the web viewer (always absolute)."""
    if post.url and post.url.startswith(("https://", "http://")):
        return post.url
    return f"{base_url}/post/{post.id}"


def _paragraphs_html(text: str, links: Sequence[TextLink] = ()) -> str:
    """Paragraphs escaped, hidden links beside their words (bot/core/text_links.py)."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    placed = Placement()
    return "".join(
        f"<p>{'<br>'.join(line_html(line, links, placed) for line in p.split(chr(10)))}</p>" for p in paragraphs
    )


def title_of(post: StoredPost) -> str:
    line = next((line.strip() for line in post.text.splitlines() if line.strip()), "")
    if not line:
        return f"[{post.media_kind or 'media'}] {strip_bidi(post.channel_label)}"
    line = strip_bidi(line)
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def carrier_list(item: DigestItem, copies: Sequence[StoredPost]) -> list[StoredPost]:
    """One post per channel carrying the statement (its earliest there), oldest first."""
    first: dict[int, StoredPost] = {}
    for post in sorted([*item.posts, *copies], key=lambda p: (p.date, p.id)):
        first.setdefault(post.channel_id, post)
    return list(first.values())


def statement_entry(item: DigestItem, copies: Sequence[StoredPost], base_url: str) -> FeedEntry:
    """The entry for one statement; `copies` are its other carriers across the archive (may repeat posts)."""
    post = item.first
    carriers = carrier_list(item, copies)
    link = item.link or post_link(post, base_url)
    if not link.startswith(("https://", "http://")):
        link = post_link(post, base_url)
    esc = html.escape
    parts = [_paragraphs_html(post.text, post.text_links) or f"<p>[{esc(post.media_kind or 'media')}]</p>"]
    if post.sender is not None:
        parts.append(f"<p>Sender: <b>{esc(strip_bidi(post.sender.label))}</b></p>")
    if post.forward_name:
        parts.append(f"<p>Forwarded from <b>{esc(strip_bidi(post.forward_name))}</b></p>")
    links = ", ".join(
        f'<a href="{esc(post_link(c, base_url), quote=True)}">{esc(strip_bidi(c.channel_label))}</a>' for c in carriers
    )
    count = len(carriers)
    parts.append(f"<p>Seen in {count} channel{'s' if count != 1 else ''}: {links}</p>")
    parts.append(f'<p><a href="{esc(link, quote=True)}">Original post</a></p>')
    tags = [t.display for t in item.tags if t.kind != "lang"]
    return FeedEntry(
        id=statement_id(item, copies),
        title=title_of(post),
        link=link,
        content_html="".join(parts),
        summary=snippet(post.text, SUMMARY_CHARS) or f"[{post.media_kind or 'media'}]",
        published=post.date,
        updated=max(post.date, *(p.edit_date or p.date for p in item.posts)),
        categories=tuple(dict.fromkeys(tags)),
        author=strip_bidi(post.channel_label),
    )


def digest_entry(
    subscription_id: int, title: str, window_end: datetime, sent_at: datetime, messages: Sequence[str], link: str
) -> FeedEntry:
    """One digest as sent: its Telegram HTML messages (<b>, <i>, <a>, newlines) as the entry's HTML."""
    body = "".join(f"<div>{m.replace(chr(10), '<br>' + chr(10))}</div>" for m in messages)
    plain = html.unescape(re.sub(r"<[^>]+>", "", messages[0])) if messages else ""
    return FeedEntry(
        id=stable_id("digest", subscription_id, window_end.isoformat()),
        title=title,
        link=link,
        content_html=body,
        summary=snippet(plain, SUMMARY_CHARS),
        published=sent_at,
        updated=sent_at,
    )


def newest_date(posts: Sequence[StoredPost]) -> datetime | None:
    return max((p.edit_date or p.date for p in posts), default=None)
