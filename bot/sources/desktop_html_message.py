"""One message block of a Telegram Desktop HTML export -> RawPost (see desktop_html_export for the format).

The same RawPost the JSON importer makes of the same message: text as the JSON `text` parts joined
(links by their text, their addresses in `links`), hashtags from the hashtag links, the media kind
under the JSON importer's name, a poll's question and answers as its text.

Only direct children are read, never `css` over a block: a Telegram Desktop bug (tdesktop#28712)
left a tag open after inline buttons, nesting every later message inside the one before, whose text
must not take theirs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from selectolax.lexbor import LexborNode

from bot.core.numbers import INT64_MAX
from bot.core.text_links import MAX_TEXT_LINKS, occurrences
from bot.models import ChannelRef, Forward, RawPost, Sender, TextLink
from bot.sources.desktop_export import MAX_TEXT_CHARS, ExportError, check_date

_DATE = re.compile(
    r"([0-9]{2})\.([0-9]{2})\.([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?: UTC([+-])([0-9]{2}):([0-9]{2}))?"
)
_MAX_OFFSET = timedelta(hours=14)
_GO_TO_MESSAGE = re.compile(r"go_to_message([0-9]{1,19})")
_LAYOUT = re.compile(r"[ \t\r\f]*\n[ \t\r\n\f]*")  # a run with a raw newline: indentation, not text
_BLANK = (" ", "\t", "\n")
_VIA_BOT = re.compile(r" via @[A-Za-z0-9_]+$")
_HASHTAG_CLICK = "return ShowHashtag("
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")

# Generic media blocks (`div.media.<class>` or `a.media.<class>`) and what the JSON importer calls them.
_GENERIC_MEDIA = {
    "media_video": "video",  # video file, animation, video message, self-destructing video
    "media_voice_message": "voice",
    "media_audio_file": "audio",
    "media_file": "document",
    "media_location": "geo",
    "media_live_location": "geo",
    "media_venue": "geo",
    "media_contact": "contact",
    "media_game": "game",
    "media_invoice": "invoice",
}
_WRAPPED_MEDIA = {
    "photo_wrap": "photo",
    "sticker_wrap": "sticker",
    "animated_wrap": "video",
    "video_file_wrap": "video",
    "media_poll": "poll",
}


def read_message(
    block: LexborNode, message_id: int, where: str, channel: ChannelRef, previous_forward: Forward | None
) -> tuple[RawPost | None, Forward | None]:
    """(the post or None when there is nothing to keep, the forward header to carry to a joined next one)."""
    body = child_with_class(block, "body")
    if body is None:
        raise ExportError(f"{where}: no div.body")
    date_node = forwarded = None
    for child in body.iter():
        classes = classes_of(child)
        if "date" in classes and "pull_right" in classes:
            date_node = child
        elif "forwarded" in classes and "body" in classes:
            forwarded = child
    if date_node is None or not date_node.attributes.get("title"):
        raise ExportError(f"{where}: no date (div.pull_right.date.details with a title)")
    date = _date(date_node.attributes.get("title") or "", where)

    forward = None
    content = body
    if forwarded is not None:
        content = forwarded
        header = child_with_class(forwarded, "from_name")
        if header is not None:
            forward = _forward(header, where)
        else:  # a joined forward of the same user leaves its header out: the previous one's name, own date unknown
            forward = Forward(name=previous_forward.name if previous_forward else None)

    text, poll = "", ""
    hashtags: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    text_links: list[TextLink] = []
    media: str | None = None
    reply_to: int | None = None
    for child in content.iter():
        classes = classes_of(child)
        if "text" in classes and child.tag == "div":
            text, hashtags, links = _rich_text(child, where, text_links)
        elif "media_wrap" in classes:
            media, poll = _media(child, where)
        elif "reply_to" in classes:
            reply_to = _reply_to(child)
    if poll and not text.strip():
        text = poll  # the poll's question and answers; a caption, if any, wins as in the JSON importer
    if not text.strip() and media is None:
        return None, forward
    raw = RawPost(
        channel=channel,
        message_id=message_id,
        date=date,
        text=text,
        source="export",
        hashtags=hashtags,
        links=links,
        forward=forward,
        media_kind=media,
        reply_to=reply_to,
        text_links=tuple(text_links),
    )
    return raw, forward


def read_sender(block: LexborNode, title: str) -> Sender | None:
    """`div.body > div.from_name` of a message that is not joined: who wrote it (a name; HTML exports
    give no ids). A channel's own posts carry the channel's title there: no sender of their own. A
    joined message has no from_name: the caller carries the one before (same sender)."""
    header = child_with_class(child_with_class(block, "body"), "from_name")
    if header is None:
        return None
    own = "".join(c.text_content or "" for c in header.iter(include_text=True) if c.tag == "-text")
    name = _VIA_BOT.sub("", " ".join(own.split()))[:256]
    if not name or name == " ".join(title.split()):
        return None
    return Sender(name=name)


def read_signature(block: LexborNode) -> Sender | None:
    """`div.body > div.signature`: a signed channel post's author (the JSON export's `author`)."""
    node = child_with_class(child_with_class(block, "body"), "signature")
    name = " ".join((node.text(deep=True) or "").split())[:256] if node is not None else ""
    return Sender(name=name) if name else None


def _date(value: str, where: str, what: str = "date") -> datetime:
    value = value.strip()
    match = _DATE.fullmatch(value)
    if match is None:
        raise ExportError(f"{where}: {what} {short(value)!r} is not DD.MM.YYYY HH:MM:SS [UTC±HH:MM]")
    day, month, year, hour, minute, second = map(int, match.group(1, 2, 3, 4, 5, 6))
    try:
        wall = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise ExportError(f"{where}: {what} {value!r} is not a real date ({exc})") from exc
    if not match.group(7):
        return check_date(wall, where, what)
    offset = timedelta(hours=int(match.group(8)), minutes=int(match.group(9)))
    if offset > _MAX_OFFSET:
        raise ExportError(f"{where}: {what} {value!r} has a UTC offset beyond ±14:00")
    try:
        utc = wall - offset if match.group(7) == "+" else wall + offset
    except OverflowError:  # 31.12.9999 23:59:59 UTC-12:00 is in the year 10000
        raise ExportError(f"{where}: {what} {value!r} is outside the dates the archive holds") from None
    return check_date(utc, where, what)


def _forward(header: LexborNode, where: str) -> Forward:
    """`Name<span class="date details" title="…"> dd.mm.yyyy hh:mm:ss</span>`, maybe ` via @bot`."""
    name_parts: list[str] = []
    date = None
    for child in header.iter(include_text=True):
        if child.tag == "-text":
            name_parts.append(child.text_content or "")
        elif "date" in classes_of(child):
            title = child.attributes.get("title")
            date = _date(title or (child.text(deep=True) or ""), where, "forwarded date")
    name = _VIA_BOT.sub("", " ".join("".join(name_parts).split()))
    return Forward(name=name or None, date=date)


def _reply_to(node: LexborNode) -> int | None:
    """`In reply to <a href="#go_to_message123">this message</a>`; another chat's message has no link."""
    for link in node.css("a"):
        match = _GO_TO_MESSAGE.search(link.attributes.get("href") or "")
        if match:
            reply = int(match.group(1))
            return reply if 0 < reply <= INT64_MAX else None
    return None


