"""`tgmonitor channels [--json]`: the channels in the archive, with every name `--channel` accepts.

Desktop exports carry no usernames and the web preview no ids, so a channel may be known by only
some of id, @username and title; any one of them names it (bot/core/channels.py).
"""

from __future__ import annotations

import argparse
import json

from bot.cli.context import CliContext


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "channels", help="list the archived channels: id, @username, title, posts (any of them names a --channel)"
    )
    parser.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    counts = store.channel_post_counts()
    rows = []
    for channel in store.channels():
        posts, last = counts.get(channel.id, (0, None))
        rows.append(
            {
                "id": channel.tg_id,
                "username": channel.username,
                "title": channel.title,
                "posts": posts,
                "last_post": last.isoformat() if last else None,
                "source": channel.source,
                "watched": channel.watched,
            }
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no channels in the archive")
        return 0
    table = [("id", "username", "title", "posts", "last post")]
    for row in rows:
        last = row["last_post"][:16].replace("T", " ") if row["last_post"] else "-"
        table.append(
            (
                str(row["id"] or "-"),
                "@" + row["username"] if row["username"] else "-",
                row["title"] or "-",
                str(row["posts"]),
                last,
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        ident, username, title, posts, last = (cell.ljust(w) for cell, w in zip(r, widths, strict=True))
        print(f"{ident}  {username}  {title}  {posts.strip().rjust(widths[3])}  {last}".rstrip())
    print("\nany of id, @username or title names a channel for --channel (quote a title with spaces)")
    return 0
