"""/post N: one post in full, with where else it was seen and its versions; /post N diff: its last edit."""

from __future__ import annotations

import html

from bot.commands.args import positive
from bot.commands.deps import CommandDeps, UsageError
from bot.commands.history import deletion_line, diff_reply, version_lines
from bot.commands.text import reply_of, split_text
from bot.core.digest import TELEGRAM_LIMIT, DigestItem, utf16_len
from bot.listing import seen_in
from bot.models import Chat, Reply, User


def cmd_post(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    words = args.split()
    if not words:
        raise UsageError("Which post? Give its number, like /post 42 (search results show them).")
    if len(words) > 2 or (len(words) == 2 and words[1].lower() != "diff"):
        raise UsageError("Write /post 42 for the post, or /post 42 diff for its last edit.")
    post = deps.store.get_post(positive(words[0], "A post id"))
    if post is None:
        return reply_of(f"There is no post {html.escape(words[0])} in the archive.")
    head = [f"<b>{html.escape(post.channel_label)}</b> · <i>{html.escape(deps.when(post.date))}</i>"]
    if post.forward_name:
        head.append(f"Forwarded from {html.escape(post.forward_name)}")
    tags = [t.display for t in post.tags if t.kind != "lang"]
    if tags:
        head.append(html.escape(" ".join(tags)))
    item = DigestItem((post,))
    count = seen_in(item, deps.store)
    if count > 1:
        head.append(f"Seen in {count} channels")
    if item.link:
        head.append(f'<a href="{html.escape(item.link, quote=True)}">Open in Telegram</a>')
    if post.deleted:
        deleted_at = next((c.noticed_at for c in deps.store.changes_of([post.id]) if c.deleted), None)
        head.append(deletion_line(post, deleted_at, deps))
    versions = deps.store.versions(post.id)
    if len(words) == 2:
        return diff_reply(post, versions, "\n".join(head[:1]), deps)
    head += version_lines(post, versions, deps)
    header = "\n".join(head)
    text = post.text or f"[{post.media_kind or 'media'} without text]"
    chunks = split_text(text, TELEGRAM_LIMIT - utf16_len(header) - 2)
    parts = [f"{header}\n\n{html.escape(chunks[0])}", *(html.escape(c) for c in chunks[1:])]
    return Reply(tuple(parts))
