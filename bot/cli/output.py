"""Plain-text and JSON shapes of archive rows for the terminal."""

from __future__ import annotations

from typing import Any

from bot.core.digest import snippet
from bot.models import StoredPost


def post_json(post: StoredPost) -> dict[str, Any]:
    return {
        "id": post.id,
        "channel": post.channel_label,
        "message_id": post.message_id,
        "date": post.date.isoformat(),
        "url": post.url,
        "origin_key": post.origin_key,
        "lang": post.lang,
        "tags": [t.display for t in post.tags if t.kind != "lang"],
        "forwarded_from": post.forward_name,
        "text": post.text,
    }


def focus(text: str, query: str | None) -> str:
    """The snippet of the first paragraph that holds a query word, so a hit shows why it matched."""
    words = [w.casefold() for w in (query or "").split() if len(w) > 1]
    for paragraph in text.split("\n\n"):
        folded = paragraph.casefold()
        if words and any(w in folded for w in words):
            return snippet(paragraph)
    return snippet(text)


def post_line(post: StoredPost, query: str | None = None) -> str:
    tags = " ".join(t.display for t in post.tags if t.kind == "hashtag")
    head = f"[{post.id}] {post.date:%Y-%m-%d %H:%M} {post.channel_label}"
    if post.forward_name:
        head += f" (fwd {post.forward_name})"
    body = focus(post.text, query) or f"[{post.media_kind or 'media'}]"
    return f"{head}\n    {body}\n    {post.url or ''} {tags}"
