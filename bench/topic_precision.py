"""Precision of the topic rules per topic, on real posts labelled by hand (issue 35.6).

bench/data/topic_real_labels.tsv holds every topic tag that the rules before this work gave to a
post of ../shared/real-exports (religious and tech channels, civil-engineering quizzes, a crypto
group's chat, a Russian retail group: nothing like the channels the rules were written for, which
is the point), each judged right or wrong. This runs the current rules (bot/data/rules.toml, through
the pipeline) over the same posts and reports, per topic: the labelled tags kept and their
precision, the right ones lost, and tags given now that were not labelled (not counted).

    .venv/bin/python -m bench.topic_precision
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from bench._real_posts import REAL_EXPORTS, real_posts
from bench._util import machine_line, save_result, table
from bot.core.pipeline import Pipeline

LABELS = Path(__file__).resolve().parent / "data" / "topic_real_labels.tsv"


def main() -> int:
    if not REAL_EXPORTS.is_dir():
        print(f"skipped: {REAL_EXPORTS} is absent")
        return 0
    labels: dict[tuple[str, int, str], bool] = {}
    with LABELS.open(encoding="utf-8") as handle:
        rows = csv.reader((line for line in handle if not line.startswith("#")), delimiter="\t")
        next(rows)
        for sample, message_id, topic, right in rows:
            labels[(sample, int(message_id), topic)] = right == "1"
    posts = {(s, m) for s, m, _ in labels}
    pipeline = Pipeline.load()
    now: set[tuple[str, int, str]] = set()
    for sample, raw in real_posts():
        if (sample, raw.message_id) in posts:
            post = pipeline.process(raw)
            now.update((sample, raw.message_id, t.key) for t in post.tags if t.kind == "topic")
    before: Counter[str] = Counter()
    before_right: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    kept_right: Counter[str] = Counter()
    for key, right in labels.items():
        topic = key[2]
        before[topic] += 1
        before_right[topic] += right
        if key in now:
            kept[topic] += 1
            kept_right[topic] += right
    new = Counter(key[2] for key in now - labels.keys())
    out = []
    for topic in sorted(before, key=lambda t: -before[t]):
        p_before = before_right[topic] / before[topic]
        p_now = kept_right[topic] / kept[topic] if kept[topic] else float("nan")
        out.append(
            [
                topic,
                f"{before_right[topic]}/{before[topic]} = {p_before:.2f}",
                f"{kept_right[topic]}/{kept[topic]} = {p_now:.2f}" if kept[topic] else "0 tags",
                str(before_right[topic] - kept_right[topic]),
                str(new.get(topic, 0)),
            ]
        )
    total_before = sum(before_right.values()) / sum(before.values())
    total_now = sum(kept_right.values()) / max(1, sum(kept.values()))
    out.append(
        [
            "all",
            f"{sum(before_right.values())}/{sum(before.values())} = {total_before:.2f}",
            f"{sum(kept_right.values())}/{sum(kept.values())} = {total_now:.2f}",
            str(sum(before_right.values()) - sum(kept_right.values())),
            str(sum(new.values())),
        ]
    )
    print(table(["topic", "precision before", "precision now", "right tags lost", "new, unlabelled"], out))
    print(machine_line())
    save_result("topic_precision", {"rows": out})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
