"""`tgmonitor migrate-to postgresql://…`: copy the SQLite archive (--db / DB_PATH) into PostgreSQL.

Table by table in key order, in batches, resumable (interrupt it and run it again: it goes on after
the last committed batch), ids kept; then the search index is built and every table is checked by
row count and checksum, which are printed. Exit 1 when a check differs. docs/team.md says how to
switch a team over.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli import argtypes
from bot.cli.argtypes import UsageError
from bot.cli.context import CliContext
from bot.cli.progress import ProgressBar
from storage.db import is_postgres_url, shown
from storage.migrate_to import copy_archive


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "migrate-to",
        help="copy the SQLite archive into PostgreSQL (resumable, verified by counts and checksums)",
        description=(
            "Copies the archive named by --db / DB_PATH into an empty PostgreSQL database, keeping every id. "
            "Interrupt it and run it again to resume. Then point DATABASE_URL at the URL."
        ),
    )
    parser.add_argument("url", help="the target, postgresql://USER:PASSWORD@HOST:PORT/DATABASE (an empty database)")
    parser.add_argument(
        "--batch", type=argtypes.positive_int, default=5000, help="rows per committed batch (default 5000)"
    )
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if not is_postgres_url(args.url):
        raise UsageError(f"the target must be a postgresql:// URL, got {shown(args.url)!r}")
    source = ctx.db_override if ctx.db_override is not None else ctx.settings.db_path
    if not isinstance(source, Path):
        raise UsageError("--db names the SQLite archive to copy, not a URL")
    print(f"copying {source} into {shown(args.url)}", file=sys.stderr)
    bars: dict[str, ProgressBar] = {}

    def progress(table: str, done: int, total: int) -> None:
        """One bar per table (rows on the target of all there are); a resumed table starts part-full."""
        bar = bars.get(table)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[table] = ProgressBar(total, table)
        bar(done - bar.done)

    try:
        report = copy_archive(source, args.url, batch=args.batch, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
    rows = sum(report.copied.values())
    rate = rows / report.seconds if report.seconds > 0 else 0.0
    print(f"copied {rows:,} rows in {report.seconds:.1f} s ({rate:,.0f} rows/s); {report.indexed:,} posts indexed")
    width = max((len(c.table) for c in report.checks), default=5)
    for check in report.checks:
        verdict = "ok" if check.ok else "DIFFERS"
        print(
            f"  {check.table:<{width}}  rows {check.source_rows:>10,} / {check.target_rows:<10,}  "
            f"checksum {check.source_sum:016x} / {check.target_sum:016x}  {verdict}"
        )
    if not report.ok:
        bad = ", ".join(c.table for c in report.checks if not c.ok)
        print(f"tgmonitor: error: the copy differs from the source in: {bad}", file=sys.stderr)
        return 1
    print(f"verified: every table matches. Set DATABASE_URL={shown(args.url)} (with its password) to use it.")
    return 0
