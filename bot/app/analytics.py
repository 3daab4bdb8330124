"""Who carries what: the spread of one statement, amplifiers, the forward network, sources to watch.

The application step between the archive's reads (storage/spread_reads.py) and the arithmetic
(bot/core/spread.py, bot/core/amplification.py): the CLI, the bot, the web viewer and the digest all
call these, so a figure is the same wherever it is read. Results are plain dicts in the JSON shapes
docs/who-carries-what.md documents; channel ids in them are the archive's (`/channel/ID` on the web).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.amplification import Window, amplifiers, forward_edges, unmonitored_sources, window_statements
from bot.core.digest import AmplificationSection, AmplifierLine
from bot.core.numbers import ascii_int
from bot.core.spread import ChannelInfo, Statement, channel_by_key, describe, source_label, source_url
from bot.models import ChannelRef
from storage.spread_reads import SpreadReads
from storage.store import Store

_LINK = re.compile(r"^(?:https?://)?(?:t\.me|telegram\.me)/(?:s/)?(?:(c)/)?([A-Za-z0-9_]{1,64})/([0-9]{1,12})/?$")
DEFAULT_DAYS = 30
AMPLIFICATION_ROWS = 5


class RefError(ValueError):
    """A REF that names no archived post; the message says which and why, in one line."""


def resolve_ref(reads: SpreadReads, ref: str) -> int:
    """An archive post id (`123`) or a post link (`https://t.me/NAME/MSG`, `https://t.me/c/ID/MSG`)."""
    text = ref.strip()
    if text.isascii() and text.isdecimal():
        post_id = ascii_int(text)  # None above SQLite's 64-bit range (an OverflowError in the query)
        if post_id is None:
            raise RefError(f"there is no post {text[:30]} in the archive")
        return post_id
    match = _LINK.match(text)
    if match is None:
        raise RefError(f"{ref[:80]!r} is neither a post id nor a t.me post link (https://t.me/NAME/MSG)")
    private, name, message = match.groups()
    if private and not (name.isascii() and name.isdecimal()):
        raise RefError(f"{ref[:80]!r}: a t.me/c/ link names a channel by its number")
    post_id = reads.post_by_link(None if private else name, int(name) if private else None, int(message))
    if post_id is None:
        raise RefError(f"{ref[:80]!r} is not in the archive (is its channel archived?)")
    return post_id


def _names(statement: Statement) -> dict[str, str]:
    """A hidden or unarchived source's name as its forwards' headers give it."""
    return {
        str(statement.source): c.row.forward_name
        for c in statement.carriers
        if c.kind == "forward" and c.row.forward_name and isinstance(statement.source, str)
    }


def spread_json(store: Store, post_id: int) -> dict[str, Any]:
    """The statement `post_id` belongs to: its text, origin and carriers oldest first (the CLI's --json)."""
    reads = SpreadReads(store)
    rows = reads.statement_rows(post_id)
    if not rows:
        raise RefError(f"there is no post {post_id} in the archive")
    channels = reads.channel_infos(rows)
    statement = describe(rows, channel_by_key(channels))
    text_of = statement.origin or next((c.row for c in statement.carriers if c.kind != "near-duplicate"), rows[0])
    return {
        "statement": {
            "text": reads.post_text(text_of.post_id),
            "origin": {
                "channel": source_label(statement.source, channels, _names(statement)),
                "channel_id": statement.source if isinstance(statement.source, int) else None,
                "date": statement.origin_date.isoformat(),
                "url": source_url(statement, channels),
                "post_id": statement.origin.post_id if statement.origin else None,
                "archived": statement.origin is not None,
            },
        },
        "carriers": [
            {
                "channel": channels[c.row.channel_id].label if c.row.channel_id in channels else str(c.row.channel_id),
                "channel_id": c.row.channel_id,
                "date": c.row.date.isoformat(),
                "delay_seconds": c.delay_seconds,
                "kind": c.kind,
                "url": c.row.url,
                "views": c.row.views,
                "post_id": c.row.post_id,
            }
            for c in statement.carriers
        ],
    }


@dataclass(frozen=True, slots=True)
class Analysis:
    """A window's statements with the channels they name: what amplifiers, graph and sources read."""

    since: datetime
    until: datetime
    window: Window
    channels: dict[int, ChannelInfo]


def analyse(store: Store, since: datetime | None, until: datetime | None, *, days: int = DEFAULT_DAYS) -> Analysis:
    """The window [since, until); by default the `days` days up to the newest post (not to today: an
    archive filled from exports ends when they end)."""
    reads = SpreadReads(store)
    if until is None:
        row = store.db.execute("SELECT max(date) FROM posts").fetchone()
        newest = datetime.fromisoformat(row[0]) if row and row[0] else None
        until = (newest + timedelta(seconds=1)) if newest else datetime.now().astimezone()
    if since is None:
        since = until - timedelta(days=days)
    channels = reads.channel_infos()
    keys, posts = reads.window_carried(since, until)
    return Analysis(since, until, window_statements(keys, channels, posts), channels)


def find_source(analysis: Analysis, store: Store, name: str) -> int | str:
    """`--source`: an archived channel (any name `--channel` takes), else a source key as shown."""
    row = store.find_channel(name)
    if row is not None:
        return row.id
    key = name if name.startswith(("tg:", "fwd:", "@")) else f"@{name.lstrip('@').lower()}"
    if any(s.source == key for s in analysis.window.statements):
        return key
    raise RefError(f"--source {name!r}: no archived channel and no forward source of that name in the window")


def amplifiers_json(analysis: Analysis, source: int | str | None = None) -> list[dict[str, Any]]:
    channels = analysis.channels
    return [
        {
            "channel": channels[a.channel_id].label if a.channel_id in channels else str(a.channel_id),
            "channel_id": a.channel_id,
            "statements": a.statements,
            "forwards": a.forwards,
            "copies": a.copies,
            "first": a.first,
            "median_delay_seconds": a.median_delay_seconds,
            "p90_delay_seconds": a.p90_delay_seconds,
            "carried_share": a.carried_share,
        }
        for a in amplifiers(analysis.window, source=source)
    ]


def _source_names(analysis: Analysis) -> dict[str, str]:
    names: dict[str, str] = {}
    for statement in analysis.window.statements:
        if isinstance(statement.source, str) and statement.source not in names:
            names.update(_names(statement))
    return names


def node_id(source: int | str) -> str:
    return f"c{source}" if isinstance(source, int) else source


def graph_json(analysis: Analysis, store: Store) -> dict[str, Any]:
    """Nodes (archived channels that take part, with their posts in the window, and outside sources)
    and edges source -> carrier."""
    edges = forward_edges(analysis.window)
    channels = analysis.channels
    named = _forward_names(analysis, store)
    ends = {e.source for e in edges} | {e.target for e in edges}
    nodes = []
    for end in sorted(ends, key=node_id):
        if isinstance(end, int) and end in channels:
            c = channels[end]
            nodes.append(
                {
                    "id": node_id(end),
                    "label": c.label,
                    "title": c.title,
                    "username": c.username,
                    "tg_id": c.tg_id,
                    "monitored": c.monitored,
                    "posts": analysis.window.posts.get(end, 0),
                }
            )
        else:
            key = str(end)
            nodes.append(
                {
                    "id": key,
                    "label": named.get(key) or source_label(key, channels),
                    "title": named.get(key),
                    "username": key[1:] if key.startswith("@") else None,
                    "tg_id": int(key[3:]) if key.startswith("tg:") and key[3:].isdecimal() else None,
                    "monitored": False,
                    "posts": 0,
                }
            )
    return {
        "since": analysis.since.isoformat(),
        "until": analysis.until.isoformat(),
        "nodes": nodes,
        "edges": [
            {
                "source": node_id(e.source),
                "target": node_id(e.target),
                "weight": e.weight,
                "forwards": e.forwards,
                "copies": e.copies,
                "median_delay_seconds": e.median_delay_seconds,
            }
            for e in edges
        ],
    }


def _forward_names(analysis: Analysis, store: Store) -> dict[str, str]:
    """Names of outside sources from one forward's header each (window rows carry no names)."""
    wanted: dict[str, int] = {}
    for statement in analysis.window.statements:
        if isinstance(statement.source, str) and statement.source not in wanted:
            forward = next((c.row.post_id for c in statement.carriers if c.kind == "forward"), None)
            if forward is not None:
                wanted[statement.source] = forward
    links = SpreadReads(store).post_links(list(wanted.values()))
    names = {key: links[pid][2] for key, pid in wanted.items() if pid in links and links[pid][2]}
    for key in wanted:
        if key.startswith("fwd:"):
            names.setdefault(key, key[4:])
    return {k: v for k, v in names.items() if v}


def sources_json(analysis: Analysis, store: Store, *, limit: int = 20) -> list[dict[str, Any]]:
    found = unmonitored_sources(analysis.window, analysis.channels)[:limit]
    reads = SpreadReads(store)
    links = reads.post_links([pid for s in found for pid in s.examples])
    rows = []
    for s in found:
        names = [links[p][2] for p in s.examples if p in links and links[p][2]]
        key = s.key
        archived = analysis.channels.get(key) if isinstance(key, int) else None
        rows.append(
            {
                "source": node_id(key),
                "name": names[0] if names else (archived.label if archived else source_label(key, analysis.channels)),
                "username": (archived.username if archived else (str(key)[1:] if str(key).startswith("@") else None)),
                "tg_id": archived.tg_id
                if archived
                else (int(str(key)[3:]) if str(key).startswith("tg:") and str(key)[3:].isdecimal() else None),
                "channels": s.channels,
                "forwards": s.forwards,
                "statements": s.statements,
                "first_seen": s.first_seen.isoformat(),
                "last_seen": s.last_seen.isoformat(),
                "examples": [links[p][0] or f"post {p}" for p in s.examples if p in links],
            }
        )
    return rows


def amplification_section(store: Store, end: datetime, *, days: int = 7) -> AmplificationSection:
    """The digest's weekly section: the `days` days before `end`, top amplifiers and unmonitored sources."""
    analysis = analyse(store, end - timedelta(days=days), end)
    rows = amplifiers_json(analysis)[:AMPLIFICATION_ROWS]
    sources = sources_json(analysis, store, limit=AMPLIFICATION_ROWS)
    return AmplificationSection(
        start=analysis.since,
        end=analysis.until,
        amplifiers=tuple(
            AmplifierLine(str(r["channel"]), int(r["statements"]), int(r["first"]), r["median_delay_seconds"])
            for r in rows
        ),
        sources=tuple((str(s["name"]), int(s["channels"])) for s in sources),
    )


def watchable(row: dict[str, Any]) -> ChannelRef | None:
    """The channel to add to the watch list for a source row, when it is named well enough to read."""
    if row.get("username"):
        return ChannelRef(tg_id=row.get("tg_id"), username=str(row["username"]), title=row.get("name"))
    if row.get("tg_id") is not None:
        return ChannelRef(tg_id=int(row["tg_id"]), title=row.get("name"))
    return None
