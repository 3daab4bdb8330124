"""Cleaning cost: `clean_text` per post on the ingest corpus, and per pasted page, with and without the page model.

    .venv/bin/python -m bench.clean_cost [--posts 10000] [--runs 5] [--baseline-model OLD.json]

Posts: the ingest bench's synthetic mix (bench/corpus.py), cleaned with the phrase rules alone, with
the shipped page model and, given `--baseline-model`, with another model file (say the previous one,
`git show HEAD~1:bot/data/page_model.json > /tmp/old.json`); best of `--runs` alternating runs, so the
ratios hold on a loaded machine.  Pages: the 88 whole pages of ../shared/extraction when present.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from bench._util import log, machine_line, table
from bench.corpus import generate
from bot.core.clean import BoilerplateRules, clean_text, load_boilerplate
from bot.core.page_model import PageModel
from tools.extraction_set import SHARED, load


def best_time(
    texts: Sequence[str], rules: BoilerplateRules, models: dict[str, PageModel | None], runs: int
) -> dict[str, float]:
    best = dict.fromkeys(models, float("inf"))
    for _ in range(runs):
        for name, model in models.items():
            started = time.perf_counter()
            for text in texts:
                clean_text(text, rules, model)
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline-model", type=Path, help="another page model file to compare")
    args = parser.parse_args()
    rules = load_boilerplate()
    models: dict[str, PageModel | None] = {"rules only": None, "shipped model": PageModel.load()}
    if args.baseline_model:
        models["baseline model"] = PageModel.load(args.baseline_model)
    log(machine_line())
    posts = [raw.text for raw in generate(args.posts)]
    rows = []
    per_post = best_time(posts, rules, models, args.runs)
    for name, seconds in per_post.items():
        ratio = seconds / per_post["rules only"]
        rows.append([f"{len(posts):,} posts", name, f"{1e6 * seconds / len(posts):.0f} µs/post", f"{ratio:.2f}×"])
    if (SHARED / "gold.json").exists():
        pages = [d.text for d in load(SHARED, variants=("page",))]
        per_page = best_time(pages, rules, models, max(1, args.runs // 2))
        for name, seconds in per_page.items():
            ratio = seconds / per_page["rules only"]
            rows.append([f"{len(pages)} pages", name, f"{1e3 * seconds / len(pages):.1f} ms/page", f"{ratio:.2f}×"])
    print(table(["texts", "cleaner", "time", "÷ rules only"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
