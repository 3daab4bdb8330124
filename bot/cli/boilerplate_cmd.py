"""`tgmonitor boilerplate`: the paragraphs each channel repeats under its posts, learned from the archive.

These are left out of digests and search results; listing them shows what is being hidden and why
(how many of the channel's recent posts carry each one).
"""

from __future__ import annotations

import argparse
import json

from bot.app.channel_boilerplate import RECENT_POSTS, LearnedBoilerplate
from bot.cli import argtypes
from bot.cli.context import CliContext
from storage.store import QueryError


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("boilerplate", help="list each channel's learned boilerplate (sign-offs, 'Subscribe…')")
    parser.add_argument("--channel", type=argtypes.channel, help="only this channel: @name, id or title")
    parser.add_argument(
        "--recent",
        type=argtypes.positive_int,
        default=RECENT_POSTS,
        help=f"posts per channel to learn from (default {RECENT_POSTS})",
    )
    parser.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    if args.channel is not None:
        row = store.find_channel(args.channel)
        if row is None:
            raise QueryError(f"unknown channel {args.channel!r}")
        channels = [row]
    else:
        channels = store.channels()
    learner = LearnedBoilerplate(store, recent=args.recent)
    report = [
        {
            "channel": channel.label,
            "paragraph": p.example,
            "posts": p.posts,
            "sampled": round(p.posts / p.share),
            "share": round(p.share, 3),
        }
        for channel in channels
        for p in learner.learned(channel.id)
    ]
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    elif not report:
        print("no learned boilerplate")
    else:
        current = None
        for entry in report:
            if entry["channel"] != current:
                current = entry["channel"]
                print(f"{current} ({entry['sampled']} recent posts)")
            print(f"  {entry['posts']:>4} posts {entry['share']:>5.0%}  {entry['paragraph']}")
    return 0
