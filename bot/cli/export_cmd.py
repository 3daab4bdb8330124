"""`tgmonitor export [QUERY] [--tag T] [--channel C] [--since/--until] --format csv|jsonl|parquet [-o FILE]`.

Streams (bot/app/exports.py), reading the archive read-only so it runs beside the service. A file is
written under a temporary name and renamed when complete: an error or Ctrl-C leaves no half file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from bot.app.exports import (
    FORMATS,
    MISSING_PARQUET,
    CsvWriter,
    ExportFilter,
    JsonlWriter,
    ParquetWriter,
    RowWriter,
    export_rows,
    parquet_available,
    run_export,
)
from bot.cli import argtypes
from bot.cli.context import CliContext
from bot.core.export_rows import Value
from bot.core.timeparse import parse_since
from storage.readonly import ReadOnlyArchive


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "export",
        help="posts as CSV, JSON Lines or Parquet (one row per post, or per statement with --fold)",
        description="Columns and their meaning: docs/feeds-and-exports.md. Oldest first; deleted posts left out.",
    )
    parser.add_argument("query", nargs="?", help="a search query (as `tgmonitor search` reads it)")
    parser.add_argument(
        "--tag", action="append", type=argtypes.tag, default=[], help="posts with this tag (repeatable: any of them)"
    )
    parser.add_argument("--channel", type=argtypes.channel, help="posts of one channel (@name, id or title)")
    parser.add_argument("--since", help="from this date or age (2026-11-01, 7d)")
    parser.add_argument("--until", help="before this date (2026-12-01) or age")
    parser.add_argument("--format", choices=FORMATS, help="default: from -o's extension, else csv")
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    parser.add_argument("--fold", action="store_true", help="one row per statement instead of per post")
    parser.add_argument("--bom", action="store_true", help="CSV: start with a UTF-8 BOM (Excel reads UTF-8 then)")
    parser.add_argument("--include-deleted", action="store_true", help="also posts deleted in their channel")
    return parser


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = args.output.suffix.lower().lstrip(".") if args.output else ""
    return {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "parquet": "parquet"}.get(suffix, "csv")


def _when(text: str, option: str, ctx: CliContext) -> datetime:
    try:
        return parse_since(text, datetime.now(UTC), ctx.settings.tz)
    except ValueError as exc:
        raise argtypes.UsageError(f"{option}: {exc}") from None


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    fmt = _format(args)
    if fmt == "parquet":
        if args.output is None:
            raise argtypes.UsageError("--format parquet needs -o FILE (Parquet is not written to a terminal)")
        if not parquet_available():
            raise RuntimeError(MISSING_PARQUET)
    if args.bom and fmt != "csv":
        raise argtypes.UsageError("--bom applies to CSV only")
    since = _when(args.since, "--since", ctx) if args.since else None
    until = _when(args.until, "--until", ctx) if args.until else None
    if since and until and until <= since:
        raise argtypes.UsageError(f"--until ({until:%Y-%m-%d %H:%M}) must be after --since ({since:%Y-%m-%d %H:%M})")
    if args.output is not None and args.output.is_dir():
        raise argtypes.UsageError(f"-o {args.output}: is a directory")
    store = ReadOnlyArchive(ctx.location).store()
    try:
        channel_id = argtypes.archived_channel(store, args.channel).id if args.channel else None
        query = args.query if args.query and args.query.strip() else None
        selection = ExportFilter(query, tuple(args.tag), channel_id, since, until, args.include_deleted)
        if query is not None:  # a bad query is reported before any file is made
            store.search(query, limit=1)
        rows = export_rows(store, selection, fold=args.fold)
        count = _write(rows, fmt, args)
    finally:
        store.close()
    where = args.output or "standard output"
    print(f"export: {count:,} {'statements' if args.fold else 'posts'} as {fmt} to {where}", file=sys.stderr)
    return 0


def _write(rows: Iterator[list[list[Value]]], fmt: str, args: argparse.Namespace) -> int:
    if args.output is None:
        writer: RowWriter = CsvWriter(sys.stdout, bom=args.bom) if fmt == "csv" else JsonlWriter(sys.stdout)
        return run_export(rows, writer)
    target: Path = args.output
    fd, tmp_name = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=".export-")
    tmp = Path(tmp_name)
    try:
        if fmt == "parquet":
            os.close(fd)
            count = run_export(rows, ParquetWriter(str(tmp)))
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                writer = CsvWriter(out, bom=args.bom) if fmt == "csv" else JsonlWriter(out)
                count = run_export(rows, writer)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count
