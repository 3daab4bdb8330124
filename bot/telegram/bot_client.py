"""The bot's Telegram edge: events in, `Reply` parts out. No rules live here.

Every decision (who may ask, what to answer, how to page) is `CommandRouter`'s; this module only
converts a Telethon event into `Chat`, `User` and text, and sends or edits what comes back, each call
through `call_with_retry` so a flood wait is waited out (bounded) instead of crashing the handler.

The router runs in the event loop thread on purpose: it reads the same SQLite connection as the rest
of the service, and a connection must not be used from two threads at once. Its queries are short
(an indexed FTS page), so they do not stall the loop noticeably.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from telethon import Button, TelegramClient, events
from telethon.errors import MessageNotModifiedError, RPCError
from telethon.tl.functions.bots import SetBotCommandsRequest
from telethon.tl.types import BotCommand, BotCommandScopeDefault

from bot.models import Chat, Reply, User
from bot.telegram.retry import call_with_retry

T = TypeVar("T")

_log = logging.getLogger(__name__)

ALERT_CHARS = 200  # Telegram's limit for a callback answer


class CommandHandler(Protocol):
    """What the adapter needs of the command side (bot.commands.CommandRouter is one)."""

    bot_username: str | None

    async def route(self, text: str, chat: Chat, user: User) -> Reply: ...

    async def route_callback(self, data: str, chat: Chat, user: User) -> Reply: ...

    def menu(self) -> list[tuple[str, str]]: ...


def chat_of(event: Any) -> Chat:
    return Chat(
        id=int(event.chat_id),
        private=bool(event.is_private),
        title=getattr(getattr(event, "chat", None), "title", None),
    )


def user_of(event: Any) -> User | None:
    """None for messages without a person behind them (channel posts, anonymous group admins)."""
    if event.sender_id is None or event.sender_id < 0:
        return None
    sender = getattr(event, "sender", None)  # cached from the update; no network round trip
    return User(
        id=int(event.sender_id),
        username=getattr(sender, "username", None),
        name=getattr(sender, "first_name", None),
    )


def plain(html_text: str, limit: int = ALERT_CHARS) -> str:
    """A Reply part as the plain text a callback pop-up shows."""
    text = html.unescape(re.sub(r"<[^>]+>", "", html_text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markup(reply: Reply) -> list[list[Any]] | None:
    if not reply.buttons:
        return None
    return [[Button.inline(label, data.encode()) for label, data in row] for row in reply.buttons]


class BotClient:
    """Wires a bot `TelegramClient` to a `CommandHandler` (the command router).

    The client is the one bot client of the process (`bot.outputs.telegram.start_bot_client`), shared
    with the digest sender: two clients on one session file would fight over it. `await start()`
    tells the router the bot's @username (for `/cmd@Bot` in groups), publishes the command menu and
    registers the handlers; pass `bot_token` to log a fresh client in first. The client's own
    connection keeps serving the handlers; nothing else needs awaiting.
    """

    def __init__(
        self,
        client: TelegramClient,
        router: CommandHandler,
        *,
        max_wait: float = 60.0,
        max_attempts: int = 4,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        log: logging.Logger = _log,
    ) -> None:
        self.client = client
        self.router = router
        self.max_wait = max_wait
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._log = log
        self._registered = False

    async def _call(self, fn: Callable[[], Awaitable[T]], what: str) -> T:
        return await call_with_retry(
            fn, max_wait=self.max_wait, max_attempts=self.max_attempts, sleep=self._sleep, log=self._log, what=what
        )

    async def start(self, bot_token: str | None = None, *, publish_commands: bool = True) -> str:
        """Start answering commands (logging in first when given a token); returns the bot's @username."""
        if bot_token is not None:
            await self._call(lambda: self.client.start(bot_token=bot_token), "bot login")
        me = await self._call(self.client.get_me, "bot get_me")
        username = getattr(me, "username", None) or ""
        self.router.bot_username = username or self.router.bot_username
        if publish_commands:
            await self.publish_commands()
        self.register()
        self._log.info("bot @%s is answering commands", username)
        return username

    async def publish_commands(self) -> None:
        """The "/" menu in Telegram clients; admin commands stay out of it. Failure only costs the menu.

        ValueError is how Telethon reports a request that kept getting "500 internal error" answers.
        """
        commands = [BotCommand(name, about[:256]) for name, about in self.router.menu()]
        request = SetBotCommandsRequest(scope=BotCommandScopeDefault(), lang_code="", commands=commands)
        try:
            await self._call(lambda: self.client(request), "publish bot commands")
        except (RPCError, ConnectionError, RuntimeError, ValueError) as exc:
            self._log.warning("could not publish the bot command menu: %s", exc)

    def register(self) -> None:
        if self._registered:
            return
        self.client.add_event_handler(self.on_message, events.NewMessage(incoming=True, pattern=r"^/"))
        self.client.add_event_handler(self.on_callback, events.CallbackQuery())
        self._registered = True

    def stop(self) -> None:
        """Stop answering (at shutdown); the client itself is closed by whoever owns it."""
        if self._registered:
            self.client.remove_event_handler(self.on_message)
            self.client.remove_event_handler(self.on_callback)
            self._registered = False

    async def on_message(self, event: Any) -> None:
        user = user_of(event)
        if user is None:
            return
        chat = chat_of(event)
        try:
            reply = await self.router.route(event.raw_text or "", chat, user)
            if not reply.silent:
                await self.send(chat.id, reply, reply_to=None if chat.private else event.id)
        except Exception:
            self._log.exception("answering %r in chat %s failed", (event.raw_text or "")[:80], chat.id)

    async def on_callback(self, event: Any) -> None:
        user = user_of(event)
        data = bytes(event.data or b"").decode("utf-8", "replace")
        try:
            reply = await self.router.route_callback(data, chat_of(event), user) if user is not None else Reply()
            if reply.silent or reply.alert:
                # Always answer: the client shows a spinner on the button until we do.
                text = plain(reply.parts[0]) if reply.parts else None
                await self._call(lambda: event.answer(text, alert=bool(text)), "answer button")
                return
            await self._call(event.answer, "answer button")
            first, rest = reply.parts[0], reply.parts[1:]
            # MessageNotModified: the same page again (a double press), nothing to change.
            with contextlib.suppress(MessageNotModifiedError):
                await self._call(
                    lambda: event.edit(
                        first, parse_mode="html", link_preview=False, buttons=None if rest else markup(reply)
                    ),
                    "edit page",
                )
            if rest:
                await self.send(int(event.chat_id), Reply(rest, reply.buttons))
        except Exception:
            self._log.exception("answering button %r in chat %s failed", data[:64], event.chat_id)

    async def send(self, chat_id: int, reply: Reply, *, reply_to: int | None = None) -> list[Any]:
        """Parts in order, buttons under the last; the first part answers `reply_to` in groups."""
        sent = []
        for index, part in enumerate(reply.parts):
            last = index == len(reply.parts) - 1
            send = functools.partial(
                self.client.send_message,
                chat_id,
                part,
                parse_mode="html",
                link_preview=False,
                buttons=markup(reply) if last else None,
                reply_to=reply_to if index == 0 else None,
            )
            sent.append(await self._call(send, f"reply to chat {chat_id}"))
        return sent
