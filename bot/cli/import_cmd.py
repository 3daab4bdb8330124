"""`tgmonitor import PATH...`: archive Telegram Desktop JSON exports (and saved t.me/s pages)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from bot.cli.context import CliContext
from bot.cli.progress import ProgressBar
from bot.models import ChannelRef, RawPost, SaveResult
from bot.sources.desktop_export import ExportError, iter_export_files, parse_export
from bot.sources.web_preview_parser import parse_saved_page


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "import", help="import Desktop exports (result.json or its folder) or saved t.me/s/ pages (.html)"
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    return parser


# Every file is parsed and checked before anything is written (bad input writes nothing); the writing
# is then short transactions, so a running service is never locked out for long (one transaction of
# 80k messages held the write lock 66 s, longer than the service's 30 s busy timeout). A killed import
# leaves whole batches behind; importing again is idempotent and completes it.
IMPORT_BATCH = 200


def read_source(path: Path) -> tuple[ChannelRef | None, list[RawPost]]:
    """Pick the parser by file kind; everything is parsed before anything is written."""
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    if path.suffix.lower() == ".json":
        return parse_export(path)
    if path.suffix.lower() in {".html", ".htm"}:
        posts = parse_saved_page(path)  # a page saved from https://t.me/s/CHANNEL
        return (posts[0].channel if posts else None), posts
    raise ExportError(
        f"{path}: unsupported file type (expected a Desktop export result.json or a saved t.me/s/ page .html)"
    )


def import_paths(ctx: CliContext, paths: list[Path]) -> dict[str, SaveResult]:
    parsed = [(path, *read_source(path)) for path in iter_export_files(paths)]
    results: dict[str, SaveResult] = {}
    for path, channel, raws in parsed:
        bar = ProgressBar(len(raws), f"{path.name}")
        try:
            results[str(path)] = ctx.ingest.save(raws, checkpoint=channel, progress=bar, batch_size=IMPORT_BATCH)
        finally:
            bar.close()
    return results


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    results = import_paths(ctx, args.paths)
    if args.json:
        ids = {p: {"new_ids": len(r.new_ids), "updated_ids": len(r.updated_ids)} for p, r in results.items()}
        print(json.dumps({p: asdict(r) | ids[p] for p, r in results.items()}))
    else:
        for path, result in results.items():
            print(f"{path}: {result.inserted} new, {result.updated} updated, {result.unchanged} unchanged")
    return 0
