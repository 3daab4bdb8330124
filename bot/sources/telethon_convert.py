"""Telethon `Message` -> `RawPost`: the only place that knows Telegram's message shapes.

Pure: reads attributes of already-fetched objects, never calls the network, so it works the same on
live messages, history pages and messages built by hand in tests. Text is `msg.message` (Telegram's
raw text; `msg.text` is None on a message not bound to a client). Entity offsets are in UTF-16 code
units, so an emoji before a hashtag shifts Python string indices; slicing is done on UTF-16.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from telethon.tl import types

from bot.core.text_links import MAX_TEXT_LINKS, occurrences
from bot.models import ChannelRef, Forward, RawPost, Sender, TextLink

_HASHTAG_TEXT = re.compile(r"^#(\w+)$")


def _utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="ignore")


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _hashtag_from_url(url: str) -> str | None:
    """Links like `https://t.me/s/name?q=%23Tag` are how channels turn a word into a tag search."""
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return None
    for value in query.get("q", []):
        match = _HASHTAG_TEXT.match(value.strip())
        if match:
            return match.group(1)
    return None


def extract_hashtags(text: str, entities: Sequence[types.TypeMessageEntity] | None) -> tuple[str, ...]:
    """Hashtags Telegram marked, in order of appearance, without '#', each once."""
    found: list[str] = []
    for entity in entities or ():
        tag: str | None = None
        if isinstance(entity, types.MessageEntityHashtag):
            tag = _utf16_slice(text, entity.offset, entity.length).lstrip("#")
        elif isinstance(entity, types.MessageEntityTextUrl):
            visible = _utf16_slice(text, entity.offset, entity.length).strip()
            match = _HASHTAG_TEXT.match(visible)
            tag = match.group(1) if match else _hashtag_from_url(entity.url)
        if tag and tag not in found:
            found.append(tag)
    return tuple(found)


def extract_links(
    text: str, entities: Sequence[types.TypeMessageEntity] | None, media: types.TypeMessageMedia | None = None
) -> tuple[str, ...]:
    """Every link of a message, each once: the link preview's page first, then entities in text order.

    The preview is the page Telegram chose to show under the post, the best guess at "the article";
    `MessageEntityTextUrl` carries a hidden URL behind words, `MessageEntityUrl` marks a visible one.
    """
    found: list[str] = []
    if isinstance(media, types.MessageMediaWebPage):
        url = getattr(media.webpage, "url", None)  # WebPage, and pending/empty previews that know it
        if isinstance(url, str) and url:
            found.append(url)
    for entity in entities or ():
        url = None
        if isinstance(entity, types.MessageEntityTextUrl):
            url = entity.url
        elif isinstance(entity, types.MessageEntityUrl):
            url = _utf16_slice(text, entity.offset, entity.length).strip()
        if url and url not in found:
            found.append(url)
    return tuple(found)


def extract_text_links(text: str, entities: Sequence[types.TypeMessageEntity] | None) -> tuple[TextLink, ...]:
    """Hidden links: the words a `MessageEntityTextUrl` covers, the URL behind them and how often the
    words occur before them, in text order (at most MAX_TEXT_LINKS)."""
    found: list[TextLink] = []
    for entity in entities or ():
        if isinstance(entity, types.MessageEntityTextUrl) and entity.url and len(found) < MAX_TEXT_LINKS:
            words = _utf16_slice(text, entity.offset, entity.length)
            found.append(TextLink(words, entity.url, occurrences(_utf16_slice(text, 0, entity.offset), words)))
    return tuple(found)


def _peer_key(peer: types.TypePeer | None) -> str | None:
    """A peer as Desktop exports spell `from_id`: "user123", "channel456", "chat789"."""
    if isinstance(peer, types.PeerUser):
        return f"user{peer.user_id}"
    if isinstance(peer, types.PeerChannel):
        return f"channel{peer.channel_id}"
    if isinstance(peer, types.PeerChat):
        return f"chat{peer.chat_id}"
    return None


def _entity_name(entity: object) -> str | None:
    """A user's first and last name (else username), a chat's or channel's title."""
    title = getattr(entity, "title", None)
    if isinstance(title, str) and title.strip():
        return title.strip()
    parts = [getattr(entity, "first_name", None), getattr(entity, "last_name", None)]
    name = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    username = getattr(entity, "username", None)
    return name or (f"@{username}" if isinstance(username, str) and username else None)


def message_sender(msg: types.Message, channel: ChannelRef) -> Sender | None:
    """Who wrote it in a group: `from_id`, named when the client resolved the sender (a detached message
    knows only the id). A channel's own posts (no `from_id`, or the channel itself) have no sender but
    their signature (`post_author`), when signed."""
    ident = _peer_key(msg.from_id)
    if ident is None or (channel.tg_id is not None and ident == f"channel{abs(channel.tg_id)}"):
        author = (msg.post_author or "").strip()
        return Sender(name=author) if author else None
    return Sender(name=_entity_name(getattr(msg, "sender", None)), id=ident)


def _document_kind(media: types.MessageMediaDocument) -> str:
    document = media.document
    attributes = document.attributes if isinstance(document, types.Document) else []
    if media.voice or any(isinstance(a, types.DocumentAttributeAudio) and a.voice for a in attributes):
        return "voice"
    if any(isinstance(a, types.DocumentAttributeSticker) for a in attributes):
        return "sticker"
    if any(isinstance(a, types.DocumentAttributeAnimated) for a in attributes):
        return "gif"
    if media.video or media.round or any(isinstance(a, types.DocumentAttributeVideo) for a in attributes):
        return "video"
    if any(isinstance(a, types.DocumentAttributeAudio) for a in attributes):
        return "audio"
    return "document"


