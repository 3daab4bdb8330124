"""`tgmonitor digest`: print a digest, or send it now.

`--send` is an ad-hoc send of the window asked for (default: the last 24 h, DIGEST_TAGS unless
--tag is given) and is not recorded in `digests`: the scheduled digest of the same hours still goes
out, exactly once, because schedule and ad-hoc requests are different things. `--due` is the
scheduled path without the service (for a system cron job): the DIGEST_CHAT subscription's due
windows, recorded and exactly once. `--dry-run` prints exactly what `--send` would send.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.app.analytics import amplification_section
from bot.app.digest_jobs import DigestRunner, subscription_digest, sync_settings_subscription, window_posts
from bot.app.rule_alerts import rule_filter
from bot.app.sink_delivery import SinkDelivery, SinkRun, make_sink_delivery
from bot.cli import argtypes
from bot.cli.context import CliContext
from bot.config import Settings
from bot.core.digest import build_digest
from bot.core.digest_render import digest_json, digest_messages, render_html, render_text
from bot.core.rules import RuleError
from bot.core.sink_format import render_digest
from bot.outputs import MessageSender, output_sender
from bot.outputs.sinks import SinkError
from bot.outputs.telegram import TelethonBotSender, start_bot_client

SEPARATOR = "\n----\n"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("digest", help="print the digest of recent posts, or send it")
    parser.add_argument("--since", default="24h", help="age like 24h/7d or a date (default 24h)")
    parser.add_argument(
        "--until",
        help="end of the window: an age like 2d, a date (that whole local day included) or a date and time; "
        "default now",
    )
    parser.add_argument(
        "--channel",
        action="append",
        default=[],
        type=argtypes.channel,
        help="only posts of this channel (@name, id, link or title); repeated, any of them",
    )
    parser.add_argument(
        "--per-section",
        type=argtypes.non_negative_int,
        help="items listed per section before '… and N more' (default DIGEST_SECTION_ITEMS, 15; 0: all)",
    )
    parser.add_argument(
        "--tag",
        action="append",
        type=argtypes.tag,
        default=[],
        help="only items with this tag; repeated, items with any of them",
    )
    parser.add_argument(
        "--amplification",
        action="store_true",
        help="end with the week's amplification section (which channels carried others' statements)",
    )
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="machine-readable digest")
    form.add_argument("--html", action="store_true", help="the Telegram HTML messages, separated by ----")
    form.add_argument(
        "--send",
        action="store_true",
        help="send it now to DIGEST_TO: the chat (DIGEST_CHAT with the bot, or DIGEST_OUTPUT without BOT_TOKEN) "
        "and/or sinks",
    )
    form.add_argument(
        "--dry-run", action="store_true", help="print exactly the messages --send would send; sends nothing"
    )
    form.add_argument(
        "--due",
        action="store_true",
        help="send the scheduled digests that are due for DIGEST_CHAT, recorded and exactly once",
    )
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    settings = ctx.settings
    if args.due:
        return asyncio.run(_send_due(settings, ctx))
    tz = settings.tz
    now = datetime.now(UTC)
    start = argtypes.since(args.since, now, tz)
    end = argtypes.until(args.until, now, tz, start) if args.until else now
    outgoing = args.send or args.dry_run
    tags = tuple(args.tag) or (settings.digest_tags if outgoing else ())
    posts, changes = window_posts(ctx.store, start, end, tags)
    if outgoing and settings.digest_rule:
        try:
            posts = rule_filter(ctx.store, settings.digest_rule)(posts)
        except RuleError as exc:
            raise ValueError(f"DIGEST_RULE: {exc}") from None
    if args.channel:
        wanted = {argtypes.archived_channel(ctx.store, name).id for name in args.channel}
        posts = [p for p in posts if p.channel_id in wanted]
        kept = {p.id for p in posts}
        changes = [c for c in changes if c.post_id in kept]
    per_section = settings.digest_section_items if args.per_section is None else args.per_section
    if outgoing:
        digest = subscription_digest(posts, start, end, tags, changes)
    else:
        digest = build_digest(posts, start, end, changes=changes)
    if args.amplification:
        digest = replace(digest, amplification=amplification_section(ctx.store, end))
    if args.json:
        print(json.dumps(digest_json(digest), ensure_ascii=False, indent=2))
    elif args.html:
        print(SEPARATOR.join(render_html(digest, tz, per_section=per_section or None)))
    elif outgoing:
        to_chat = "telegram" in settings.digest_to
        messages = (
            digest_messages(digest, tz, empty=settings.digest_empty, per_section=per_section or None) if to_chat else []
        )
        delivery = _sinks(ctx)
        others = [n for n in settings.digest_to if n != "telegram"]
        if args.dry_run:
            print(SEPARATOR.join(messages))
            print(f"({len(messages)} message(s); nothing sent)", file=sys.stderr)
            for name in others:
                target = delivery.targets[name] if delivery is not None else None
                if target is not None:
                    rendered = render_digest(digest, tz, target.format, target.limit)
                    print(f"{SEPARATOR}[{name}: {target.format}]\n" + SEPARATOR.join(rendered.parts))
            return 0
        if to_chat:
            sent = asyncio.run(_send(settings, messages))
            print(f"sent {len(sent)} message(s): ids {', '.join(map(str, sent)) or '-'}", file=sys.stderr)
        if delivery is not None and others and not (digest.empty and settings.digest_empty == "skip"):
            # Ad hoc like the chat's, but owed in the outbox: what fails now the service retries.
            delivery.enqueue_digest(f"digest:manual:{end.isoformat()}", digest, tz, others)
            results = asyncio.run(_deliver(delivery, others))
            failed = 0
            for name, result in results.items():
                if result.failed:
                    failed += 1
                    print(f"{name}: not delivered ({result.failed}); owed, retried by `tgmonitor run`", file=sys.stderr)
                else:
                    print(f"{name}: delivered", file=sys.stderr)
            return 1 if failed else 0
    else:
        print(render_text(digest, tz, per_section=per_section or None))
    return 0


def _sinks(ctx: CliContext) -> SinkDelivery | None:
    try:
        return make_sink_delivery(ctx.settings, ctx.store.sink_outbox, retry_base=0.0)
    except SinkError as exc:
        raise ValueError(str(exc)) from None


async def _deliver(delivery: SinkDelivery, names: list[str]) -> dict[str, SinkRun]:
    try:
        results = await asyncio.gather(*(delivery.deliver(n) for n in names))
        return dict(zip(names, results, strict=True))
    finally:
        delivery.close()


async def _open_sender(settings: Settings) -> tuple[MessageSender, Any]:
    """The bot when BOT_TOKEN is set, else stdout / the DIGEST_OUTPUT file; and the client to close."""
    if settings.bot_token:
        if settings.digest_chat is None:
            raise ValueError("DIGEST_CHAT is not set: the bot needs to know where to send the digest")
        client = await start_bot_client(settings)
        return TelethonBotSender(client), client
    return output_sender(settings.digest_output), None


async def _send(settings: Settings, messages: list[str]) -> list[int]:
    sender, client = await _open_sender(settings)
    chat: int | str = settings.digest_chat if settings.digest_chat is not None else 0
    try:
        return [await sender.send_html(chat, message) for message in messages]
    finally:
        if client is not None:
            await client.disconnect()


async def _send_due(settings: Settings, ctx: CliContext) -> int:
    sender, client = await _open_sender(settings)
    try:
        subscriptions = ctx.store.subscriptions
        sub = await sync_settings_subscription(settings, subscriptions, sender)
        if sub is None:
            raise ValueError("DIGEST_CHAT is not set (or DIGEST_OUTPUT for printing): no digest subscription")
        delivery = _sinks(ctx)
        runner = DigestRunner(
            store=ctx.store,
            sender=sender,
            empty=settings.digest_empty,
            amplification=settings.digest_amplification,
            sinks=delivery,
            per_section=settings.digest_section_items or None,
        )
        done = await runner.run_subscription(sub.id)
        if delivery is not None:
            for name, result in (await _deliver(delivery, list(delivery.targets))).items():
                if result.sent or result.failed:
                    state = f"not delivered ({result.failed}); owed" if result.failed else "delivered"
                    print(f"{name}: {len(result.sent)} {state}", file=sys.stderr)
    finally:
        if client is not None:
            await client.disconnect()
    for record in done:
        print(
            f"sent window {record.window.start:%Y-%m-%d %H:%M} → {record.window.end:%Y-%m-%d %H:%M} UTC "
            f"in {record.parts_total} message(s)",
            file=sys.stderr,
        )
    if not done:
        print("nothing due", file=sys.stderr)
    return 0
