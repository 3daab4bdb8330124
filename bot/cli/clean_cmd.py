"""`tgmonitor clean [FILE ...]`: what the cleaner makes of a text, and what it removed and why.

This is how a user checks the cleaner on their channel's posts before trusting it: the same
pipeline as ingest (phrase rules, repeated paragraphs, the page classifier for pasted articles),
one process for any number of files.  Every file is read and cleaned before anything is printed,
so a bad file is one error line naming it and no half-printed output.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict, deque
from dataclasses import dataclass

from bot.cli.context import CliContext
from bot.core.clean import CleanReport, normalize
from bot.core.pipeline import Pipeline

STDIN = "-"


@dataclass(frozen=True, slots=True)
class Cleaned:
    name: str
    raw: str
    report: CleanReport


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("clean", help="print the clean text of files (stdin when none or '-')")
    parser.add_argument("files", nargs="*", metavar="FILE", help="text files; '-' or none reads stdin")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help='one JSON array of {"file", "text", "removed"}')
    mode.add_argument("--explain", action="store_true", help="the text with each removed line marked and why")
    return parser


def read(name: str) -> str:
    if name == STDIN:
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(name, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise OSError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{'<stdin>' if name == STDIN else name}: not UTF-8 text (byte {exc.start})") from exc


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    names = args.files or [STDIN]
    if names.count(STDIN) > 1:
        raise ValueError("stdin ('-') can be read only once")
    # Not ctx.pipeline: that opens the archive, and cleaning a file must not create one.
    pipeline = Pipeline.load(ctx.settings.rules_file, ctx.settings.boilerplate_file)
    results = [Cleaned(name, raw := read(name), pipeline.clean_report(raw)) for name in names]
    out = sys.stdout
    if args.json:
        payload = [
            {
                "file": r.name,
                "text": r.report.text,
                "removed": [{"text": x.text, "reason": x.reason} for x in r.report.removed],
                "page_gate": r.report.gate or None,
            }
            for r in results
        ]
        out.write(json.dumps(payload, ensure_ascii=False, indent=1) + "\n")
        return 0
    for index, result in enumerate(results):
        if len(results) > 1:
            out.write(("\n" if index else "") + f"==> {result.name} <==\n")
        text = explain(result.raw, result.report) if args.explain else result.report.text
        if args.explain and result.report.gate:  # why the page classifier did (or did not) judge it
            text = f"[page gate: {result.report.gate}]\n{text}"
        out.write(text + "\n" if text else "")
    return 0


def explain(raw: str, report: CleanReport) -> str:
    """The input's lines in order: kept ones as they are, removed ones as `[- reason] line`."""
    kept = report.text.split("\n\n") if report.text else []
    reasons: dict[str, deque[str]] = defaultdict(deque)
    for removed in report.removed:
        reasons[removed.text].append(removed.reason)
    lines, at = [], 0
    for line in normalize(raw).split("\n"):
        if not line:
            continue
        if at < len(kept) and kept[at] == line:
            lines.append(line)
            at += 1
        elif reasons[line]:
            reason = reasons[line].popleft()
            partial = reason.endswith("(part of the line)")
            lines.append(f"[{'~' if partial else '-'} {reason}] {line}")
            if partial and at < len(kept) and kept[at] in line:
                lines.append(kept[at])
                at += 1
        else:
            lines.append(line)
    return "\n".join(lines)
