"""`tgmonitor history POST_ID`: every version of a post and what each edit changed."""

from __future__ import annotations

import argparse
import itertools
import json
from typing import Any

from bot.cli import argtypes
from bot.cli.context import CliContext
from bot.cli.output import post_json
from bot.core.versions import edit_time
from bot.core.wordiff import WordDiff, render_text, word_diff
from bot.models import PostChange, PostVersion, StoredPost


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("history", help="every version of a post and the diff of each edit")
    parser.add_argument(
        "post_id", type=argtypes.positive_int, metavar="POST_ID", help="the post's number (search shows it)"
    )
    parser.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    post = ctx.store.get_post(args.post_id)
    if post is None:
        raise ValueError(f"there is no post {args.post_id} in the archive")
    versions = ctx.store.versions(post.id)
    changes = ctx.store.changes_of([post.id])
    if args.json:
        print(json.dumps(history_json(post, versions, changes), ensure_ascii=False, indent=2))
    else:
        print(history_text(post, versions, changes))
    return 0


def _edits(versions: list[PostVersion]) -> list[tuple[PostVersion, PostVersion, WordDiff]]:
    return [(a, b, word_diff(a.text, b.text)) for a, b in itertools.pairwise(versions)]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def history_json(post: StoredPost, versions: list[PostVersion], changes: list[PostChange]) -> dict[str, Any]:
    deleted = next((c for c in changes if c.deleted), None)
    edited = {c.version: c for c in changes if not c.deleted}
    return {
        "post": post_json(post),
        "deleted": post.deleted,
        "deleted_at": _iso(deleted.noticed_at) if deleted else None,
        "versions": [
            {
                "version": v.number,
                "current": v.current,
                "text": v.text,
                "raw_text": v.raw_text,
                "edit_date": _iso(v.edit_date),
                "seen_at": _iso(v.seen_at),
                "replaced_at": _iso(v.replaced_at),
            }
            for v in versions
        ],
        "edits": [
            {
                "from": a.number,
                "to": b.number,
                "edited_at": _iso(edit_time(edited[b.number], post.date)) if b.number in edited else None,
                "substantive": diff.substantive,
                "reasons": diff.reasons,
                "removed": diff.removed(),
                "added": diff.added(),
                "diff": render_text(diff.segments()),
            }
            for a, b, diff in _edits(versions)
        ],
    }


def history_text(post: StoredPost, versions: list[PostVersion], changes: list[PostChange]) -> str:
    lines = [f"[{post.id}] {post.date:%Y-%m-%d %H:%M} {post.channel_label} {post.url or ''}".rstrip()]
    deleted = next((c for c in changes if c.deleted), None)
    if post.deleted:
        when = f" (noticed {deleted.noticed_at:%Y-%m-%d %H:%M})" if deleted else ""
        lines.append(f"deleted on Telegram{when}; kept in the archive")
    if len(versions) < 2:
        lines.append("1 version (never edited, as far as the archive saw)")
    edited = {c.version: c for c in changes if not c.deleted}
    for version in versions:
        facts = []
        if version.edit_date is not None:
            facts.append(f"edit date {version.edit_date:%Y-%m-%d %H:%M}")
        if version.seen_at is not None:
            facts.append(f"seen {version.seen_at:%Y-%m-%d %H:%M}")
        if version.replaced_at is not None:
            facts.append(f"replaced {version.replaced_at:%Y-%m-%d %H:%M}")
        name = f"v{version.number}" + (" (current)" if version.current else "")
        lines += ["", f"{name}: {', '.join(facts) or 'no dates recorded'}"]
        lines += [f"    {line}".rstrip() for line in (version.text or f"[{post.media_kind or 'media'}]").splitlines()]
    for before, after, diff in _edits(versions):
        change = edited.get(after.number)
        when = f", {edit_time(change, post.date):%Y-%m-%d %H:%M}" if change else ""
        verdict = "substantive: " + ", ".join(diff.reasons) if diff.substantive else "minor"
        lines += ["", f"v{before.number} → v{after.number}{when} ({verdict})"]
        lines += [f"    {line}".rstrip() for line in (render_text(diff.segments()) or "(same words)").splitlines()]
    return "\n".join(lines)
