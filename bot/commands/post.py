"""/post N: one post in full, with where else it was seen, its versions and the articles it links to;
/post N diff: its last edit."""

from __future__ import annotations

import html

from bot.app.listing import seen_in
from bot.commands.args import positive
from bot.commands.article import article_offers
from bot.commands.deps import CommandDeps, UsageError
from bot.commands.history import deletion_line, diff_reply, version_lines
from bot.commands.text import label, reply_of, split_text
from bot.core.digest import DigestItem
from bot.core.telegram_text import TELEGRAM_LIMIT, utf16_len
from bot.core.text_links import with_targets
from bot.models import Chat, Reply, User

HEADER_TAGS = 15  # tags shown in a post's header; a post may carry hundreds


def cmd_post(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    words = args.split()
    if not words:
        raise UsageError("Which post? Give its number, like /post 42 (search results show them).")
    if len(words) > 2 or (len(words) == 2 and words[1].lower() != "diff"):
        raise UsageError("Write /post 42 for the post, or /post 42 diff for its last edit.")
    post = deps.store.get_post(positive(words[0], "A post id"))
    if post is None:
        return reply_of(f"There is no post {html.escape(words[0])} in the archive.")
    approx = " (approximate: the exporter's clock)" if post.approx_time else ""
    head = [f"<b>{html.escape(label(post.channel_label))}</b> · <i>{html.escape(deps.when(post.date))}{approx}</i>"]
    if post.sender is not None:
        head.append(f"Sender: {html.escape(label(post.sender.label))}")
    if post.forward_name:
        head.append(f"Forwarded from {html.escape(label(post.forward_name))}")
    tags = [label(t.display) for t in post.tags if t.kind != "lang"]
    if tags:
        more = f" +{len(tags) - HEADER_TAGS} more" if len(tags) > HEADER_TAGS else ""
        head.append(html.escape(" ".join(tags[:HEADER_TAGS]) + more))
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
    # hidden links beside their words as text, `words [URL]` (Telegram links the address itself)
    text = with_targets(post.text, post.text_links) or f"[{post.media_kind or 'media'} without text]"
    # Only the first message carries the header; the others get the whole limit.
    first = split_text(text, TELEGRAM_LIMIT - utf16_len(header) - 2)[0]
    rest = text[text.index(first) + len(first) :]
    parts = [f"{header}\n\n{html.escape(first)}", *(html.escape(c) for c in split_text(rest, TELEGRAM_LIMIT))]
    return Reply((*parts, *article_offers(post.articles)))
