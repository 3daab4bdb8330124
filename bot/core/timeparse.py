"""User-written points in time: '24h', '7d', '2026-11-01', '2026-11-01T08:00'."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

_RELATIVE = re.compile(r"^([0-9]{1,12})\s*([mhdw])$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_FIRST_YEAR, _LAST_YEAR = 1000, 9998


def parse_since(value: str, now: datetime, tz: tzinfo = UTC) -> datetime:
    """A relative age back from `now`, or a date/datetime in `tz` (dates mean local midnight).

    Years outside 1000..9998 are refused: windows add and subtract days and weeks to what this
    returns (`--until 9999-12-31` is the next midnight, a default window is 30 days before
    `--until 0001-01-01`), which overflowed datetime's years 1..9999 into a traceback.
    """
    text = value.strip()
    shown = repr(value[:60])
    match = _RELATIVE.match(text)
    if match:
        try:
            result = now - timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
        except OverflowError:  # `since:9999999999d`: before year 1
            result = datetime.min.replace(tzinfo=UTC)
        if result.year < _FIRST_YEAR:
            raise ValueError(f"cannot read time {shown}: that is further back than any post")
        return result
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"cannot read time {shown}: use an age like 24h, 7d, 2w or a date like 2026-11-01") from None
    if not _FIRST_YEAR <= parsed.year <= _LAST_YEAR:
        raise ValueError(f"cannot read time {shown}: give a year from {_FIRST_YEAR} to {_LAST_YEAR}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
