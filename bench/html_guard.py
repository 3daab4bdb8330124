"""The shared HTML guard's cost: measuring a page before parsing it, as a ratio to lexbor's parse of
the same page (issue #27 items 1-2; bot/core/html_shape.py).

Pages: the article pages under tests/data and, when present, ../shared/extraction (real news pages),
plus three synthetic ones: 1.2 MB of flat markup (the guard's worst case per byte: every tag is
work) and two nesting bombs, where the guard refuses at depth 1,001 and lexbor would take minutes.
Each figure is the best of `--repeat` runs; both are timed in the same process, one after the other.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import time
from collections.abc import Callable
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from bot.core.html_shape import HtmlRefused, check_html

ROOT = Path(__file__).resolve().parents[1]


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with contextlib.suppress(HtmlRefused):
            run()
        times.append(time.perf_counter() - started)
    return min(times)


def pages(limit: int) -> list[str]:
    found = sorted((ROOT / "tests" / "data" / "articles").glob("*.html*"))
    found += sorted((ROOT.parent / "shared" / "extraction").rglob("*.html.gz"))[:limit]
    out = []
    for path in found:
        data = path.read_bytes()
        out.append((gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", "replace"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=150, help="real pages read from ../shared (default 150)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    real = pages(args.pages)
    guard = sum(best(lambda h=h: check_html(h), args.repeat) for h in real)
    parse = sum(best(lambda h=h: LexborHTMLParser(h), args.repeat) for h in real)
    size = sum(len(h) for h in real) / 2**20
    print(
        f"{len(real)} real pages, {size:.1f} MB: guard {guard * 1000:.0f} ms, lexbor {parse * 1000:.0f} ms, "
        f"guard/lexbor = {guard / parse:.2f}x"
    )
    flat = '<div class="x"><p>some text here</p><a href="/x">link</a></div>' * 20_000
    g, p = best(lambda: check_html(flat), args.repeat), best(lambda: LexborHTMLParser(flat), args.repeat)
    print(
        f"flat markup, {len(flat) / 2**20:.1f} MB, 120,000 tags: guard {g * 1000:.0f} ms, lexbor {p * 1000:.0f} ms, "
        f"{g / p:.1f}x"
    )
    for name, unit in (("<div>", "<div>"), ("<div></x>", "<div></x>")):
        bomb = "<html><body>" + unit * 160_000
        g = best(lambda bomb=bomb: check_html(bomb), args.repeat)
        print(
            f"bomb {name} x 160,000 ({len(bomb) / 2**20:.1f} MB): refused in {g * 1000:.1f} ms "
            "(lexbor: 77 s for the <div> one, issue #27)"
        )


if __name__ == "__main__":
    main()
