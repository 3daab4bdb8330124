"""Item lists in bot replies: one block per statement, with its link and "seen in N channels"."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from bot.app.listing import find_items, seen_in
from bot.commands.deps import CommandDeps, UsageError
from bot.commands.paging import encode_page, paged, range_text
from bot.commands.text import label, reply_of, short
from bot.core.digest import DigestItem
from bot.core.digest_render import post_line
from bot.core.highlight import Highlighter
from bot.core.telegram_text import FSI, PDI, isolate, strip_bidi
from bot.models import Reply
from storage.store import QueryError


def isolate_marked(fragment: str) -> str:
    """An excerpt with <b> marks, as one direction run when it holds right-to-left letters."""
    return f"{FSI}{fragment}{PDI}" if isolate(fragment) != fragment else fragment


def item_block(number: int, item: DigestItem, deps: CommandDeps, highlighter: Highlighter | None = None) -> str:
    """One result; for a search, the paragraph that matched with the matching words in bold."""
    post = item.first
    if highlighter is not None and post.text:
        text = highlighter.excerpt(post.text, post.lang, ("<b>", "</b>"), lambda s: html.escape(strip_bidi(s)))
        text = isolate_marked(text)
    else:
        text = html.escape(isolate(post_line(post)))
    forwarded = f" (fwd {html.escape(label(post.forward_name))})" if post.forward_name else ""
    line = (
        f"<b>{number}.</b> <i>{html.escape(deps.when(post.date))}</i> · "
        f"{html.escape(isolate(label(post.channel_label)))}{forwarded} — {text}"
    )
    match = next((p.article_match for p in item.posts if p.article_match is not None), None)
    if match is not None:
        title = f"«{html.escape(short(match.title, 80))}»: " if match.title else ""
        line += f"\n📄 <i>matched in the linked article</i> {title}{html.escape(short(match.excerpt, 200))}"
    elif item.article is not None and item.article.title:
        line += f"\n📄 {html.escape(short(item.article.title, 100))}"
    extras = [f"/post_{post.id}"]
    if item.link:
        extras.append(f'<a href="{html.escape(item.link, quote=True)}">open</a>')
    count = seen_in(item, deps.store)
    if count > 1:
        extras.append(f"seen in {count} channels")
    return f"{line}\n{' · '.join(extras)}"


def item_page(
    deps: CommandDeps,
    *,
    code: str,
    args: str,
    offset: int,
    limit: int,
    title: str,
    empty: str,
    query: str | None = None,
    tags: Sequence[str] = (),
    channel: str | None = None,
    since: datetime | None = None,
) -> Reply:
    try:
        page, more = find_items(
            deps.store, offset=offset, limit=limit, query=query, tags=tags, channel=channel, since=since
        )
    except QueryError as exc:
        if "interrupted" in str(exc):
            raise  # out of time: the router says so
        raise UsageError(
            f"I could not run that search ({exc}). All words must appear (any of their forms); "
            "try fewer or plainer words."
        ) from exc
    if not page:
        if offset == 0:
            return reply_of(html.escape(empty))
        back = encode_page(code, max(0, offset - limit), args, deps.pages)
        return reply_of("No more results.", ((("« Prev", back),),))
    span = range_text(offset, len(page), None if more else offset + len(page))
    header = f"<b>{html.escape(title)}</b> · {span}, newest first"
    highlighter = Highlighter.of(deps.store.search_index.normaliser, query) if query else None
    blocks = [item_block(offset + i + 1, item, deps, highlighter) for i, item in enumerate(page)]
    return paged(header, blocks, code=code, args=args, offset=offset, limit=limit, more=more, pages=deps.pages)
