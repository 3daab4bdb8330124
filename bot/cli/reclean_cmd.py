"""`tgmonitor reclean`: re-clean every stored post from its raw text with today's cleaner.

Resumable (a crash or Ctrl-C continues after the last committed batch) and idempotent (a second
run changes nothing until the rules or the page model change).  See bot/app/reclean.py.
"""

from __future__ import annotations

import argparse

from bot.app.reclean import pending, reclean
from bot.cli import argtypes
from bot.cli.context import CliContext
from bot.cli.progress import ProgressBar


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("reclean", help="re-clean stored posts from their raw text (text, search, tags, clusters)")
    parser.add_argument("--batch", type=argtypes.positive_int, default=500, help="posts per transaction (default 500)")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    total = pending(store, ctx.pipeline)
    bar = ProgressBar(total, "recleaning")
    try:
        result = reclean(store, ctx.pipeline, ctx.neardup, batch_size=args.batch, progress=lambda seen, _: bar(seen))
    finally:
        bar.close()
    where = f" (resumed after post {result.resumed_after})" if result.resumed_after else ""
    print(f"recleaned {result.seen} posts{where}: {result.changed} changed")
    return 0
