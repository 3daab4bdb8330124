"""`tgmonitor backfill CHANNEL [--since DATE] [--limit N]`: older history through the user client.

Resumable: each committed page records how far down it got, so re-running the same command after an
interruption continues below that point instead of starting over (`--restart` starts over).
With TELEGRAM_ACCOUNTS it reads with the account the channel is assigned to (or `--account NAME`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from bot.cli import argtypes
from bot.cli.argtypes import UsageError
from bot.cli.context import CliContext
from bot.cli.progress import ProgressBar
from bot.config import Settings
from bot.models import SaveResult
from bot.service.account_book import assigned_account
from bot.sources.media import MediaDownloader
from bot.sources.telethon_source import ChannelResolveError, TelethonSource, parse_channel_ident
from bot.telegram.client import TelegramEdge, TelethonClientEdge, make_user_client
from storage.store import Store

WRITES = True  # may create the archive (bot/cli/context.py)


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "backfill", help="fetch a channel's older history with your Telegram account (resumable; needs login)"
    )
    parser.add_argument(
        "channel",
        type=argtypes.channel,
        help="@name, https://t.me/name link, numeric channel id, or the title of an archived channel",
    )
    parser.add_argument("--since", help="go back to this age or date: 24h, 7d, 2026-11-01")
    parser.add_argument("--limit", type=argtypes.positive_int, help="at most this many messages in this run")
    parser.add_argument(
        "--restart", action="store_true", help="start again from the newest message instead of resuming"
    )
    parser.add_argument(
        "--account",
        metavar="NAME",
        help="with TELEGRAM_ACCOUNTS: read with this account (default: the one the channel is assigned to)",
    )
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    return parser


def reading_account(settings: Settings, store: Store, channel: str, name: str | None) -> tuple[Settings, str | None]:
    """The settings backfill connects with, and the account's name: the one account (None), or with
    TELEGRAM_ACCOUNTS the one named by --account, else the account the channel is assigned to
    (as `tgmonitor accounts` shows it; docs/accounts.md)."""
    if not settings.accounts:
        if name is not None:
            raise UsageError("--account: TELEGRAM_ACCOUNTS is not set; there is one account (API_ID, TG_SESSION)")
        return settings, None
    if name is None:
        name = assigned_account(settings, store, channel)
        why = "the account it is assigned to"
        if name is None:
            name, why = settings.accounts[0].name, "no account has room for it: the first account"
        print(f"backfill {channel}: reading with account {name} ({why}; --account picks another)", file=sys.stderr)
    account = settings.account(name)
    if account is None:
        known = ", ".join(a.name for a in settings.accounts)
        raise UsageError(f"--account {name}: no such account; TELEGRAM_ACCOUNTS has {known}")
    return settings.for_account(account), name


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


async def backfill_as(
    args: argparse.Namespace,
    ctx: CliContext,
    since: datetime | None,
    settings: Settings,
    *,
    account: str | None = None,
    client_factory: Callable[[Settings], Any] = make_user_client,
) -> SaveResult:
    """Connect as `settings` say (one account's session and API credentials: `account`) and backfill."""
    client: Any = client_factory(settings)
    await client.connect()
    try:
        if not await client.is_user_authorized():
            if account is None:
                raise RuntimeError("not logged in to Telegram: run `tgmonitor login` first (or set TG_SESSION)")
            raise RuntimeError(
                f"account {account} is not logged in to Telegram: run `tgmonitor login --account {account}` "
                "first, or pick another with --account"
            )
        return await backfill_with_edge(args, ctx, TelethonClientEdge(client), since)
    finally:
        await client.disconnect()


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        parse_channel_ident(args.channel)  # a typo fails here, before connecting
    except ChannelResolveError:
        row = argtypes.archived_channel(ctx.store, args.channel)  # a title ("Serbia Today")
        args.channel = f"@{row.username}" if row.username else str(row.tg_id)
    since = argtypes.since(args.since, datetime.now(UTC), ctx.settings.tz) if args.since else None
    settings, account = reading_account(ctx.settings, ctx.store, args.channel, args.account)
    result = asyncio.run(backfill_as(args, ctx, since, settings, account=account))
    if args.json:
        print(json.dumps(asdict(result) | {"new_ids": len(result.new_ids)}))
    else:
        print(f"{args.channel}: {result.inserted} new, {result.updated} updated, {result.unchanged} unchanged")
    return 0
