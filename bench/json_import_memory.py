"""Peak RSS of reading a Telegram Desktop result.json: json.loads (before) against the ijson stream (now).

Issue #26 item 9: a 50,000-message export peaked at 1.75 GB because `json.loads` held the text, the
parsed objects and every RawPost at once. The importer now streams it (bot/sources/desktop_json_stream.py)
in both of its passes. The export is written in the real format (`text` as a list of parts and again as
`text_entities`, as Telegram Desktop writes it) from corpus posts, one message at a time. Each reader
runs in a fresh child process; its peak RSS is the kernel's (`ru_maxrss`), minus the same child's
baseline before reading (interpreter and imports).

* before: `json.loads` + `parse_export_data` holding every RawPost (what the old importer kept
  between its check and write passes);
* now: `JsonExport.open` + `iter_posts` read twice (the check pass and the write pass), keeping none.

    .venv/bin/python -m bench.json_import_memory [--messages 50000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._util import log, machine_line, save_result, table
from bench.corpus import generate

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
mode, path = sys.argv[1], Path(sys.argv[2])
from bot.sources.desktop_export import parse_export_data
from bot.sources.desktop_json_stream import JsonExport
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if mode == "before":
    posts = parse_export_data(json.loads(path.read_text(encoding="utf-8")), str(path))[1]
    count = len(posts)
else:
    export = JsonExport.open(path)
    count = sum(1 for _ in export.iter_posts()) + 0 * sum(1 for _ in export.iter_posts())
seconds = time.perf_counter() - start
print(json.dumps({"count": count, "seconds": seconds, "base_kb": base,
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def write_export(path: Path, count: int, channel_id: int = 1_500_000_777) -> None:
    """The real format, written message by message: the bench itself never holds the export."""
    with path.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"name": "Synthetic Relay", "type": "public_channel", "id": channel_id})[:-1])
        out.write(', "messages": [\n')
        for number, raw in enumerate(generate(count, seed=11, channel_count=1), start=1):
            words = raw.text.split(" ")
            half = " ".join(words[: len(words) // 2]) + " "
            rest = " ".join(words[len(words) // 2 :])
            parts: list[Any] = [half, {"type": "bold", "text": rest}]
            message = {
                "id": number,
                "type": "message",
                "date": raw.date.replace(tzinfo=None).isoformat(),
                "date_unixtime": str(int(raw.date.timestamp())),
                "from": "Synthetic Relay",
                "from_id": f"channel{channel_id}",
                "text": parts,
                "text_entities": [{"type": "plain", "text": half}, {"type": "bold", "text": rest}],
            }
            out.write((",\n" if number > 1 else "") + json.dumps(message, ensure_ascii=False, indent=1))
        out.write("\n]}\n")


def run_child(mode: str, path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", CHILD, mode, str(path)], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    result["peak_mb"] = (result["peak_kb"] - result["base_kb"]) / 1024
    result["rusage_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "result.json"
        started = time.perf_counter()
        write_export(path, args.messages)
        size_mb = path.stat().st_size / 2**20
        log(f"wrote {args.messages:,} messages, {size_mb:,.0f} MB in {time.perf_counter() - started:.0f} s")
        results = {mode: run_child(mode, path) for mode in ("before", "now")}
    before, now = results["before"], results["now"]
    assert before["count"] == now["count"] == args.messages, results
    rows = [
        ["json.loads + every RawPost (before)", f"{before['peak_mb']:,.1f}", f"{before['seconds']:.1f}", "1 pass"],
        ["ijson stream, read twice (now)", f"{now['peak_mb']:,.1f}", f"{now['seconds']:.1f}", "2 passes"],
    ]
    print(f"{args.messages:,} messages, {size_mb:,.0f} MB result.json; {machine_line()}")
    print(table(["reader", "peak RSS above baseline, MB", "seconds", "reads"], rows))
    print(
        f"peak: now / before = {now['peak_mb'] / before['peak_mb']:.4f}; "
        f"time per pass: now / before = {now['seconds'] / 2 / before['seconds']:.2f}"
    )
    save_result("json_import_memory", {"messages": args.messages, "size_mb": size_mb, "results": results})


if __name__ == "__main__":
    main()
