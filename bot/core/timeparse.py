"""User-written points in time: '24h', '7d', '2026-11-01', '2026-11-01T08:00'."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

_RELATIVE = re.compile(r"^([0-9]{1,12})\s*([mhdw])$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime, tz: tzinfo = UTC) -> datetime:
    """A relative age back from `now`, or a date/datetime in `tz` (dates mean local midnight)."""
    text = value.strip()
    match = _RELATIVE.match(text)
    if match:
        try:
            return now - timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
        except OverflowError:  # `since:9999999999d`: before year 1
            raise ValueError(f"cannot read time {value!r}: that is further back than any post") from None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"cannot read time {value!r}: use an age like 24h, 7d, 2w or a date like 2026-11-01") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