_MEDIA_KINDS: dict[type, str] = {
    types.MessageMediaPhoto: "photo",
    types.MessageMediaPoll: "poll",
    types.MessageMediaWebPage: "webpage",
    types.MessageMediaGeo: "geo",
    types.MessageMediaGeoLive: "geo",
    types.MessageMediaVenue: "venue",
    types.MessageMediaContact: "contact",
    types.MessageMediaDice: "dice",
    types.MessageMediaGame: "game",
    types.MessageMediaInvoice: "invoice",
    types.MessageMediaStory: "story",
    types.MessageMediaGiveaway: "giveaway",
    types.MessageMediaGiveawayResults: "giveaway",
    types.MessageMediaPaidMedia: "paid_media",
}


def media_kind(media: types.TypeMessageMedia | None) -> str | None:
    if media is None or isinstance(media, types.MessageMediaEmpty):
        return None
    if isinstance(media, types.MessageMediaDocument):
        return _document_kind(media)
    kind = _MEDIA_KINDS.get(type(media))
    if kind is not None:
        return kind
    # A media type newer than this table: still recorded, named after its TL class.
    return type(media).__name__.removeprefix("MessageMedia").lower() or "unknown"


def _poll_text(media: types.MessageMediaPoll) -> str:
    """A poll without a caption would be an empty post; its question and answers are its content."""

    def plain(value: object) -> str:
        return value if isinstance(value, str) else str(getattr(value, "text", value))

    lines = [plain(media.poll.question)]
    lines += [f"- {plain(answer.text)}" for answer in media.poll.answers]
    return "\n".join(line for line in lines if line)


def _forward(msg: types.Message, fwd: types.MessageFwdHeader, forward_usernames: Mapping[int, str]) -> Forward:
    channel_id = fwd.from_id.channel_id if isinstance(fwd.from_id, types.PeerChannel) else None
    # A client-bound message carries the source chat when Telegram sent it along; a detached one does not.
    chat = getattr(getattr(msg, "forward", None), "chat", None)
    username = forward_usernames.get(channel_id) if channel_id is not None else None
    username = username or getattr(chat, "username", None)
    name = fwd.from_name or getattr(chat, "title", None) or fwd.post_author
    return Forward(
        channel_id=channel_id, username=username, message_id=fwd.channel_post, name=name, date=_aware(fwd.date)
    )


def message_to_raw(
    msg: types.TypeMessage, channel: ChannelRef, *, forward_usernames: Mapping[int, str] | None = None
) -> RawPost | None:
    """None for what is not a post: service messages (joins, pins), empty messages, no text and no media."""
    if not isinstance(msg, types.Message) or msg.date is None:
        return None
    text = msg.message or ""
    kind = media_kind(msg.media)
    if not text.strip() and isinstance(msg.media, types.MessageMediaPoll):
        text = _poll_text(msg.media)
    if not text.strip() and kind is None:
        return None
    forward = _forward(msg, msg.fwd_from, forward_usernames or {}) if msg.fwd_from else None
    return RawPost(
        channel=channel,
        message_id=msg.id,
        date=_aware(msg.date) or datetime.now(UTC),
        text=text,
        source="telethon",
        hashtags=extract_hashtags(msg.message or "", msg.entities),
        edit_date=_aware(msg.edit_date),
        forward=forward,
        media_kind=kind,
        views=msg.views,
        grouped_id=msg.grouped_id,
        links=extract_links(msg.message or "", msg.entities, msg.media),
        sender=message_sender(msg, channel),
        text_links=extract_text_links(msg.message or "", msg.entities),
    )


def merge_album(raws: Sequence[RawPost]) -> RawPost:
    """One album (several messages sharing a grouped_id) is one post, as Telegram shows it.

    Captions are joined in message-id order; the album takes the first message's id and date, so the
    merged post has a stable identity however its parts arrived.
    """
    if not raws:
        raise ValueError("merge_album needs at least one message")
    parts = sorted(raws, key=lambda r: r.message_id)
    first = parts[0]
    if any(p.channel != first.channel or p.grouped_id != first.grouped_id for p in parts):
        raise ValueError("merge_album: messages belong to different channels or albums")
    if len(parts) == 1:
        return first
    hashtags: list[str] = []
    links: list[str] = []
    text_links: list[TextLink] = []
    for part in parts:
        hashtags += [t for t in part.hashtags if t not in hashtags]
        links += [u for u in part.links if u not in links]
        text_links += [t for t in part.text_links if t not in text_links]
    edits = [p.edit_date for p in parts if p.edit_date is not None]
    views = [p.views for p in parts if p.views is not None]
    return replace(
        first,
        text="\n\n".join(p.text.strip() for p in parts if p.text.strip()),
        hashtags=tuple(hashtags),
        edit_date=max(edits) if edits else None,
        forward=next((p.forward for p in parts if p.forward is not None), None),
        media_kind="album",
        views=max(views) if views else None,
        links=tuple(links),
        text_links=tuple(text_links),
    )


def merge_albums(raws: Sequence[RawPost]) -> list[RawPost]:
    """Fold every album in a batch into one post, keeping the batch's order of first appearance."""
    groups: dict[int, list[RawPost]] = {}
    order: list[RawPost | int] = []
    for raw in raws:
        if raw.grouped_id is None:
            order.append(raw)
            continue
        if raw.grouped_id not in groups:
            groups[raw.grouped_id] = []
            order.append(raw.grouped_id)
        groups[raw.grouped_id].append(raw)
    return [merge_album(groups[item]) if isinstance(item, int) else item for item in order]
