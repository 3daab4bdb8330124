"""`tgmonitor backfill CHANNEL [--since DATE] [--limit N]`: older history through the user client.

Resumable: each committed page records how far down it got, so re-running the same command after an
interruption continues below that point instead of starting over (`--restart` starts over).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from bot.cli.context import CliContext
from bot.cli.progress import ProgressBar
from bot.core.timeparse import parse_since
from bot.models import SaveResult
from bot.sources.media import MediaDownloader
from bot.sources.telethon_source import TelethonSource, parse_channel_ident
from bot.telegram.client import TelegramEdge, TelethonClientEdge, make_user_client


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "backfill", help="fetch a channel's older history with your Telegram account (resumable; needs login)"
    )
    parser.add_argument("channel", help="@name, https://t.me/name link or numeric channel id")
    parser.add_argument("--since", help="go back to this age or date: 24h, 7d, 2026-11-01")
    parser.add_argument("--limit", type=int, help="at most this many messages in this run")
    parser.add_argument(
        "--restart", action="store_true", help="start again from the newest message instead of resuming"
    )
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    return parser


def progress_adapter(bar: ProgressBar) -> Callable[[int, int | None], None]:
    """The source reports (done, estimated total); the shared bar counts increments."""

    def report(done: int, total: int | None) -> None:
        bar.total = total
        bar(done - bar.done)

    return report


async def backfill_with_edge(
    args: argparse.Namespace, ctx: CliContext, edge: TelegramEdge, since: datetime | None
) -> SaveResult:
    settings = ctx.settings
    source = TelethonSource(
        edge,
        ctx.ingest,
        ctx.store,
        forwards_from=settings.forwards_from,
        media=MediaDownloader.from_settings(edge, settings),
    )
    bar = ProgressBar(args.limit, str(args.channel))
    try:
        return await source.backfill(
            args.channel, since=since, limit=args.limit, progress=progress_adapter(bar), restart=args.restart
        )
    finally:
        bar.close()


async def _backfill(args: argparse.Namespace, ctx: CliContext, since: datetime | None) -> SaveResult:
    client: Any = make_user_client(ctx.settings)
    await client.connect()
    try:
        if not await client.is_user_authorized():
            raise RuntimeError("not logged in to Telegram: run `tgmonitor login` first (or set TG_SESSION)")
        return await backfill_with_edge(args, ctx, TelethonClientEdge(client), since)
    finally:
        await client.disconnect()


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    parse_channel_ident(args.channel)  # a typo fails here, before connecting
    if args.limit is not None and args.limit <= 0:
        raise ValueError("--limit must be a positive number")
    since = parse_since(args.since, datetime.now(UTC), ctx.settings.tz) if args.since else None
    result = asyncio.run(_backfill(args, ctx, since))
    if args.json:
        print(json.dumps(asdict(result) | {"new_ids": len(result.new_ids)}))
    else:
        print(f"{args.channel}: {result.inserted} new, {result.updated} updated, {result.unchanged} unchanged")
    return 0
