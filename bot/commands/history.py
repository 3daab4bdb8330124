"""A post's edit history in bot replies: the version list under /post N, and /post N diff."""

from __future__ import annotations

import html
from datetime import datetime

from bot.commands.deps import CommandDeps
from bot.commands.text import reply_of
from bot.core.edits import pack
from bot.core.versions import known_edit
from bot.core.wordiff import compact, html_pieces, word_diff
from bot.models import PostVersion, Reply, StoredPost

DIFF_CONTEXT = 200  # characters of unchanged text around each change in /post N diff
LISTED = 10  # versions listed under /post N; the first and the newest are always among them


def deletion_line(post: StoredPost, deleted_at: datetime | None, deps: CommandDeps) -> str:
    noticed = f" (noticed {html.escape(deps.when(deleted_at))})" if deleted_at else ""
    return f"<i>Deleted on Telegram{noticed}; kept in the archive.</i>"


def _label(version: PostVersion, post: StoredPost, deps: CommandDeps) -> str:
    if version.number == 1:
        when = f"posted {deps.when(post.date)}"
    elif known_edit(version.edit_date, post.date):
        assert version.edit_date is not None
        when = f"edited {deps.when(version.edit_date)}"
    else:
        when = "edited"
    if version.seen_at is not None:
        when += f", seen {deps.when(version.seen_at)}"
    return f"v{version.number} · {when}" + (" (current)" if version.current else "")


def version_lines(post: StoredPost, versions: list[PostVersion], deps: CommandDeps) -> list[str]:
    """Nothing for a post never edited; else one line per version and how to see the last change."""
    if len(versions) < 2:
        return []
    lines = [f"<b>{len(versions)} versions</b> · /post {post.id} diff shows the last change"]
    shown = versions if len(versions) <= LISTED else [versions[0], *versions[-(LISTED - 1) :]]
    for index, version in enumerate(shown):
        if index == 1 and version.number > 2:
            lines.append(f"… {version.number - 2} more (tgmonitor history {post.id} lists them all)")
        lines.append(html.escape(_label(version, post, deps)))
    return lines


def diff_reply(post: StoredPost, versions: list[PostVersion], header: str, deps: CommandDeps) -> Reply:
    """The last change (previous version → current), struck-through and bold, around each change."""
    if len(versions) < 2:
        return reply_of(f"{header}\n\nPost {post.id} has one version: the archive never saw it edited.")
    before, after = versions[-2], versions[-1]
    diff = word_diff(before.text, after.text)
    verdict = ", ".join(diff.reasons) if diff.substantive else "minor (spacing, links, emoji or spelling)"
    head = f"{header}\n<i>{html.escape(f'v{before.number} → v{after.number} · changed: {verdict}')}</i>\n\n"
    if diff.empty:
        return reply_of(head + "<i>The words are the same.</i>")
    return Reply(tuple(pack(head, html_pieces(compact(diff.segments(), DIFF_CONTEXT)))))
