"""The narrow edge between tgmonitor and Telegram, and how the user client is built.

`TelegramEdge` is everything the Telethon source needs from Telegram: history pages, entity
resolution, media files, and three kinds of live events. Keeping it this small is what lets tests drive the
source with real Telethon message objects and a fake edge, with no network and no mocks of
Telethon internals. `TelethonClientEdge` adapts a real `TelegramClient` to it, one line per method.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import rsa
from telethon import TelegramClient, events
from telethon.crypto import rsa as telethon_rsa
from telethon.sessions import SQLiteSession, StringSession
from telethon.sessions.abstract import Session
from telethon.tl import types

from bot.config import Settings

_log = logging.getLogger(__name__)

MessageHandler = Callable[[types.Message], Awaitable[None]]
# (bare channel id or None when Telegram did not say where, deleted message ids)
DeletedHandler = Callable[[int | None, Sequence[int]], Awaitable[None]]

# StringSession.save(): version "1" + urlsafe base64 of dc id, address, port and the 256-byte auth key.
_STRING_SESSION = re.compile(r"^1[A-Za-z0-9_\-+/=]{100,}$")
SESSION_FILE_NAME = "tgmonitor.session"


class TelegramEdge(Protocol):
    def iter_messages(
        self,
        entity: Any,
        *,
        limit: int | None = None,
        min_id: int = 0,
        max_id: int = 0,
        offset_id: int = 0,
        offset_date: datetime | None = None,
        reverse: bool = False,
    ) -> AsyncIterator[types.TypeMessage]:
        """Telethon's semantics: newest first unless `reverse`; ids strictly between min_id and max_id."""
        ...

    async def get_entity(self, ref: str | int | types.TypePeer) -> Any: ...

    async def download_media(self, message: types.Message, path: Path) -> str | None:
        """Telethon's semantics: the extension is appended when `path` has none; the final path is returned."""
        ...

    def on_new_message(self, handler: MessageHandler) -> None: ...

    def on_message_edited(self, handler: MessageHandler) -> None: ...

    def on_message_deleted(self, handler: DeletedHandler) -> None: ...


class TelethonClientEdge:
    """`TelegramEdge` over a connected `telethon.TelegramClient`."""

    def __init__(self, client: TelegramClient) -> None:
        self.client = client

    def iter_messages(
        self,
        entity: Any,
        *,
        limit: int | None = None,
        min_id: int = 0,
        max_id: int = 0,
        offset_id: int = 0,
        offset_date: datetime | None = None,
        reverse: bool = False,
    ) -> AsyncIterator[types.TypeMessage]:
        return self.client.iter_messages(
            entity,
            limit=limit,
            min_id=min_id,
            max_id=max_id,
            offset_id=offset_id,
            offset_date=offset_date,
            reverse=reverse,
        )

    async def get_entity(self, ref: str | int | types.TypePeer) -> Any:
        return await self.client.get_entity(ref)

    async def download_media(self, message: types.Message, path: Path) -> str | None:
        result = await self.client.download_media(message, file=str(path))
        return result if isinstance(result, str) else None

    def on_new_message(self, handler: MessageHandler) -> None:
        async def dispatch(event: events.NewMessage.Event) -> None:
            await handler(event.message)

        self.client.add_event_handler(dispatch, events.NewMessage(func=lambda e: e.is_channel))

    def on_message_edited(self, handler: MessageHandler) -> None:
        async def dispatch(event: events.MessageEdited.Event) -> None:
            await handler(event.message)

        self.client.add_event_handler(dispatch, events.MessageEdited(func=lambda e: e.is_channel))

    def on_message_deleted(self, handler: DeletedHandler) -> None:
        async def dispatch(event: events.MessageDeleted.Event) -> None:
            # Only UpdateDeleteChannelMessages says which channel; private/group deletions carry no chat.
            channel_id = getattr(event.original_update, "channel_id", None)
            await handler(channel_id, list(event.deleted_ids or ()))

        self.client.add_event_handler(dispatch, events.MessageDeleted())


def is_string_session(value: str) -> bool:
    return bool(_STRING_SESSION.match(value.strip()))


def session_path(settings: Settings) -> Path:
    """Where the session file lives: TG_SESSION when it is a path, else `<data_dir>/tgmonitor.session`."""
    raw = settings.session
    path = Path(raw).expanduser() if raw and not is_string_session(raw) else settings.data_dir / SESSION_FILE_NAME
    # Telethon appends ".session" itself; name the file it will really open.
    return path if path.name.endswith(".session") else path.with_name(path.name + ".session")


def private_file(path: Path) -> Path:
    """Create (or tighten) a file readable by its owner only: a session file is a full account login."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    return path


def make_session(settings: Settings) -> SQLiteSession | StringSession:
    if settings.session and is_string_session(settings.session):
        return StringSession(settings.session.strip())
    return SQLiteSession(str(private_file(session_path(settings))))


def trust_public_key(path: Path) -> None:
    """TELEGRAM_PUBLIC_KEY: Telethon only completes a handshake with servers whose RSA key it knows.

    The key goes into Telethon's process-wide key table (its only place for keys); adding the same key
    twice is harmless. The key is PKCS#1 PEM (`BEGIN RSA PUBLIC KEY`), the form Telegram publishes keys in.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RuntimeError(f"TELEGRAM_PUBLIC_KEY: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        key = rsa.PublicKey.load_pkcs1(data)
    except Exception as exc:  # rsa/pyasn1 raise several unrelated types for a broken file
        raise RuntimeError(f"TELEGRAM_PUBLIC_KEY: {path} is not a readable RSA public key: {exc}") from exc
    telethon_rsa.add_key(key.save_pkcs1().decode("ascii"), old=False)


def use_configured_server(
    session: Session, settings: Settings, *, fix: str = "log in again with `tgmonitor login`"
) -> None:
    """Point a session at TELEGRAM_SERVER (test servers only); without it the session keeps its own address.

    A session remembers the server it logged in to (a StringSession carries the address too), so a
    session made against a test server keeps working with TELEGRAM_SERVER unset. A session logged in
    elsewhere cannot be moved: its auth key means nothing to another server, and Telegram would only
    answer with an obscure handshake error, so that is refused here with the way out.
    """
    if settings.telegram_public_key is not None:
        trust_public_key(settings.telegram_public_key)
    server = settings.telegram_server
    if server is None:
        return
    if session.auth_key is not None and (session.server_address, session.port) != (server.host, server.port):
        raise RuntimeError(
            f"the Telegram session was logged in at {session.server_address}:{session.port}, but TELEGRAM_SERVER "
            f"is {server}; {fix}, or unset TELEGRAM_SERVER"
        )
    session.set_dc(server.dc_id, server.host, server.port)


def make_user_client(settings: Settings, session: SQLiteSession | StringSession | None = None) -> TelegramClient:
    """A user (not bot) client: bots cannot read channel history.

    `flood_sleep_threshold=0` makes every flood wait surface to `call_with_retry`, the single place
    that decides how long tgmonitor is willing to wait.
    """
    if settings.api_id is None or not settings.api_hash:
        raise RuntimeError(
            "API_ID and API_HASH are required for the Telegram user client; "
            "create them at https://my.telegram.org (API development tools) and put them in .env"
        )
    client = TelegramClient(
        session if session is not None else make_session(settings),
        settings.api_id,
        settings.api_hash,
        flood_sleep_threshold=0,
        device_model="tgmonitor",
        use_ipv6=settings.telegram_server is not None and ":" in settings.telegram_server.host,
    )
    use_configured_server(client.session, settings)
    return client
