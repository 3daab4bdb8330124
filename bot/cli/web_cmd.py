"""`tgmonitor web [--host 127.0.0.1] [--port 8001]`: browse the archive in a browser, read-only.

Opens the archive with its own read-only connections (never `ctx.store`, which would create or
migrate it), so it runs beside the service. Serving beyond loopback needs WEB_TOKEN.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.cli import argtypes
from bot.cli.context import CliContext
from bot.web.security import LOOPBACK_HOSTS, is_loopback
from storage.readonly import ReadOnlyArchive

MISSING_EXTRA = "tgmonitor web needs the web extra: pip install 'tgmonitor[web]' (starlette, uvicorn, jinja2)"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "web",
        help="browse the archive in a browser (read-only; http://127.0.0.1:8001/)",
        description=(
            "Serves the archive read-only while the service keeps writing it. Binds to 127.0.0.1 unless told "
            "otherwise; any other address needs WEB_TOKEN (basic auth: any user name, the token as password)."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=argtypes.int_range(1, 65535), default=8001, help="port (default 8001)")
    parser.add_argument("--sql", action="store_true", help="add a read-only SQL page (/sql); off by default")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer to this Host name (behind a reverse proxy); repeatable",
    )
    parser.add_argument(
        "--query-seconds",
        type=argtypes.positive_seconds,
        default=10.0,
        help="interrupt a page's database reads after this long (10)",
    )
    parser.add_argument(
        "--no-token-ok",
        action="store_true",
        help="allow serving beyond 127.0.0.1 without WEB_TOKEN (anyone who can reach the port reads the archive)",
    )
    return parser


def allowed_hosts(host: str, extra: list[str]) -> frozenset[str] | None:
    """Loopback binds answer only to loopback names (DNS rebinding); others to any name unless listed."""
    if is_loopback(host):
        return LOOPBACK_HOSTS | {host} | {h.lower() for h in extra}
    return frozenset(h.lower() for h in extra) | {host} if extra else None


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    settings = ctx.settings
    if not is_loopback(args.host) and not settings.web_token and not args.no_token_ok:
        raise ValueError(
            f"--host {args.host} serves the archive beyond this machine: set WEB_TOKEN (see .env.example) "
            "or pass --no-token-ok if something else guards the port"
        )
    try:
        import uvicorn

        from bot.web.app import create_app
        from bot.web.state import WebOptions
    except ImportError as exc:
        raise RuntimeError(f"{MISSING_EXTRA} ({exc})") from exc
    archive = ReadOnlyArchive(ctx.location)
    options = WebOptions.from_settings(
        settings,
        allow_sql=args.sql,
        allowed_hosts=allowed_hosts(args.host, args.allow_host),
        query_seconds=args.query_seconds,
    )
    app: Any = create_app(archive, options)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"tgmonitor web: {archive.shown()} read-only at http://{shown}:{args.port}/ "
        f"(token: {'required' if settings.web_token else 'none'}; SQL page: {'on' if args.sql else 'off'}); "
        "Ctrl-C stops",
        file=sys.stderr,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", server_header=False)
    return 0
