"""`tgmonitor stats`: what the archive holds."""

from __future__ import annotations

import argparse
import json

from bot.cli.context import CliContext


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("stats", help="counts of posts, items, channels and tags")
    parser.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    stats = ctx.store.stats()
    stats["top_tags"] = [[t.display, n] for t, n in ctx.store.top_tags(limit=10)]
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return 0
    print(f"posts {stats['posts']} ({stats['items']} distinct items, {stats['deleted']} deleted)")
    print(f"channels {stats['channels']}, tags {stats['tags']}, from {stats['first_post']} to {stats['last_post']}")
    for ch in stats["per_channel"]:
        error = f", error: {ch['last_error']}" if ch["last_error"] else ""
        print(f"  {ch['channel']}: {ch['posts']} posts, last id {ch['last_message_id']}{error}")
    if stats["top_tags"]:
        print("top tags: " + ", ".join(f"{t} {n}" for t, n in stats["top_tags"]))
    return 0
