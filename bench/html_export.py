"""Telegram Desktop HTML export import: pages per second beside the same history as JSON, and peak RSS.

One synthetic channel (bench.corpus, one channel, hashtags as entities, 20 % forwards, 15 % media) is
written both ways by bench/tdesktop_export.py: `--pages` HTML pages of 1,000 messages, and the same
messages as one `result.json`. Each measurement runs in a fresh child process, whose peak RSS the
parent reads from `getrusage(RUSAGE_CHILDREN)`:

* check: the HTML importer's first pass (every page parsed, checked and dropped) / `parse_export`
  of the JSON file (the JSON importer's whole read: one document);
* import: `tgmonitor import` into a fresh archive, both passes, pipeline, store and near-duplicate
  index, as a user runs it; the child also records its peak RSS at every tenth of the posts written.

A "page" of the JSON export is 1,000 of its messages, so the two rates compare the same work.

    ./dev bench html_export [--pages 200] [--import-pages 200] [--json-pages 20] [--skip-json-import]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._util import CACHE_DIR, log, machine_line, remove_db, save_result, table

PER_PAGE = 1000
CHANNEL_ID = 1_500_000_800
NAME = "Synthetic Balkan Relay"
ZONE = "Europe/Sofia"
_HASHTAG = re.compile(r"(#\w+)")
_MEDIA = {
    "photo": {
        "photo": "(File not included. Change data exporting settings to download.)",
        "width": 1280,
        "height": 853,
    },
    "video": {"file": "(File not included. Change data exporting settings to download.)", "media_type": "video_file"},
    "document": {"file": "(File not included. Change data exporting settings to download.)"},
}


def messages(count: int) -> Iterator[dict[str, Any]]:
    """`count` corpus posts of one channel as JSON-export messages (after a "channel created" one)."""
    from bench.corpus import generate

    rng = random.Random(7)
    start = None
    for number, raw in enumerate(generate(count - 1, channel_count=1), start=2):
        unix = int(raw.date.timestamp())
        if start is None:
            start = unix - 3600
            yield {"id": 1, "type": "service", "date_unixtime": start, "action": "create_channel", "title": NAME}
        parts = [p for p in _HASHTAG.split(raw.text) if p]
        entities = [{"type": "hashtag" if p.startswith("#") else "plain", "text": p} for p in parts]
        message: dict[str, Any] = {
            "id": number,
            "type": "message",
            "date_unixtime": unix,
            "from": NAME,
            "from_id": f"channel{CHANNEL_ID}",
            "text": [e if e["type"] != "plain" else e["text"] for e in entities] if len(entities) > 1 else raw.text,
            "text_entities": entities,
        }
        if raw.forward is not None:
            message |= {"forwarded_from": raw.forward.name, "_forwarded_date_unixtime": unix - rng.randint(60, 7200)}
        message |= _MEDIA.get(raw.media_kind or "", {})
        yield message


def build(pages: int) -> Path:
    """The export, written once into the bench cache and reused (it is deterministic)."""
    from bench.tdesktop_export import write_html, write_json

    folder = CACHE_DIR / f"html_export-{pages}x{PER_PAGE}"
    done = folder / "complete"
    if done.exists():
        return folder
    log(f"writing a {pages}-page export and its result.json into {folder}")
    count = pages * PER_PAGE
    write_html(folder / "html", messages(count), name=NAME, zone=ZONE, per_page=PER_PAGE)
    write_json(folder / "json" / "result.json", messages(count), name=NAME, channel_id=CHANNEL_ID, zone=ZONE)
    done.write_text("ok\n")
    return folder


def child(mode: str, folder: Path, db: Path) -> None:
    """One measurement; prints {"seconds", "posts", "marks"} as JSON on stdout."""
    marks: list[float] = []
    started = time.perf_counter()
    if mode == "check-html":
        from bot.models import ChannelRef
        from bot.sources.desktop_html_export import HtmlExport

        export = HtmlExport.open(folder / "html")
        posts = sum(len(page.posts) for page in export.iter_pages(ChannelRef(tg_id=CHANNEL_ID)))
    elif mode == "check-json":
        from bot.sources.desktop_export import parse_export

        posts = len(parse_export(folder / "json" / "result.json")[1])
    else:
        import bot.cli.import_cmd as import_cmd
        from bot.cli import main

        class Recording(import_cmd.ProgressBar):
            """The import's own progress calls, used to read the peak RSS at every tenth of the run."""

            def __call__(self, count: int) -> None:
                before = self.done
                super().__call__(count)
                if self.total and self.total > 1000 and self.done * 10 // self.total != before * 10 // self.total:
                    marks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

        import_cmd.ProgressBar = Recording  # type: ignore[misc]
        remove_db(db)
        source = folder / "html" if mode == "import-html" else folder / "json" / "result.json"
        args = ["--db", str(db), "import", "--channel", str(CHANNEL_ID)]
        if main([*args, str(source)]) != 0:
            raise SystemExit(1)
        posts = -1
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "posts": posts, "marks": marks[-10:]}))


