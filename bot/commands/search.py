"""/search, /latest, /tag and /tags: finding stories in the archive."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import timedelta

from bot.commands.args import parse_search, positive
from bot.commands.deps import CommandDeps, UsageError
from bot.commands.items import item_page
from bot.commands.paging import paged, range_text
from bot.commands.text import label, plural, reply_of, short
from bot.core.numbers import ascii_int, is_ascii_digits
from bot.models import Chat, Reply, User
from storage.store import quote_fts

SEARCH_PAGE = 5
LATEST_DEFAULT, LATEST_MAX = 10, 50
TAGS_DEFAULT, TAGS_MAX = 20, 100


def cmd_search(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    parsed = parse_search(args, deps)
    if not quote_fts(parsed.words):
        parsed = replace(parsed, words="")  # only quotes or nothing: no words to match
    if not (parsed.words or parsed.tags or parsed.channel):
        raise UsageError("Tell me what to look for: some words, a #tag or an @channel.")
    return item_page(
        deps,
        code="s",
        args=args,
        offset=offset,
        limit=SEARCH_PAGE,
        title=f"Search: {short(args)}",
        empty=f"Nothing found for {short(args)}. All words must appear; try fewer words or drop a filter.",
        query=parsed.words or None,
        tags=parsed.tags,
        channel=parsed.channel,
        since=parsed.since,
    )


def cmd_latest(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    count, tags = LATEST_DEFAULT, []
    for token in args.split():
        if is_ascii_digits(token):  # a huge count is the maximum, never an int() of 5,000 digits
            count = max(1, min(ascii_int(token) or LATEST_MAX, LATEST_MAX))
        elif token.startswith("#") and len(token) > 1:
            tags.append(token[1:].casefold())
        else:
            raise UsageError(f"I did not understand {short(token, 30)!r}: give a count (up to {LATEST_MAX}) and #tags.")
    label = " ".join("#" + t for t in tags)
    return item_page(
        deps,
        code="l",
        args=args,
        offset=offset,
        limit=count,
        title=f"Latest {label}".strip(),
        empty=f"No posts tagged {label} yet." if tags else "The archive is empty so far.",
        tags=tags,
    )


def cmd_tag(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    names = args.split()
    if len(names) != 1 or not names[0].lstrip("#"):
        raise UsageError("Name one tag, like /tag serbia.")
    name = names[0].lstrip("#").casefold()
    return item_page(
        deps,
        code="t",
        args=args,
        offset=offset,
        limit=SEARCH_PAGE,
        title=f"Tag #{short(name, 40)}",
        empty=f"No posts tagged {short(name, 40)}. /tags lists the tags of the last 7 days.",
        tags=[name],
    )


def cmd_tags(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    count = TAGS_DEFAULT
    if args.strip():
        count = max(1, min(positive(args.strip(), "The number of tags"), TAGS_MAX))
    since = deps.now() - timedelta(days=7)
    rows = deps.store.top_tags(since=since, limit=offset + count + 1, kinds=("hashtag", "topic"))
    page = rows[offset : offset + count]
    if not page:
        return reply_of("No tags in the last 7 days." if offset == 0 else "No more tags.")
    more = len(rows) > offset + count
    header = f"<b>Top tags, last 7 days</b> · {range_text(offset, len(page), None if more else len(rows))}\n"
    blocks = [
        f"{offset + i + 1}. {html.escape(label(tag.display))} — {plural(n, 'post')}" for i, (tag, n) in enumerate(page)
    ]
    blocks[-1] += "\n\n/tag NAME lists a tag's posts."
    return paged(
        header, blocks, code="g", args=args, offset=offset, limit=count, more=more, pages=deps.pages, gap=False
    )
