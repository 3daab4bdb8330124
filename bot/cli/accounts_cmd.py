"""`tgmonitor accounts [--json]`: each Telegram account of TELEGRAM_ACCOUNTS, its channels, flood wait and
last error, and the channels no account reads (docs/accounts.md). Read-only; safe while the service runs."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.account_parts import accounts_report, key_ident
from bot.cli.context import CliContext


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "accounts", help="the Telegram accounts (TELEGRAM_ACCOUNTS): channels, flood waits, errors, unread channels"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    settings = ctx.settings
    if not settings.accounts:
        print(
            "tgmonitor: one account (TELEGRAM_ACCOUNTS is not set): API_ID/API_HASH and TG_SESSION; "
            "see docs/accounts.md for several",
            file=sys.stderr,
        )
        if args.json:
            print(json.dumps({"accounts": [], "unread": []}))
        return 0
    report = accounts_report(settings, ctx.store)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print("\n".join(lines(report)))
    return 0


def lines(report: dict[str, Any]) -> list[str]:
    out = []
    for a in report["accounts"]:
        chans = a["channels"]
        shown = ", ".join(key_ident(c) for c in chans[:8]) + (", …" if len(chans) > 8 else "")
        out.append(f"{a['name']}: {a['state']}, {len(chans)}/{report['max_channels']} channels ({shown or 'none'})")
        out.append(f"  session: {a['session']}")
        if a["flood_wait_until"]:
            out.append(f"  flood wait until {a['flood_wait_until']}")
        if a["last_error"]:
            out.append(f"  last error: {a['last_error']}")
    unread = report["unread"]
    if unread:
        out.append(f"UNREAD ({len(unread)}): " + ", ".join(key_ident(c) for c in unread))
    else:
        out.append("no channel left unread")
    return out
