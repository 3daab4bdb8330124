"""How the archive writes times: UTC ISO-8601 to the second, so text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db_time(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def from_db_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
