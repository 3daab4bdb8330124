"""Parsing what users type after a command: search filters, channel names, times and zones, numbers."""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, available_timezones

from bot.commands.deps import CommandDeps, UsageError
from bot.commands.text import short
from bot.core.channels import ChannelIdentError
from bot.core.channels import parse_channel as read_channel
from bot.core.timeparse import parse_since
from bot.models import ChannelRef


@dataclass(frozen=True, slots=True)
class SearchArgs:
    words: str
    tags: tuple[str, ...]
    channel: str | None
    since: datetime | None


def parse_search(args: str, deps: CommandDeps) -> SearchArgs:
    """`since:` and one standalone `@channel` are the bot's own filters; the rest, #tags included, is a
    rule (bot/core/rules.py), so `#a OR #b` and `-word` mean what they mean everywhere."""
    words: list[str] = []
    tags: list[str] = []
    channel: str | None = None
    since: datetime | None = None
    for token in args.split():
        if token.lower().startswith("since:"):
            try:
                since = parse_since(token[6:], deps.now(), deps.settings.tz)
            except ValueError:
                raise UsageError(
                    f"I could not read {short(token, 40)!r}: write since:2026-11-01 or an age like since:7d."
                ) from None
        elif token.startswith("@") and len(token) > 1:
            if channel is not None:
                raise UsageError("One @channel per search, please.")
            if deps.store.find_channel(token) is None:
                raise UsageError(f"I do not archive {short(token, 40)}; check the spelling of the channel.")
            channel = token
        else:
            words.append(token)
    return SearchArgs(" ".join(words), tuple(tags), channel, since)


def parse_channel(args: str) -> ChannelRef:
    """`@name`, `name`, `t.me/name`, `https://t.me/s/name`, a channel id or a -100… chat id (bot/core/channels.py)."""
    text = args.strip()
    if not text or len(text.split()) > 1:
        raise UsageError("Name one channel, like @balkan_watch or https://t.me/balkan_watch.")
    try:
        ident = read_channel(text)
    except ChannelIdentError as exc:
        if "invite link" in str(exc):
            raise UsageError("That is an invite link: join the channel first, then use its @name.") from None
        raise UsageError(f"{short(args, 40)!r} is not a channel name; use @name or a t.me/name link.") from None
    return ChannelRef(tg_id=ident.tg_id, username=ident.username)


@functools.cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def find_zone(name: str) -> ZoneInfo:
    """An IANA zone by name, case-insensitively; a near miss gets suggestions instead of a shrug."""
    zones = _zone_names()
    canonical = zones.get(name.lower())
    if canonical is not None:
        return ZoneInfo(canonical)
    close = difflib.get_close_matches(name.lower(), list(zones), n=3, cutoff=0.75)
    hint = f" Did you mean {', '.join(zones[c] for c in close)}?" if close else ""
    raise UsageError(
        f"Unknown time zone {short(name, 40)!r}.{hint} Use an IANA name like Europe/Sofia, Europe/Belgrade or UTC."
    )


def parse_hhmm(token: str) -> time:
    match = re.fullmatch(r"([0-9]{1,2})[:.]([0-9]{2})", token)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise UsageError(f"{short(token, 20)!r} is not a time of day; use HH:MM from 00:00 to 23:59.")
    return time(int(match.group(1)), int(match.group(2)))


def positive(token: str, what: str) -> int:
    if not re.fullmatch(r"#?[0-9]{1,18}", token):
        raise UsageError(f"{what} is a number, like 42; got {short(token, 20)!r}.")
    return int(token.lstrip("#"))
