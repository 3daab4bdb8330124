"""Who carried a statement, how, and how fast: the arithmetic behind `tgmonitor spread`, amplifiers and the graph.

Plain functions on the key rows storage reads from its indexes (`KeyRow`): the statement grouping is
bot/core/statements.py's, and this module only says, within one statement, which post is the origin
and how every other post carried it:

- `origin`: the original post, when its channel is archived (others forward it, or it is the first);
- `forward`: a post with a forward header naming another channel's post (or a hidden sender);
- `copy`: the same clean text without a forward header;
- `near-duplicate`: joined by the near-duplicate cluster only (a paraphrase).

A forward's source is read from its origin key (`tg:ID/MSG`, `@name/MSG`, `fwd:name/hash`), so a
channel that feeds the archive's channels is known even when it is not archived itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.core.statements import origin_link

CarrierKind = Literal["origin", "forward", "copy", "near-duplicate"]


# KeyRow and Carrier are built for every carrying post of a month: not frozen, as a frozen dataclass
# costs about three times as much to build (each field set through object.__setattr__).
@dataclass(slots=True)
class KeyRow:
    """One post as the analysis reads it: what the covering index posts_keys holds, plus for one
    statement's few rows the message id, views, link and the forward header's date."""

    post_id: int
    channel_id: int
    date: datetime
    origin_key: str
    content_hash: str
    cluster_id: int | None
    message_id: int | None = None
    views: int | None = None
    url: str | None = None
    forward_date: datetime | None = None
    forward_name: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """An archived channel: its keys (`tg:ID`, `@name`) tell its own posts from forwards."""

    id: int
    tg_id: int | None
    username: str | None
    title: str | None
    monitored: bool = True  # watched, or its posts are archived

    @property
    def label(self) -> str:
        return f"@{self.username}" if self.username else self.title or f"channel {self.id}"

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k in (f"tg:{self.tg_id}" if self.tg_id is not None else "", self.source_key) if k)

    @property
    def source_key(self) -> str:
        return f"@{self.username}" if self.username else ""


@dataclass(slots=True)
class Carrier:
    row: KeyRow
    kind: CarrierKind
    delay_seconds: int


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement's carriers, oldest first. `source` is where it came from: an archived channel's
    id (int) or, for a source outside the archive, the channel part of the forwards' origin key."""

    source: int | str
    origin: KeyRow | None  # the original post, when archived
    origin_date: datetime  # the original's date, else the forward header's, else the first sighting
    carriers: tuple[Carrier, ...]


def source_part(origin_key: str) -> str:
    """`tg:123/45` -> `tg:123`; `fwd:mfa russia/ab12…` -> `fwd:mfa russia`."""
    return origin_key.rpartition("/")[0] or origin_key


def channel_by_key(channels: Mapping[int, ChannelInfo]) -> dict[str, int]:
    return {key: c.id for c in channels.values() for key in c.keys}


def describe(rows: Sequence[KeyRow], by_key: Mapping[str, int]) -> Statement:
    """One statement's posts (oldest first, at least one) as an origin and its carriers.

    The source is the channel most forwards name; with no forward, the first post's channel. A post
    of the source channel itself is its origin (the earliest, if it posted it twice).
    """
    forwarded: dict[str, int] = {}
    own: list[bool] = []
    channel_of = by_key.get
    for row in rows:  # runs per carrier of a month: source_part inlined, one rfind
        key = row.origin_key
        cut = key.rfind("/")
        part = key[:cut] if cut >= 0 else key
        is_own = channel_of(part) == row.channel_id
        own.append(is_own)
        if not is_own:
            forwarded[part] = forwarded.get(part, 0) + 1
    source: int | str
    if forwarded:
        part = next(iter(forwarded)) if len(forwarded) == 1 else max(forwarded, key=lambda k: (forwarded[k], k))
        source = channel_of(part, part)
    else:
        source = rows[0].channel_id
    origin: KeyRow | None = None
    reference: KeyRow | None = None
    first_date = rows[0].date
    header_date: datetime | None = None
    for row, is_own in zip(rows, own, strict=True):
        if is_own:
            if origin is None and row.channel_id == source:
                origin = row
        else:
            if reference is None:
                reference = row
            if row.forward_date is not None and (header_date is None or row.forward_date < header_date):
                header_date = row.forward_date
    if origin is not None:
        origin_date = origin.date
    else:
        origin_date = min(header_date, first_date) if header_date is not None else first_date
    reference_hash = (origin or reference or rows[0]).content_hash
    carriers: list[Carrier] = []
    add = carriers.append
    for row, is_own in zip(rows, own, strict=True):
        kind: CarrierKind
        if row is origin:
            kind = "origin"
        elif not is_own:
            kind = "forward"
        elif row.content_hash == reference_hash:
            kind = "copy"
        else:
            kind = "near-duplicate"
        seconds = (row.date - origin_date).total_seconds()
        add(Carrier(row, kind, round(seconds) if seconds > 0 else 0))
    return Statement(source, origin, origin_date, tuple(carriers))


def source_label(source: int | str, channels: Mapping[int, ChannelInfo], names: Mapping[str, str] | None = None) -> str:
    """How to name a source: an archived channel's label; `@name`; a hidden sender's name; `tg:ID`."""
    if isinstance(source, int):
        return channels[source].label if source in channels else f"channel {source}"
    if names and source in names:
        return names[source]
    return source.removeprefix("fwd:") if source.startswith("fwd:") else source


def source_url(statement: Statement, channels: Mapping[int, ChannelInfo]) -> str | None:
    """The original's link: the archived post's, else the public post the forwards name."""
    if statement.origin is not None and statement.origin.url:
        return statement.origin.url
    for carrier in statement.carriers:
        if carrier.kind == "forward":
            link = origin_link(carrier.row.origin_key)
            if link:
                return link
    return None


def percentile(values: Sequence[int], pct: int) -> int | None:
    """The pct-th percentile by nearest rank (an observed delay, not an interpolated one); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-pct * len(ordered) // 100))  # ceil(pct * n / 100) in integers: no float rounding
    return ordered[rank - 1]


def median(values: Sequence[int]) -> int | None:
    """The median delay in whole seconds (the mean of the middle two, rounded down, for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) // 2


def humanize(seconds: int) -> str:
    """`2 h 10 min`, `45 min`, `30 s`, `3 d 4 h`: a delay as a person says it."""
    if seconds < 60:
        return f"{seconds} s"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
