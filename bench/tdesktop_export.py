"""Write one channel's history as Telegram Desktop writes it: HTML pages and/or a JSON `result.json`.

Tests and benchmarks need the two exports of the *same* channel, and real ones at sizes no fixture
can hold (a 200-page export). The HTML follows Telegram Desktop's writer (export_output_html.cpp)
byte for byte where it matters to a reader: the tag nesting and one-space-per-level indentation of
its HtmlContext, attribute order (alphabetical, a std::map), `SerializeString` escaping (newlines
as `<br>`, `&apos;`, control characters as `&#xNN;`), the trailing space of `ComposeName` ("Title "),
date rows with negative ids, "joined" follow-ups (same sender, same local day, within 15 minutes;
forwards within 1 second), a forward's header left out when it joins the same user's forward,
1,000 messages per page with "Previous/Next messages" links, and local times with their UTC offset.

Input is a list of JSON-export message objects (what `result.json` holds), plus two keys the JSON
export does not have and `write_json` leaves out: `_forwarded_date_unixtime` (the HTML shows when a
forwarded original was posted) and `_reactions` (newer HTML shows them; read by nothing).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

PER_PAGE = 1000  # kMessagesInFile
_JOIN_SECONDS = 900
_MONTHS = ("January", "February", "March", "April", "May", "June")
_MONTHS += ("July", "August", "September", "October", "November", "December")
_NOT_INCLUDED = "Not included, change data exporting settings to download."
_ENTITY_TAGS = {
    "bold": ("<strong>", "</strong>"),
    "italic": ("<em>", "</em>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
}


def serialize(value: str) -> str:
    """SerializeString: what Telegram Desktop escapes, and how."""
    out = []
    for ch in value:
        if ch in "\n\u2028\u2029":
            out.append("<br>")
        elif ch in "\"&'<>":
            out.append({'"': "&quot;", "&": "&amp;", "'": "&apos;", "<": "&lt;", ">": "&gt;"}[ch])
        elif ord(ch) < 32:
            out.append(f"&#x{ord(ch):02X};")
        else:
            out.append(ch)
    return "".join(out)


class _Context:
    """HtmlContext: block tags start on their own line, indented one space per open tag."""

    def __init__(self) -> None:
        self.tags: list[tuple[str, bool]] = []

    def push(self, tag: str, attrs: dict[str, str] | None = None, *, inline: bool = False, empty: bool = False) -> str:
        inner = "".join(f' {k}="{serialize(v)}"' for k, v in sorted((attrs or {}).items()))
        indent = " " * len(self.tags)
        result = ("" if inline else "\n" + indent) + f"<{tag}{inner}{'/' if empty else ''}>" + ("" if inline else "\n")
        if not empty:
            self.tags.append((tag, not inline))
        return result

    def pop(self) -> str:
        tag, block = self.tags.pop()
        return ("\n" + " " * len(self.tags) if block else "") + f"</{tag}>" + ("\n" if block else "")

    def div(self, class_name: str) -> str:
        return self.push("div", {"class": class_name})

    def close(self) -> str:
        return "".join(self.pop() for _ in range(len(self.tags)))


@dataclass
class _Previous:
    service: bool
    from_id: str | None
    local: datetime
    unix: int
    forwarded: bool
    forwarded_from: str | None
    forwarded_from_id: str | None
    forwarded_unix: int | None


def text_html(message: dict[str, Any]) -> str:
    """FormatText over `text_entities` (or a plain `text` string)."""
    parts = message.get("text_entities")
    if parts is None:
        text = message.get("text", "")
        parts = [{"type": "plain", "text": text}] if isinstance(text, str) else _parts(text)
    out = []
    for part in parts:
        kind, text = part.get("type", "plain"), serialize(part["text"])
        if kind in _ENTITY_TAGS:
            out.append(_ENTITY_TAGS[kind][0] + text + _ENTITY_TAGS[kind][1])
        elif kind == "hashtag":
            out.append(
                f'<a href="" onclick="return ShowHashtag({serialize(chr(34) + part["text"][1:] + chr(34))})">{text}</a>'
            )
        elif kind == "mention":
            out.append(f'<a href="https://t.me/{text[1:]}">{text}</a>')
        elif kind == "link":
            out.append(f'<a href="{text}">{text}</a>')
        elif kind == "text_link":
            out.append(f'<a href="{serialize(part["href"])}">{text}</a>')
        elif kind == "email":
            out.append(f'<a href="mailto:{text}">{text}</a>')
        else:
            out.append(text)
    return "".join(out)


def _parts(text: list[Any]) -> list[dict[str, Any]]:
    return [p if isinstance(p, dict) else {"type": "plain", "text": p} for p in text]


class HtmlWriter:
    """Pages of one chat; `write(messages)` returns {file name: HTML}, oldest page first."""

    def __init__(self, name: str, zone: ZoneInfo, per_page: int = PER_PAGE) -> None:
        self.name, self.zone, self.per_page = name, zone, per_page
        self.date_ids = 0
        self.last_ids: list[int] = []  # the last message id of each finished page, for links across pages

    def pages(self, messages: Iterable[dict[str, Any]]) -> Iterator[tuple[str, str]]:
        """(file name, HTML) per page, streamed: only one page is ever held."""
        page: list[str] = []
        index, previous, last_id = 0, None, 0
        ctx = _Context()
        for count, message in enumerate(messages):
            if count and count % self.per_page == 0:
                page.append(ctx.push("a", {"class": "pagination block_link", "href": _file(index + 1)}))
                page.append("Next messages" + ctx.pop() + ctx.close())
                yield _file(index), "".join(page)
                self.last_ids.append(last_id)
                index, page, previous, ctx = index + 1, [], None, _Context()
            if not page:
                page.append(self._opening(ctx, index))
            local = self._local(int(message["date_unixtime"]))
            if previous is None or previous.local.date() != local.date():
                self.date_ids -= 1
                page.append(self._service(ctx, self.date_ids, f"{local.day} {_MONTHS[local.month - 1]} {local.year}"))
            if message.get("type") == "service":
                page.append(self._service(ctx, message["id"], self._action(message)))
                previous = _Previous(True, None, local, int(message["date_unixtime"]), False, None, None, None)
            else:
                html, previous = self._message(ctx, message, previous, local)
                page.append(html)
            last_id = message["id"]
        if not page:
            page.append(self._opening(ctx, index))
            self.date_ids -= 1
            page.append(self._service(ctx, self.date_ids, "No exported messages"))
        yield _file(index), "".join(page) + ctx.close()

    def _local(self, unix: int) -> datetime:
        return datetime.fromtimestamp(unix, self.zone)

    def _full_date(self, unix: int, *, offset: bool) -> str:
        local = self._local(unix)
        text = local.strftime("%d.%m.%Y %H:%M:%S")
        if offset:
            minutes = int(local.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
            sign = "+" if minutes >= 0 else "-"
            text += f" UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        return text

    def _opening(self, ctx: _Context, index: int) -> str:
        out = ["<!DOCTYPE html>", ctx.push("html"), ctx.push("head")]
        out.append(ctx.push("meta", {"charset": "utf-8"}, empty=True))
        out.append(ctx.push("title", inline=True) + "Exported Data" + ctx.pop())
        out.append(
            ctx.push("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1.0"}, empty=True)
        )
        out.append(ctx.push("link", {"href": "css/style.css", "rel": "stylesheet"}, empty=True))
        out.append(ctx.push("script", {"src": "js/script.js", "type": "text/javascript"}) + ctx.pop() + ctx.pop())
        out.append(ctx.push("body", {"onload": "CheckLocation();"}) + ctx.div("page_wrap"))
        out.append(ctx.div("page_header") + ctx.div("content") + ctx.div("text bold"))
        out.append(serialize(self.name + " ") + ctx.pop() + ctx.pop() + ctx.pop())
        out.append(ctx.div("page_body chat_page") + ctx.div("history"))
        if index > 0:
            out.append(ctx.push("a", {"class": "pagination block_link", "href": _file(index - 1)}))
            out.append("Previous messages" + ctx.pop())
        return "".join(out)

    def _service(self, ctx: _Context, message_id: int, text: str) -> str:
        out = ctx.push("div", {"class": "message service", "id": f"message{message_id}"})
        return out + ctx.div("body details") + text + ctx.pop() + ctx.pop()

    def _action(self, message: dict[str, Any]) -> str:
        action, title = message.get("action"), serialize(message.get("title", ""))
        if action == "create_channel":
            return f"Channel &laquo;{title}&raquo; created"
        if action == "edit_group_title":
            return f"Channel title changed to &laquo;{title}&raquo;"
        if action == "edit_group_photo":
            return "Channel photo changed"
        if action == "pin_message":
            link = self._link(message.get("message_id", 0), "this message")
            return f"{serialize(message.get('actor', self.name))} pinned {link}"
        return serialize(str(action))

    def _link(self, target: int, text: str) -> str:
        """wrapMessageLink: a message on an earlier page is linked by file, one on this page by script."""
        for index, last in enumerate(self.last_ids):
            if target <= last:
                return f'<a href="{_file(index)}#go_to_message{target}">{text}</a>'
        return f'<a href="#go_to_message{target}" onclick="return GoToMessage({target})">{text}</a>'

    def _userpic(self, ctx: _Context, first: str, last: str, color: int) -> str:
        out = ctx.push("div", {"class": f"userpic userpic{color}", "style": "width: 42px; height: 42px"})
        out += ctx.push("div", {"class": "initials", "style": "line-height: 42px"})
        return out + serialize(first.strip()[:1]) + serialize(last.strip()[:1]) + ctx.pop() + ctx.pop()

    def _message(
        self, ctx: _Context, message: dict[str, Any], previous: _Previous | None, local: datetime
    ) -> tuple[str, _Previous]:
        unix = int(message["date_unixtime"])
        fwd_name = message.get("forwarded_from")
        fwd_id = message.get("forwarded_from_id")
        fwd_unix = message.get("_forwarded_date_unixtime")
        forwarded = fwd_name is not None or fwd_id is not None
        info = _Previous(False, message.get("from_id"), local, unix, forwarded, fwd_name, fwd_id, fwd_unix)
        wrap = _needs_wrap(info, previous)
        out = [
            ctx.push(
                "div",
                {"class": "message default clearfix" + ("" if wrap else " joined"), "id": f"message{message['id']}"},
            )
        ]
        sender = message.get("from") or self.name
        if wrap:
            out.append(
                ctx.div("pull_left userpic_wrap") + self._userpic(ctx, sender, "", message["id"] % 8 + 1) + ctx.pop()
            )
        out.append(ctx.div("body"))
        out.append(ctx.push("div", {"class": "pull_right date details", "title": self._full_date(unix, offset=True)}))
        out.append(local.strftime("%H:%M") + ctx.pop())
        if wrap:
            out.append(ctx.div("from_name") + serialize(sender + " ") + ctx.pop())
        if forwarded:
            first, _, last = (fwd_name or "").partition(" ")
            if not str(fwd_id or "").startswith("user"):
                first, last = fwd_name or "", ""  # a channel's name is its "first name"
            fwrap = _forwarded_needs_wrap(info, previous, wrap)
            if fwrap:
                out.append(ctx.div("pull_left forwarded userpic_wrap") + self._userpic(ctx, first, last, 3) + ctx.pop())
            out.append(ctx.div("forwarded body"))
            if fwrap:
                out.append(ctx.div("from_name") + serialize(f"{first} {' '.join(last.split())}"))
                when = int(fwd_unix) if fwd_unix is not None else unix
                span = ctx.push(
                    "span", {"class": "date details", "title": self._full_date(when, offset=True)}, inline=True
                )
                out.append(span + " " + self._full_date(when, offset=False) + ctx.pop() + ctx.pop())
        if message.get("reply_to_message_id"):
            out.append(ctx.div("reply_to details"))
            if "reply_to_peer_id" in message:
                out.append("In reply to a message in another chat")
            else:
                out.append("In reply to " + self._link(message["reply_to_message_id"], "this message"))
            out.append(ctx.pop())
        out.append(self._media(ctx, message))
        text = text_html(message)
        if text:
            out.append(ctx.div("text") + text + ctx.pop())
        if message.get("author"):
            out.append(ctx.div("signature details") + serialize(message["author"]) + ctx.pop())
        if forwarded:
            out.append(ctx.pop())
        if message.get("_reactions"):
            out.append(ctx.div("reactions"))
            for emoji, count in message["_reactions"]:
                out.append(ctx.div("reaction") + ctx.div("emoji") + emoji + ctx.pop())
                out.append(ctx.div("count") + str(count) + ctx.pop() + ctx.pop())
            out.append(ctx.pop())
        out.append(ctx.pop() + ctx.pop())
        return "".join(out), info

    def _media(self, ctx: _Context, message: dict[str, Any]) -> str:
        kind = message.get("media_type")
        if "poll" in message:
            return self._poll(ctx, message["poll"])
        if "photo" in message:
            path = message["photo"]
            if path.startswith("("):
                size = f"{message.get('width', 0)}x{message.get('height', 0)}"
                return self._generic(ctx, "media_photo", "Photo", _NOT_INCLUDED, size)
            out = ctx.div("media_wrap clearfix") + ctx.push(
                "a", {"class": "photo_wrap clearfix pull_left", "href": path}
            )
            style = "width: 260px; height: 171px"
            out += ctx.push("img", {"class": "photo", "src": path[:-4] + "_thumb.jpg", "style": style}, empty=True)
            return out + ctx.pop() + ctx.pop()
        if kind == "sticker":
            return self._generic(ctx, "media_photo", "Sticker", _NOT_INCLUDED, message.get("sticker_emoji", ""))
        if kind == "animation":
            return self._generic(ctx, "media_video", "Animation", _NOT_INCLUDED, "233.5 KB")
        if kind == "video_file":
            return self._generic(ctx, "media_video", "Video file", _NOT_INCLUDED, "00:42, 3.1 MB")
        if kind == "video_message":
            return self._generic(ctx, "media_video", "Video message", _NOT_INCLUDED, "00:12, 1.0 MB")
        if kind == "voice_message":
            return self._generic(ctx, "media_voice_message", "Voice message", _NOT_INCLUDED, "00:31, 120.0 KB")
        if kind == "audio_file":
            title = " – ".join(filter(None, (message.get("performer"), message.get("title")))) or "Audio file"
            return self._generic(ctx, "media_audio_file", title, _NOT_INCLUDED, "03:12, 4.4 MB")
        if "file" in message:
            name = Path(message["file"]).name if not message["file"].startswith("(") else "File"
            return self._generic(ctx, "media_file", name, _NOT_INCLUDED, "1.2 MB")
        if "contact_information" in message:
            info = message["contact_information"]
            name = f"{info.get('first_name', '')} {info.get('last_name', '')}"
            return self._generic(ctx, "media_contact", name, "", info.get("phone_number", ""))
        if "location_information" in message:
            where = message["location_information"]
            coords = f"{where['latitude']},{where['longitude']}"
            link = f"https://maps.google.com/maps?q={coords}&ll={coords}&z=16"
            status = f"{where['latitude']}, {where['longitude']}"
            return self._generic(ctx, "media_location", "Location", "", status, link)
        return ""

    def _generic(self, ctx: _Context, classes: str, title: str, description: str, status: str, link: str = "") -> str:
        out = ctx.div("media_wrap clearfix")
        if link:
            out += ctx.push("a", {"class": f"media clearfix pull_left block_link {classes}", "href": link})
        else:
            out += ctx.div(f"media clearfix pull_left {classes}")
        out += ctx.div("fill pull_left") + ctx.pop() + ctx.div("body")
        for class_name, value in (("title bold", title), ("description", description), ("status details", status)):
            if value:
                out += ctx.div(class_name) + serialize(value) + ctx.pop()
        return out + ctx.pop() + ctx.pop() + ctx.pop()

    def _poll(self, ctx: _Context, poll: dict[str, Any]) -> str:
        out = ctx.div("media_wrap clearfix") + ctx.div("media_poll")
        out += ctx.div("question bold") + serialize(poll["question"]) + ctx.pop()
        out += ctx.div("details") + ("Final results" if poll.get("closed") else "Anonymous poll") + ctx.pop()
        for answer in poll.get("answers", []):
            votes = answer.get("voters", 0)
            details = f' <span class="details">{_votes(votes)}</span>' if votes else ""
            out += ctx.div("answer") + "- " + serialize(answer["text"]) + details + ctx.pop()
        out += ctx.div("total details\t") + _votes(poll.get("total_voters", 0)) + ctx.pop()
        return out + ctx.pop() + ctx.pop()


def _needs_wrap(info: _Previous, previous: _Previous | None) -> bool:
    """messageNeedsWrap: when a message shows its sender again instead of joining the one before."""
    if previous is None or previous.service or not info.from_id or info.from_id != previous.from_id:
        return True
    if info.local.date() != previous.local.date():
        return True
    if (info.forwarded, info.forwarded_from, info.forwarded_from_id) != (
        previous.forwarded,
        previous.forwarded_from,
        previous.forwarded_from_id,
    ):
        return True
    return abs(info.unix - previous.unix) > (1 if info.forwarded else _JOIN_SECONDS)


def _forwarded_needs_wrap(info: _Previous, previous: _Previous | None, wrap: bool) -> bool:
    """forwardedNeedsWrap: a joined forward of the same *user* within 15 minutes hides its header."""
    if wrap or previous is None or not info.forwarded_from_id or info.forwarded_from_id != previous.forwarded_from_id:
        return True
    if not str(info.forwarded_from_id).startswith("user"):
        return True
    return abs(int(info.forwarded_unix or 0) - int(previous.forwarded_unix or 0)) > _JOIN_SECONDS


def _votes(count: int) -> str:
    return f"{count} votes" if count > 1 else ("1 vote" if count == 1 else "No votes")


def _file(index: int) -> str:
    return "messages.html" if index == 0 else f"messages{index + 1}.html"


def write_html(
    folder: Path, messages: Iterable[dict[str, Any]], *, name: str, zone: str, per_page: int = PER_PAGE
) -> list[Path]:
    """Write the pages into `folder` (created); returns their paths in order."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, html in HtmlWriter(name, ZoneInfo(zone), per_page).pages(messages):
        path = folder / file_name
        path.write_text(html, encoding="utf-8")
        written.append(path)
    return written