def measure(mode: str, folder: Path, db: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.html_export", "--child", mode, "--folder", str(folder), "--db", str(db)]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # A fresh grandchild per mode: RUSAGE_CHILDREN of this process is that one child's peak.
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def run_one(mode: str, folder: Path, db: Path) -> dict[str, Any]:
    """Run `measure` in its own process so each peak RSS belongs to one measurement only."""
    cmd = [sys.executable, "-m", "bench.html_export", "--measure", mode, "--folder", str(folder), "--db", str(db)]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench html_export", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="pages of 1,000 messages for the check pass (200)")
    parser.add_argument("--import-pages", type=int, default=200, help="pages for the full imports (200)")
    parser.add_argument(
        "--json-pages",
        type=int,
        default=20,
        help="pages for the JSON measurements (20): the JSON importer holds the whole document, ~1.1 GB of "
        "file and several GB of memory at 200 pages, too much for a shared machine",
    )
    parser.add_argument("--skip-json-import", action="store_true", help="import only the HTML export")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.folder, args.db)
        return 0
    if args.measure:
        print(json.dumps(measure(args.measure, args.folder, args.db)))
        return 0

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    db = CACHE_DIR / "html_export.db"
    plan = [("check-html", args.pages), ("check-json", args.json_pages), ("import-html", args.import_pages)]
    if not args.skip_json_import:
        plan.append(("import-json", args.json_pages))
    results = []
    for mode, pages in plan:
        folder = build(pages)
        size = sum(p.stat().st_size for p in (folder / "html").glob("*.html")) if "html" in mode else 0
        size = size or (folder / "json" / "result.json").stat().st_size
        log(f"{mode}: {pages} pages ({size / 2**20:,.0f} MB)")
        result = run_one(mode, folder, db) | {"mode": mode, "pages": pages, "mb": size / 2**20}
        rate = pages / result["seconds"]
        log(f"  {result['seconds']:,.1f} s, {rate:,.2f} pages/s, peak RSS {result['peak_mb']:,.0f} MB")
        results.append(result)
    remove_db(db)

    rows = []
    for r in results:
        marks = ", ".join(f"{mb:.0f}" for mb in r["marks"]) or "-"
        rows.append(
            (
                r["mode"],
                r["pages"],
                f"{r['mb']:,.0f}",
                f"{r['seconds']:,.1f}",
                f"{r['pages'] / r['seconds']:,.2f}",
                f"{r['pages'] * PER_PAGE / r['seconds']:,.0f}",
                f"{r['peak_mb']:,.0f}",
                marks,
            )
        )
    print(f"## Telegram Desktop export import, HTML beside JSON ({machine_line()})\n")
    headers = ["what", "pages", "MB", "seconds", "pages/s", "messages/s", "peak RSS MB", "peak at each 10 %, MB"]
    print(table(headers, rows))
    saved = save_result("html_export", {"per_page": PER_PAGE, "results": results})
    log(f"results: {saved}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
