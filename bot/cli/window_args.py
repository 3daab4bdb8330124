"""--since/--until of the analysis commands (amplifiers, graph, sources): a window of the archive."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, tzinfo

from bot.cli import argtypes
from bot.core.timeparse import parse_since


def add_window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="age like 7d or a date (default: 30 days before --until)")
    parser.add_argument("--until", help="age like 1d or a date, exclusive (default: just after the newest post)")


def window(args: argparse.Namespace, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    now = datetime.now(UTC)
    since = argtypes.since(args.since, now, tz) if args.since else None
    until = None
    if args.until:
        try:
            until = parse_since(args.until, now, tz)
        except ValueError as exc:
            raise argtypes.UsageError(f"--until: {exc}") from None
    if since is not None and until is not None and since >= until:
        raise argtypes.UsageError(f"--since {args.since} is not before --until {args.until}")
    return since, until
