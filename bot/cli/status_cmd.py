"""`tgmonitor status [--json]`: how the service and the archive are doing, safe to run while it runs.

The exit code is the health verdict, so a container HEALTHCHECK or a monitoring probe can call it:
0 healthy; 1 the database is missing or unreadable, or the service has polled before but no channel
has been read successfully within 3 × POLL_INTERVAL, or it stopped sending signs of life (the rules are
`storage.services.assess`). Every `tgmonitor run` on the archive is listed under its SERVICE_NAME; the
verdict is `--service NAME`'s (or SERVICE_NAME's) alone when given, so each container of a team checks
itself, and every service's otherwise. `--forget NAME` deletes a retired service's notes (its one write).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from bot.cli.accounts_cmd import accounts_report
from bot.cli.accounts_cmd import lines as account_lines
from bot.cli.context import CliContext
from storage.services import DEFAULT_SERVICE, forget_refusal, note_keys, services_from_meta
from storage.status import StatusError, read_status


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "status",
        help="service health, per-channel polls and errors, last digests, database size (exit 1 if unhealthy)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable status")
    parser.add_argument(
        "--service",
        metavar="NAME",
        help="the exit code is this service's health alone (default: SERVICE_NAME when set, else every service's)",
    )
    parser.add_argument(
        "--forget",
        metavar="NAME",
        help="delete a retired service's notes from the archive (refused while it runs), then exit",
    )
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    now = datetime.now(UTC)
    if args.forget is not None:
        return _forget(args.forget, ctx, now)
    try:
        status = read_status(
            ctx.location,
            now=now,
            poll_interval=ctx.settings.poll_interval,
            service=args.service or ctx.settings.service_name,
        )
    except StatusError as exc:
        if args.json:
            print(json.dumps({"healthy": False, "health": str(exc)}))
        print(f"tgmonitor: unhealthy: {exc}", file=sys.stderr)
        return 1
    if ctx.settings.accounts:  # TELEGRAM_ACCOUNTS: which account is down, which channels are unread
        status["accounts"] = accounts_report(ctx.settings, ctx.store)
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
    else:
        print("\n".join(_lines(status) + (account_lines(status["accounts"]) if "accounts" in status else [])))
    return 0 if status["healthy"] else 1


def _forget(name: str, ctx: CliContext, now: datetime) -> int:
    """The one write of `status`: a team that renamed or retired a service keeps its lines otherwise."""
    stored = {k: ctx.store.meta_get(k) for k in note_keys(name)}
    notes = services_from_meta({k: v for k, v in stored.items() if v is not None})
    if name not in notes:
        print(f"tgmonitor: status --forget: no service {name!r} has notes on this archive", file=sys.stderr)
        return 2
    refusal = forget_refusal(notes[name], now)
    if refusal is not None:
        print(f"tgmonitor: status --forget: service {name!r} not forgotten: {refusal}", file=sys.stderr)
        return 1
    print(f"forgot service {name!r} ({ctx.store.meta_delete(note_keys(name))} notes)")
    return 0


def _service_lines(label: str, svc: dict[str, Any]) -> list[str]:
    since = svc["stopped_at"] if svc["state"] in ("stopped", "failed") else svc["started_at"]
    where = f" on {svc['host']}" if label != "service" and svc.get("host") else ""
    if svc["source"] == "none":  # READ_CHANNELS=none (a team's bot): it never polls, its heartbeat counts
        return [
            f"{label}: {svc['state']} since {since} (pid {svc['pid']}{where}), reads no channel",
            f"  last heartbeat {svc.get('heartbeat_at') or '-'}",
        ]
    return [
        f"{label}: {svc['state']} since {since} (pid {svc['pid']}{where}), source {svc['source'] or '-'}, "
        f"poll every {svc['poll_interval']}s",
        f"  last poll {svc['last_poll_at'] or '-'}, last successful {svc['last_poll_ok_at'] or '-'}",
    ]


def _services_lines(services: list[dict[str, Any]]) -> list[str]:
    """A team's services (SERVICE_NAME), each with its own state and verdict."""
    lines = [f"services ({len(services)}):"]
    for svc in services:
        if svc["state"] is None:
            lines.append(f"  {svc['name']}: has not run on this archive")
            continue
        first, second = _service_lines(f"  {svc['name']}", svc)
        lines += [first, f"  {second}", f"    {'ok' if svc['healthy'] else 'UNHEALTHY'}: {svc['health']}"]
    return lines


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _lines(status: dict[str, Any]) -> list[str]:
    db, svc = status["db"], status["service"]
    lines = [
        f"database {db['path']}: {_size(db['total_bytes'])} "
        f"(file {_size(db['file_bytes'])}, WAL {_size(db['wal_bytes'])}), schema v{db['schema_version']}"
    ]
    if len(status["services"]) > 1 or svc.get("name", DEFAULT_SERVICE) != DEFAULT_SERVICE:
        lines += _services_lines(status["services"])
    elif svc["state"] is None:
        lines.append("service: has not run on this archive")
    else:
        lines += _service_lines("service", svc)
    lines.append(f"channels ({len(status['channels'])}):")
    for ch in status["channels"]:
        outcome = f"error: {ch['last_error']}" if ch["last_error"] else "ok"
        lines.append(
            f"  {ch['channel']}: {ch['posts']} posts, last id {ch['last_message_id']}, "
            f"polled {ch['last_polled_at'] or 'never'}, {outcome}"
        )
    if status["subscriptions"]:
        lines.append(f"digests ({len(status['subscriptions'])} subscriptions):")
    for sub in status["subscriptions"]:
        tags = ",".join(sub["tags"]) or "all"
        state = "" if sub["enabled"] else " (disabled)"
        last = sub["last_digest"]
        done = "none sent yet"
        if last:
            when = last["sent_at"] or last["window_end"]
            done = f"last {last['status']} {when} ({last['parts_sent']}/{last['parts_total']} parts)"
        lines.append(f"  #{sub['id']} chat {sub['chat_id']} {sub['time']} {sub['tz']} [{tags}]{state}: {done}")
    for sink in status.get("sinks", []):
        state = f"PAUSED since {sink['paused_at']}" if sink["paused_at"] else "ok"
        if not sink["paused_at"] and sink["failures"]:
            state = f"failing ({sink['failures']} in a row)"
        error = f"; last error: {sink['last_error']}" if sink["last_error"] and sink["failures"] else ""
        lines.append(f"sink {sink['sink']}: {state}, {sink['owed']} owed, last ok {sink['last_ok_at'] or '-'}{error}")
    lines.append(f"health: {'ok' if status['healthy'] else 'UNHEALTHY'}: {status['health']}")
    return lines
