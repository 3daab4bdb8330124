"""What `tgmonitor status` reads: the service's own notes in `meta`, channels, digests, file sizes.

It opens its own read-only connection (`mode=ro`, `query_only`), never `open_db`: a health check
must not create, migrate or lock the archive it inspects. WAL lets it read while the service writes.
The `service.*` keys are written by each running service (bot/service/run.py) through `Store.meta_set_many`,
under its SERVICE_NAME (storage/services.py): every service of a team is listed and judged on its own.
On PostgreSQL the same reads run in a read-only session; the size is the database's
(`pg_database_size`), and the URL is shown without its password.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.db import SCHEMA_VERSION, Location, SchemaError, as_location, shown, version_number
from storage.errors import one_line
from storage.services import (
    DEFAULT_SERVICE,
    STALE_AFTER_INTERVALS,
    assess,
    assess_poll,
    empty_service,
    services_from_meta,
)

# The default service's keys (storage/services.py `key(name, field)` for any service)
SERVICE_STATE = "service.state"  # starting | running | stopped | failed
SERVICE_LAST_POLL = "service.last_poll_at"  # end of the last poll round, whatever its outcome
__all__ = ["STALE_AFTER_INTERVALS", "StatusError", "assess_health", "file_sizes", "read_status"]


class StatusError(RuntimeError):
    """The archive is missing or cannot be read: the one case `status` must fail for."""


def _connect_read_only(location: Location) -> Any:
    if not isinstance(location, Path):
        return _connect_postgres(location)
    path = location
    if not path.is_file():
        raise StatusError(f"no archive at {path}")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        conn.execute("PRAGMA query_only = ON")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    except sqlite3.Error as exc:
        raise StatusError(f"cannot read database {path}: {one_line(exc)}") from exc
    if not {"meta", "channels", "posts"} <= tables:
        conn.close()
        raise StatusError(f"{path} is not a tgmonitor archive (no meta/channels/posts tables)")
    return conn


def _connect_postgres(url: str) -> Any:
    """storage/pg's connection (sqlite3's calls and errors), read-only; imported only for a URL."""
    try:
        from storage.pg.connection import connect
    except ImportError:
        raise StatusError("a postgresql:// archive needs psycopg: pip install 'tgmonitor[postgres]'") from None
    try:
        conn = connect(url, read_only=True, statement_seconds=30).conn
    except sqlite3.Error as exc:
        raise StatusError(str(exc)) from exc
    try:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            )
        }
    except sqlite3.Error as exc:
        conn.close()
        raise StatusError(f"cannot read database {shown(url)}: {one_line(exc)}") from exc
    if not {"meta", "channels", "posts"} <= tables:
        conn.close()
        raise StatusError(f"{shown(url)} is not a tgmonitor archive (no meta/channels/posts tables)")
    return conn


def _sizes(conn: Any, location: Location) -> dict[str, int]:
    if isinstance(location, Path):
        return file_sizes(location)
    size = int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
    return {"file_bytes": size, "wal_bytes": 0, "shm_bytes": 0, "total_bytes": size}


def file_sizes(path: Path) -> dict[str, int]:
    """Bytes of the database file and its WAL companions (a busy archive's -wal can be large)."""
    sizes = {}
    for key, suffix in (("file_bytes", ""), ("wal_bytes", "-wal"), ("shm_bytes", "-shm")):
        companion = path.with_name(path.name + suffix)
        sizes[key] = companion.stat().st_size if companion.exists() else 0
    sizes["total_bytes"] = sum(sizes.values())
    return sizes


def assess_health(service: dict[str, Any], now: datetime, poll_interval: int) -> tuple[bool, str]:
    """The polling rule alone (storage/services.py `assess_poll`), kept for callers of this name."""
    return assess_poll(service, now, poll_interval)


def read_status(location: Location, *, now: datetime, poll_interval: int, service: str | None = None) -> dict[str, Any]:
    """Everything `tgmonitor status` shows, as plain JSON-ready data. Raises StatusError.

    `service` (`status --service`, or SERVICE_NAME) makes the verdict that service's alone: each
    container of a team checks itself. Without it the verdict is every listed service's.
    """
    location = as_location(location)
    conn = _connect_read_only(location)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        counts = dict(conn.execute("SELECT channel_id, count(*) FROM posts GROUP BY channel_id").fetchall())
        channels = [
            {
                "channel": "@" + r[1] if r[1] else (r[2] or f"channel {r[3]}"),
                "posts": counts.get(r[0], 0),
                "last_polled_at": r[4],
                "last_message_id": r[5],
                "last_error": r[6],
                "watched": bool(r[7]),
            }
            for r in conn.execute(
                "SELECT id, username, title, tg_id, last_polled_at, last_message_id, last_error, watched "
                "FROM channels ORDER BY id"
            )
        ]
        subscriptions = []
        for s in conn.execute("SELECT id, chat_id, tags, time, tz, enabled, origin FROM subscriptions ORDER BY id"):
            last = conn.execute(
                "SELECT window_start, window_end, status, sent_at, parts_sent, parts_total FROM digests "
                "WHERE subscription_id = ? ORDER BY window_end DESC LIMIT 1",
                [s[0]],
            ).fetchone()
            subscriptions.append(
                {
                    "id": s[0],
                    "chat_id": s[1],
                    "tags": [t for t in s[2].split(",") if t],
                    "time": s[3],
                    "tz": s[4],
                    "enabled": bool(s[5]),
                    "origin": s[6],
                    "last_digest": None
                    if last is None
                    else dict(
                        zip(
                            ("window_start", "window_end", "status", "sent_at", "parts_sent", "parts_total"),
                            last,
                            strict=True,
                        )
                    ),
                }
            )
        sinks = _sinks(conn)
        sizes = _sizes(conn, location)
    except sqlite3.Error as exc:
        raise StatusError(f"cannot read database {shown(location)}: {one_line(exc)}") from exc
    finally:
        conn.close()
    services = services_from_meta(meta)
    listed = []
    for name, entry in services.items():
        entry["state"], healthy, health = assess(entry, now, poll_interval)
        listed.append({"name": name, **entry, "healthy": healthy, "health": health})
    healthy, health, chosen = _verdict(listed, service, now, poll_interval)
    problem = _schema_problem(meta.get("schema_version"))
    if problem is not None:  # no service of this version can open it, whatever its notes say
        healthy, health = False, f"the archive {shown(location)}: {problem}"
    return {
        "db": {"path": shown(location), "schema_version": meta.get("schema_version"), **sizes},
        "service": chosen,
        "services": listed,
        "selected": service,
        "channels": channels,
        "subscriptions": subscriptions,
        "sinks": sinks,
        "healthy": healthy,
        "health": health,
    }


def _schema_problem(version: object) -> str | None:
    """Why this tgmonitor cannot serve the archive (a newer or damaged schema version), or None; an
    older version is no problem: the service migrates it when it starts."""
    if version is None:
        return None
    try:
        number = version_number(version)
    except SchemaError as exc:
        return str(exc)
    if number > SCHEMA_VERSION:
        return f"its schema version {number} is newer than this tgmonitor ({SCHEMA_VERSION}): upgrade tgmonitor"
    return None


def _verdict(
    listed: list[dict[str, Any]], selected: str | None, now: datetime, poll_interval: int
) -> tuple[bool, str, dict[str, Any]]:
    """(healthy, why, the service shown as `service`) for the selected service, or for all of them."""
    if selected is not None:
        found = [s for s in listed if s["name"] == selected]
        if found:
            one = found[0]
            why = one["health"] if len(listed) == 1 and selected == DEFAULT_SERVICE else f"{selected}: {one['health']}"
            return one["healthy"], why, one
        if listed:
            others = ", ".join(s["name"] for s in listed)
            why = (
                f"no service named {selected} has run on this archive (services here: {others}); is SERVICE_NAME right?"
            )
            return False, why, {"name": selected, **empty_service()}
    if len(listed) <= 1:  # one service (or none yet): exactly what status said before services had names
        only = listed[0] if listed else {"name": selected or DEFAULT_SERVICE, **empty_service()}
        if not listed:
            return (*assess_poll(only, now, poll_interval), only)
        return only["healthy"], only["health"], only
    failing = [s for s in listed if not s["healthy"]]
    main = next((s for s in listed if s["name"] == DEFAULT_SERVICE), listed[0])
    if not failing:
        return True, f"all {len(listed)} services healthy", main
    return False, "; ".join(f"{s['name']}: {s['health']}" for s in failing), main


def _sinks(conn: Any) -> list[dict[str, Any]]:
    """Each sink's health (storage/sink_outbox.py): a paused one is reported, with its (redacted) last error."""
    if (  # PostgreSQL archives start at schema 10
        isinstance(conn, sqlite3.Connection)
        and conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sink_state'").fetchone() is None
    ):
        return []  # an archive from before schema 9
    owed = dict(
        conn.execute("SELECT sink, count(*) FROM sink_deliveries WHERE status = 'pending' GROUP BY sink").fetchall()
    )
    state = {
        r[0]: r[1:] for r in conn.execute("SELECT sink, failures, paused_at, last_error, last_ok_at FROM sink_state")
    }
    return [
        {
            "sink": name,
            "failures": state.get(name, (0,))[0],
            "paused_at": state.get(name, (0, None))[1],
            "last_error": state.get(name, (0, None, None))[2],
            "last_ok_at": state.get(name, (0, None, None, None))[3],
            "owed": owed.get(name, 0),
        }
        for name in sorted(set(owed) | set(state))
    ]
