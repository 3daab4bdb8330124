"""/stats for everyone; /watch, /unwatch and /channels for the bot's admins."""

from __future__ import annotations

import html
from datetime import datetime

from bot.commands.args import parse_channel
from bot.commands.deps import CommandDeps
from bot.commands.paging import paged, range_text
from bot.commands.text import plural, reply_of, short
from bot.models import ChannelRef, ChannelRow, Chat, Reply, User
from storage.store import Store

LIST_PAGE = 10


def _channel_line(entry: dict[str, object], deps: CommandDeps) -> str:
    polled = entry.get("last_polled_at")
    when = "last poll " + deps.when(datetime.fromisoformat(str(polled))) if polled else "never polled"
    line = f"{html.escape(str(entry['channel']))} — {plural(int(str(entry['posts'])), 'post')} · {html.escape(when)}"
    if not entry.get("watched"):
        line += " · not watched"
    if entry.get("last_error"):
        line += f"\n   ⚠ {html.escape(short(str(entry['last_error']), 200))}"
    return line


def cmd_stats(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    stats = deps.store.stats()
    channels: list[dict[str, object]] = stats["per_channel"]
    first, last = stats["first_post"], stats["last_post"]
    span = ""
    if first and last:
        start, end = (html.escape(deps.when(datetime.fromisoformat(v))) for v in (first, last))
        span = f"\nFrom {start} to {end}"
    header = (
        f"<b>Archive</b>\n{stats['posts']} posts ({stats['items']} distinct items), {stats['deleted']} deleted\n"
        f"{stats['channels']} channels · {stats['tags']} tags{span}"
    )
    page = channels[offset : offset + LIST_PAGE]
    if page:
        header += f"\n\n<b>Channels</b> · {range_text(offset, len(page), len(channels))}"
    blocks = [_channel_line(entry, deps) for entry in page]
    more = len(channels) > offset + LIST_PAGE
    return paged(header, blocks, code="x", args=args, offset=offset, limit=LIST_PAGE, more=more, pages=deps.pages)


def _known_channel(store: Store, ref: ChannelRef) -> ChannelRow | None:
    """By username, or by Telegram id only: `find_channel(int)` also matches internal row ids."""
    if ref.username:
        return store.find_channel("@" + ref.username)
    return next((row for row in store.channels() if row.tg_id == ref.tg_id), None)


def cmd_watch(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    ref = parse_channel(args)
    known = _known_channel(deps.store, ref)
    if known is not None and known.watched:
        return reply_of(f"I already watch {html.escape(known.label)}.")
    deps.store.set_watched(known.ref if known is not None else ref, True)
    deps.log.warning("admin %s: watch %s", user.label, ref.label)
    deps.notify(deps.on_channels_changed, "channels")
    return reply_of(
        f"Watching {html.escape(ref.label)}. Its posts arrive from the next poll on; "
        "if the name is wrong, /stats shows the error."
    )


def cmd_unwatch(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    ref = parse_channel(args)
    known = _known_channel(deps.store, ref)
    if known is None or not known.watched:
        return reply_of(f"I do not watch {html.escape(ref.label)}.")
    deps.store.set_watched(known.ref, False)
    deps.log.warning("admin %s: unwatch %s", user.label, known.label)
    deps.notify(deps.on_channels_changed, "channels")
    return reply_of(f"Stopped watching {html.escape(known.label)}. Its posts stay in the archive.")


def cmd_channels(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    entries: list[dict[str, object]] = deps.store.stats()["per_channel"]
    if not entries:
        return reply_of("No channels yet. Add one with /watch @name.")
    watched = sum(1 for e in entries if e.get("watched"))
    page = entries[offset : offset + LIST_PAGE]
    header = f"<b>Channels</b> ({watched} watched) · {range_text(offset, len(page), len(entries))}"
    blocks = [_channel_line(entry, deps) for entry in page]
    more = len(entries) > offset + LIST_PAGE
    return paged(header, blocks, code="c", args=args, offset=offset, limit=LIST_PAGE, more=more, pages=deps.pages)
