"""Plain data passed between the adapters, the pure core and the store.

Adapters (Telethon, web preview, Desktop export) only ever build `RawPost`; the core turns it into
`Post`; the store saves `Post` and hands back `StoredPost`. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

TagKind = Literal["hashtag", "topic", "lang"]
SourceKind = Literal["telethon", "web", "export", "demo"]


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A channel as a source knows it: Telethon knows the numeric id, the web preview only the username.

    The store matches on either, so the same channel read by two sources is one channel.
    """

    tg_id: int | None = None
    username: str | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        if self.tg_id is None and not self.username:
            raise ValueError("ChannelRef needs a tg_id or a username")
        if self.username is not None:
            object.__setattr__(self, "username", self.username.lstrip("@").lower() or None)

    @property
    def label(self) -> str:
        if self.username:
            return "@" + self.username
        return self.title or f"channel {self.tg_id}"


@dataclass(frozen=True, slots=True)
class Forward:
    """Where a forwarded post came from; any field may be unknown depending on the source."""

    channel_id: int | None = None
    username: str | None = None
    message_id: int | None = None
    name: str | None = None
    date: datetime | None = None  # when the original was posted (HTML exports show it; UTC)

    def __post_init__(self) -> None:
        if self.username is not None:
            object.__setattr__(self, "username", self.username.lstrip("@").lower() or None)


@dataclass(frozen=True, slots=True)
class RawPost:
    channel: ChannelRef
    message_id: int
    date: datetime  # timezone-aware, UTC
    text: str
    source: SourceKind
    hashtags: tuple[str, ...] = ()  # from Telegram entities / links, without '#'
    edit_date: datetime | None = None
    forward: Forward | None = None
    media_kind: str | None = None  # photo, video, document, poll, webpage, audio, sticker, album...
    views: int | None = None
    grouped_id: int | None = None
    url: str | None = None  # canonical link; derived from channel + id when missing
    reply_to: int | None = None  # the message this one answers, in the same channel (exports show it)


@dataclass(frozen=True, slots=True)
class Tag:
    key: str  # case-folded identity: "russiaserbia", "serbia", "bg"
    display: str  # how to show it: "#RussiaSerbia", "Serbia", "bg"
    kind: TagKind


@dataclass(frozen=True, slots=True)
class Post:
    """A RawPost after the core: what the store saves."""

    channel: ChannelRef
    message_id: int
    date: datetime
    text: str  # clean text: boilerplate stripped, repeated paragraphs collapsed
    raw_text: str
    url: str | None
    origin_key: str
    content_hash: str
    lang: str | None
    tags: tuple[Tag, ...]
    source: SourceKind
    edit_date: datetime | None = None
    forward_name: str | None = None
    media_kind: str | None = None
    views: int | None = None
    grouped_id: int | None = None

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.text.split("\n\n") if p]


@dataclass(frozen=True, slots=True)
class StoredPost:
    """A post as read back from the archive, with what the store knows across channels."""

    id: int
    channel_id: int
    channel_username: str | None
    channel_title: str | None
    message_id: int
    date: datetime
    text: str
    url: str | None
    origin_key: str
    content_hash: str
    lang: str | None
    tags: tuple[Tag, ...] = ()
    forward_name: str | None = None
    media_kind: str | None = None
    views: int | None = None
    cluster_id: int | None = None
    edit_date: datetime | None = None
    deleted: bool = False

    @property
    def channel_label(self) -> str:
        if self.channel_username:
            return "@" + self.channel_username
        return self.channel_title or f"channel {self.channel_id}"


@dataclass(frozen=True, slots=True)
class SaveResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    new_ids: tuple[int, ...] = field(default=())
    updated_ids: tuple[int, ...] = field(default=())  # edited posts: the near-duplicate index re-signs them

    def __add__(self, other: SaveResult) -> SaveResult:
        return SaveResult(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.new_ids + other.new_ids,
            self.updated_ids + other.updated_ids,
        )
