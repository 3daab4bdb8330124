"""`tgmonitor` command line: one module per subcommand, each with `add_parser` and `run`.

Exit codes: 0 ok, 2 usage (argparse), 1 error with a one-line message (`--debug` shows the traceback).
Output cut short by its reader (`tgmonitor search x --json | head -1`) is not an error: exit 0, quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.cli.argtypes import UsageError
from bot.cli.context import CliContext
from bot.config import ENV_FILE_VARIABLE, SettingsError
from bot.version import package_version
from storage.db import as_location, shown
from storage.errors import describe_sqlite_error

# Each name is a module in this package; adding a subcommand is adding a module and a line here.
COMMAND_MODULES: tuple[str, ...] = (
    "import_cmd",
    "backfill_web_cmd",
    "login_cmd",
    "backfill_cmd",
    "search_cmd",
    "digest_cmd",
    "stats_cmd",
    "channels_cmd",
    "reindex_cmd",
    "history_cmd",
    "boilerplate_cmd",
    "clean_cmd",
    "reclean_cmd",
    "run_cmd",
    "status_cmd",
    "demo_cmd",
    "web_cmd",
    "show_cmd",
    "articles_cmd",
    "spread_cmd",
    "amplifiers_cmd",
    "graph_cmd",
    "sources_cmd",
    "feeds_cmd",
    "export_cmd",
    "rules_cmd",
    "sinks_cmd",
    "accounts_cmd",
    "migrate_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tgmonitor",
        description="Telegram channel monitor: archive, de-duplicate, tag, search and digest channel posts.",
    )
    parser.add_argument(
        "--db",
        type=as_location,
        metavar="DB",
        help="the archive: an SQLite file or a postgresql:// URL (default: DATABASE_URL, else DB_PATH or "
        "./data/tgmonitor.db)",
    )
    parser.add_argument(
        "--env",
        type=Path,
        default=None,
        help=f"settings file like .env (default: ${ENV_FILE_VARIABLE}; none is read unless named)",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"bot.cli.{name}")
        command = module.add_parser(sub)
        command.set_defaults(
            handler=module.run,
            writes=getattr(module, "WRITES", False),
            settings_exit=getattr(module, "SETTINGS_ERROR_EXIT", 1),
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    os.umask(0o077)  # the archive, sessions, media and digest files are the owner's alone
    env_file = args.env or (Path(os.environ[ENV_FILE_VARIABLE]) if os.environ.get(ENV_FILE_VARIABLE) else None)
    ctx = CliContext(env_file=env_file, db_override=args.db, create_archive=args.writes)
    try:
        ctx.settings  # noqa: B018 - every command checks the settings: a bad one is reported whatever it runs
    except SettingsError as exc:
        print(f"tgmonitor: error: {exc}", file=sys.stderr)
        return int(args.settings_exit)
    try:
        return int(args.handler(args, ctx) or 0)
    except BrokenPipeError:
        return _reader_went_away()
    except KeyboardInterrupt:
        print("tgmonitor: interrupted", file=sys.stderr)
        return 130
    except UsageError as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        if args.debug:
            raise
        print(f"tgmonitor: error: {describe_sqlite_error(exc, _archive_path(ctx))}", file=sys.stderr)
        return 1
    except (ValueError, OSError, RuntimeError) as exc:
        if args.debug:
            raise
        message = str(exc).strip() or exc.__class__.__name__
        print(f"tgmonitor: error: {message}", file=sys.stderr)
        return 1
    finally:
        with contextlib.suppress(sqlite3.Error):
            ctx.close()
        _flush_stdout()


def _reader_went_away() -> int:
    """The reader of stdout closed it (`| head`): what it wanted is printed; stop quietly, exit 0.

    stdout is pointed at /dev/null so that the interpreter's own flush at exit cannot fail again
    (Python's documented recipe; see the signal module's note on SIGPIPE).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def _flush_stdout() -> None:
    """Flush here, where a closed pipe can still be caught, rather than in the interpreter's exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _reader_went_away()


def _archive_path(ctx: CliContext) -> str | None:
    """The archive for an error message (a URL without its password)."""
    try:
        return shown(ctx.location)
    except Exception:  # the settings themselves are broken; the error says which archive it can
        return shown(ctx.db_override) if ctx.db_override is not None else None


if __name__ == "__main__":
    sys.exit(main())
