"""`tgmonitor digest`: the digest of a window, printed (sending belongs to the scheduler)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from bot.cli.context import CliContext
from bot.core.digest import build_digest, digest_json, render_html, render_text
from bot.core.timeparse import parse_since


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("digest", help="print the digest of recent posts")
    parser.add_argument("--since", default="24h", help="age like 24h/7d or a date (default 24h)")
    parser.add_argument("--tag", action="append", default=[], help="only items with this tag (repeatable)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="machine-readable digest")
    form.add_argument("--html", action="store_true", help="the Telegram HTML messages, separated by ----")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    tz = ctx.settings.tz
    end = datetime.now(UTC)
    start = parse_since(args.since, end, tz)
    posts = ctx.store.posts_between(start, end, tags=args.tag)
    digest = build_digest(posts, start, end)
    if args.json:
        print(json.dumps(digest_json(digest), ensure_ascii=False, indent=2))
    elif args.html:
        print("\n----\n".join(render_html(digest, tz)))
    else:
        print(render_text(digest, tz))
    return 0
