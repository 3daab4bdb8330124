"""`tgmonitor amplifiers`: per channel, the statements it carried from other channels, how often first, how fast."""

from __future__ import annotations

import argparse
import json

from bot.app.analytics import amplifiers_json, analyse, find_source
from bot.cli.context import CliContext
from bot.cli.window_args import add_window, window
from bot.core.spread_render import amplifiers_text


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("amplifiers", help="which channels carry other channels' statements, and how fast")
    add_window(parser)
    parser.add_argument("--source", metavar="CHANNEL", help="only statements that came from this channel (the MFA)")
    parser.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    tz = ctx.settings.tz
    since, until = window(args, tz)
    analysis = analyse(ctx.store, since, until)
    source = find_source(analysis, ctx.store, args.source) if args.source else None
    rows = amplifiers_json(analysis, source)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    span = f"{analysis.since.astimezone(tz):%Y-%m-%d %H:%M} – {analysis.until.astimezone(tz):%Y-%m-%d %H:%M}"
    title = f"Amplifiers, {span}" + (f", statements from {args.source}" if args.source else "")
    print(amplifiers_text(rows, title=title))
    return 0
