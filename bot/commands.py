"""Bot commands over the archive: a pure router plus one plain function per command.

Nothing here knows Telegram's types: the Telethon adapter (bot/telegram/bot_client.py) turns an event
into `Chat`, `User` and text, calls `CommandRouter.route`, and sends the `Reply` it gets back. That keeps
every rule (who may ask, how often, what a hostile query does, how a long answer is split) testable
against a real archive without a network.

Paging: Telegram callback data holds at most 64 bytes. A page button carries a command letter, an
offset and the command's own argument text when that fits (so a button keeps working across
restarts); longer argument texts live in `PageKeys`, an in-memory LRU keyed by a short hash. A button
whose key was forgotten (restart, eviction) answers "send the command again" instead of guessing.
Offsets count result *items* (posts folded by origin / near-duplicate cluster), newest first.
"""

from __future__ import annotations

import base64
import difflib
import functools
import hashlib
import html
import logging
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from bot.config import Settings
from bot.core.digest import (
    TELEGRAM_LIMIT,
    DigestItem,
    build_digest,
    fold_items,
    render_html,
    snippet,
    split_messages,
    strip_bidi,
    utf16_len,
)
from bot.core.highlight import Highlighter
from bot.core.ratelimit import RateLimiter
from bot.core.timeparse import parse_since
from bot.models import ChannelRef, StoredPost
from storage.refusals import Refusals
from storage.store import ChannelRow, QueryError, Store, quote_fts
from storage.subscriptions import Subscription, Subscriptions

_log = logging.getLogger(__name__)

CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for inline button data
SEARCH_PAGE = 5
LATEST_DEFAULT, LATEST_MAX = 10, 50
TAGS_DEFAULT, TAGS_MAX = 20, 100
LIST_PAGE = 10
MAX_SUBSCRIPTIONS_PER_CHAT = 10
MAX_DIGEST_PARTS = 10
MAX_SCANNED_POSTS = 2000  # folding needs posts, not rows; this bounds one page's work on deep pages

Button = tuple[str, str]  # (label, callback data)

REFUSAL = (
    "Sorry, this is a private bot: it answers only the people and chats its owner has allowed. "
    "If you should have access, ask the owner to add your user id <code>{user_id}</code>."
)


# ----------------------------------------------------------------------------------- plain types
@dataclass(frozen=True, slots=True)
class Chat:
    """Where a command was sent; `id` is the id Telegram clients show (groups are negative)."""

    id: int
    private: bool = True
    title: str | None = None


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return f"@{self.username}" if self.username else (self.name or f"user {self.id}")


@dataclass(frozen=True, slots=True)
class Reply:
    """HTML messages to send in order (each under the limit); buttons go under the last one.

    No parts means "say nothing": ignored commands and repeated strangers get silence. `alert` marks a
    short notice (refusal, rate limit, expired list) that must not replace a list when it answers a
    button press: the adapter shows it as a pop-up there instead of editing the message.
    """

    parts: tuple[str, ...] = ()
    buttons: tuple[tuple[Button, ...], ...] = ()
    alert: bool = False

    @property
    def silent(self) -> bool:
        return not self.parts

    @classmethod
    def of(cls, html_text: str, buttons: tuple[tuple[Button, ...], ...] = (), *, alert: bool = False) -> Reply:
        """One message, split at line boundaries in the rare case it is too long."""
        if utf16_len(html_text) <= TELEGRAM_LIMIT:
            return cls((html_text,), buttons, alert)
        return cls(tuple(split_messages("", [(None, line) for line in html_text.split("\n")])), buttons, alert)


SILENT = Reply()


class UsageError(ValueError):
    """The user asked for something malformed; the (plain text) message says how to ask instead."""


class ListExpired(LookupError):
    """A page button refers to argument text this process no longer remembers."""


# ----------------------------------------------------------------------------------- paging keys
class PageKeys:
    """Argument texts too long for callback data, behind an 8-character key.

    The key is a hash of the text, so pressing "Next" twice or running the same search again reuses
    one entry; the LRU bound keeps memory flat however many searches are made.
    """

    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self._texts: OrderedDict[str, str] = OrderedDict()

    def put(self, text: str) -> str:
        key = base64.urlsafe_b64encode(hashlib.blake2b(text.encode(), digest_size=6).digest()).decode()
        self._texts[key] = text
        self._texts.move_to_end(key)
        while len(self._texts) > self.capacity:
            self._texts.popitem(last=False)
        return key

    def get(self, key: str) -> str | None:
        text = self._texts.get(key)
        if text is not None:
            self._texts.move_to_end(key)
        return text


