"""The Telegram bot as an output: messages sent through a Telethon client logged in as the bot.

Every Telegram call goes through `call_with_retry`, the one flood-wait/retry policy. Tests fake
Telegram at the Telethon client (an object with `send_message`) and everything above it runs for real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bot.config import Settings
from bot.telegram.client import private_file, use_configured_server
from bot.telegram.retry import call_with_retry

BOT_SESSION_FILE = "tgmonitor-bot.session"


class TelethonBotSender:
    """Sends through a Telethon client logged in as the bot (see `start_bot_client`).

    `max_wait` bounds one flood wait: a digest may wait a few minutes, never hours.
    """

    def __init__(
        self,
        client: Any,
        *,
        max_wait: float = 300.0,
        max_attempts: int = 5,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.max_wait = max_wait
        self.max_attempts = max_attempts
        self.sleep = sleep

    async def send_html(self, chat: int | str, html: str) -> int:
        message = await call_with_retry(
            lambda: self.client.send_message(chat, html, parse_mode="html", link_preview=False),
            max_wait=self.max_wait,
            max_attempts=self.max_attempts,
            sleep=self.sleep,
            what=f"send to {chat}",
        )
        return int(message.id)

    async def resolve_chat(self, chat: int | str) -> int:
        if isinstance(chat, int):
            return chat
        # Resolving also puts the entity in the session cache, so later sends by id work.
        peer_id = await call_with_retry(
            lambda: self.client.get_peer_id(chat),
            max_wait=self.max_wait,
            max_attempts=self.max_attempts,
            sleep=self.sleep,
            what=f"resolve {chat}",
        )
        return int(peer_id)


def make_bot_client(settings: Settings) -> Any:
    """A Telethon client for the bot account (not yet connected; `start_bot_client` logs it in).

    Telethon's bot login still needs API_ID/API_HASH; the bot keeps its own session file so the
    user session is never shared. `flood_sleep_threshold=0` leaves flood waits to call_with_retry.
    """
    from telethon import TelegramClient

    if not settings.bot_token:
        raise RuntimeError("BOT_TOKEN is not set: get one from @BotFather, or set DIGEST_OUTPUT=- to print")
    if settings.api_id is None or not settings.api_hash:
        raise RuntimeError("the bot also needs API_ID and API_HASH (https://my.telegram.org) to log in with Telethon")
    session = private_file(settings.data_dir / BOT_SESSION_FILE)
    server = settings.telegram_server
    client = TelegramClient(
        str(session),
        settings.api_id,
        settings.api_hash,
        flood_sleep_threshold=0,
        device_model="tgmonitor-bot",
        use_ipv6=server is not None and ":" in server.host,
    )
    # TELEGRAM_SERVER (test servers only); the bot logs in again from BOT_TOKEN once its old session is gone.
    use_configured_server(client.session, settings, fix=f"delete {session} (the bot logs in again from BOT_TOKEN)")
    return client


async def start_bot_client(settings: Settings, *, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> Any:
    """The process's one bot client, logged in (shared by the digest/alert sender and the commands)."""
    client = make_bot_client(settings)
    await call_with_retry(
        lambda: client.start(bot_token=settings.bot_token),
        max_wait=300.0,
        max_attempts=5,
        sleep=sleep,
        what="bot login",
    )
    return client
