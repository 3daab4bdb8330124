"""Plain-text and JSON shapes of archive rows for the terminal."""

from __future__ import annotations

import sys
from typing import Any

from bot.core.digest_render import article_json, snippet
from bot.core.highlight import ANSI_BOLD, PLAIN_MARKS, Highlighter
from bot.models import Article, StoredPost


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
        "sender": None if post.sender is None else {"name": post.sender.name, "id": post.sender.id},
        "time_approximate": post.approx_time,
        "text": post.text,
        "text_links": [{"text": link.text, "url": link.url} for link in post.text_links],
        "articles": [article_json(a) for a in post.articles],
        "matched": None
        if post.article_match is None
        else {
            "in": "article",
            "article_id": post.article_match.article_id,
            "title": post.article_match.title,
            "excerpt": post.article_match.excerpt,
        },
    }


def full_article_json(article: Article) -> dict[str, Any]:
    """Everything archived about one linked page, its text included."""
    return {
        "id": article.id,
        "url": article.url,
        "final_url": article.final_url,
        "canonical_url": article.canonical_url,
        "status": article.status,
        "title": article.title,
        "author": article.author,
        "published": article.published,
        "site": article.sitename,
        "lang": article.lang,
        "tags": [t.display for t in article.tags],
        "fetched_at": article.fetched_at.isoformat() if article.fetched_at else None,
        "http_status": article.http_status,
        "error": article.error,
        "content_hash": article.content_hash,
        "text": article.text,
    }


def marks() -> tuple[str, str]:
    """Bold on a terminal, like grep --color; `**match**` in a file or a pipe."""
    return ANSI_BOLD if sys.stdout.isatty() else PLAIN_MARKS


def post_head(post: StoredPost) -> str:
    """`[id] date UTC channel`, the time marked when approximate, who wrote it in a group, the forward."""
    head = f"[{post.id}] {post.date:%Y-%m-%d %H:%M} UTC"
    if post.approx_time:
        head += " (approximate)"  # the exporter's wall clock taken as UTC
    head += f" {post.channel_label}"
    if post.sender is not None:
        who = post.sender
        head += f" · {who.name} ({who.id})" if who.name and who.id else f" · {who.label}"
    if post.forward_name:
        head += f" (fwd {post.forward_name})"
    return head


def post_line(post: StoredPost, highlighter: Highlighter | None = None) -> str:
    """A hit: its head, the paragraph that matched with the matches marked (else the first sentence)."""
    tags = " ".join(t.display for t in post.tags if t.kind == "hashtag")
    head = post_head(post)
    body = highlighter.excerpt(post.text, post.lang, marks()) if highlighter else snippet(post.text)
    body = body or f"[{post.media_kind or 'media'}]"
    line = f"{head}\n    {body}"
    match = post.article_match
    if match is not None:
        title = f" «{match.title}»" if match.title else ""
        line += f"\n    matched in the linked article{title}: {match.excerpt}"
    else:
        titles = [a.title for a in post.articles if a.title and a.status == "done"]
        if titles:
            line += f"\n    article: {titles[0]}"
    return f"{line}\n    {post.url or ''} {tags}"
