"""`tgmonitor` command line: one module per subcommand, each with `add_parser` and `run`.

Exit codes: 0 ok, 2 usage (argparse), 1 error with a one-line message (`--debug` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli.context import CliContext

# Each name is a module in this package; adding a subcommand is adding a module and a line here.
COMMAND_MODULES: tuple[str, ...] = (
    "import_cmd",
    "backfill_web_cmd",
    "login_cmd",
    "backfill_cmd",
    "search_cmd",
    "digest_cmd",
    "stats_cmd",
    "reindex_cmd",
    "boilerplate_cmd",
    "run_cmd",
    "status_cmd",
    "demo_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tgmonitor",
        description="Telegram channel monitor: archive, de-duplicate, tag, search and digest channel posts.",
    )
    parser.add_argument("--db", type=Path, help="SQLite archive (default: DB_PATH or ./data/tgmonitor.db)")
    parser.add_argument("--env", type=Path, default=Path(".env"), help="settings file (default: ./.env)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"bot.cli.{name}")
        command = module.add_parser(sub)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = CliContext(env_file=args.env, db_override=args.db)
    try:
        return int(args.handler(args, ctx) or 0)
    except KeyboardInterrupt:
        print("tgmonitor: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:
        if args.debug:
            raise
        message = str(exc).strip() or exc.__class__.__name__
        print(f"tgmonitor: error: {message}", file=sys.stderr)
        return 1
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
