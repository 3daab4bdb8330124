"""Argument checks shared by the subcommands: a bad value is a usage error (exit 2) naming the option."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.core.channels import ChannelIdentError, parse_channel
from bot.core.numbers import INT64_MAX, ascii_int
from bot.core.timeparse import parse_since
from bot.models import ChannelRow
from bot.setting_values import parse_time_zone, shown_value
from storage.store import Store


class UsageError(ValueError):
    """A value argparse could not check by itself (it needs the settings or the clock); exit 2."""


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def int_range(low: int, high: int) -> Callable[[str], int]:
    """A whole number from `low` to `high` (a port, a page size): refused by argparse, exit 2."""

    def parse(text: str) -> int:
        value = _int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low} to {high}, got {text}")
        return value

    return parse


def _int(text: str) -> int:
    """ASCII digits with an optional minus, within SQLite's 64-bit range (`int()` also takes "٣", "1_0")."""
    negative = text.startswith("-")
    value = ascii_int(text[1:] if negative else text)
    if value is None:
        raise argparse.ArgumentTypeError(
            f"expected a whole number (ASCII digits, at most {INT64_MAX:,}), got {shown_value(text, 40)}"
        )
    return -value if negative else value


_SECONDS = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6})?")


def positive_seconds(text: str) -> float:
    """A duration in seconds above 0, like 2 or 0.5 (`float()` also takes "nan", "inf", "1e3" and "٣")."""
    value = non_negative_seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def non_negative_seconds(text: str) -> float:
    if not _SECONDS.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"expected seconds like 1 or 0.5 (ASCII digits), got {shown_value(text, 40)}")
    return float(text)


def time_zone(text: str) -> ZoneInfo:
    """An IANA zone name like Europe/Sofia."""
    try:
        return parse_time_zone(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown time zone {shown_value(text, 60)}: use an IANA name like Europe/Moscow"
        ) from None


def channel(text: str) -> str:
    """Any form bot/core/channels.py reads, a title included; the archive looks it up later."""
    try:
        parse_channel(text, titles=True)
    except ChannelIdentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def tag(text: str) -> str:
    """A tag filter (`serbia`, `#Serbia`): a name after the `#`, and text a database can hold (undecodable
    bytes in an argument arrive as lone surrogates, which SQLite refused with a codec error)."""
    if re.search("[\ud800-\udfff]", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not valid text (undecodable bytes?)")
    if not text.strip().lstrip("#"):
        raise argparse.ArgumentTypeError(f"expected a tag name like serbia or #Serbia, got {text!r}")
    return text


def since(text: str, now: datetime, tz: tzinfo, option: str = "--since") -> datetime:
    """A start in the past: a window that starts in the future can only be empty, so it is a mistake."""
    try:
        start = parse_since(text, now, tz)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    if start > now:
        raise UsageError(f"{option} {text} is in the future ({start:%Y-%m-%d %H:%M %Z}); give a past date or an age")
    return start


def until(text: str, now: datetime, tz: tzinfo, start: datetime, option: str = "--until") -> datetime:
    """The end of a window (exclusive): an age back from now, a date and time, or a date, which means
    that whole local day (its end, the next local midnight). It must come after the start."""
    try:
        end = parse_since(text, now, tz)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    if re.fullmatch(r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*", text):
        day = end.date() + timedelta(days=1)
        end = datetime.combine(day, time(0), tzinfo=end.tzinfo)
    if end <= start:
        raise UsageError(
            f"{option} {text} ({end:%Y-%m-%d %H:%M %Z}) is not after the start ({start:%Y-%m-%d %H:%M %Z})"
        )
    return end


def archived_channel(store: Store, text: str) -> ChannelRow:
    """A channel named by its title (or any other form) that the archive already knows."""
    row = store.find_channel(text)
    if row is None:
        raise ValueError(f"no channel {text!r} in the archive: use its @name or id (`tgmonitor channels` lists them)")
    return row
