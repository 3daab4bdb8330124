"""Amplifiers, the forward network and unmonitored sources over a window of posts (pure arithmetic).

All three start from the same place: the window's key rows (storage reads them from the covering
index posts_keys), grouped into statements by bot/core/statements.py, each statement described by
bot/core/spread.py (source, origin, carriers). Only statements carried by more than one post, or a
single post that forwards another channel, are described: most posts are a channel's own and
carried nowhere else, and they only count towards their channel's posts.

Delays here count from the original when it is in the window, else from the statement's first
sighting in the window (the forward header's date is not in the index; `spread` of one statement
reads it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.spread import ChannelInfo, KeyRow, Statement, channel_by_key, describe, median, percentile
from bot.core.statements import statement_roots


@dataclass(frozen=True, slots=True)
class Window:
    """The statements of a window and how many posts each channel posted in it."""

    statements: tuple[Statement, ...]
    posts: Mapping[int, int]


# (post id, channel id, date as ISO 8601, origin key, content hash, cluster id), as posts_keys holds them
WindowKey = tuple[int, int, str, str, str, int | None]


def window_statements(
    keys: Sequence[WindowKey], channels: Mapping[int, ChannelInfo], posts: Mapping[int, int] | None = None
) -> Window:
    """`keys` oldest first (date, id), as posts_keys gives them: every post of the window, or only
    those that may share a key with another or forward another channel, with `posts` (each channel's
    posts in the window) counted apart (storage `window_carried`).

    A post alone in its statement that is its channel's own only counts: dates are parsed and rows
    built only for the posts of statements that were carried or forwarded. That keeps a month of
    ~100,000 posts close to the cost of reading their keys.
    """
    by_key = channel_by_key(channels)
    roots = statement_roots(keys, at=(3, 4, 5))
    groups: dict[int, list[int]] = {}  # by first post, in window order (a root precedes its members)
    for index, root in enumerate(roots):
        if root == index:
            groups[index] = [index]
        else:
            groups[root].append(index)
    parse = datetime.fromisoformat
    statements = []
    for start, members in groups.items():
        if len(members) == 1:
            origin = keys[start][3]
            if by_key.get(origin[: origin.rfind("/")]) == keys[start][1]:
                continue  # its channel's own post, carried nowhere in the window: it only counts
        rows = [KeyRow(k[0], k[1], parse(k[2]), k[3], k[4], k[5]) for k in map(keys.__getitem__, members)]
        statements.append(describe(rows, by_key))
    if posts is None:
        counted: dict[int, int] = {}
        for key in keys:
            counted[key[1]] = counted.get(key[1], 0) + 1
        posts = counted
    return Window(tuple(statements), posts)


@dataclass(frozen=True, slots=True)
class Amplifier:
    channel_id: int
    statements: int  # statements it carried from other channels
    forwards: int  # of them, carried by a forward
    copies: int  # of them, carried as a copy or paraphrase without a forward header
    first: int  # of them, the first channel to carry it
    median_delay_seconds: int | None
    p90_delay_seconds: int | None
    carried_share: float  # its posts in the window that carry others' statements, of all its posts


@dataclass
class _Tally:
    statements: int = 0
    forwards: int = 0
    copies: int = 0
    first: int = 0
    carried_posts: int = 0
    delays: list[int] = field(default_factory=list)
    last: int = -1  # the number of the statement last counted (a channel counts once per statement)


def amplifiers(window: Window, *, source: int | str | None = None) -> list[Amplifier]:
    """Per carrying channel, sorted by statements carried (then first, then channel id).

    `source`: only statements coming from that channel (an archived channel's id, or a source key).
    """
    # No set or tuple per statement or carrier: a month has ~25,000 carriers, and every object built
    # here brings the cycle collector's next pass over the whole window's objects nearer.
    tallies: dict[int, _Tally] = {}
    for number, statement in enumerate(window.statements):
        if source is not None and statement.source != source:
            continue
        first = True
        for carrier in statement.carriers:
            channel = carrier.row.channel_id
            if carrier.kind == "origin" or channel == statement.source:
                continue
            tally = tallies.get(channel)
            if tally is None:  # not setdefault: that would build a _Tally per carrier
                tally = tallies[channel] = _Tally()
            tally.carried_posts += 1
            if tally.last == number:  # this channel carried the statement already
                continue
            tally.last = number
            if first:
                tally.first += 1
                first = False
            tally.statements += 1
            if carrier.kind == "forward":
                tally.forwards += 1
            else:
                tally.copies += 1
            tally.delays.append(carrier.delay_seconds)
    rows = [
        Amplifier(
            channel_id=channel,
            statements=t.statements,
            forwards=t.forwards,
            copies=t.copies,
            first=t.first,
            median_delay_seconds=median(t.delays),
            p90_delay_seconds=percentile(t.delays, 90),
            carried_share=round(t.carried_posts / window.posts[channel], 4) if window.posts.get(channel) else 0.0,
        )
        for channel, t in tallies.items()
    ]
    return sorted(rows, key=lambda a: (-a.statements, -a.first, a.channel_id))


@dataclass(frozen=True, slots=True)
class Edge:
    source: int | str  # an archived channel's id, or a source key outside the archive
    target: int
    weight: int  # statements
    forwards: int
    copies: int
    median_delay_seconds: int | None


def forward_edges(window: Window) -> list[Edge]:
    """Directed edges source -> carrying channel, weighted by statements, heaviest first."""
    by_source: dict[int | str, dict[int, _Tally]] = {}  # not by (source, target): no tuple per carrier
    for number, statement in enumerate(window.statements):
        tallies = by_source.get(statement.source)
        if tallies is None:
            tallies = by_source[statement.source] = {}
        for carrier in statement.carriers:
            channel = carrier.row.channel_id
            if carrier.kind == "origin" or channel == statement.source:
                continue
            tally = tallies.get(channel)
            if tally is None:
                tally = tallies[channel] = _Tally()
            elif tally.last == number:  # this channel carried the statement already
                continue
            tally.last = number
            tally.statements += 1
            if carrier.kind == "forward":
                tally.forwards += 1
            else:
                tally.copies += 1
            tally.delays.append(carrier.delay_seconds)
    edges = [
        Edge(src, dst, t.statements, t.forwards, t.copies, median(t.delays))
        for src, tallies in by_source.items()
        for dst, t in tallies.items()
    ]
    return sorted(edges, key=lambda e: (-e.weight, str(e.source), e.target))


@dataclass(frozen=True, slots=True)
class Source:
    """A channel that monitored channels forward but that the archive does not monitor."""

    key: int | str  # source key (`tg:ID`, `@name`, `fwd:name`), or the id of an archived, unwatched channel
    channels: int  # monitored channels forwarding it
    forwards: int  # forwarded posts
    statements: int
    first_seen: datetime
    last_seen: datetime
    examples: tuple[int, ...]  # post ids of forwards, newest first (at most three)


def unmonitored_sources(window: Window, channels: Mapping[int, ChannelInfo], *, examples: int = 3) -> list[Source]:
    """Forward sources outside the monitored channels, by how many monitored channels forward them, then
    how often."""
    found: dict[int | str, tuple[set[int], list[KeyRow], set[int]]] = {}
    for number, statement in enumerate(window.statements):
        src = statement.source
        if isinstance(src, int) and src in channels and channels[src].monitored:
            continue
        for carrier in statement.carriers:
            channel = channels.get(carrier.row.channel_id)
            if carrier.kind != "forward" or channel is None or not channel.monitored:
                continue
            forwarding, rows, statements = found.setdefault(src, (set(), [], set()))
            forwarding.add(carrier.row.channel_id)
            rows.append(carrier.row)
            statements.add(number)
    sources = [
        Source(
            key=src,
            channels=len(forwarding),
            forwards=len(rows),
            statements=len(statements),
            first_seen=min(r.date for r in rows),
            last_seen=max(r.date for r in rows),
            examples=tuple(r.post_id for r in sorted(rows, key=lambda r: (r.date, r.post_id), reverse=True)[:examples]),
        )
        for src, (forwarding, rows, statements) in found.items()
    ]
    return sorted(sources, key=lambda s: (-s.channels, -s.forwards, -s.last_seen.timestamp(), str(s.key)))
