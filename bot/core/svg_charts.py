"""Charts as SVG text, drawn on the server: no script, no CDN, nothing for an offline browser to fetch.

Pure functions from numbers and labels to an `<svg>` element. Every label is escaped here (labels are
channel titles and hashtags, i.e. text from the archive), links are only kept when they are local
paths, and colours are presentation attributes rather than `style`, so a strict Content-Security-Policy
(no inline styles or scripts) shows them as drawn. Each mark carries a `<title>`: the browser's own
tooltip gives the exact figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# Colour-blind-friendly qualitative palette (Okabe-Ito, plus greys for "other").
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000", "#999999")
OTHER_COLOUR = "#bbbbbb"
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'
LABEL_CHARS = 40


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: tuple[int, ...]
    href: str | None = None  # a local page for this series (e.g. /channel/3)


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _short(label: str, limit: int = LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _local(href: str | None) -> str | None:
    """Only same-site paths become links: a chart never points the browser elsewhere."""
    if href and href.startswith("/") and not href.startswith("//"):
        return href
    return None


def _link(inner: str, href: str | None) -> str:
    href = _local(href)
    return f'<a href="{_attr(href)}">{inner}</a>' if href else inner


def axis_ticks(value: float, count: int = 4) -> list[int]:
    """Round ticks from 0 covering `value`: a step of 1, 2 or 5 times a power of ten, about `count` steps."""
    rough = max(value, 1) / count
    power = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(s * power for s in (1, 2, 5, 10) if s * power >= rough)
    top = math.ceil(max(value, 1) / step) * step
    return list(range(0, int(top) + 1, int(step)))


def _svg(width: int, height: int, title: str, body: list[str], *, css_class: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{_attr(css_class)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_attr(title)}" {_FONT}>'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _empty(title: str, width: int, css_class: str) -> str:
    return _svg(
        width, 40, title, [f'<text x="8" y="24" fill="#555555">{escape(title)}: no data</text>'], css_class=css_class
    )


def _y_axis(ticks: list[int], left: int, plot_top: int, plot_h: int, right: int) -> list[str]:
    parts = []
    for value in ticks:
        y = plot_top + plot_h - plot_h * value / ticks[-1]
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#444444">{value}</text>')
    return parts


def stacked_bars(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    unit: str = "posts",
    height: int = 260,
    bar_width: int = 14,
) -> str:
    """One bar per category (e.g. a day), stacked by series (e.g. channels), with a legend below."""
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    if not categories or not any(totals):
        return _empty(title, 480, "chart stacked")
    left, top_pad, bottom = 44, 24, 44
    width = max(480, left + len(categories) * (bar_width + 2) + 16)
    per_row = max(1, (width - left) // 200)  # legend entries side by side, 200 px each
    legend_rows = math.ceil(len(series) / per_row)
    total_h = height + legend_rows * 16 + 8
    plot_h = height - top_pad - bottom
    ticks = axis_ticks(max(totals))
    top = ticks[-1]
    body = [f'<text x="{left}" y="14" font-weight="bold">{escape(title)}</text>']
    body += _y_axis(ticks, left, top_pad, plot_h, width - 8)
    label_px = 14 + 7 * max(len(c) for c in categories)  # a label's width (and a gap), so none overlap
    label_every = max(1, math.ceil(len(categories) * label_px / (width - left)))
    for i, category in enumerate(categories):
        x = left + 2 + i * (bar_width + 2)
        y: float = top_pad + plot_h
        for index, s in enumerate(series):
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            y -= h
            colour = PALETTE[index] if index < len(PALETTE) else OTHER_COLOUR
            tip = f"{_short(s.label)} · {category}: {value} {unit}"
            rect = (
                f'<rect x="{x}" y="{y:.1f}" width="{bar_width}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            body.append(_link(rect, s.href))
        if i % label_every == 0:
            body.append(
                f'<text x="{x + bar_width / 2:.1f}" y="{top_pad + plot_h + 14}" text-anchor="middle" '
                f'fill="#444444">{escape(_short(category, 12))}</text>'
            )
    for index, s in enumerate(series):
        col, row = index % per_row, index // per_row
        x, y = left + col * 200, height + row * 16
        colour = PALETTE[index] if index < len(PALETTE) else OTHER_COLOUR
        swatch = f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>'
        text = f'<text x="{x + 14}" y="{y}">{escape(_short(s.label, 28))} ({sum(s.values)})</text>'
        body.append(_link(swatch + text, s.href))
    return _svg(width, total_h, title, body, css_class="chart stacked")


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[int]],
    *,
    title: str,
    row_links: Sequence[str | None] = (),
    unit: str = "posts",
    period: str = "week of",
) -> str:
    """A grid of counts (e.g. tags × weeks): darker is more; each cell shows its number."""
    if not rows or not columns or not any(any(r) for r in values):
        return _empty(title, 480, "chart heatmap")
    label_w, cell_w, cell_h, top_pad = 180, 56, 20, 40
    width = label_w + cell_w * len(columns) + 8
    height = top_pad + cell_h * len(rows) + 8
    peak = max(max(r) for r in values)
    body = [f'<text x="4" y="14" font-weight="bold">{escape(title)}</text>']
    for j, column in enumerate(columns):
        x = label_w + j * cell_w + cell_w / 2
        body.append(
            f'<text x="{x:.1f}" y="{top_pad - 6}" text-anchor="middle" fill="#444444">'
            f"{escape(_short(column, 10))}</text>"
        )
    for i, row in enumerate(rows):
        y = top_pad + i * cell_h
        label = f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(_short(row, 26))}</text>'
        body.append(_link(label, row_links[i] if i < len(row_links) else None))
        for j, column in enumerate(columns):
            value = values[i][j]
            shade = 0.08 + 0.92 * value / peak if value else 0.0
            fill = f"rgb({255 - int(255 * shade)},{255 - int(141 * shade)},{255 - int(77 * shade)})"
            ink = "#ffffff" if shade > 0.55 else "#222222"
            tip = f"{_short(row)} · {f'{period} ' if period else ''}{column}: {value} {unit}"
            body.append(
                f'<rect x="{label_w + j * cell_w}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="{fill}" stroke="#eeeeee"><title>{escape(tip)}</title></rect>'
            )
            if value:
                body.append(
                    f'<text x="{label_w + j * cell_w + (cell_w - 2) / 2:.1f}" y="{y + 14}" text-anchor="middle" '
                    f'fill="{ink}">{value}</text>'
                )
    return _svg(width, height, title, body, css_class="chart heatmap")


def bars(
    labels: Sequence[str],
    values: Sequence[int],
    *,
    title: str,
    links: Sequence[str | None] = (),
    unit: str = "",
    label_width: int = 120,
) -> str:
    """Horizontal bars, one per label, with the figure at the end of each bar."""
    if not labels or not any(values):
        return _empty(title, 480, "chart bars")
    bar_h, top_pad, plot_w = 18, 24, 320
    width = label_width + plot_w + 60
    height = top_pad + len(labels) * (bar_h + 4) + 8
    top = max(values)
    body = [f'<text x="4" y="14" font-weight="bold">{escape(title)}</text>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top_pad + i * (bar_h + 4)
        w = plot_w * value / top if top else 0
        tip = f"{label}: {value}{' ' + unit if unit else ''}"
        mark = (
            f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">{escape(_short(label, 22))}</text>'
            f'<rect x="{label_width}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{PALETTE[0]}">'
            f"<title>{escape(tip)}</title></rect>"
            f'<text x="{label_width + w + 4:.1f}" y="{y + 13}" fill="#222222">{value}</text>'
        )
        body.append(_link(mark, links[i] if i < len(links) else None))
    return _svg(width, height, title, body, css_class="chart bars")
