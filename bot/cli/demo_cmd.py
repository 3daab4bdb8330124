"""`tgmonitor demo`: the whole offline path on bundled sample channels, no credentials needed.

The samples go to their own archive, `demo.db` beside the configured one (or --db): fictional posts
must never turn up in the searches and digests of the real archive a user builds next.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.app.listing import find_items
from bot.cli.context import CliContext
from bot.cli.import_cmd import import_paths
from bot.cli.search_cmd import collapsed_lines
from bot.core.digest import build_digest
from bot.core.digest_render import render_text
from storage.db import shown

WRITES = True  # may create the archive (bot/cli/context.py)

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("demo", help="import bundled samples, print a digest and a search (offline)")
    parser.add_argument("--query", default="Kosovo", help="what the demo searches for (default: Kosovo)")
    return parser


def sample_files() -> list[Path]:
    return sorted(SAMPLES.glob("*.json"))


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if ctx.db_override is None:
        ctx.db_override = ctx.settings.db_path.with_name("demo.db")
    results = import_paths(ctx, sample_files(), check_clock=False)  # the samples' times are UTC
    for path, result in results.items():
        print(f"imported {Path(path).name}: {result.inserted} new, {result.unchanged} unchanged")
    print(f"archive: {shown(ctx.location)}\n")
    store = ctx.store
    first, last = store.stats()["first_post"], store.stats()["last_post"]
    posts = store.search(None, limit=10_000)
    if not posts:
        print("no posts in the samples")
        return 1
    start = min(p.date for p in posts)
    end = max(p.date for p in posts)
    digest = build_digest(sorted(posts, key=lambda p: p.date), start, end.replace(microsecond=1))
    print(render_text(digest, ctx.settings.tz))
    print(f"\nsearch {args.query!r} ({first} .. {last}):")
    found, _more = find_items(store, offset=0, limit=10, query=args.query)  # one line per statement
    print(collapsed_lines(ctx, found, args.query) if found else "no posts found")
    db = shown(ctx.location)
    print("\nexplore the demo archive (tgmonitor is in .venv/bin; `./dev ARGS` runs it too):")
    for example in ("search Serbia", "channels", f"digest --since {start:%Y-%m-%d}"):
        print(f"  tgmonitor --db {db} {example}")
    return 0