def _media(wrap: LexborNode, where: str) -> tuple[str | None, str]:
    """(kind, poll text) of `div.media_wrap`: the same kinds the JSON importer gives the same message."""
    for child in wrap.iter():
        classes = classes_of(child)
        for name, kind in _WRAPPED_MEDIA.items():
            if name in classes:
                return kind, _poll_text(child, where) if kind == "poll" else ""
        if "media" not in classes:
            continue
        if "media_photo" in classes:  # a photo, or a sticker shown without its image
            title = child_with_class(child_with_class(child, "body"), "title")
            is_sticker = title is not None and (title.text(deep=True) or "").strip() == "Sticker"
            return ("sticker" if is_sticker else "photo"), ""
        for name, kind in _GENERIC_MEDIA.items():
            if name in classes:
                return kind, ""
    return None, ""


def _poll_text(poll: LexborNode, where: str) -> str:
    """Question, then `- answer` lines: the text the listener and the JSON importer give a poll."""
    lines = []
    question = child_with_class(poll, "question")
    if question is not None:
        lines.append(_rich_text(question, where)[0])
    for answer in poll.iter():
        if "answer" in classes_of(answer):
            own = "".join(c.text_content or "" for c in answer.iter(include_text=True) if c.tag == "-text")
            lines.append(_LAYOUT.sub(" ", own).strip())
    return "\n".join(line for line in lines if line)


