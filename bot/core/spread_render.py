"""Text views of the spread analysis for a person: a timeline, the amplifiers table, the sources list.

Pure functions on the JSON-shaped dicts bot/app/analytics.py builds (the same figures `--json` prints),
so the CLI, the bot and the digest line say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from bot.core.spread import humanize

KIND_MARK = {"origin": "●", "forward": "↪", "copy": "≡", "near-duplicate": "≈"}


def _when(value: str, tz: tzinfo) -> str:
    return datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def carried_line(carriers: Sequence[Mapping[str, Any]]) -> str | None:
    """ "carried by 4 channels within 2 h 10 min": channels other than the origin's, and the last of
    their first carrying posts; None when nobody else carried it."""
    origin_channels = {c["channel_id"] for c in carriers if c["kind"] == "origin"}
    firsts: dict[int, int] = {}
    for c in carriers:
        if c["kind"] != "origin" and c["channel_id"] not in origin_channels:
            firsts.setdefault(c["channel_id"], int(c["delay_seconds"]))
    if not firsts:
        return None
    n = len(firsts)
    return f"carried by {n} channel{'s' if n != 1 else ''} within {humanize(max(firsts.values()))}"


def spread_text(spread: Mapping[str, Any], tz: tzinfo, *, text_chars: int = 200) -> str:
    """The statement, where it came from, and one line per carrier with its delay: a timeline."""
    statement = spread["statement"]
    origin = statement["origin"]
    text = " ".join(str(statement["text"]).split())
    if len(text) > text_chars:
        text = text[: text_chars - 1] + "…"
    archived = "" if origin.get("archived") else " (not archived; date from the forward header or first sighting)"
    lines = [
        f"Statement: {text or '[no text]'}",
        f"Origin: {origin['channel']} · {_when(origin['date'], tz)}{archived}",
    ]
    if origin.get("url"):
        lines.append(f"        {origin['url']}")
    carriers = spread["carriers"]
    summary = carried_line(carriers)
    lines += ["", summary[0].upper() + summary[1:] if summary else "Carried by no other channel", ""]
    width = max((len(str(c["channel"])) for c in carriers), default=0)
    for c in carriers:
        delay = "+" + humanize(int(c["delay_seconds"])) if c["kind"] != "origin" else "origin"
        views = f"{c['views']:,} views" if c.get("views") is not None else ""
        lines.append(
            f"{KIND_MARK[c['kind']]} {_when(c['date'], tz)}  {delay:>12}  {c['channel']!s:<{width}}  "
            f"{c['kind']:<14} {views:>12}  {c.get('url') or ''}".rstrip()
        )
    lines += ["", "● origin  ↪ forward  ≡ copy without forward header  ≈ near-duplicate (paraphrase)"]
    return "\n".join(lines)


def _delay(value: int | None) -> str:
    return humanize(value) if value is not None else "-"


def amplifiers_text(rows: Sequence[Mapping[str, Any]], *, title: str) -> str:
    if not rows:
        return f"{title}\n\nno channel carried another channel's statement in this window"
    cells = [("channel", "statements", "forwards", "copies", "first", "median", "p90", "carried")]
    for r in rows:
        cells.append(
            (
                str(r["channel"]),
                str(r["statements"]),
                str(r["forwards"]),
                str(r["copies"]),
                str(r["first"]),
                _delay(r["median_delay_seconds"]),
                _delay(r["p90_delay_seconds"]),
                f"{round(100 * float(r['carried_share']))}%",
            )
        )
    return title + "\n\n" + _table(cells)


def sources_text(rows: Sequence[Mapping[str, Any]], tz: tzinfo, *, title: str) -> str:
    if not rows:
        return f"{title}\n\nno forwards from channels outside the monitored ones in this window"
    lines = [title, ""]
    for n, r in enumerate(rows, start=1):
        ident = f"@{r['username']}" if r.get("username") else (f"id {r['tg_id']}" if r.get("tg_id") else "no id known")
        lines.append(
            f"{n}. {r['name']} ({ident}): forwarded by {r['channels']} channel{'s' if r['channels'] != 1 else ''}, "
            f"{r['forwards']} forward{'s' if r['forwards'] != 1 else ''}, "
            f"{_when(r['first_seen'], tz)} – {_when(r['last_seen'], tz)}"
        )
        lines += [f"   {link}" for link in r["examples"]]
    return "\n".join(lines)


def _table(cells: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    out = []
    for row in cells:
        out.append(
            "  ".join(
                (cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])) for i, cell in enumerate(row)
            ).rstrip()
        )
    return "\n".join(out)
