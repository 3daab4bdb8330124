"""`tgmonitor graph --format gexf|graphml|csv|json [-o FILE]`: the forward network, for Gephi or networkx."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bot.app.analytics import analyse, graph_json
from bot.cli.context import CliContext
from bot.cli.window_args import add_window, window
from bot.core.graph_export import FORMATS, export


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("graph", help="the forward network: source channel -> carrying channel, by statements")
    add_window(parser)
    parser.add_argument("--format", choices=FORMATS, required=True)
    parser.add_argument("-o", "--output", type=Path, help="write to this file (default: standard output)")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    since, until = window(args, ctx.settings.tz)
    text = export(graph_json(analyse(ctx.store, since, until), ctx.store), args.format)
    if args.output is None:
        print(text, end="")
        return 0
    # Whole or nothing: written beside the target and renamed, so a failure leaves no half a file.
    target = args.output
    handle, temp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=".graph-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return 0