_PAGE_DATA = re.compile(r"([a-z])(\d{1,7})([=*])(.*)", re.DOTALL)


def encode_page(code: str, offset: int, args: str, keys: PageKeys) -> str:
    """`s10=Kosovo #serbia` inline when it fits in 64 bytes, else `s10*<key>`."""
    inline = f"{code}{offset}={args}"
    if len(inline.encode()) <= CALLBACK_DATA_LIMIT:
        return inline
    return f"{code}{offset}*{keys.put(args)}"


def decode_page(data: str, keys: PageKeys) -> tuple[str, int, str] | None:
    """(command letter, offset, args); None for data we never made. Raises ListExpired."""
    match = _PAGE_DATA.fullmatch(data)
    if not match:
        return None
    code, offset, kind, payload = match.groups()
    if kind == "=":
        return code, int(offset), payload
    args = keys.get(payload)
    if args is None:
        raise ListExpired(payload)
    return code, int(offset), args


# ----------------------------------------------------------------------------------- dependencies
def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class CommandDeps:
    """What handlers may touch; the router builds it once. Callbacks are sync and must not block."""

    store: Store
    settings: Settings
    subscriptions: Subscriptions
    pages: PageKeys
    now: Callable[[], datetime] = _utcnow
    on_subscriptions_changed: Callable[[], object] | None = None
    on_channels_changed: Callable[[], object] | None = None
    log: logging.Logger = _log

    def is_admin(self, user: User) -> bool:
        return user.id in self.settings.admin_users

    def when(self, value: datetime) -> str:
        return value.astimezone(self.settings.tz).strftime("%d %b %Y %H:%M")

    def notify(self, hook: Callable[[], object] | None, what: str) -> None:
        """The change is saved either way; a failing hook only delays when others notice it."""
        if hook is None:
            return
        try:
            hook()
        except Exception:
            self.log.exception("%s changed, but notifying the scheduler/listener failed", what)


Handler = Callable[[str, Chat, User, CommandDeps, int], Reply]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: Handler
    usage: str
    example: str
    about: str
    admin: bool = False
    page_code: str | None = None  # set for commands whose replies have Prev/Next buttons


# ----------------------------------------------------------------------------------- rendering
def _paged(
    header: str,
    blocks: Sequence[str],
    *,
    code: str,
    args: str,
    offset: int,
    limit: int,
    more: bool,
    deps: CommandDeps,
    gap: bool = True,
) -> Reply:
    joiner = "\n" if gap else ""
    parts = split_messages(header, [(None, joiner + block) for block in blocks])
    row: list[Button] = []
    if offset > 0:
        row.append(("« Prev", encode_page(code, max(0, offset - limit), args, deps.pages)))
    if more:
        row.append(("Next »", encode_page(code, offset + limit, args, deps.pages)))
    return Reply(tuple(parts), (tuple(row),) if row else ())


def _range(offset: int, shown: int, total: int | None) -> str:
    span = f"{offset + 1}–{offset + shown}"
    return f"{span} of {total}" if total is not None else span


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _newest_first(items: list[DigestItem]) -> list[DigestItem]:
    return sorted(items, key=lambda item: max(p.id for p in item.posts), reverse=True)


def collect_items(
    store: Store,
    *,
    want: int,
    query: str | None = None,
    tags: Sequence[str] = (),
    channel: str | None = None,
    since: datetime | None = None,
    max_posts: int = MAX_SCANNED_POSTS,
) -> list[DigestItem]:
    """At least `want + 1` items (when there are that many), newest first, copies folded together.

    Items are ordered by their newest post, so the first N items are final once N items are known:
    reading older posts can only add copies to them (or new items after them), never reorder them.
    """
    posts: list[StoredPost] = []
    batch = max(50, want * 2)
    while True:
        got = store.search(query, tags=tags, channel=channel, since=since, limit=batch, offset=len(posts))
        posts.extend(got)
        items = _newest_first(fold_items(posts))
        if len(items) > want or len(got) < batch or len(posts) >= max_posts:
            return items


def seen_in(item: DigestItem, store: Store) -> int:
    """Channels that carried this item, including copies outside the current filter."""
    channels = {p.channel_id for p in item.posts}
    for key in {p.origin_key for p in item.posts}:
        channels.update(channel_id for channel_id, _, _ in store.sightings(key))
    return len(channels)


