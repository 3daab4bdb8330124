"""`tgmonitor backfill-web CHANNEL`: a public channel's history from its t.me/s/ page, no credentials."""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime

from bot.cli import argtypes
from bot.cli.context import CliContext
from bot.cli.progress import ProgressBar
from bot.core.channels import parse_channel
from bot.sources.web_preview import backfill_web, resolve_channel

WRITES = True  # may create the archive (bot/cli/context.py)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "backfill-web", help="fetch a public channel's history from https://t.me/s/CHANNEL (no login)"
    )
    parser.add_argument(
        "channel",
        type=argtypes.channel,
        help="@name, name, https://t.me/name, t.me/s/name, or the title of an archived channel",
    )
    parser.add_argument("--since", help="go back to this age or date: 24h, 7d, 2026-11-01")
    parser.add_argument("--limit", type=argtypes.positive_int, help="at most this many posts (newest first)")
    parser.add_argument(
        "--delay",
        type=argtypes.non_negative_seconds,
        default=1.0,
        help="seconds between pages, to stay under t.me's rate limit",
    )
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        name = resolve_channel(args.channel)
    except ValueError:
        if parse_channel(args.channel, titles=True).title is None:
            raise
        row = argtypes.archived_channel(ctx.store, args.channel)  # a title ("Serbia Today")
        if not row.username:
            raise ValueError(f"{row.label} has no @username: only public channels have a web preview") from None
        name = row.username
    since = argtypes.since(args.since, datetime.now(UTC), ctx.settings.tz) if args.since else None
    bar = ProgressBar(args.limit, f"@{name}")
    try:
        result = asyncio.run(
            backfill_web(
                ctx.ingest,
                ctx.store,
                name,
                base_url=ctx.settings.web_preview_base,
                since=since,
                limit=args.limit,
                progress=bar,
                page_delay=max(0.0, args.delay),
            )
        )
    finally:
        bar.close()
    if args.json:
        print(json.dumps(asdict(result) | {"new_ids": len(result.new_ids)}))
    else:
        print(f"@{name}: {result.inserted} new, {result.updated} updated, {result.unchanged} unchanged")
    return 0
