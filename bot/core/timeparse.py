"""User-written points in time: '24h', '7d', '2026-11-01', '2026-11-01T08:00'."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

_RELATIVE = re.compile(r"^([0-9]{1,12})\s*([mhdw])$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Years a point may fall in (the web viewer's days too): far enough from datetime's own ends that a
# time zone or a day added later cannot step outside them (0001-01-01 in Tokyo is year 0 in UTC).
FIRST_YEAR, LAST_YEAR = 1970, 2999


def parse_since(value: str, now: datetime, tz: tzinfo = UTC) -> datetime:
    """A relative age back from `now`, or a date/datetime in `tz` (dates mean local midnight), in the
    years FIRST_YEAR to LAST_YEAR."""
    text = value.strip()
    shown = repr(value[:40]) + ("…" if len(value) > 40 else "")
    match = _RELATIVE.match(text)
    if match:
        try:
            parsed = now - timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
        except OverflowError:  # `since:9999999999d`: before year 1
            parsed = None
        if parsed is None or parsed.year < FIRST_YEAR:
            raise ValueError(f"cannot read time {shown}: that is further back than any post") from None
        return parsed
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"cannot read time {shown}: use an age like 24h, 7d, 2w or a date like 2026-11-01") from None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:  # checked before any time zone arithmetic can overflow
        raise ValueError(f"cannot read time {shown}: give a date from {FIRST_YEAR} to {LAST_YEAR}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
