"""Telegram Desktop "machine-readable JSON" export (`result.json`): one message object -> RawPost.

desktop_json_stream reads the file as a stream and hands each message here. The importer checks the
whole file before writing anything, so a bad export writes nothing: every problem names the file and
the message (index and id) that carries it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.core.numbers import INT64_MAX
from bot.core.text_links import MAX_TEXT_LINKS, occurrences
from bot.models import ChannelRef, Forward, RawPost, Sender, TextLink

_SURROGATE = re.compile("[\ud800-\udfff]")
# Telegram itself caps a post at 4096 characters; far above that is a broken or hostile file.
MAX_TEXT_CHARS = 100_000
_MEDIA_TYPES = {
    "video_file": "video",
    "animation": "video",
    "video_message": "video",
    "voice_message": "voice",
    "audio_file": "audio",
    "sticker": "sticker",
}
# Media the export describes under their own key (no file): the listener's names for them.
_OTHER_MEDIA = {"contact_information": "contact", "game_title": "game", "invoice_information": "invoice"}


class ExportError(ValueError):
    """The export cannot be imported; the message says where and why."""


# What the archive can hold, checked while reading so that a bad id or date anywhere in an export
# fails the check pass (nothing written) instead of the write pass (half written): ids are SQLite's
# signed 64-bit integers; dates are kept well inside Python's years 1..9999 so that the archive's
# date arithmetic (time zones, day and week windows) never overflows. Telegram started in 2013.
EARLIEST_DATE = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_DATE = datetime(2200, 1, 1, tzinfo=UTC)


def check_message_id(value: int, where: str, what: str = "id") -> int:
    """`value` if the archive can store it as a message id, else an ExportError naming it."""
    if value <= 0 or value > INT64_MAX:
        raise ExportError(f"{where}: {what} {short_number(value)} is not a message id (1 to {INT64_MAX:,})")
    return value


def check_date(value: datetime, where: str, what: str = "date") -> datetime:
    """`value` (aware) if it is within what the archive holds, else an ExportError naming it."""
    if not EARLIEST_DATE <= value < LATEST_DATE:
        raise ExportError(
            f"{where}: {what} {value:%Y-%m-%d %H:%M} is outside {EARLIEST_DATE:%Y}-{LATEST_DATE:%Y} (a damaged export?)"
        )
    return value


def short_number(value: int) -> str:
    """A number for an error message: a 5,000-digit id is not printed whole."""
    text = str(value) if value.bit_length() < 4000 else "(thousands of digits)"
    return text if len(text) <= 30 else f"{text[:12]}…({len(text)} digits)"


def _text_of(value: Any, where: str, links: list[str] | None = None) -> tuple[str, list[str]]:
    """`text` is a string or a list of strings and {type, text} parts; hashtags come from the parts.

    Links of `text_link` (hidden `href`) and `link` (visible text) parts are appended to `links`.
    """
    if isinstance(value, str):
        return value, []
    if not isinstance(value, list):
        raise ExportError(f"{where}: 'text' must be a string or a list, got {type(value).__name__}")
    pieces: list[str] = []
    hashtags: list[str] = []
    for number, part in enumerate(value):
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            pieces.append(part["text"])
            if part.get("type") == "hashtag":
                hashtags.append(part["text"].lstrip("#"))
            if links is not None:
                _add_link(links, part)
        else:
            raise ExportError(f"{where}: 'text'[{number}] must be a string or an object with a 'text' string")
    _check_length(sum(map(len, pieces)), where)  # before joining: a 50 MB part is not copied again
    return "".join(pieces), hashtags


def _add_link(links: list[str], part: dict[str, Any]) -> None:
    kind = part.get("type")
    url = part.get("href") if kind == "text_link" else part.get("text") if kind == "link" else None
    if isinstance(url, str) and url.strip() and url.strip() not in links:
        links.append(url.strip())


def _text_links(parts: Any) -> list[TextLink]:
    """The hidden links (`text_link` parts: the words shown and their `href`) of `text` or
    `text_entities`, each with how often its words occur before it (at most MAX_TEXT_LINKS kept)."""
    if not isinstance(parts, list):
        return []
    found: list[TextLink] = []
    before: list[str] = []
    for part in parts:
        if isinstance(part, str):
            before.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            words, href = part["text"], part.get("href")
            if part.get("type") == "text_link" and isinstance(href, str) and len(found) < MAX_TEXT_LINKS:
                found.append(TextLink(words, href, occurrences("".join(before), words)))
            before.append(words)
    return found


def _sender(message: dict[str, Any], channel: ChannelRef) -> Sender | None:
    """Who wrote it: `from`/`from_id` in a group; in a channel (whose own posts are `from` the channel)
    only the `author` signature, when the post is signed. An id the export writes bare (older
    exports) is kept as written; a name only (a deleted account has `from` null) or an id only is kept too."""
    name, ident = message.get("from"), message.get("from_id")
    if isinstance(ident, int) and not isinstance(ident, bool):
        ident = str(ident)
    ident = ident.strip()[:64] or None if isinstance(ident, str) else None
    name = " ".join(name.split())[:256] or None if isinstance(name, str) else None
    own = channel.tg_id is not None and ident in (f"channel{abs(channel.tg_id)}", str(channel.tg_id))
    if own or (ident is None and name is not None and name == channel.title):
        author = message.get("author")
        signed = " ".join(author.split())[:256] if isinstance(author, str) else ""
        return Sender(name=signed) if signed else None
    return Sender(name=name, id=ident) if name or ident else None


def _check_length(chars: int, where: str) -> None:
    if chars > MAX_TEXT_CHARS:
        raise ExportError(f"{where}: text is {chars:,} characters, over the {MAX_TEXT_CHARS:,} limit")


def _date(message: dict[str, Any], key: str, where: str) -> datetime | None:
    """Prefer `<key>_unixtime` (UTC, newer exports); else the local wall time, taken as UTC."""
    unix = message.get(f"{key}_unixtime")
    if unix is not None:
        try:
            return check_date(datetime.fromtimestamp(int(unix), tz=UTC), where, f"'{key}_unixtime'")
        except (TypeError, ValueError, OverflowError, OSError) as exc:
            if isinstance(exc, ExportError):
                raise
            raise ExportError(f"{where}: '{key}_unixtime' must be a number of seconds, got {str(unix)[:40]!r}") from exc
    value = message.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ExportError(f"{where}: '{key}' must be a date string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ExportError(f"{where}: '{key}' is not an ISO date: {value[:40]!r}") from exc
    try:
        aware = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except OverflowError:  # 9999-12-31T23:59:59-12:00 is in the year 10000
        raise ExportError(f"{where}: '{key}' {value[:40]!r} is outside the dates the archive holds") from None
    return check_date(aware, where, f"'{key}'")


def _peer_id(value: Any) -> int | None:
    """`from_id` style ids come as 'channel123', 'user5' or a bare integer; one the archive cannot hold is None."""
    if isinstance(value, str):
        match = re.fullmatch(r"(?:channel|chat|user)?(-?[0-9]{1,19})", value)
        value = int(match.group(1)) if match else None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= INT64_MAX:
        return value
    return None


def _media_kind(message: dict[str, Any]) -> str | None:
    """The kind the HTML export of the same message gives too (desktop_html_export._media_kind)."""
    if "photo" in message:
        return "photo"
    if "poll" in message:
        return "poll"
    if "media_type" in message:
        return _MEDIA_TYPES.get(str(message["media_type"]), "document")
    if "file" in message:
        return "document"
    if "location_information" in message or "place_name" in message:  # a venue without a valid point has no location
        return "geo"
    for key, kind in _OTHER_MEDIA.items():
        if key in message:
            return kind
    return None


def _poll_text(poll: Any, where: str) -> str:
    """A poll has no caption; its question and answers are its content, as the listener stores them."""
    if not isinstance(poll, dict) or not isinstance(poll.get("question", ""), str):
        raise ExportError(f"{where}: 'poll' must be an object with a 'question' string")
    answers = poll.get("answers", [])
    if not isinstance(answers, list):
        raise ExportError(f"{where}: 'poll' 'answers' must be a list")
    lines = [poll.get("question", "")]
    lines += [f"- {a['text']}" for a in answers if isinstance(a, dict) and isinstance(a.get("text"), str)]
    return "\n".join(line for line in lines if line)


def _reply_to(message: dict[str, Any]) -> int | None:
    """Only a reply inside this channel: one into another chat names a message the archive cannot link."""
    value = message.get("reply_to_message_id")
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 0 < value <= INT64_MAX
        and "reply_to_peer_id" not in message
    ):
        return value
    return None


def message_to_raw(message: dict[str, Any], channel: ChannelRef, where: str) -> RawPost | None:
    if message.get("type", "message") != "message":
        return None  # service messages: channel created, pinned, joined...
    message_id = message.get("id")
    if not isinstance(message_id, int) or isinstance(message_id, bool) or message_id <= 0:
        raise ExportError(f"{where}: 'id' must be a positive integer, got {str(message_id)[:40]!r}")
    check_message_id(message_id, where, "'id'")
    where = f"{where} (id {message_id})"
    links: list[str] = []
    text, hashtags = _text_of(message.get("text", ""), where, links)
    entities = message.get("text_entities")
    if entities is not None:
        if not isinstance(entities, list):
            raise ExportError(f"{where}: 'text_entities' must be a list")
        hashtags += [
            e["text"].lstrip("#")
            for e in entities
            if isinstance(e, dict) and e.get("type") == "hashtag" and isinstance(e.get("text"), str)
        ]
        for entity in entities:
            if isinstance(entity, dict) and isinstance(entity.get("text"), str):
                _add_link(links, entity)
    _check_length(len(text), where)
    check_storable(text, where, "text")
    date = _date(message, "date", where)
    if date is None:
        raise ExportError(f"{where}: 'date' is missing")
    media = _media_kind(message)
    if media == "poll" and not text.strip():
        text = _poll_text(message["poll"], where)
    if not text.strip() and media is None:
        return None
    forward = None
    if message.get("forwarded_from") is not None or message.get("forwarded_from_id") is not None:
        name = message.get("forwarded_from")
        forward = Forward(
            channel_id=_peer_id(message.get("forwarded_from_id")),
            # One space between words, as the HTML export of the same message shows the name.
            name=" ".join(name.split()) or None if isinstance(name, str) else None,
        )
    raw = RawPost(
        channel=channel,
        message_id=message_id,
        date=date,
        text=text,
        source="export",
        hashtags=tuple(dict.fromkeys(hashtags)),
        edit_date=_date(message, "edited", where),
        forward=forward,
        media_kind=media,
        links=tuple(links),
        reply_to=_reply_to(message),
        sender=_sender(message, channel),
        text_links=tuple(dict.fromkeys(_text_links(message.get("text")) + _text_links(entities))),  # both list them
    )
    _check_kept(raw, where)
    return raw


def check_storable(value: str, where: str, what: str) -> None:
    """A NUL (PostgreSQL's text refuses it) or a lone surrogate ("\\ud800" alone in JSON: no UTF-8
    spells it) is no text the archive can hold: refused while checking, not failed while writing."""
    if "\x00" in value:
        raise ExportError(f"{where}: {what} contains a NUL byte")
    surrogate = _SURROGATE.search(value)
    if surrogate is not None:
        raise ExportError(
            f"{where}: {what} contains a lone surrogate (U+{ord(surrogate.group()):04X}) at {surrogate.start()}"
        )


def _check_kept(raw: RawPost, where: str) -> None:
    """Every other string of the message the archive keeps (names, hashtags, links), as the text is."""
    named: list[tuple[str, str | None]] = [("a hashtag", h) for h in raw.hashtags]
    named += [("a link", link) for link in raw.links]
    named += [("a hidden link", part) for link in raw.text_links for part in (link.text, link.url)]
    if raw.sender is not None:
        named += [("the sender ('from', 'from_id' or 'author')", raw.sender.name), ("the sender's id", raw.sender.id)]
    if raw.forward is not None:
        named.append(("'forwarded_from'", raw.forward.name))
    for what, value in named:
        if value:
            check_storable(value, where, what)


def parse_export_data(data: Any, source: str) -> tuple[ChannelRef, list[RawPost]]:
    if not isinstance(data, dict):
        raise ExportError(f"{source}: expected a JSON object with 'messages', got {type(data).__name__}")
    if "messages" not in data and isinstance(data.get("chats"), dict):
        raise ExportError(f"{source}: this is a full-account export; export a single channel instead")
    messages = data.get("messages")
    if not isinstance(messages, list):
        raise ExportError(f"{source}: 'messages' must be a list")
    channel_id = data.get("id")
    if not isinstance(channel_id, int) or isinstance(channel_id, bool):
        raise ExportError(f"{source}: top-level 'id' (the channel id) must be an integer, got {str(channel_id)[:40]!r}")
    check_message_id(abs(channel_id) or 1, source, "top-level 'id' (the channel id)")
    name = data.get("name")
    if isinstance(name, str):
        check_storable(name, source, "top-level 'name' (the channel's title)")
    channel = ChannelRef(tg_id=channel_id, title=name if isinstance(name, str) else None)
    posts = []
    for index, message in enumerate(messages):
        where = f"{source}: messages[{index}]"
        if not isinstance(message, dict):
            raise ExportError(f"{where}: must be an object, got {type(message).__name__}")
        raw = message_to_raw(message, channel, where)
        if raw is not None:
            posts.append(raw)
    return channel, posts


def parse_export(path: Path) -> tuple[ChannelRef, list[RawPost]]:
    """The whole export at once (tests, small files); the importer streams it (desktop_json_stream)."""
    from bot.sources.desktop_json_stream import JsonExport

    export = JsonExport.open(path)
    return export.channel, list(export.iter_posts())


def iter_export_files(paths: list[Path]) -> Iterator[Path]:
    """A directory stands for the `result.json` inside it (a JSON export), else for itself when it
    holds `messages.html`, or `index.html` as a published export names it (an HTML export, read page by
    page by desktop_html_export)."""
    from bot.sources.desktop_html_export import INDEX_PAGE, looks_like_export_page

    for path in paths:
        if path.is_dir():
            candidate = path / "result.json"
            if candidate.is_file():
                yield candidate
            elif (path / "messages.html").is_file() or looks_like_export_page(path / INDEX_PAGE):
                yield path
            else:
                raise ExportError(
                    f"{path}: directory has no result.json, messages.html or index.html of an export "
                    "(not a Telegram Desktop export)"
                )
        else:
            yield path
