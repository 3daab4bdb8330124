"""Never harm a post: over every real post in ../shared/real-exports, the share whose clean text loses
anything but known chrome or a repeated paragraph of substance (issue #26; target 0).

Every post of every sample (JSON and HTML exports, saved t.me/s pages) goes through the pipeline's
cleaning with its report (`tgmonitor clean --explain` shows the same). Each line of the raw text
(after normalising) must be in the clean text, or removed for a reason that is allowed:

* chrome: a phrase rule of bot/data/boilerplate.toml took it (share / view-in-Telegram lines,
  adverts, channel promo, a bare link under a text; a "cut" rule's tail);
* a repeated paragraph of substance (bot/core/clean.py is_substantial), or a short line inside a
  repeated run of them (a body pasted twice);

anything else is harm: a page-classifier verdict on a post, a short line dropped as a "repeat", a line
gone with no reason at all. An empty clean text of a post that had words is harm too.

    .venv/bin/python -m bench.never_harm [--show 10]
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench._util import machine_line, save_result, table
from bot.core.clean import is_substantial, normalize, paragraph_key
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, RawPost
from bot.sources.desktop_export import ExportError, parse_export
from bot.sources.desktop_html_export import HtmlExport
from bot.sources.web_preview_parser import parse_saved_page

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-exports"


@dataclass(frozen=True)
class Harm:
    sample: str
    message_id: int
    reason: str
    line: str


def real_posts(root: Path) -> Iterator[tuple[str, RawPost]]:
    """(sample label, post) for every post of every sample, the way the importer reads them."""
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if (folder / "result.json").is_file():
            _, posts = parse_export(folder / "result.json")
            for raw in posts:
                yield f"{folder.name}/result.json", raw
        if (folder / "messages.html").is_file() or (folder / "index.html").is_file():
            for raw in HtmlExport.open(folder).iter_posts(ChannelRef(tg_id=1)):
                yield f"{folder.name}/html", raw
        for page in sorted(folder.glob("*.html")):
            if page.name.startswith("messages") or page.name == "index.html":
                continue
            try:
                for raw in parse_saved_page(page):
                    yield f"{folder.name}/{page.name}", raw
            except (ExportError, ValueError):
                continue  # an inner fragment with no message block (tests/test_real_exports.py checks it)


def judge_post(pipeline: Pipeline, label: str, raw: RawPost) -> tuple[list[Harm], Counter[str]]:
    """The harms of cleaning this post, and how many lines went for each allowed reason."""
    report = pipeline.clean_report(raw.text)
    # The clean text is the raw lines minus the removed ones, in order: walk both (a repeat is kept once).
    clean = [paragraph_key(p) for p in report.text.split("\n\n") if p]
    at = 0
    removed = {r.text: r.reason for r in report.removed}
    harms: list[Harm] = []
    allowed: Counter[str] = Counter()
    lines = [line for line in normalize(raw.text).split("\n") if line]
    for index, line in enumerate(lines):
        if at < len(clean) and clean[at] == paragraph_key(line):
            at += 1
            continue
        reason = removed.get(line)
        if reason is None:
            # a rule that strips part of a line reports the line before; the rest is in the clean text
            reason = next((r.reason for r in report.removed if r.reason.endswith("(part of the line)")), None)
        if reason is None:
            harms.append(Harm(label, raw.message_id, "gone without a reason", line))
        elif reason.startswith(("rule ", "after rule ")):
            allowed["chrome (" + reason.split(" (")[0] + ")"] += 1
        elif reason == "repeated paragraph":
            neighbours = [lines[i] for i in (index - 1, index + 1) if 0 <= i < len(lines)]
            if is_substantial(line):
                allowed["repeated paragraph of substance"] += 1
            elif any(removed.get(n) == "repeated paragraph" for n in neighbours):
                allowed["short line in a repeated run"] += 1
            else:
                harms.append(Harm(label, raw.message_id, "short line dropped as a repeat", line))
        else:
            harms.append(Harm(label, raw.message_id, reason, line))
    if normalize(raw.text).strip() and not report.text.strip():
        harms.append(Harm(label, raw.message_id, "clean text empty", raw.text[:80]))
    return harms, allowed


def _reason_kind(reason: str) -> str:
    """The page verdicts carry their probability: "label (p=0.06)" counts as "label"."""
    return reason.split(" (p=")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=int, default=10, help="harmed posts to list")
    args = parser.parse_args()
    if not REAL.is_dir():
        raise SystemExit(f"no real samples: {REAL} is absent")
    pipeline = Pipeline.load()
    posts = harmed = touched = 0
    per_sample: Counter[str] = Counter()
    harmed_per_sample: Counter[str] = Counter()
    allowed: Counter[str] = Counter()
    harm_reasons: Counter[str] = Counter()
    shown: list[Harm] = []
    for label, raw in real_posts(REAL):
        posts += 1
        per_sample[label] += 1
        harms, allowed_here = judge_post(pipeline, label, raw)
        allowed += allowed_here
        touched += bool(allowed_here)
        if harms:
            harmed += 1
            harmed_per_sample[label] += 1
            harm_reasons.update({_reason_kind(h.reason) for h in harms})
            shown += harms[: max(0, args.show - len(shown))]
    print(f"{posts:,} real posts from {len(per_sample)} samples in {REAL}; {machine_line()}")
    rows = [[label, f"{n:,}", harmed_per_sample[label]] for label, n in sorted(per_sample.items())]
    print(table(["sample", "posts", "harmed"], rows))
    print()
    print(table(["line removed because", "lines"], [[k, f"{v:,}"] for k, v in allowed.most_common()]))
    print()
    if harm_reasons:
        print(table(["harm (posts)", "posts"], [[k, f"{v:,}"] for k, v in harm_reasons.most_common()]))
        print()
    print(f"posts with lines removed for an allowed reason: {touched:,}; harmed: {harmed:,} = {harmed / posts:.2%}")
    for harm in shown:
        print(f"  {harm.sample} message {harm.message_id}: {harm.reason}: {harm.line[:90]!r}")
    save_result(
        "never_harm",
        {
            "posts": posts,
            "harmed": harmed,
            "harm_reasons": dict(harm_reasons),
            "allowed": dict(allowed),
            "per_sample": dict(per_sample),
        },
    )


if __name__ == "__main__":
    main()