def _item_block(number: int, item: DigestItem, deps: CommandDeps, highlighter: Highlighter | None = None) -> str:
    """One result; for a search, the paragraph that matched with the matching words in bold."""
    post = item.first
    if highlighter is not None and post.text:
        text = highlighter.excerpt(post.text, post.lang, ("<b>", "</b>"), lambda s: html.escape(strip_bidi(s)))
    else:
        text = html.escape(snippet(post.text) or f"[{post.media_kind or 'media'}]")
    forwarded = f" (fwd {html.escape(post.forward_name)})" if post.forward_name else ""
    line = (
        f"<b>{number}.</b> <i>{html.escape(deps.when(post.date))}</i> · "
        f"{html.escape(post.channel_label)}{forwarded} — {text}"
    )
    extras = [f"/post_{post.id}"]
    if item.link:
        extras.append(f'<a href="{html.escape(item.link, quote=True)}">open</a>')
    count = seen_in(item, deps.store)
    if count > 1:
        extras.append(f"seen in {count} channels")
    return f"{line}\n{' · '.join(extras)}"


def _item_page(
    deps: CommandDeps,
    *,
    code: str,
    args: str,
    offset: int,
    limit: int,
    title: str,
    empty: str,
    query: str | None = None,
    tags: Sequence[str] = (),
    channel: str | None = None,
    since: datetime | None = None,
) -> Reply:
    try:
        items = collect_items(deps.store, want=offset + limit, query=query, tags=tags, channel=channel, since=since)
    except QueryError as exc:
        raise UsageError(
            f"I could not run that search ({exc}). All words must appear (any of their forms); "
            "try fewer or plainer words."
        ) from exc
    page = items[offset : offset + limit]
    more = len(items) > offset + limit
    if not page:
        if offset == 0:
            return Reply.of(html.escape(empty))
        back = encode_page(code, max(0, offset - limit), args, deps.pages)
        return Reply.of("No more results.", ((("« Prev", back),),))
    header = f"<b>{html.escape(title)}</b> · {_range(offset, len(page), None if more else len(items))}, newest first"
    highlighter = Highlighter.of(deps.store.search_index.normaliser, query) if query else None
    blocks = [_item_block(offset + i + 1, item, deps, highlighter) for i, item in enumerate(page)]
    return _paged(header, blocks, code=code, args=args, offset=offset, limit=limit, more=more, deps=deps)


def split_text(text: str, budget: int) -> list[str]:
    """Plain text in chunks whose HTML-escaped form fits `budget`, cut at paragraph, line, then word.

    Escaping happens per chunk, so a cut can never fall inside an entity like `&amp;`.
    """

    def fits(piece: str) -> bool:
        return utf16_len(html.escape(piece)) <= budget

    def pieces(chunk: str, separators: tuple[str, ...]) -> list[str]:
        if fits(chunk):
            return [chunk]
        if not separators:  # one enormous word: cut by characters
            out, current = [], ""
            for char in chunk:
                if current and not fits(current + char):
                    out.append(current)
                    current = ""
                current += char
            return [*out, current] if current else out
        head, *rest = separators
        parts = re.split(f"(?<={head})", chunk)
        return [p for part in parts if part for p in pieces(part, tuple(rest))]

    chunks: list[str] = []
    current = ""
    for piece in pieces(text, ("\n\n", "\n", " ")):
        if current and not fits(current + piece):
            chunks.append(current)
            current = piece
        else:
            current += piece
    if current:
        chunks.append(current)
    return [c.strip("\n") for c in chunks if c.strip()]


# ----------------------------------------------------------------------------------- argument parsing
@dataclass(frozen=True, slots=True)
class SearchArgs:
    words: str
    tags: tuple[str, ...]
    channel: str | None
    since: datetime | None


def parse_search(args: str, deps: CommandDeps) -> SearchArgs:
    words: list[str] = []
    tags: list[str] = []
    channel: str | None = None
    since: datetime | None = None
    for token in args.split():
        if token.lower().startswith("since:"):
            try:
                since = parse_since(token[6:], deps.now(), deps.settings.tz)
            except ValueError:
                raise UsageError(
                    f"I could not read {_short(token, 40)!r}: write since:2026-11-01 or an age like since:7d."
                ) from None
        elif token.startswith("#") and len(token) > 1:
            tags.append(token[1:].casefold())
        elif token.startswith("@") and len(token) > 1:
            if channel is not None:
                raise UsageError("One @channel per search, please.")
            if deps.store.find_channel(token) is None:
                raise UsageError(f"I do not archive {_short(token, 40)}; check the spelling of the channel.")
            channel = token
        else:
            words.append(token)
    return SearchArgs(" ".join(words), tuple(tags), channel, since)


_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")


