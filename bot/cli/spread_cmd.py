"""`tgmonitor spread REF [--json]`: who carried one statement, how (forward, copy, paraphrase) and how fast."""

from __future__ import annotations

import argparse
import json

from bot.app.analytics import resolve_ref, spread_json
from bot.cli.context import CliContext
from bot.core.spread_render import spread_text
from storage.spread_reads import SpreadReads


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("spread", help="who carried a statement and how fast: a timeline of its carriers")
    parser.add_argument(
        "ref", metavar="REF", help="an archive post id, or a post link (https://t.me/NAME/MSG, https://t.me/c/ID/MSG)"
    )
    parser.add_argument("--json", action="store_true", help="statement, origin and carriers as JSON")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    post_id = resolve_ref(SpreadReads(ctx.store), args.ref)
    shown = spread_json(ctx.store, post_id)
    if args.json:
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        print(spread_text(shown, ctx.settings.tz))
    return 0
