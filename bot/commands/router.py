"""Access control, rate limit and dispatch: the one entry point the Telegram adapter calls.

Nothing here knows Telegram's types: the Telethon adapter (bot/telegram/bot_client.py) turns an event
into `Chat`, `User` and text, calls `CommandRouter.route`, and sends the `Reply` it gets back. That
keeps every rule (who may ask, how often, what a hostile query does, how a long answer is split)
testable against a real archive without a network.
"""

from __future__ import annotations

import html
import logging
import math
import re
import sqlite3
from collections.abc import Callable, Sequence
from datetime import date, datetime

from bot.app.access import AccessPolicy
from bot.commands.deps import Command, CommandDeps, UsageError, utcnow
from bot.commands.paging import ListExpired, PageKeys, decode_page
from bot.commands.registry import COMMANDS
from bot.commands.text import SILENT, reply_of, short
from bot.config import Settings
from bot.core.ratelimit import RateLimiter
from bot.core.telegram_text import strip_bidi_keep_isolates
from bot.models import Chat, Reply, User
from storage.refusals import Refusals
from storage.store import QueryError, Store
from storage.subscriptions import Subscriptions

_log = logging.getLogger("bot.commands")

TOO_SLOW = "That took too long to work out. Narrow it down: a #tag, an @channel, fewer days or more words."
MAX_OFFSET = 500  # the deepest a Prev/Next button may page; past it, a narrower search is the answer
MAX_REPLY_PARTS = 10  # messages one command may send; the archive is big, a chat is not


def bounded(reply: Reply) -> Reply:
    """What any one reply may send: at most MAX_REPLY_PARTS messages (each already under the limit),
    and no direction overrides (a channel's U+202E would reverse the rest of the line)."""
    parts = tuple(strip_bidi_keep_isolates(part) for part in reply.parts)  # ours (balanced FSI…PDI) stay
    if len(parts) > MAX_REPLY_PARTS:
        cut = len(parts) - MAX_REPLY_PARTS + 1
        parts = (
            *parts[: MAX_REPLY_PARTS - 1],
            f"… cut here: {cut} more messages. Narrow it down (a #tag, a shorter window) or open the original.",
        )
    return Reply(parts, reply.buttons, reply.alert)


REFUSAL = (
    "Sorry, this is a private bot: it answers only the people and chats its owner has allowed. "
    "If you should have access, ask the owner to add your user id <code>{user_id}</code>."
)


_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but tab, newline, carriage return
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,64})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?", re.DOTALL)


