"""`tgmonitor channels [--json]`: the channels in the archive, with every name `--channel` accepts.

Desktop exports carry no usernames and the web preview no ids, so a channel may be known by only
some of id, @username and title; any one of them names it (bot/core/channels.py).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

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
    rows: list[dict[str, Any]] = []
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
    elif not rows:
        print("no channels in the archive")
    else:
        print(_table(rows))
        print("\nany of id, @username or title names a channel for --channel (quote a title with spaces)")
    return 0


def _table(rows: list[dict[str, Any]]) -> str:
    cells = [("id", "username", "title", "posts", "last post")]
    for row in rows:
        last = str(row["last_post"])[:16].replace("T", " ") if row["last_post"] else "-"
        username = f"@{row['username']}" if row["username"] else "-"
        cells.append((str(row["id"] or "-"), username, str(row["title"] or "-"), str(row["posts"]), last))
    widths = [max(len(line[i]) for line in cells) for i in range(5)]
    lines = []
    for ident, username, title, posts, last in cells:
        lines.append(
            f"{ident.ljust(widths[0])}  {username.ljust(widths[1])}  {title.ljust(widths[2])}  "
            f"{posts.rjust(widths[3])}  {last}".rstrip()
        )
    return "\n".join(lines)