def write_json(
    path: Path,
    messages: Iterable[dict[str, Any]],
    *,
    name: str,
    channel_id: int,
    zone: str,
    kind: str = "public_channel",
) -> Path:
    """`result.json` of the same history, streamed one message at a time (local `date`, as the export)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tz = ZoneInfo(zone)
    with path.open("w", encoding="utf-8") as out:
        head = json.dumps({"name": name, "type": kind, "id": channel_id}, ensure_ascii=False, indent=1)
        out.write(head[:-2] + ',\n "messages": [')
        for number, message in enumerate(messages):
            local = datetime.fromtimestamp(int(message["date_unixtime"]), tz).replace(tzinfo=None)
            fields = {"id": message["id"], "type": message.get("type", "message"), "date": local.isoformat()}
            fields["date_unixtime"] = str(message["date_unixtime"])
            if "edited_unixtime" in message:
                edited = datetime.fromtimestamp(int(message["edited_unixtime"]), tz).replace(tzinfo=None)
                fields |= {"edited": edited.isoformat(), "edited_unixtime": str(message["edited_unixtime"])}
            fields |= {k: v for k, v in message.items() if not k.startswith("_") and k not in fields}
            text = json.dumps(fields, ensure_ascii=False, indent=1).replace("\n", "\n  ")
            out.write(("," if number else "") + "\n  " + text)
        out.write("\n ]\n}\n")
    return path
