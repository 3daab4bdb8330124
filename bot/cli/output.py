"""Plain-text and JSON shapes of archive rows for the terminal."""

from __future__ import annotations

import sys
from typing import Any

from bot.core.digest import snippet
from bot.core.highlight import ANSI_BOLD, PLAIN_MARKS, Highlighter
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


def marks() -> tuple[str, str]:
    """Bold on a terminal, like grep --color; `**match**` in a file or a pipe."""
    return ANSI_BOLD if sys.stdout.isatty() else PLAIN_MARKS


def post_line(post: StoredPost, highlighter: Highlighter | None = None) -> str:
    """A hit: its head, the paragraph that matched with the matches marked (else the first sentence)."""
    tags = " ".join(t.display for t in post.tags if t.kind == "hashtag")
    head = f"[{post.id}] {post.date:%Y-%m-%d %H:%M} {post.channel_label}"
    if post.forward_name:
        head += f" (fwd {post.forward_name})"
    body = highlighter.excerpt(post.text, post.lang, marks()) if highlighter else snippet(post.text)
    body = body or f"[{post.media_kind or 'media'}]"
    return f"{head}\n    {body}\n    {post.url or ''} {tags}"
