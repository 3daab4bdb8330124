"""`tgmonitor demo`: the whole offline path on bundled sample channels, no credentials needed."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.context import CliContext
from bot.cli.import_cmd import import_paths
from bot.cli.search_cmd import collapsed_lines
from bot.core.digest import build_digest, render_text
from bot.listing import find_items

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("demo", help="import bundled samples, print a digest and a search (offline)")
    parser.add_argument("--query", default="Kosovo", help="what the demo searches for (default: Kosovo)")
    return parser


def sample_files() -> list[Path]:
    return sorted(SAMPLES.glob("*.json"))


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    results = import_paths(ctx, sample_files())
    for path, result in results.items():
        print(f"imported {Path(path).name}: {result.inserted} new, {result.unchanged} unchanged")
    print(f"archive: {ctx.db_path}\n")
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
    return 0
