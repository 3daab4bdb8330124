"""Real Telethon TL objects built offline, and a fake of the one network edge (`TelegramEdge`).

The fake honours Telethon's paging semantics (min_id/max_id exclusive, offset_id, reverse, limit)
so the source is exercised exactly as it talks to Telegram, with no mocks of Telethon internals.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telethon.tl import types

from bot.telegram.client import DeletedHandler, MessageHandler

BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def channel(tg_id: int, username: str | None, title: str) -> types.Channel:
    return types.Channel(
        id=tg_id,
        title=title,
        photo=types.ChatPhotoEmpty(),
        date=BASE,
        broadcast=True,
        access_hash=tg_id * 7,
        username=username,
    )


def user(tg_id: int, username: str) -> types.User:
    return types.User(id=tg_id, access_hash=1, first_name="Someone", username=username)


def message(
    msg_id: int,
    text: str = "",
    *,
    chat: int = 1001,
    date: datetime | None = None,
    **extra: Any,
) -> types.Message:
    return types.Message(
        id=msg_id,
        peer_id=types.PeerChannel(chat),
        date=date or BASE + timedelta(minutes=msg_id),
        message=text,
        post=True,
        **extra,
    )


def service(msg_id: int, *, chat: int = 1001) -> types.MessageService:
    return types.MessageService(
        id=msg_id,
        peer_id=types.PeerChannel(chat),
        date=BASE + timedelta(minutes=msg_id),
        action=types.MessageActionPinMessage(),
    )


def photo() -> types.MessageMediaPhoto:
    return types.MessageMediaPhoto(
        photo=types.Photo(
            id=1,
            access_hash=2,
            file_reference=b"",
            date=BASE,
            sizes=[types.PhotoSize("m", 320, 240, 1000)],
            dc_id=2,
        )
    )


def document(*attributes: types.TypeDocumentAttribute, mime: str = "application/pdf", size: int = 1234, **flags: Any):
    return types.MessageMediaDocument(
        document=types.Document(
            id=3,
            access_hash=4,
            file_reference=b"",
            date=BASE,
            mime_type=mime,
            size=size,
            dc_id=2,
            attributes=list(attributes),
        ),
        **flags,
    )


def forward_from_channel(tg_id: int, post: int, *, author: str | None = None) -> types.MessageFwdHeader:
    return types.MessageFwdHeader(
        date=BASE - timedelta(days=1), from_id=types.PeerChannel(tg_id), channel_post=post, post_author=author
    )


def album(first_id: int, captions: Sequence[str], *, grouped_id: int, chat: int = 1001) -> list[types.Message]:
    return [
        message(first_id + i, caption, chat=chat, media=photo(), grouped_id=grouped_id)
        for i, caption in enumerate(captions)
    ]


class FakeEdge:
    """`TelegramEdge` over in-memory channel histories; records every call it receives."""

    def __init__(self, entities: Sequence[Any] = ()) -> None:
        self.history: dict[int, dict[int, types.TypeMessage]] = {}
        self.entities: dict[str | int, Any] = {}
        for entity in entities:
            self.add_entity(entity)
        self.calls: list[tuple[int, dict[str, Any]]] = []
        self.entity_calls: list[Any] = []
        self.failures: list[BaseException] = []  # raised, one per call, before a page is served
        self.channel_failures: dict[int, BaseException] = {}  # raised on every read of that channel
        self.unknown_peers: set[int] = set()  # bare PeerChannel not in the session cache
        self.downloads: list[tuple[int, int]] = []  # (channel id, message id) of every download_media call
        self.download_failures: list[BaseException] = []  # raised, one per call, after a partial write
        self.new_handlers: list[MessageHandler] = []
        self.edit_handlers: list[MessageHandler] = []
        self.delete_handlers: list[DeletedHandler] = []

    def add_entity(self, entity: Any) -> None:
        self.entities[entity.id] = entity
        if getattr(entity, "username", None):
            self.entities[entity.username.lower()] = entity

    def post(self, *messages: types.TypeMessage) -> None:
        for msg in messages:
            self.history.setdefault(msg.peer_id.channel_id, {})[msg.id] = msg

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
        kwargs = {
            "limit": limit,
            "min_id": min_id,
            "max_id": max_id,
            "offset_id": offset_id,
            "reverse": reverse,
        }
        return self._iter(entity, kwargs)

    async def _iter(self, entity: Any, kwargs: dict[str, Any]) -> AsyncIterator[types.TypeMessage]:
        tg_id = entity.channel_id if isinstance(entity, types.PeerChannel) else entity.id
        self.calls.append((tg_id, kwargs))
        if self.failures:
            raise self.failures.pop(0)
        if tg_id in self.channel_failures:
            raise self.channel_failures[tg_id]
        if isinstance(entity, types.PeerChannel) and tg_id in self.unknown_peers:
            raise ValueError(f"Could not find the input entity for {entity!r}")
        msgs = sorted(self.history.get(tg_id, {}).values(), key=lambda m: m.id)
        msgs = [m for m in msgs if m.id > kwargs["min_id"] and (not kwargs["max_id"] or m.id < kwargs["max_id"])]
        if kwargs["offset_id"]:
            if kwargs["reverse"]:
                msgs = [m for m in msgs if m.id > kwargs["offset_id"]]
            else:
                msgs = [m for m in msgs if m.id < kwargs["offset_id"]]
        if not kwargs["reverse"]:
            msgs.reverse()
        if kwargs["limit"] is not None:
            msgs = msgs[: kwargs["limit"]]
        for msg in msgs:
            yield msg

    async def get_entity(self, ref: str | int | types.TypePeer) -> Any:
        self.entity_calls.append(ref)
        key = ref.channel_id if isinstance(ref, types.PeerChannel) else ref
        key = key.lower() if isinstance(key, str) else key
        if key not in self.entities:
            raise ValueError(f'No user has "{ref}" as username')
        return self.entities[key]

    async def download_media(self, message: types.Message, path: Path) -> str | None:
        """Like Telethon: the extension is appended when the path has none; None when there is no file."""
        self.downloads.append((message.peer_id.channel_id, message.id))
        ext = _media_extension(message.media)
        if ext is None:
            return None
        target = path if path.suffix else path.with_name(path.name + ext)
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.download_failures:
            target.write_bytes(b"half a fi")  # a transfer cut short leaves a partial file behind
            raise self.download_failures.pop(0)
        target.write_bytes(f"file of message {message.id}".encode())
        return str(target)

    def on_new_message(self, handler: MessageHandler) -> None:
        self.new_handlers.append(handler)

    def on_message_edited(self, handler: MessageHandler) -> None:
        self.edit_handlers.append(handler)

    def on_message_deleted(self, handler: DeletedHandler) -> None:
        self.delete_handlers.append(handler)

    async def dispatch_new(self, msg: types.TypeMessage) -> None:
        self.post(msg)
        for handler in self.new_handlers:
            await handler(msg)

    async def dispatch_edit(self, msg: types.TypeMessage) -> None:
        self.post(msg)
        for handler in self.edit_handlers:
            await handler(msg)

    async def dispatch_delete(self, channel_id: int | None, ids: Sequence[int]) -> None:
        for msg_id in ids:
            self.history.get(channel_id or 0, {}).pop(msg_id, None)
        for handler in self.delete_handlers:
            await handler(channel_id, list(ids))


def _media_extension(media: Any) -> str | None:
    if isinstance(media, types.MessageMediaPhoto):
        return ".jpg"
    if isinstance(media, types.MessageMediaDocument) and isinstance(media.document, types.Document):
        return mimetypes.guess_extension(media.document.mime_type) or ""
    return None


class SleepRecorder:
    """Injected in place of asyncio.sleep: records the waits, waits for nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
