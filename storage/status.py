"""What `tgmonitor status` reads: the service's own notes in `meta`, channels, digests, file sizes.

It opens its own read-only connection (`mode=ro`, `query_only`), never `open_db`: a health check
must not create, migrate or lock the archive it inspects. WAL lets it read while the service writes.
The `service.*` keys are written by the running service (bot/service/run.py) through `Store.meta_set`.
On PostgreSQL the same reads run in a read-only session; the size is the database's
(`pg_database_size`), and the URL is shown without its password.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.core.numbers import ascii_int
from storage.db import Location, as_location, shown

SERVICE_STATE = "service.state"  # running | stopped
SERVICE_PID = "service.pid"
SERVICE_STARTED_AT = "service.started_at"
SERVICE_STOPPED_AT = "service.stopped_at"
SERVICE_SOURCE = "service.source"  # what feeds the archive: "web preview", "listener"
SERVICE_POLL_INTERVAL = "service.poll_interval"  # seconds
SERVICE_LAST_POLL = "service.last_poll_at"  # end of the last poll round, whatever its outcome
SERVICE_LAST_POLL_OK = "service.last_poll_ok_at"  # end of the last round in which a channel was read
SERVICE_KEYS = (
    SERVICE_STATE,
    SERVICE_PID,
    SERVICE_STARTED_AT,
    SERVICE_STOPPED_AT,
    SERVICE_SOURCE,
    SERVICE_POLL_INTERVAL,
    SERVICE_LAST_POLL,
    SERVICE_LAST_POLL_OK,
)
STALE_AFTER_INTERVALS = 3


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
        raise StatusError(f"cannot read database {path}: {exc}") from exc
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
        raise StatusError(f"cannot read database {shown(url)}: {exc}") from exc
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


def _parse_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def assess_health(service: dict[str, Any], now: datetime, poll_interval: int) -> tuple[bool, str]:
    """Healthy: the service has not polled yet, or a channel was read within 3 poll intervals.

    The clock starts at the later of the last good poll and the service's start, so a restart after
    a long stop gets three intervals to complete its first poll before it counts as stale.
    """
    interval = int(service.get("poll_interval") or poll_interval)
    limit = timedelta(seconds=STALE_AFTER_INTERVALS * interval)
    last_ok = _parse_time(service.get("last_poll_ok_at"))
    started = _parse_time(service.get("started_at"))
    if _parse_time(service.get("last_poll_at")) is None and started is None:
        return True, "the service has not run on this archive yet"
    since = max((t for t in (last_ok, started) if t is not None), default=None)
    if since is None:
        return False, "the service polled but never read a channel successfully"
    age = now - since
    what = "last successful poll" if since == last_ok else "service start"
    verdict = f"{what} {_ago(age)} ago (limit {STALE_AFTER_INTERVALS} × {interval}s = {_ago(limit)})"
    return age <= limit, verdict


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d"


def read_status(location: Location, *, now: datetime, poll_interval: int) -> dict[str, Any]:
    """Everything `tgmonitor status` shows, as plain JSON-ready data. Raises StatusError."""
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
        raise StatusError(f"cannot read database {shown(location)}: {exc}") from exc
    finally:
        conn.close()
    service: dict[str, Any] = {key.removeprefix("service."): meta.get(key) for key in SERVICE_KEYS}
    service["pid"] = ascii_int(service["pid"] or "")
    service["poll_interval"] = ascii_int(service["poll_interval"] or "")
    healthy, health = assess_health(service, now, poll_interval)
    return {
        "db": {"path": shown(location), "schema_version": meta.get("schema_version"), **sizes},
        "service": service,
        "channels": channels,
        "subscriptions": subscriptions,
        "sinks": sinks,
        "healthy": healthy,
        "health": health,
    }


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
