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
class ChannelRow:
    """A channel as the archive knows it: identity, watch flag and polling bookkeeping."""

    id: int
    tg_id: int | None
    username: str | None
    title: str | None
    source: str | None
    watched: bool
    last_message_id: int
    last_polled_at: datetime | None
    last_error: str | None

    @property
    def ref(self) -> ChannelRef:
        return ChannelRef(tg_id=self.tg_id, username=self.username, title=self.title)

    @property
    def label(self) -> str:
        return self.ref.label


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
class Sender:
    """Who wrote a message in a group (or signed a channel post): the name as the source shows it, and the
    id as exports spell it ("user123", "channel456"); either may be unknown (HTML exports give no id)."""

    name: str | None = None
    id: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.id or "unknown sender"


@dataclass(frozen=True, slots=True)
class TextLink:
    """Words of a post that link to a URL hidden behind them (Telegram's text_link entity).

    `nth`: how many times the words occur in the text before the linked place (0: the first
    occurrence is the link), so "the minutes" linked the second time it is written is found there."""

    text: str
    url: str
    nth: int = 0


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
    # Every link the source saw, in its order: link preview first, then hidden (text_link) and visible
    # URLs. Raw: the core picks the article links among them (bot/core/links.py).
    links: tuple[str, ...] = ()
    reply_to: int | None = None  # the message this one answers, in the same channel (exports show it)
    sender: Sender | None = None  # who wrote it, in a group; None in a channel (the channel itself)
    text_links: tuple[TextLink, ...] = ()  # hidden links: the words shown and the URL behind them
    # The date is the exporter's wall clock taken as UTC (an export without UTC offsets, no --tz)
    approx_time: bool = False


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
    links: tuple[str, ...] = ()  # article links, picked and canonical: queued for fetching with the post
    forward_date: datetime | None = None  # when the forwarded original was posted, as the header says
    sender: Sender | None = None
    text_links: tuple[TextLink, ...] = ()
    approx_time: bool = False

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.text.split("\n\n") if p]


ArticleStatus = Literal["queued", "retry", "done", "failed", "skipped", "alias"]


@dataclass(frozen=True, slots=True)
class LinkedArticle:
    """A page a post links to, as lists show it: enough to name it, without its text."""

    id: int
    url: str  # the link as picked (canonical form): what the post pointed to
    status: ArticleStatus
    title: str | None = None
    lang: str | None = None
    tags: tuple[Tag, ...] = ()  # topics of its title and lead
    final_url: str | None = None  # where the link led after redirects


@dataclass(frozen=True, slots=True)
class ArticleMatch:
    """Why a search hit a post whose own text lacks the words: its linked article has them."""

    article_id: int
    title: str | None
    excerpt: str  # the article's passage around the match


@dataclass(frozen=True, slots=True)
class Article:
    """One fetched page, stored once per canonical URL and shared by every post linking to it."""

    id: int
    url: str
    status: ArticleStatus
    host: str
    final_url: str | None = None
    canonical_url: str | None = None
    title: str | None = None
    author: str | None = None
    published: str | None = None  # as the page states it (ISO date when known)
    sitename: str | None = None
    lang: str | None = None
    text: str = ""
    tags: tuple[Tag, ...] = ()
    content_hash: str | None = None
    http_status: int | None = None
    error: str | None = None
    attempts: int = 0
    next_try_at: datetime | None = None
    fetched_at: datetime | None = None
    checked_at: datetime | None = None
    alias_of: int | None = None


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
    articles: tuple[LinkedArticle, ...] = ()  # the pages it links to, in the post's order
    article_match: ArticleMatch | None = None  # set by a search that found the post through its article
    sender: Sender | None = None  # who wrote it in a group (or signed it); None for a channel's own posts
    approx_time: bool = False  # the date is an export's wall clock taken as UTC: off by the exporter's offset
    text_links: tuple[TextLink, ...] = ()  # hidden links: the words shown and the URL behind them

    @property
    def channel_label(self) -> str:
        if self.channel_username:
            return "@" + self.channel_username
        return self.channel_title or f"channel {self.channel_id}"


@dataclass(frozen=True, slots=True)
class PostVersion:
    """One text a post has had. `Store.versions(post_id)` lists them oldest first, the current one last.

    Earlier versions live in `post_versions`, the current one in `posts` (what search and digests read).
    """

    post_id: int
    number: int  # 1 = the first text the archive stored
    text: str  # clean
    raw_text: str
    edit_date: datetime | None  # Telegram's edit date of this version; None for the original or when not said
    seen_at: datetime | None  # when the archive first stored this version (None: before schema v5)
    replaced_at: datetime | None = None  # when the archive saw the next version; None for the current one

    @property
    def current(self) -> bool:
        return self.replaced_at is None


@dataclass(frozen=True, slots=True)
class PostChange:
    """An edit or a deletion the archive noticed: what edit alerts and digest marks are about."""

    post_id: int
    version: int  # the version the edit produced (2, 3, ...); 0 for the deletion
    noticed_at: datetime  # when the archive saw it
    edit_date: datetime | None = None  # Telegram's date of the edit, when the source says

    @property
    def deleted(self) -> bool:
        return self.version == 0


@dataclass(frozen=True, slots=True)
class SaveResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    new_ids: tuple[int, ...] = field(default=())
    updated_ids: tuple[int, ...] = field(default=())  # edited posts: the near-duplicate index re-signs them


class SaveTally:
    """Adds up SaveResults in linear time (adding SaveResults copies every id so far: quadratic)."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.new_ids: list[int] = []
        self.updated_ids: list[int] = []

    def add(self, result: SaveResult) -> None:
        self.counts[0] += result.inserted
        self.counts[1] += result.updated
        self.counts[2] += result.unchanged
        self.new_ids.extend(result.new_ids)
        self.updated_ids.extend(result.updated_ids)

    def result(self) -> SaveResult:
        inserted, updated, unchanged = self.counts
        return SaveResult(inserted, updated, unchanged, tuple(self.new_ids), tuple(self.updated_ids))


# ------------------------------------------------------------------ bot commands: adapter <-> router
Button = tuple[str, str]  # (label, callback data)


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
