"""`tgmonitor sources --unmonitored [--add [NAME ...]]`: channels feeding your channels that you do not read."""

from __future__ import annotations

import argparse
import json
import sys

from bot.app.analytics import analyse, sources_json, watchable
from bot.cli.argtypes import UsageError, positive_int
from bot.cli.context import CliContext
from bot.cli.window_args import add_window, window
from bot.core.spread_render import sources_text


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("sources", help="forward sources of the monitored channels that are not monitored")
    parser.add_argument("--unmonitored", action="store_true", required=True, help="list the sources not monitored")
    add_window(parser)
    parser.add_argument("--limit", type=positive_int, default=20, help="how many sources (default 20)")
    parser.add_argument(
        "--add",
        nargs="*",
        metavar="NAME",
        help="add sources to the watch list, as /watch does: the named ones (@name, id or name as listed), "
        "or without names the top --top ones",
    )
    parser.add_argument("--top", type=positive_int, default=3, help="how many --add takes without names (default 3)")
    parser.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    tz = ctx.settings.tz
    since, until = window(args, tz)
    analysis = analyse(ctx.store, since, until)
    rows = sources_json(analysis, ctx.store, limit=args.limit)
    if args.add is not None:
        chosen = _chosen(rows, args.add, args.top)
        for row in chosen:
            ref = watchable(row)
            if ref is None:
                print(f"{row['name']}: no username or id known, cannot watch it", file=sys.stderr)
                continue
            ctx.store.set_watched(ref, True)
            print(f"watching {ref.label}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        span = f"{analysis.since.astimezone(tz):%Y-%m-%d %H:%M} – {analysis.until.astimezone(tz):%Y-%m-%d %H:%M}"
        print(sources_text(rows, tz, title=f"Sources forwarded into the monitored channels, not monitored, {span}"))
    return 0


def _chosen(rows: list[dict[str, object]], names: list[str], top: int) -> list[dict[str, object]]:
    if not names:
        return rows[:top]
    chosen = []
    for name in names:
        wanted = name.strip().lstrip("@").casefold()
        match = next(
            (
                r
                for r in rows
                if wanted
                in {str(r.get("username") or "").casefold(), str(r.get("tg_id") or ""), str(r["name"]).casefold()}
                or name == r["source"]
            ),
            None,
        )
        if match is None:
            raise UsageError(f"--add {name}: not among the unmonitored sources listed (see the list without --add)")
        chosen.append(match)
    return chosen
