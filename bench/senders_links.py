"""What recording senders, hidden links and approximate times costs the importers and the import.

Each measurement runs in a fresh Python process with `PYTHONPATH` set to one checkout: the baseline
(by default /work/main, the code before the change) or this tree. The two alternate round by round on
the same machine, so the figure is a ratio of medians, not a time. Steps:

* `parse-html`: the Quoxent supergroup HTML export (23 pages, 16,317 messages) read into RawPosts;
* `parse-json`: the CUDA supergroup and Trantor channel JSON exports read into RawPosts;
* `import`: `tgmonitor import` of the Trantor JSON export (908 posts) into a new archive.

Needs ../shared/real-exports (third-party data, not in the repository).

    .venv/bin/python -m bench.senders_links [--baseline /work/main] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
REAL = HERE.parent / "shared" / "real-exports"

STEPS = {
    "parse-html": (
        "from pathlib import Path; from bot.models import ChannelRef; "
        "from bot.sources.desktop_html_export import HtmlExport; "
        f"n = sum(1 for _ in HtmlExport.open(Path({str(REAL / 'quoxent_html')!r})).iter_posts(ChannelRef(tg_id=1))); "
        "assert n == 16317, n"
    ),
    "parse-json": (
        "from pathlib import Path; from bot.sources.desktop_export import parse_export; "
        f"n = sum(len(parse_export(Path(p))[1]) for p in ({str(REAL / 'cuda_supergroup' / 'result.json')!r}, "
        f"{str(REAL / 'trantor_channel' / 'result.json')!r})); assert n == 205 + 908, n"
    ),
}


def run_step(checkout: Path, step: str, scratch: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    if step == "import":
        db = scratch / f"{checkout.name}-{time.monotonic_ns()}.db"
        code = (
            "import sys; from bot.cli import main; "
            f"sys.exit(main(['--db', {str(db)!r}, 'import', {str(REAL / 'trantor_channel' / 'result.json')!r}]))"
        )
    else:
        code = STEPS[step]
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, cwd=scratch, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, default=Path("/work/main"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not REAL.is_dir():
        print(f"skipped: {REAL} is not here (third-party data)")
        return 0
    trees = {"baseline": args.baseline.resolve(), "this": HERE}
    samples: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(args.rounds):
            order = list(trees.items()) if round_number % 2 == 0 else list(trees.items())[::-1]
            for step in (*STEPS, "import"):
                for name, tree in order:
                    samples.setdefault((step, name), []).append(run_step(tree, step, Path(scratch)))
    print(f"{args.rounds} alternating rounds, each a fresh process (interpreter start included)")
    print("| step | baseline s (median) | this s (median) | ratio |")
    print("|---|---|---|---|")
    for step in (*STEPS, "import"):
        base = statistics.median(samples[(step, "baseline")])
        this = statistics.median(samples[(step, "this")])
        print(f"| {step} | {base:.2f} | {this:.2f} | {this / base:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