def parse_command(text: str) -> tuple[str, str | None, str] | None:
    """`/cmd args` or `/cmd@Bot args` -> (name, addressee or None, args).

    `/post_42` means `/post 42` and `/article_7` `/article 7`: the tappable forms in lists.
    """
    # Other control characters become spaces here, once for every command: no word, tag or rule holds
    # one, and PostgreSQL refuses text with a NUL in it (/tag a<NUL>b was "something went wrong" there).
    match = _COMMAND.fullmatch(_CONTROLS.sub(" ", text).strip())
    if not match:
        return None
    name, target, args = match.group(1).lower(), match.group(2), (match.group(3) or "").strip()
    alias = re.fullmatch(r"(post|article)_([0-9]+)", name)
    if alias:
        name, args = alias.group(1), f"{alias.group(2)} {args}".strip()
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
        now: Callable[[], datetime] = utcnow,
        on_subscriptions_changed: Callable[[], object] | None = None,
        on_channels_changed: Callable[[], object] | None = None,
        log: logging.Logger = _log,
        commands: Sequence[Command] = COMMANDS,
    ) -> None:
        # Set after login when unknown at construction (the adapter reads it from get_me()).
        self.bot_username = bot_username
        self.access = AccessPolicy(settings)
        self.deps = CommandDeps(
            store=store,
            settings=settings,
            subscriptions=subscriptions or store.subscriptions,
            pages=pages or PageKeys(),
            now=now,
            on_subscriptions_changed=on_subscriptions_changed,
            on_channels_changed=on_channels_changed,
            log=log,
            commands=tuple(commands),
        )
        self._refusals = refusals or store.refusals
        self._limiter = limiter or RateLimiter(20)
        self._log = log
        self._commands = {c.name: c for c in commands}
        self._by_page_code = {c.page_code: c for c in commands if c.page_code}
        self._refused_day: date | None = None
        self._refused: set[int] = set()  # saves a write per message of a flooding stranger
        self._slowed: set[int] = set()
        if not (settings.allowed_users or settings.allowed_chats or settings.admin_users):
            log.warning("ALLOWED_USERS, ALLOWED_CHATS and ADMIN_USERS are empty: the bot will answer nobody")

    def menu(self) -> list[tuple[str, str]]:
        """(name, description) of the commands everyone may use: the bot's "/" menu in Telegram."""
        return [(c.name, c.about) for c in self.deps.commands if not c.admin]

    @property
    def settings(self) -> Settings:
        return self.deps.settings

    def is_allowed(self, chat: Chat, user: User) -> bool:
        return self.access.may_command(chat, user)

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
        # /unsubscribe always works for a chat that gets digests: a user removed from the allow-list must
        # still be able to stop them (they are paused at send time anyway).
        leaving = name == "unsubscribe" and bool(self.deps.subscriptions.list(chat.id))
        gate = self._gate(chat, user, f"/{name}", check_access=not leaving)
        if gate is not None:
            return gate
        if command is None:
            return reply_of(f"I do not know /{html.escape(name)}. /help lists what I can do.")
        return self._run(command, args, chat, user, 0)

    def route_callback(self, data: str, chat: Chat, user: User) -> Reply:
        """A Prev/Next press: the same command again at another offset (the adapter edits the message)."""
        gate = self._gate(chat, user, f"button {data[:20]!r}")
        if gate is not None:
            return gate
        try:
            decoded = decode_page(data, self.deps.pages)
        except ListExpired:
            return reply_of("This list has expired (I restarted since); send the command again.", alert=True)
        if decoded is None or decoded[0] not in self._by_page_code:
            self._log.debug("ignoring unknown callback data %r from %s", data, user.label)
            return SILENT
        code, offset, args = decoded
        if offset > MAX_OFFSET:
            return reply_of("That is as deep as lists go; narrow the search instead.", alert=True)
        return self._run(self._by_page_code[code], args, chat, user, offset)

    def _gate(self, chat: Chat, user: User, what: str, *, check_access: bool = True) -> Reply | None:
        """None lets the command through; otherwise the answer (possibly silence) instead of it."""
        if check_access and not self.is_allowed(chat, user):
            return self._refuse(chat, user, what)
        wait = self._limiter.take(user.id)
        if wait > 0:
            if user.id in self._slowed:
                return SILENT
            self._slowed.add(user.id)
            self._log.info("rate limit: %s (user %s)", user.label, user.id)
            return reply_of(f"That is a lot of commands at once; please wait {math.ceil(wait)} s.", alert=True)
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
        return reply_of(REFUSAL.format(user_id=user.id), alert=True)

    def _run(self, command: Command, args: str, chat: Chat, user: User, offset: int) -> Reply:
        if command.admin and not self.deps.is_admin(user):
            self._log.info("non-admin %s (user %s) tried /%s", user.label, user.id, command.name)
            return reply_of(f"Sorry, /{command.name} is for the bot's admins only.", alert=True)
        try:
            return bounded(command.handler(args, chat, user, self.deps, offset))
        except UsageError as exc:
            return reply_of(
                f"{html.escape(str(exc))}\nUsage: <code>{html.escape(command.usage)}</code>\n"
                f"Example: <code>{html.escape(command.example)}</code>"
            )
        except Exception as exc:
            if isinstance(exc, sqlite3.OperationalError | QueryError) and "interrupted" in str(exc):
                self._log.warning(
                    "/%s %r from %s ran out of its time budget", command.name, short(args, 200), user.label
                )
                return reply_of(TOO_SLOW)
            self._log.exception("/%s %r from %s failed", command.name, short(args, 200), user.label)
            return reply_of("Sorry, something went wrong on my side; it is logged. Please try again later.")
