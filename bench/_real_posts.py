"""Posts of the real Telegram exports in ../shared/real-exports, parsed by the project's own importers.

Third-party data: read from ../shared where it lies, never copied into the repository. Benchmarks
that label these posts keep only (sample, message id, label) in bench/data/.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

from bot.models import ChannelRef, RawPost
from bot.sources.desktop_export import parse_export
from bot.sources.desktop_html_export import parse_page_file

REAL_EXPORTS = Path(__file__).resolve().parents[2] / "shared" / "real-exports"
JSON_SAMPLES = ("salaf_channel", "trantor_channel", "cuda_supergroup", "pachum_channel", "ragtgbot_group")
HTML_SAMPLES = ("civil_channel_html", "quoxent_html", "yakimova_html")


def real_posts(root: Path = REAL_EXPORTS) -> Iterator[tuple[str, RawPost]]:
    """(sample folder, raw post) for every message of the JSON exports and the HTML pages that parse
    whole (a page the importer refuses is skipped: this is about text, not about importing)."""
    for name in JSON_SAMPLES:
        path = root / name / "result.json"
        if path.is_file():
            for raw in parse_export(path)[1]:
                yield name, raw
    for name in HTML_SAMPLES:
        folder = root / name
        if not folder.is_dir():
            continue
        channel = ChannelRef(tg_id=zlib.crc32(name.encode()) + 1, title=name)  # stable across runs
        for page in sorted(folder.glob("messages*.html")):
            try:
                parsed = parse_page_file(page, channel)
            except ValueError:
                continue
            for raw in parsed.posts:
                yield name, raw
