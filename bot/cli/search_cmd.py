"""`tgmonitor search QUERY`: full-text search of the archive, newest first."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from bot.app.listing import find_items, seen_in_channels
from bot.cli import argtypes
from bot.cli.argtypes import UsageError
from bot.cli.context import CliContext
from bot.cli.output import post_json, post_line
from bot.core.digest import DigestItem
from bot.core.highlight import Highlighter
from bot.core.learned_boilerplate import strip_learned
from bot.models import StoredPost
from storage.store import QuerySyntaxError


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "search", help='full-text search: a rule (any form of the words, "quotes" exact, OR, -word, #tag, lang:bg...)'
    )
    parser.add_argument(
        "query", nargs="?", help="a rule (docs/sinks-and-rules.md): words, all required; omit to list by filters only"
    )
    parser.add_argument(
        "--tag",
        action="append",
        type=argtypes.tag,
        default=[],
        help="only posts with this tag; repeated, posts with any of them",
    )
    parser.add_argument(
        "--channel", type=argtypes.channel, help="only this channel: @name, id or title (see `tgmonitor channels`)"
    )
    parser.add_argument("--since", help="age like 24h/7d or a date like 2026-11-01")
    parser.add_argument("--limit", type=argtypes.positive_int, default=20, help="at most this many (default 20)")
    parser.add_argument("--offset", type=argtypes.non_negative_int, default=0, help="skip this many results (paging)")
    parser.add_argument("--rank", action="store_true", help="best match first instead of newest first")
    parser.add_argument(
        "--collapse", action="store_true", help="one line per statement: copies and near-duplicates folded"
    )
    parser.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    """A query the rule language cannot read (docs/sinks-and-rules.md) is a usage error: exit 2."""
    try:
        return _run(args, ctx)
    except QuerySyntaxError as exc:
        raise UsageError(str(exc)) from None


def _run(args: argparse.Namespace, ctx: CliContext) -> int:
    since = argtypes.since(args.since, datetime.now(UTC), ctx.settings.tz) if args.since else None
    if args.collapse:
        items, _more = find_items(
            ctx.store,
            offset=args.offset,
            limit=args.limit,
            query=args.query,
            tags=args.tag,
            channel=args.channel,
            since=since,
            order="rank" if args.rank else "newest",
        )
        return _print_collapsed(ctx, items, args)
    posts = ctx.store.search(
        args.query,
        tags=args.tag,
        channel=args.channel,
        since=since,
        limit=args.limit,
        offset=args.offset,
        order="rank" if args.rank else "newest",
    )
    posts = strip_learned(posts, ctx.learned_boilerplate.keys_by_channel(p.channel_id for p in posts))
    highlighter = Highlighter.of(ctx.store.search_index.normaliser, args.query)
    if args.json:
        print(json.dumps([post_json(p) for p in posts], ensure_ascii=False, indent=2))
    elif not posts:
        print("no posts found")
    else:
        print("\n".join(post_line(p, highlighter) for p in posts))
    return 0


def _print_collapsed(ctx: CliContext, items: list[DigestItem], args: argparse.Namespace) -> int:
    """One line per item (--limit/--offset count items, as the bot's pages do), with where it was seen."""
    if args.json:
        shaped = [
            post_json(_shown(ctx, i.first))
            | {"seen_in": seen_in_channels(i, ctx.store), "post_ids": [p.id for p in i.posts]}
            for i in items
        ]
        print(json.dumps(shaped, ensure_ascii=False, indent=2))
    elif not items:
        print("no posts found")
    else:
        print(collapsed_lines(ctx, items, args.query))
    return 0


def _shown(ctx: CliContext, post: StoredPost) -> StoredPost:
    return strip_learned([post], ctx.learned_boilerplate.keys_by_channel([post.channel_id]))[0]


def collapsed_lines(ctx: CliContext, items: list[DigestItem], query: str | None) -> str:
    """Each item by its earliest post (the paragraph that matched, marked), then every channel that
    carried it (bot.app.listing's one meaning)."""
    highlighter = Highlighter.of(ctx.store.search_index.normaliser, query)
    lines = []
    for item in items:
        line = post_line(_shown(ctx, item.first), highlighter)
        channels = seen_in_channels(item, ctx.store)
        if len(channels) > 1:
            line += f"\n    seen in {len(channels)} channels: {', '.join(channels)}"
        lines.append(line)
    return "\n".join(lines)
