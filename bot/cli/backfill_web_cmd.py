"""`tgmonitor backfill-web CHANNEL`: a public channel's history from its t.me/s/ page, no credentials."""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime

from bot.cli.context import CliContext
from bot.cli.progress import ProgressBar
from bot.core.timeparse import parse_since
from bot.sources.web_preview import backfill_web, resolve_channel


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "backfill-web", help="fetch a public channel's history from https://t.me/s/CHANNEL (no login)"
    )
    parser.add_argument("channel", help="@name, name, https://t.me/name or t.me/s/name")
    parser.add_argument("--since", help="go back to this age or date: 24h, 7d, 2026-11-01")
    parser.add_argument("--limit", type=int, help="at most this many posts (newest first)")
    parser.add_argument(
        "--delay", type=float, default=1.0, help="seconds between pages, to stay under t.me's rate limit"
    )
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    name = resolve_channel(args.channel)
    if args.limit is not None and args.limit <= 0:
        raise ValueError("--limit must be a positive number")
    since = parse_since(args.since, datetime.now(UTC), ctx.settings.tz) if args.since else None
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
