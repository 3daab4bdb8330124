"""A statement's carriers on a time line, and the forward network, as SVG drawn on the server.

The same rules as bot/core/svg_charts.py: pure functions to an `<svg>` string, every label escaped,
links only to local paths, colours as presentation attributes (the viewer's Content-Security-Policy
allows no inline style or script), a `<title>` on each mark for the browser's tooltip. The network is
laid out here, deterministically: sources on a circle in order of weight, no physics and no script.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from bot.core.spread import humanize
from bot.core.svg_charts import PALETTE, _empty, _link, _short, _svg

KIND_COLOURS = {"origin": "#000000", "forward": PALETTE[0], "copy": PALETTE[1], "near-duplicate": PALETTE[2]}


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    label: str  # the channel
    delay_seconds: int
    kind: str
    when: str  # the date as the page shows it
    href: str | None = None  # the post's page


def timeline_svg(points: Sequence[TimelinePoint], title: str, *, width: int = 760) -> str:
    """One row per carrier, oldest first; x is the delay from the origin, on a square-root scale so the
    first minutes stay readable beside a copy a day later."""
    if not points:
        return _empty(title, width, "chart timeline")
    left, right, top, row = 170, 24, 30, 22
    plot_w = width - left - right
    height = top + row * len(points) + 34
    longest = max(max(p.delay_seconds for p in points), 60)

    def x(seconds: int) -> float:
        return left + plot_w * math.sqrt(seconds / longest)

    body = [f'<text x="{left}" y="16" fill="#222222" font-weight="bold">{escape(_short(title, 90))}</text>']
    axis_y = top + row * len(points) + 4
    body.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#999999"/>')
    ticks = [t for t in (0, 600, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400) if t <= longest]
    if longest not in ticks and longest - ticks[-1] > longest / 5:
        ticks.append(longest)
    for t in ticks:
        tx = x(t)
        body.append(f'<line x1="{tx:.1f}" y1="{top - 6}" x2="{tx:.1f}" y2="{axis_y}" stroke="#eeeeee"/>')
        label = "0" if t == 0 else "+" + humanize(t)
        body.append(f'<text x="{tx:.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#444444">{escape(label)}</text>')
    for n, point in enumerate(points):
        cy = top + row * n + row / 2
        colour = KIND_COLOURS.get(point.kind, PALETTE[8])
        delay = "origin" if point.kind == "origin" else "+" + humanize(point.delay_seconds)
        tip = f"{point.label} · {point.kind} · {point.when} ({delay})"
        name = (
            f'<text x="{left - 8}" y="{cy + 4:.1f}" text-anchor="end" fill="#222222">'
            f"{escape(_short(point.label, 24))}</text>"
        )
        body.append(_link(name, point.href))
        end = x(point.delay_seconds)
        body.append(f'<line x1="{left}" y1="{cy:.1f}" x2="{end:.1f}" y2="{cy:.1f}" stroke="#dddddd"/>')
        dot = (
            f'<circle cx="{x(point.delay_seconds):.1f}" cy="{cy:.1f}" r="6" fill="{colour}">'
            f"<title>{escape(tip)}</title></circle>"
        )
        body.append(_link(dot, point.href))
    return _svg(width, height, title, body, css_class="chart timeline")


@dataclass(frozen=True, slots=True)
class NetNode:
    id: str
    label: str
    monitored: bool
    href: str | None = None


@dataclass(frozen=True, slots=True)
class NetEdge:
    source: str
    target: str
    weight: int
    forwards: int
    copies: int
    median_delay_seconds: int | None


def network_svg(
    nodes: Sequence[NetNode], edges: Sequence[NetEdge], title: str, *, size: int = 640, max_nodes: int = 40
) -> str:
    """Nodes on a circle, heaviest (by statements sent and carried) first from the top, clockwise; edges
    as arrows whose width grows with the statements they carried. Monitored channels are filled, outside
    sources hollow. Only the `max_nodes` heaviest nodes are drawn (the table beside it lists them all)."""
    degree: dict[str, int] = {}
    for e in edges:
        degree[e.source] = degree.get(e.source, 0) + e.weight
        degree[e.target] = degree.get(e.target, 0) + e.weight
    shown = sorted((n for n in nodes if n.id in degree), key=lambda n: (-degree[n.id], n.id))[:max_nodes]
    if not shown:
        return _empty(title, size, "chart network")
    centre, radius = size / 2, size / 2 - 110
    place = {}
    for i, node in enumerate(shown):
        angle = 2 * math.pi * i / len(shown) - math.pi / 2
        place[node.id] = (centre + radius * math.cos(angle), centre + 10 + radius * math.sin(angle))
    heaviest = max((e.weight for e in edges), default=1)
    labels = {n.id: n.label for n in shown}
    body = [
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#777777"/></marker></defs>',
        f'<text x="8" y="16" fill="#222222" font-weight="bold">{escape(_short(title, 90))}</text>',
    ]
    for e in edges:
        if e.source not in place or e.target not in place:
            continue
        (x1, y1), (x2, y2) = place[e.source], place[e.target]
        length = math.hypot(x2 - x1, y2 - y1) or 1
        # stop the arrow at the target's rim
        x2, y2 = x2 - (x2 - x1) * 11 / length, y2 - (y2 - y1) * 11 / length
        width = 1 + 4 * e.weight / heaviest
        delay = f", median {humanize(e.median_delay_seconds)}" if e.median_delay_seconds is not None else ""
        tip = (
            f"{labels[e.source]} → {labels[e.target]}: {e.weight} statements "
            f"({e.forwards} forwards, {e.copies} copies{delay})"
        )
        body.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#777777" '
            f'stroke-opacity="0.6" stroke-width="{width:.1f}" marker-end="url(#arrow)">'
            f"<title>{escape(tip)}</title></line>"
        )
    for node in shown:
        cx, cy = place[node.id]
        fill = PALETTE[0] if node.monitored else "#ffffff"
        tip = f"{node.label}: {degree[node.id]} statements sent or carried" + (
            "" if node.monitored else " (not monitored)"
        )
        dot = (
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="9" fill="{fill}" stroke="{PALETTE[0]}" stroke-width="2">'
            f"<title>{escape(tip)}</title></circle>"
        )
        anchor = "start" if cx >= centre else "end"
        dx = 13 if cx >= centre else -13
        text = (
            f'<text x="{cx + dx:.1f}" y="{cy + 4:.1f}" text-anchor="{anchor}" fill="#222222">'
            f"{escape(_short(node.label, 22))}</text>"
        )
        body.append(_link(dot + text, node.href))
    return _svg(size, size + 20, title, body, css_class="chart network")
