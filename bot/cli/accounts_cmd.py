"""`tgmonitor accounts [--json]`: each Telegram account of TELEGRAM_ACCOUNTS, its channels, flood wait and
last error, the channels moved off a down account, and the channels no account reads (docs/accounts.md).
Read-only; safe while the service runs."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from typing import Any

from bot.cli.context import CliContext
from bot.config import Settings
from bot.service.account_book import (
    STATE_KEY,
    UNREAD_KEY,
    UNREADABLE_KEY,
    UNREADABLE_WHY_KEY,
    channel_key,
    key_ident,
    plan,
    read_json,
    read_moves,
)
from bot.telegram.client import is_string_session, session_path
from storage.store import Store


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
        if a["cannot_read"]:
            why = a.get("cannot_read_why", {})
            out.append(
                "  cannot read: "
                + ", ".join(
                    key_ident(c) + (f" ({why[c]} for account {a['name']})" if c in why else "")
                    for c in a["cannot_read"]
                )
            )
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for m in report["moved"]:
        groups.setdefault((m["from"], m["to"]), []).append(m)
    for (home, to), moved in groups.items():
        where = f"to {to}" if to else "to no account (none has room or can read it): unread"
        out.append(
            f"MOVED ({len(moved)}) from {home} (down) {where} since {max(m['at'] for m in moved)}: {_few(moved)}"
        )
    unread = report["unread"]
    if unread:
        out.append(f"UNREAD ({len(unread)}): " + ", ".join(key_ident(c) for c in unread))
    else:
        out.append("no channel left unread")
    return out


def _few(moved: list[dict[str, Any]]) -> str:
    return ", ".join(key_ident(m["channel"]) for m in moved[:8]) + (", …" if len(moved) > 8 else "")


def accounts_report(settings: Settings, store: Store, *, now: float | None = None) -> dict[str, Any]:
    """What `tgmonitor accounts` and `status` show: each account as the service last left it (or, before
    any run, as it would assign channels), and the channels no account reads."""
    saved: dict[str, Any] = read_json(store, STATE_KEY, {})
    unread: list[str] = read_json(store, UNREAD_KEY, [])
    unable: dict[str, list[str]] = read_json(store, UNREADABLE_KEY, {})
    whys: dict[str, Any] = read_json(store, UNREADABLE_WHY_KEY, {})
    planned = plan(settings, store)
    now = time.time() if now is None else now
    accounts = []
    for account in settings.accounts:
        last = saved.get(account.name) or {}
        own = settings.for_account(account)
        session = "a StringSession" if is_string_session(own.session or "") else str(session_path(own))
        waiting = last.get("waiting_until")
        if waiting and datetime.fromisoformat(waiting).timestamp() <= now:
            waiting = None
        accounts.append(
            {
                "name": account.name,
                "state": last.get("state", "never run"),
                "channels": last.get("channels", list(planned.channels.get(account.name, ()))),
                "explicit": [channel_key(c) for c in account.channels],
                "flood_wait_until": waiting,
                "last_error": last.get("error"),
                "cannot_read": sorted(k for k, names in unable.items() if account.name in names),
                "cannot_read_why": {
                    k: why[account.name]
                    for k, why in sorted(whys.items())
                    if isinstance(why, dict) and isinstance(why.get(account.name), str)
                },
                "session": session,
            }
        )
    moved = [{"channel": k, "from": m.home, "to": m.to, "at": m.at} for k, m in sorted(read_moves(store).items())]
    if not saved:
        unread, moved = list(planned.unassigned), []
    return {"accounts": accounts, "unread": unread, "moved": moved, "max_channels": settings.account_max_channels}