def parse_channel(args: str) -> ChannelRef:
    """`@name`, `name`, `t.me/name`, `https://t.me/s/name`, a channel id or a -100… chat id."""
    text = args.strip()
    if not text or len(text.split()) > 1:
        raise UsageError("Name one channel, like @balkan_watch or https://t.me/balkan_watch.")
    text = re.sub(r"^(https?://)?(www\.)?(t|telegram)\.me/(s/)?", "", text, flags=re.IGNORECASE)
    text = text.strip("/").lstrip("@")
    if re.fullmatch(r"-100\d+", text):
        return ChannelRef(tg_id=int(text[4:]))
    if re.fullmatch(r"\d+", text):
        return ChannelRef(tg_id=int(text))
    if not _USERNAME.fullmatch(text):
        raise UsageError(f"{_short(args, 40)!r} is not a channel name; use @name or a t.me/name link.")
    return ChannelRef(username=text)


@functools.cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def find_zone(name: str) -> ZoneInfo:
    """An IANA zone by name, case-insensitively; a near miss gets suggestions instead of a shrug."""
    zones = _zone_names()
    canonical = zones.get(name.lower())
    if canonical is not None:
        return ZoneInfo(canonical)
    close = difflib.get_close_matches(name.lower(), list(zones), n=3, cutoff=0.75)
    hint = f" Did you mean {', '.join(zones[c] for c in close)}?" if close else ""
    raise UsageError(
        f"Unknown time zone {_short(name, 40)!r}.{hint} Use an IANA name like Europe/Sofia, Europe/Belgrade or UTC."
    )


def parse_hhmm(token: str) -> time:
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", token)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise UsageError(f"{_short(token, 20)!r} is not a time of day; use HH:MM from 00:00 to 23:59.")
    return time(int(match.group(1)), int(match.group(2)))


def _positive(token: str, what: str) -> int:
    if not re.fullmatch(r"#?\d{1,18}", token):
        raise UsageError(f"{what} is a number, like 42; got {_short(token, 20)!r}.")
    return int(token.lstrip("#"))


