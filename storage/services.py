"""Each `tgmonitor run`'s own state in `meta`, and the rules that judge it (what `tgmonitor status` reports).

A team runs several services on one archive (docs/team.md): listeners on other hosts, a bot service
that reads no channel. Each writes its notes under its SERVICE_NAME, so one service's notes never
overwrite another's: `service.<name>.<field>`. The default service, "main", keeps the keys an
archive had before names existed (`service.<field>`), so a one-service archive reads exactly as
before, with no migration: no field name has a dot, and a name is a letter then letters, digits,
`-` or `_`, so the two forms never collide.

Fields: state (starting | running | stopped | failed), pid, host, started_at, stopped_at, source
("listener", "web preview", "none"), poll_interval (seconds), last_poll_at, last_poll_ok_at,
heartbeat_at (written while the service's loop runs, and its bot is connected), error (why a start failed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.core.numbers import ascii_int

DEFAULT_SERVICE = "main"  # SERVICE_NAME unset (bot/setting_values.py `parse_service_name` checks a name)
FIELDS = (
    "state",
    "pid",
    "host",
    "started_at",
    "stopped_at",
    "source",
    "poll_interval",
    "last_poll_at",
    "last_poll_ok_at",
    "heartbeat_at",
    "error",
)
STALE_AFTER_INTERVALS = 3
HEARTBEAT_MAX = 60  # seconds between heartbeats at most (less when POLL_INTERVAL is shorter)


def key(name: str, field: str) -> str:
    """The meta key of one service's field: `service.<field>` for "main", `service.<name>.<field>` else."""
    return f"service.{field}" if name == DEFAULT_SERVICE else f"service.{name}.{field}"


def note_keys(name: str) -> list[str]:
    """Every meta key a service's notes can use (what `status --forget` deletes)."""
    return [key(name, field) for field in FIELDS]


def forget_refusal(service: Mapping[str, Any], now: datetime) -> str | None:
    """Why a service's notes must stay (it is alive), or None when they may go.

    Forgetting a live service's notes would make its container's healthcheck fail until its next
    heartbeat rewrites them, and hide a service that is in fact running; a stale one is dead.
    """
    shown, _, why = assess(service, now, int(service.get("poll_interval") or HEARTBEAT_MAX))
    if shown not in ("running", "starting"):
        return None
    return f"it is {shown} (pid {service.get('pid') or '?'} on {service.get('host') or '?'}; {why}): stop it first"


def heartbeat_every(poll_interval: int) -> int:
    """Seconds between two heartbeats of a service polling every `poll_interval` seconds."""
    return max(1, min(HEARTBEAT_MAX, poll_interval))