def _rich_text(
    node: LexborNode, where: str, text_links: list[TextLink] | None = None
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Text with its line breaks, its hashtags and its links, as the JSON export of the same message has them.

    `<br>` is a line break; a whitespace run holding a raw newline is the writer's (or a
    pretty-printer's) indentation: nothing at the edges or beside a `<br>` or a space, one space
    elsewhere, as a browser shows it. Other whitespace is the author's and is kept. One pass, no recursion.
    """
    out: list[str] = []
    hashtags: list[str] = []
    links: list[str] = []
    chars = 0
    layout = False  # an indentation run seen since the last piece of text
    for child in node.traverse(include_text=True):
        tag = child.tag
        if tag == "-text":
            raw = child.text_content or ""
            pieces = _LAYOUT.split(raw) if "\n" in raw else (raw,)
            for number, piece in enumerate(pieces):
                if number:
                    layout = True
                if piece:
                    if layout and out and not out[-1].endswith(_BLANK) and not piece.startswith(_BLANK):
                        out.append(" ")
                    layout = False
                    out.append(piece)
                    chars += len(piece)
            if chars > MAX_TEXT_CHARS:
                raise ExportError(f"{where}: text is over the {MAX_TEXT_CHARS:,}-character limit ({chars:,} so far)")
        elif tag == "br":
            out.append("\n")
            layout = False
        elif tag == "a":
            attributes = child.attributes
            if (attributes.get("onclick") or "").startswith(_HASHTAG_CLICK):
                name = (child.text(deep=True) or "").strip().lstrip("#")
                if name:
                    hashtags.append(name)
            elif not attributes.get("onclick"):
                words = child.text(deep=True) or ""
                url = _link(attributes.get("href") or "", words)
                if url and url not in links:
                    links.append(url)
                if url and text_links is not None and url != words.strip() and len(text_links) < MAX_TEXT_LINKS:
                    # words over a hidden address, and how often they occur before it
                    text_links.append(TextLink(words, url, occurrences("".join(out), words)))
    return "".join(out), tuple(dict.fromkeys(hashtags)), tuple(links)


def _link(href: str, text: str) -> str | None:
    """The JSON importer's links: a `link` (its text is its address) or a `text_link` (its `href`).

    Not a mention (`https://t.me/name` around `@name`), an e-mail or phone link, nor a custom emoji's
    image path: those are links only in the HTML.
    """
    href, text = href.strip(), text.strip()
    if not href or href.startswith(("mailto:", "tel:", "#")):
        return None
    if text.startswith("@") and href == "https://t.me/" + text[1:]:
        return None
    if href == text or _SCHEME.match(href):
        return href
    return None


def classes_of(node: LexborNode) -> set[str]:
    return set((node.attributes.get("class") or "").split())


def child_with_class(node: LexborNode | None, class_name: str) -> LexborNode | None:
    """The first direct child element with the class: never a nested message's, as `css` would find."""
    if node is None:
        return None
    for child in node.iter():
        if class_name in classes_of(child):
            return child
    return None


def short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
