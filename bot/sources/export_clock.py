"""Whose clock an export's times are on: UTC offsets, or the exporter's local clock.

Telegram Desktop writes every time as the exporting computer's wall clock. Newer exports add what
makes it exact: `date_unixtime` in JSON, ` UTC+03:00` in the HTML titles. Older ones have neither;
the importers then take the wall time as UTC, which is off by the exporter's offset. This module
tells the two apart by looking at the file (the importers stay as they are), and moves such times to
UTC from a zone the user names (`tgmonitor import --tz Europe/Moscow`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from bot.models import RawPost

_PEEK_BYTES = 1 << 20  # the first megabyte tells: every message carries its date
_JSON_DATE = re.compile(rb'"date"\s*:\s*"')
_HTML_DATE = re.compile(rb'title="\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d( UTC[+-]\d\d:\d\d)?"')


def first_page(path: Path) -> Path | None:
    """The file whose dates stand for the export: result.json, messages.html, or the file itself."""
    if path.is_file():
        return path
    for name in ("result.json", "messages.html", "index.html"):
        if (path / name).is_file():
            return path / name
    return None


def has_offsets(path: Path) -> bool | None:
    """True: the export's times are exact (UTC offsets); False: local wall clock; None: no date seen."""
    page = first_page(path)
    if page is None:
        return None
    with page.open("rb") as handle:
        head = handle.read(_PEEK_BYTES)
    if page.suffix.lower() == ".json":
        if b'"date_unixtime"' in head:
            return True
        return False if _JSON_DATE.search(head) else None
    found = _HTML_DATE.search(head)
    return None if found is None else found.group(1) is not None


def clock_key(channel_id: int) -> str:
    """The `meta` key that records a channel's imported times as the exporter's clock ("approximate"),
    or placed with --tz (the zone's name): no schema change for a per-channel fact."""
    return f"export_clock:{channel_id}"


def local_clock_note(label: str, tz: tzinfo | None) -> str:
    """The one line an import says about such an export."""
    if tz is None:
        return (
            f"{label}: times have no UTC offset (an older export): they are the exporter's local clock, "
            "stored as if UTC and so approximate; give --tz ZONE (the exporter's, e.g. Europe/Moscow) to place them"
        )
    return f"{label}: times have no UTC offset: read as the exporter's local clock in {tz}"


def _moved(value: datetime | None, tz: tzinfo) -> datetime | None:
    """A wall time the importer took as UTC, read again as local time in `tz`."""
    if value is None:
        return None
    return value.replace(tzinfo=None).replace(tzinfo=tz).astimezone(UTC)


def on_local_clock(raw: RawPost, tz: tzinfo) -> RawPost:
    """The post with its export's wall times (date, edit date, forward date) moved from `tz` to UTC."""
    forward = raw.forward
    if forward is not None and forward.date is not None:
        forward = replace(forward, date=_moved(forward.date, tz))
    return replace(raw, date=_moved(raw.date, tz) or raw.date, edit_date=_moved(raw.edit_date, tz), forward=forward)
