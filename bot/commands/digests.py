"""/digest now, and the daily digests of a chat: /subscribe, /unsubscribe, /subscriptions."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta

from bot.app.digest_jobs import window_posts
from bot.commands.alert_rules import MAX_RULE_CHARS
from bot.commands.args import find_zone, parse_hhmm, positive
from bot.commands.deps import CommandDeps, UsageError
from bot.commands.paging import paged, range_text
from bot.commands.text import reply_of, short
from bot.config import Settings
from bot.core.digest import build_digest
from bot.core.digest_render import render_html
from bot.core.rules import RuleError, parse_rule
from bot.models import Chat, Reply, User
from storage.subscriptions import Subscription

LIST_PAGE = 10
MAX_SUBSCRIPTIONS_PER_CHAT = 10
MAX_DIGEST_PARTS = 10
MAX_TAG_CHARS = 64
MAX_TAGS_PER_DIGEST = 10


_WINDOWS = {"24h": "last 24 hours", "today": "today", "yesterday": "yesterday", "week": "last 7 days"}


def digest_window(name: str, now: datetime, settings: Settings) -> tuple[datetime, datetime]:
    """Calendar words mean local days in TZ; '24h' and 'week' are rolling."""
    local_today = now.astimezone(settings.tz).date()

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=settings.tz).astimezone(UTC)

    if name == "today":
        return midnight(local_today), now
    if name == "yesterday":
        return midnight(local_today - timedelta(days=1)), midnight(local_today)
    if name == "week":
        return now - timedelta(days=7), now
    return now - timedelta(hours=24), now


def cmd_digest(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    window, tags = "24h", []
    for token in args.split():
        if token.lower() in _WINDOWS:
            window = token.lower()
        elif token.startswith("#") and len(token) > 1:
            tags.append(token[1:].casefold())
        else:
            raise UsageError(f"I did not understand {short(token, 30)!r}: use today, yesterday, week and #tags.")
    start, end = digest_window(window, deps.now(), deps.settings)
    posts, changes = window_posts(deps.store, start, end, tags)
    title = "Digest, " + _WINDOWS[window] + "".join(f" #{t}" for t in tags)
    digest = build_digest(posts, start, end, title=title, changes=changes)
    parts = render_html(digest, deps.settings.tz, per_section=deps.settings.digest_section_items or None)
    if len(parts) > MAX_DIGEST_PARTS:
        left = len(parts) - MAX_DIGEST_PARTS + 1
        parts = [
            *parts[: MAX_DIGEST_PARTS - 1],
            f"… and {left} more messages. Narrow it down with a #tag or a shorter window.",
        ]
    return Reply(tuple(parts))


def _describe(sub: Subscription) -> str:
    tags = short(", ".join("#" + short(t, 32) for t in sub.tags), 200) if sub.tags else "all tags"
    origin = " <i>(from the settings)</i>" if sub.origin == "settings" else ""
    to = f" → {html.escape(', '.join(sub.sinks))}" if sub.sinks else ""
    where = f" · where <code>{html.escape(short(sub.rule, 100))}</code>" if sub.rule else ""
    return (
        f"#{sub.id} · every day at {sub.time:%H:%M} {html.escape(sub.tz.key)} · {html.escape(tags)}{where}{to}{origin}"
    )


def cmd_subscribe(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    tags: list[str] = []
    at, zone = deps.settings.digest_time, deps.settings.tz
    head, _, rule = f" {args.strip()}".partition(" where ")
    words, _, to = f"{head} ".partition(" to ")
    sinks = _sinks(to, deps)
    rule = rule.strip()
    if rule:
        if len(rule) > MAX_RULE_CHARS:
            raise UsageError(f"A rule is at most {MAX_RULE_CHARS} characters; this one has {len(rule)}.")
        try:
            parse_rule(rule, deps.store.search_index.normaliser)
        except RuleError as exc:
            raise UsageError(f"I cannot read that rule: {exc}.") from None
    for token in words.split():
        if token.startswith("#") and len(token) > 1:
            if len(token) > MAX_TAG_CHARS + 1:
                raise UsageError(f"Tags are at most {MAX_TAG_CHARS} characters; {short(token, 30)!r} is longer.")
            tags.append(token[1:])
        elif re.fullmatch(r"[0-9]{1,2}[:.][0-9]{1,2}", token):
            at = parse_hhmm(token)
        elif "/" in token or token.upper() in {"UTC", "GMT"}:
            zone = find_zone(token)
        else:
            raise UsageError(
                f"I did not understand {short(token, 30)!r}: tags start with #, the time is HH:MM "
                "and the time zone looks like Europe/Sofia."
            )
    if len(tags) > MAX_TAGS_PER_DIGEST:
        raise UsageError(f"At most {MAX_TAGS_PER_DIGEST} tags per digest; subscribe twice for more.")
    existing = deps.subscriptions.list(chat.id)
    wanted = (tuple(sorted({t.casefold() for t in tags})), at.replace(second=0, microsecond=0), zone.key)
    if len(existing) >= MAX_SUBSCRIPTIONS_PER_CHAT and all((s.tags, s.time, s.tz.key) != wanted for s in existing):
        raise UsageError(f"This chat already has {len(existing)} digests; /unsubscribe one first.")
    sub = deps.subscriptions.add(
        chat.id, at=at, tz=zone, tags=tags, origin="bot", subscriber_id=user.id, sinks=sinks, rule=rule or None
    )
    deps.log.info("chat %s subscribed by %s: %s", chat.id, user.label, _describe(sub))
    deps.notify(deps.on_subscriptions_changed, "subscriptions")
    return reply_of(
        f"Subscribed: {_describe(sub)}.\n"
        f"/subscriptions lists this chat's digests; /unsubscribe {sub.id} stops this one."
    )


def _sinks(text: str, deps: CommandDeps) -> tuple[str, ...]:
    """`to NAME ...`: 'telegram' (this chat) or SINK_<NAME>s of the settings (docs/sinks-and-rules.md)."""
    names = tuple(dict.fromkeys(n.lower() for n in text.replace(",", " ").split()))
    known = ("telegram", *(n for n, _ in deps.settings.sinks))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"There is no sink {short(unknown[0], 32)!r}; known: {', '.join(known)}.")
    return names


def cmd_unsubscribe(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    if not args.strip():
        removed = deps.subscriptions.remove(chat.id)
        if not removed:
            return reply_of("This chat has no active digests.")
        deps.notify(deps.on_subscriptions_changed, "subscriptions")
        return reply_of(f"Stopped {removed} digest{'s' if removed != 1 else ''} for this chat.")
    sub_id = positive(args.strip(), "The subscription id")
    sub = deps.subscriptions.get(sub_id)
    if sub is None or sub.chat_id != chat.id or not sub.enabled:
        return reply_of(f"This chat has no active digest #{sub_id}. /subscriptions lists them.")
    deps.subscriptions.remove(chat.id, sub_id)
    deps.log.info("chat %s unsubscribed by %s: #%s", chat.id, user.label, sub_id)
    deps.notify(deps.on_subscriptions_changed, "subscriptions")
    note = (
        "\nIt comes from DIGEST_CHAT in the settings, so it returns at the next restart unless the settings change."
        if sub.origin == "settings"
        else ""
    )
    return reply_of(f"Stopped digest #{sub_id}.{note}")


def cmd_subscriptions(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    subs = deps.subscriptions.list(chat.id)
    if not subs:
        return reply_of(
            "This chat has no digests. Start one with /subscribe, e.g. <code>/subscribe #serbia 08:00</code>."
        )
    page = subs[offset : offset + LIST_PAGE]
    header = f"<b>Digests for this chat</b> · {range_text(offset, len(page), len(subs))}\n"
    blocks = [_describe(s) for s in page]
    more = len(subs) > offset + LIST_PAGE
    return paged(
        header, blocks, code="u", args=args, offset=offset, limit=LIST_PAGE, more=more, pages=deps.pages, gap=False
    )
