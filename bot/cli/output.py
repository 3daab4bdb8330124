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


def post_line(post: StoredPost) -> str:
    tags = " ".join(t.display for t in post.tags if t.kind == "hashtag")
    head = f"[{post.id}] {post.date:%Y-%m-%d %H:%M} {post.channel_label}"
    if post.forward_name:
        head += f" (fwd {post.forward_name})"
    return f"{head}\n    {snippet(post.text) or '[' + (post.media_kind or 'media') + ']'}\n    {post.url or ''} {tags}"
