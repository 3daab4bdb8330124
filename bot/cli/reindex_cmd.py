"""`tgmonitor reindex`: fill (or rebuild) the search index of normalised words.

An archive from before schema 4, or one whose normaliser changed, has posts the index does not hold
yet; every command fills them in when it opens the archive, this one does only that (and `--full`
starts over).  It is resumable: interrupt it and run it again.
"""

from __future__ import annotations

import argparse
import sys
import time

from bot.cli import argtypes
from bot.cli.context import CliContext, fill_search_index


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("reindex", help="fill the search index (resumable; --full rebuilds it)")
    parser.add_argument("--full", action="store_true", help="empty the search index and index every post again")
    parser.add_argument(
        "--batch", type=argtypes.positive_int, default=2000, help="posts per committed batch (default 2000)"
    )
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.open_archive(fill=False).store
    if args.full:
        store.search_index.rebuild()
    started = time.monotonic()
    done = fill_search_index(store, batch=max(1, args.batch), announce=False)
    seconds = time.monotonic() - started
    print(f"search index: {done:,} posts indexed in {seconds:.1f} s" if done else "search index: up to date")
    print(f"  normaliser {store.search_index.normaliser.version}", file=sys.stderr)
    return 0