# ----------------------------------------------------------------------------------- handlers
def cmd_start(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    intro = (
        "<b>Hi!</b> I keep an archive of the Telegram channels this monitor watches: posts cleaned, "
        "tagged and folded when several channels carry the same thing. Ask me to search it, "
        "show the latest posts or send a digest."
    )
    return _help(intro, user, deps)


def cmd_help(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    return _help("<b>What I can do</b>", user, deps)


def _help(intro: str, user: User, deps: CommandDeps) -> Reply:
    blocks = []
    for command in COMMANDS:
        if command.admin and not deps.is_admin(user):
            continue
        admin = " <i>(admin)</i>" if command.admin else ""
        blocks.append(
            f"<code>{html.escape(command.usage)}</code>{admin}\n{html.escape(command.about)}\n"
            f"e.g. <code>{html.escape(command.example)}</code>"
        )
    blocks.append(
        "Searches find every form of your words in either script (all must appear; "
        '"quotes" for an exact phrase); results list one item per story, '
        f"however many channels carried it. Times are in {html.escape(deps.settings.tz.key)}."
    )
    return Reply(tuple(split_messages(intro, [(None, "\n" + b) for b in blocks])))


def cmd_search(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    parsed = parse_search(args, deps)
    if not quote_fts(parsed.words):
        parsed = replace(parsed, words="")  # only quotes or nothing: no words to match
    if not (parsed.words or parsed.tags or parsed.channel):
        raise UsageError("Tell me what to look for: some words, a #tag or an @channel.")
    return _item_page(
        deps,
        code="s",
        args=args,
        offset=offset,
        limit=SEARCH_PAGE,
        title=f"Search: {_short(args)}",
        empty=f"Nothing found for {_short(args)}. All words must appear; try fewer words or drop a filter.",
        query=parsed.words or None,
        tags=parsed.tags,
        channel=parsed.channel,
        since=parsed.since,
    )


def cmd_latest(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    count, tags = LATEST_DEFAULT, []
    for token in args.split():
        if token.isdigit():
            count = max(1, min(int(token), LATEST_MAX))
        elif token.startswith("#") and len(token) > 1:
            tags.append(token[1:].casefold())
        else:
            raise UsageError(
                f"I did not understand {_short(token, 30)!r}: give a count (up to {LATEST_MAX}) and #tags."
            )
    label = " ".join("#" + t for t in tags)
    return _item_page(
        deps,
        code="l",
        args=args,
        offset=offset,
        limit=count,
        title=f"Latest {label}".strip(),
        empty=f"No posts tagged {label} yet." if tags else "The archive is empty so far.",
        tags=tags,
    )


def cmd_tag(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    names = args.split()
    if len(names) != 1 or not names[0].lstrip("#"):
        raise UsageError("Name one tag, like /tag serbia.")
    name = names[0].lstrip("#").casefold()
    return _item_page(
        deps,
        code="t",
        args=args,
        offset=offset,
        limit=SEARCH_PAGE,
        title=f"Tag #{_short(name, 40)}",
        empty=f"No posts tagged {_short(name, 40)}. /tags lists the tags of the last 7 days.",
        tags=[name],
    )


def cmd_tags(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    count = TAGS_DEFAULT
    if args.strip():
        count = max(1, min(_positive(args.strip(), "The number of tags"), TAGS_MAX))
    since = deps.now() - timedelta(days=7)
    rows = deps.store.top_tags(since=since, limit=offset + count + 1, kinds=("hashtag", "topic"))
    page = rows[offset : offset + count]
    if not page:
        return Reply.of("No tags in the last 7 days." if offset == 0 else "No more tags.")
    more = len(rows) > offset + count
    header = f"<b>Top tags, last 7 days</b> · {_range(offset, len(page), None if more else len(rows))}\n"
    blocks = [f"{offset + i + 1}. {html.escape(tag.display)} — {_plural(n, 'post')}" for i, (tag, n) in enumerate(page)]
    blocks[-1] += "\n\n/tag NAME lists a tag's posts."
    return _paged(header, blocks, code="g", args=args, offset=offset, limit=count, more=more, deps=deps, gap=False)


def cmd_post(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    if not args.strip():
        raise UsageError("Which post? Give its number, like /post 42 (search results show them).")
    post = deps.store.get_post(_positive(args.strip(), "A post id"))
    if post is None:
        return Reply.of(f"There is no post {html.escape(args.strip())} in the archive.")
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
        head.append("<i>Deleted on Telegram; kept in the archive.</i>")
    header = "\n".join(head)
    text = post.text or f"[{post.media_kind or 'media'} without text]"
    chunks = split_text(text, TELEGRAM_LIMIT - utf16_len(header) - 2)
    parts = [f"{header}\n\n{html.escape(chunks[0])}", *(html.escape(c) for c in chunks[1:])]
    return Reply(tuple(parts))


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
            raise UsageError(f"I did not understand {_short(token, 30)!r}: use today, yesterday, week and #tags.")
    start, end = digest_window(window, deps.now(), deps.settings)
    posts = deps.store.posts_between(start, end, tags=tags)
    title = "Digest, " + _WINDOWS[window] + "".join(f" #{t}" for t in tags)
    parts = render_html(build_digest(posts, start, end, title=title), deps.settings.tz)
    if len(parts) > MAX_DIGEST_PARTS:
        left = len(parts) - MAX_DIGEST_PARTS + 1
        parts = [
            *parts[: MAX_DIGEST_PARTS - 1],
            f"… and {left} more messages. Narrow it down with a #tag or a shorter window.",
        ]
    return Reply(tuple(parts))


def _describe(sub: Subscription) -> str:
    tags = ", ".join("#" + t for t in sub.tags) if sub.tags else "all tags"
    origin = " <i>(from the settings)</i>" if sub.origin == "settings" else ""
    return f"#{sub.id} · every day at {sub.time:%H:%M} {html.escape(sub.tz.key)} · {html.escape(tags)}{origin}"


def cmd_subscribe(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    tags: list[str] = []
    at, zone = deps.settings.digest_time, deps.settings.tz
    for token in args.split():
        if token.startswith("#") and len(token) > 1:
            tags.append(token[1:])
        elif re.fullmatch(r"\d{1,2}[:.]\d{1,2}", token):
            at = parse_hhmm(token)
        elif "/" in token or token.upper() in {"UTC", "GMT"}:
            zone = find_zone(token)
        else:
            raise UsageError(
                f"I did not understand {_short(token, 30)!r}: tags start with #, the time is HH:MM "
                "and the time zone looks like Europe/Sofia."
            )
    existing = deps.subscriptions.list(chat.id)
    wanted = (tuple(sorted({t.casefold() for t in tags})), at.replace(second=0, microsecond=0), zone.key)
    if len(existing) >= MAX_SUBSCRIPTIONS_PER_CHAT and all((s.tags, s.time, s.tz.key) != wanted for s in existing):
        raise UsageError(f"This chat already has {len(existing)} digests; /unsubscribe one first.")
    sub = deps.subscriptions.add(chat.id, at=at, tz=zone, tags=tags, origin="bot")
    deps.log.info("chat %s subscribed by %s: %s", chat.id, user.label, _describe(sub))
    deps.notify(deps.on_subscriptions_changed, "subscriptions")
    return Reply.of(
        f"Subscribed: {_describe(sub)}.\n"
        f"/subscriptions lists this chat's digests; /unsubscribe {sub.id} stops this one."
    )


def cmd_unsubscribe(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    if not args.strip():
        removed = deps.subscriptions.remove(chat.id)
        if not removed:
            return Reply.of("This chat has no active digests.")
        deps.notify(deps.on_subscriptions_changed, "subscriptions")
        return Reply.of(f"Stopped {removed} digest{'s' if removed != 1 else ''} for this chat.")
    sub_id = _positive(args.strip(), "The subscription id")
    sub = deps.subscriptions.get(sub_id)
    if sub is None or sub.chat_id != chat.id or not sub.enabled:
        return Reply.of(f"This chat has no active digest #{sub_id}. /subscriptions lists them.")
    deps.subscriptions.remove(chat.id, sub_id)
    deps.log.info("chat %s unsubscribed by %s: #%s", chat.id, user.label, sub_id)
    deps.notify(deps.on_subscriptions_changed, "subscriptions")
    note = (
        "\nIt comes from DIGEST_CHAT in the settings, so it returns at the next restart unless the settings change."
        if sub.origin == "settings"
        else ""
    )
    return Reply.of(f"Stopped digest #{sub_id}.{note}")


def cmd_subscriptions(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    subs = deps.subscriptions.list(chat.id)
    if not subs:
        return Reply.of(
            "This chat has no digests. Start one with /subscribe, e.g. <code>/subscribe #serbia 08:00</code>."
        )
    page = subs[offset : offset + LIST_PAGE]
    header = f"<b>Digests for this chat</b> · {_range(offset, len(page), len(subs))}\n"
    blocks = [_describe(s) for s in page]
    more = len(subs) > offset + LIST_PAGE
    return _paged(header, blocks, code="u", args=args, offset=offset, limit=LIST_PAGE, more=more, deps=deps, gap=False)


def _channel_line(entry: dict[str, object], deps: CommandDeps) -> str:
    polled = entry.get("last_polled_at")
    when = "last poll " + deps.when(datetime.fromisoformat(str(polled))) if polled else "never polled"
    line = f"{html.escape(str(entry['channel']))} — {_plural(int(str(entry['posts'])), 'post')} · {html.escape(when)}"
    if not entry.get("watched"):
        line += " · not watched"
    if entry.get("last_error"):
        line += f"\n   ⚠ {html.escape(_short(str(entry['last_error']), 200))}"
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
        header += f"\n\n<b>Channels</b> · {_range(offset, len(page), len(channels))}"
    blocks = [_channel_line(entry, deps) for entry in page]
    more = len(channels) > offset + LIST_PAGE
    return _paged(header, blocks, code="x", args=args, offset=offset, limit=LIST_PAGE, more=more, deps=deps)


def _known_channel(store: Store, ref: ChannelRef) -> ChannelRow | None:
    """By username, or by Telegram id only: `find_channel(int)` also matches internal row ids."""
    if ref.username:
        return store.find_channel("@" + ref.username)
    return next((row for row in store.channels() if row.tg_id == ref.tg_id), None)


def cmd_watch(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    ref = parse_channel(args)
    known = _known_channel(deps.store, ref)
    if known is not None and known.watched:
        return Reply.of(f"I already watch {html.escape(known.label)}.")
    deps.store.set_watched(known.ref if known is not None else ref, True)
    deps.log.warning("admin %s: watch %s", user.label, ref.label)
    deps.notify(deps.on_channels_changed, "channels")
    return Reply.of(
        f"Watching {html.escape(ref.label)}. Its posts arrive from the next poll on; "
        "if the name is wrong, /stats shows the error."
    )


def cmd_unwatch(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    ref = parse_channel(args)
    known = _known_channel(deps.store, ref)
    if known is None or not known.watched:
        return Reply.of(f"I do not watch {html.escape(ref.label)}.")
    deps.store.set_watched(known.ref, False)
    deps.log.warning("admin %s: unwatch %s", user.label, known.label)
    deps.notify(deps.on_channels_changed, "channels")
    return Reply.of(f"Stopped watching {html.escape(known.label)}. Its posts stay in the archive.")


def cmd_channels(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    entries: list[dict[str, object]] = deps.store.stats()["per_channel"]
    if not entries:
        return Reply.of("No channels yet. Add one with /watch @name.")
    watched = sum(1 for e in entries if e.get("watched"))
    page = entries[offset : offset + LIST_PAGE]
    header = f"<b>Channels</b> ({watched} watched) · {_range(offset, len(page), len(entries))}"
    blocks = [_channel_line(entry, deps) for entry in page]
    more = len(entries) > offset + LIST_PAGE
    return _paged(header, blocks, code="c", args=args, offset=offset, limit=LIST_PAGE, more=more, deps=deps)


COMMANDS: tuple[Command, ...] = (
    Command("start", cmd_start, "/start", "/start", "What this bot is."),
    Command("help", cmd_help, "/help", "/help", "Every command with an example."),
    Command(
        "search",
        cmd_search,
        "/search WORDS [#tag] [@channel] [since:YYYY-MM-DD]",
        "/search Kosovo #serbia since:2026-11-01",
        "Full-text search, newest first, 5 per page; one line per story.",
        page_code="s",
    ),
    Command(
        "latest",
        cmd_latest,
        "/latest [N] [#tag]",
        "/latest 10 #serbia",
        "The newest N stories (up to 50).",
        page_code="l",
    ),
    Command("tag", cmd_tag, "/tag NAME", "/tag kosovo", "Stories with one tag, newest first.", page_code="t"),
    Command("tags", cmd_tags, "/tags [N]", "/tags 30", "The most used tags of the last 7 days.", page_code="g"),
    Command("post", cmd_post, "/post ID", "/post 42", "One post in full, with its link."),
    Command(
        "digest",
        cmd_digest,
        "/digest [today|yesterday|week] [#tag]",
        "/digest yesterday #serbia",
        "A digest now, for this chat (default: the last 24 hours).",
    ),
    Command(
        "subscribe",
        cmd_subscribe,
        "/subscribe [#tag ...] [HH:MM] [Area/City]",
        "/subscribe #serbia #kosovo 08:30 Europe/Belgrade",
        "A daily digest in this chat (defaults: DIGEST_TIME and TZ from the settings).",
    ),
    Command(
        "unsubscribe", cmd_unsubscribe, "/unsubscribe [ID]", "/unsubscribe 3", "Stop one digest, or all of this chat's."
    ),
    Command(
        "subscriptions", cmd_subscriptions, "/subscriptions", "/subscriptions", "This chat's digests.", page_code="u"
    ),
    Command(
        "stats", cmd_stats, "/stats", "/stats", "Archive size, and each channel's last poll and error.", page_code="x"
    ),
    Command("watch", cmd_watch, "/watch @channel", "/watch @balkan_watch", "Start archiving a channel.", admin=True),
    Command(
        "unwatch", cmd_unwatch, "/unwatch @channel", "/unwatch @balkan_watch", "Stop archiving a channel.", admin=True
    ),
    Command("channels", cmd_channels, "/channels", "/channels", "All known channels.", admin=True, page_code="c"),
)


# ----------------------------------------------------------------------------------- router
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?", re.DOTALL)


def parse_command(text: str) -> tuple[str, str | None, str] | None:
    """`/cmd args` or `/cmd@Bot args` -> (name, addressee or None, args). `/post_42` means `/post 42`."""
    match = _COMMAND.fullmatch(text.strip())
    if not match:
        return None
    name, target, args = match.group(1).lower(), match.group(2), (match.group(3) or "").strip()
    alias = re.fullmatch(r"post_(\d+)", name)
    if alias:
        name, args = "post", f"{alias.group(1)} {args}".strip()
    return name, target, args


class CommandRouter:
    """Access control, rate limit and dispatch; the one entry point the Telegram adapter calls.

    Order of checks: a command for another bot is not ours; then the allow-list (strangers get one
    refusal a day, then silence); then the rate limit; then admin rights; then the handler, whose
    errors become a polite answer and a log line, never an exception in the event loop.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        bot_username: str | None = None,
        subscriptions: Subscriptions | None = None,
        refusals: Refusals | None = None,
        limiter: RateLimiter | None = None,
        pages: PageKeys | None = None,
        now: Callable[[], datetime] = _utcnow,
        on_subscriptions_changed: Callable[[], object] | None = None,
        on_channels_changed: Callable[[], object] | None = None,
        log: logging.Logger = _log,
        commands: Sequence[Command] = COMMANDS,
    ) -> None:
        # Set after login when unknown at construction (the adapter reads it from get_me()).
        self.bot_username = bot_username
        self.deps = CommandDeps(
            store=store,
            settings=settings,
            subscriptions=subscriptions or Subscriptions(store.db),
            pages=pages or PageKeys(),
            now=now,
            on_subscriptions_changed=on_subscriptions_changed,
            on_channels_changed=on_channels_changed,
            log=log,
        )
        self._refusals = refusals or Refusals(store.db)
        self._limiter = limiter or RateLimiter(20)
        self._log = log
        self._commands = {c.name: c for c in commands}
        self._by_page_code = {c.page_code: c for c in commands if c.page_code}
        self._refused_day: date | None = None
        self._refused: set[int] = set()  # saves a write per message of a flooding stranger
        self._slowed: set[int] = set()
        if not (settings.allowed_users or settings.allowed_chats or settings.admin_users):
            log.warning("ALLOWED_USERS, ALLOWED_CHATS and ADMIN_USERS are empty: the bot will answer nobody")

    @property
    def settings(self) -> Settings:
        return self.deps.settings

    def is_allowed(self, chat: Chat, user: User) -> bool:
        s = self.settings
        return user.id in s.allowed_users or user.id in s.admin_users or chat.id in s.allowed_chats

    def route(self, text: str, chat: Chat, user: User) -> Reply:
        parsed = parse_command(text)
        if parsed is None:
            return SILENT
        name, target, args = parsed
        if target is not None and self.bot_username and target.lower() != self.bot_username.lower():
            return SILENT  # "/search@OtherBot" in a group: not for us
        command = self._commands.get(name)
        if command is None and not (chat.private or target is not None):
            return SILENT  # an unknown bare command in a group probably belongs to another bot
        gate = self._gate(chat, user, f"/{name}")
        if gate is not None:
            return gate
        if command is None:
            return Reply.of(f"I do not know /{html.escape(name)}. /help lists what I can do.")
        return self._run(command, args, chat, user, 0)

    def route_callback(self, data: str, chat: Chat, user: User) -> Reply:
        """A Prev/Next press: the same command again at another offset (the adapter edits the message)."""
        gate = self._gate(chat, user, f"button {data[:20]!r}")
        if gate is not None:
            return gate
        try:
            decoded = decode_page(data, self.deps.pages)
        except ListExpired:
            return Reply.of("This list has expired (I restarted since); send the command again.", alert=True)
        if decoded is None or decoded[0] not in self._by_page_code:
            self._log.debug("ignoring unknown callback data %r from %s", data, user.label)
            return SILENT
        code, offset, args = decoded
        return self._run(self._by_page_code[code], args, chat, user, offset)

    def _gate(self, chat: Chat, user: User, what: str) -> Reply | None:
        """None lets the command through; otherwise the answer (possibly silence) instead of it."""
        if not self.is_allowed(chat, user):
            return self._refuse(chat, user, what)
        wait = self._limiter.take(user.id)
        if wait > 0:
            if user.id in self._slowed:
                return SILENT
            self._slowed.add(user.id)
            self._log.info("rate limit: %s (user %s)", user.label, user.id)
            return Reply.of(f"That is a lot of commands at once; please wait {math.ceil(wait)} s.", alert=True)
        self._slowed.discard(user.id)
        return None

    def _refuse(self, chat: Chat, user: User, what: str) -> Reply:
        today = self.deps.now().astimezone(self.settings.tz).date()
        if today != self._refused_day:
            self._refused_day, self._refused = today, set()
        if user.id in self._refused:
            return SILENT
        self._refused.add(user.id)
        if not self._refusals.first_today(user.id, today):
            return SILENT
        self._log.warning(
            "refused %s (user %s) in chat %s (%s): %s; add the id to ALLOWED_USERS to let them in",
            user.label,
            user.id,
            chat.id,
            "private" if chat.private else (chat.title or "group"),
            what,
        )
        return Reply.of(REFUSAL.format(user_id=user.id), alert=True)

    def _run(self, command: Command, args: str, chat: Chat, user: User, offset: int) -> Reply:
        if command.admin and not self.deps.is_admin(user):
            self._log.info("non-admin %s (user %s) tried /%s", user.label, user.id, command.name)
            return Reply.of(f"Sorry, /{command.name} is for the bot's admins only.", alert=True)
        try:
            return command.handler(args, chat, user, self.deps, offset)
        except UsageError as exc:
            return Reply.of(
                f"{html.escape(str(exc))}\nUsage: <code>{html.escape(command.usage)}</code>\n"
                f"Example: <code>{html.escape(command.example)}</code>"
            )
        except Exception:
            self._log.exception("/%s %r from %s failed", command.name, _short(args, 200), user.label)
            return Reply.of("Sorry, something went wrong on my side; it is logged. Please try again later.")