def services_from_meta(meta: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Every service that wrote notes, by name ("main" first, then by name), as plain data."""
    found: dict[str, dict[str, Any]] = {}
    for meta_key, value in meta.items():
        parts = meta_key.split(".")
        if parts[0] != "service" or len(parts) not in (2, 3) or parts[-1] not in FIELDS:
            continue
        name = DEFAULT_SERVICE if len(parts) == 2 else parts[1]
        found.setdefault(name, {})[parts[-1]] = value or None
    services = {}
    for name in sorted(found, key=lambda n: (n != DEFAULT_SERVICE, n)):
        entry: dict[str, Any] = {field: found[name].get(field) for field in FIELDS}
        entry["pid"] = ascii_int(entry["pid"] or "")
        entry["poll_interval"] = ascii_int(entry["poll_interval"] or "")
        services[name] = entry
    return services


def empty_service() -> dict[str, Any]:
    return dict.fromkeys(FIELDS)


def parse_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d"


def assess(service: Mapping[str, Any], now: datetime, poll_interval: int) -> tuple[str | None, bool, str]:
    """(the state to show, healthy, why) for one service's notes.

    - never ran here: healthy (a container's first check may come before the service's first note);
    - failed: it could not start (Telegram unreachable, a configuration error), with the reason;
    - starting: healthy for 3 poll intervals, then not (a start that hangs);
    - running, but no sign of life (heartbeat, poll or start) within 3 minutes (3 poll intervals for notes
      from before heartbeats): shown as "stale",
      unhealthy: the process died without noting it (killed, out of memory, its host down);
    - running and reading no channel (READ_CHANNELS=none, the team's bot): healthy while its heartbeat,
      written only while the loop runs and the bot is connected, is fresh;
    - otherwise (reading, or stopped): a channel was read within 3 poll intervals of now (`assess_poll`).
    """
    state = service.get("state")
    interval = int(service.get("poll_interval") or poll_interval)
    started = parse_time(service.get("started_at"))
    if state == "failed":
        return state, False, f"failed to start at {service.get('stopped_at') or '?'}: {service.get('error') or '?'}"
    if state == "starting":
        limit = timedelta(seconds=STALE_AFTER_INTERVALS * interval)
        age = now - started if started is not None else timedelta(0)
        healthy = age <= limit
        return state, healthy, f"starting for {ago(age)} (limit {STALE_AFTER_INTERVALS} × {interval}s = {ago(limit)})"
    if state == "running":
        beat = parse_time(service.get("heartbeat_at"))
        # three heartbeats' worth of a minute each, even when POLL_INTERVAL (and so the beat) is shorter:
        # a loop busy for half a minute is not dead
        every = HEARTBEAT_MAX if beat is not None else interval
        limit = timedelta(seconds=STALE_AFTER_INTERVALS * every)
        signs = [t for t in (beat, parse_time(service.get("last_poll_at")), started) if t is not None]
        last = max(signs, default=None)
        if last is not None and now - last > limit:
            return (
                "stale",
                False,
                (
                    f"running, but no sign of life for {ago(now - last)} (limit {STALE_AFTER_INTERVALS} × {every}s = "
                    f"{ago(limit)}): the process ended without stopping (killed, out of memory, host down?)"
                ),
            )
        if service.get("source") == "none":
            since = f"heartbeat {ago(now - last)} ago" if last is not None else "no heartbeat yet"
            return state, True, f"reads no channel (READ_CHANNELS=none); loop and bot alive, {since}"
    return (state, *assess_poll(service, now, poll_interval))


def held_by_another(service: Mapping[str, Any], now: datetime, host: str, pid: int) -> str | None:
    """Who else is alive under this service's name ("pid 12 on host-b"), or None.

    Two live services under one SERVICE_NAME (a team that left it unset) overwrite each other's notes,
    and `status` then shows whichever wrote last: the starting service says so, once, in its log.
    """
    if service.get("state") not in ("running", "starting"):
        return None
    if service.get("host") == host and service.get("pid") == pid:
        return None
    shown, _, _ = assess(service, now, int(service.get("poll_interval") or HEARTBEAT_MAX))
    if shown == "stale":
        return None
    return f"pid {service.get('pid') or '?'} on {service.get('host') or '?'}"


def assess_poll(service: Mapping[str, Any], now: datetime, poll_interval: int) -> tuple[bool, str]:
    """Healthy: the service has not polled yet, or a channel was read within 3 poll intervals.

    The clock starts at the later of the last good poll and the service's start, so a restart after
    a long stop gets three intervals to complete its first poll before it counts as stale.
    """
    interval = int(service.get("poll_interval") or poll_interval)
    limit = timedelta(seconds=STALE_AFTER_INTERVALS * interval)
    last_ok = parse_time(service.get("last_poll_ok_at"))
    started = parse_time(service.get("started_at"))
    if parse_time(service.get("last_poll_at")) is None and started is None:
        return True, "the service has not run on this archive yet"
    since = max((t for t in (last_ok, started) if t is not None), default=None)
    if since is None:
        return False, "the service polled but never read a channel successfully"
    age = now - since
    what = "last successful poll" if since == last_ok else "service start"
    verdict = f"{what} {ago(age)} ago (limit {STALE_AFTER_INTERVALS} × {interval}s = {ago(limit)})"
    return age <= limit, verdict
