"""Telegram Desktop HTML export (`messages.html`, `messages2.html`, …) -> RawPosts, one page at a time.

HTML is what Telegram Desktop exports unless JSON is picked, so it is what most archives on disk are.
What the format gives, read from Telegram Desktop's HTML writer (export_output_html.cpp) and real pages:

* pages of 1,000 messages, `messages.html` then `messages2.html` …, linked by `a.pagination`;
* `div.message.default.clearfix[id=messageNNN]` per message; `div.message.service` for date rows
  (negative ids) and service messages, which are skipped;
* the date only in `div.pull_right.date.details[title]`, `21.11.2024 19:20:37 UTC+03:00` (older
  versions leave out the offset: the exporter's wall time, taken as UTC like the JSON importer does);
* "joined" follow-ups (`.joined`, no `div.from_name`): same sender within 15 minutes. A joined
  forward may also leave out its `div.forwarded.body > div.from_name`: it has the previous one's;
* `div.forwarded.body` holds the original's name, date and the whole content (reply, media, text);
* text in `div.text`, where `<br>` is the only line break (the writer turns every newline, U+2028 and
  U+2029 into `<br>`), so a raw newline in the file is layout and never text; hashtags are
  `a[onclick^="return ShowHashtag("]`;
* no channel id, no username and no edit dates at all: the channel is known by its title only
  (`div.page_header`), and an edited post looks like any other.

Everything is checked page by page, and a problem names the page and the message. Pages are parsed
one at a time and dropped, so memory does not grow with the export; tree walks are iterative.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.models import ChannelRef, Forward, RawPost
from bot.sources.desktop_export import MAX_TEXT_CHARS, ExportError

# A page holds at most 1,000 messages of at most 4,096 characters, each up to 6 bytes once escaped
# (`&quot;`): ~25 MB. Far above that is not a Telegram Desktop page.
MAX_PAGE_BYTES = 32 * 2**20
# The HTML parser checks element scope against every open element, so cost grows with nesting depth
# times tags (a 20,000-deep page takes seconds, 300,000 deep takes minutes). Real pages nest ~15 deep:
# ~30,000 tags x 15 = 450,000. This bound (sum of depths at start tags) keeps any page under ~0.5 s.
MAX_NESTING_COST = 50_000_000

_PAGE_NAME = re.compile(r"messages([2-9]|[1-9]\d+)?\.html")
_MESSAGE_ID = re.compile(r"message(-?\d+)")
_ID_IN_BYTES = re.compile(rb'id="message(\d+)"')
_DATE = re.compile(r"(\d{2})\.(\d{2})\.(\d{4}) (\d{2}):(\d{2}):(\d{2})(?: UTC([+-])(\d{2}):(\d{2}))?")
_GO_TO_MESSAGE = re.compile(r"go_to_message(\d+)")
_LAYOUT = re.compile(r"[ \t\r\f]*\n[ \t\r\n\f]*")  # a run with a raw newline: indentation, not text
_BLANK = (" ", "\t", "\n")
_MAX_OFFSET = timedelta(hours=14)
_VIA_BOT = re.compile(r" via @[A-Za-z0-9_]+$")
_TAG = re.compile(rb"<(/?)(?!(?:br|img|hr|meta|link|input|wbr|area|base|col|embed|source|track|param)\b)[A-Za-z]")
_HASHTAG_CLICK = "return ShowHashtag("
_EXPORT_MARKERS = (b'class="page_header"', b'class="history"', b"class='page_header'")

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


@dataclass(frozen=True, slots=True)
class HtmlPage:
    path: Path
    title: str
    posts: list[RawPost]
    links: tuple[str, ...]  # the pages its "Previous messages" / "Next messages" links name


@dataclass(frozen=True, slots=True)
class HtmlExport:
    """One exported chat: its pages in order and its title (the only name the export gives it)."""

    folder: Path
    pages: tuple[Path, ...]
    title: str

    @classmethod
    def open(cls, path: Path) -> HtmlExport:
        """The folder, or any `messages*.html` in it, stands for every page of the export."""
        pages = find_pages(path)
        return cls(pages[0].parent, tuple(pages), read_title(pages[0]))

    def iter_pages(self, channel: ChannelRef) -> Iterator[HtmlPage]:
        """Each page checked and parsed in order, then dropped: a 200-page export never sits in memory."""
        names = {p.name for p in self.pages}
        for page_path in self.pages:
            page = parse_page_file(page_path, channel)
            if page.title != self.title:
                raise ExportError(
                    f"{page_path}: the page header names «{_short(page.title)}» but {self.pages[0].name} names "
                    f"«{_short(self.title)}»: pages of two different exports in one folder?"
                )
            for link in page.links:
                if link not in names:
                    raise ExportError(f"{page_path}: links to {link}, which is missing from {self.folder}")
            yield page

    def iter_posts(self, channel: ChannelRef) -> Iterator[RawPost]:
        for page in self.iter_pages(channel):
            yield from page.posts


def page_number(path: Path) -> int | None:
    match = _PAGE_NAME.fullmatch(path.name)
    if match is None:
        return None
    return int(match.group(1) or 1)


def find_pages(path: Path) -> list[Path]:
    """`messages.html`, `messages2.html` … of the export `path` is (or is in), in order, with no gaps."""
    folder = path if path.is_dir() else path.parent
    numbered = {}
    for candidate in folder.iterdir():
        number = page_number(candidate)
        if number is not None and candidate.is_file():
            numbered[number] = candidate
    if not numbered:
        raise ExportError(f"{folder}: no messages.html (not a Telegram Desktop HTML export)")
    missing = [n for n in range(1, max(numbered) + 1) if n not in numbered]
    if missing:
        names = ", ".join(_page_name(n) for n in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise ExportError(f"{folder}: export pages missing: {names} (found {len(numbered)} of {max(numbered)})")
    return [numbered[n] for n in sorted(numbered)]


def looks_like_export_page(path: Path) -> bool:
    """A `messages*.html` that Telegram Desktop wrote (not, say, a saved t.me/s page of that name)."""
    if page_number(path) is None:
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(16384)
    except OSError:
        return False
    return any(marker in head for marker in _EXPORT_MARKERS)


def read_title(path: Path) -> str:
    """The chat's name from the page header (every page repeats it)."""
    tree = LexborHTMLParser(_decoded(_read_page(path), str(path)))
    return _title(tree, str(path))


def parse_page_file(path: Path, channel: ChannelRef) -> HtmlPage:
    title, posts, links = parse_page(_read_page(path), str(path), channel)
    return HtmlPage(path, title, posts, links)


def parse_page(data: bytes, source: str, channel: ChannelRef) -> tuple[str, list[RawPost], tuple[str, ...]]:
    """(title, posts, pagination links) of one page; ExportError names `source` and the message."""
    tree = LexborHTMLParser(_decoded(data, source))
    title = _title(tree, source)
    if tree.css_first("div.history") is None:
        raise ExportError(f"{source}: no div.history (not a chat page of a Telegram Desktop export)")
    links = tuple(
        href for a in tree.css("a.pagination") if page_number(Path(href := a.attributes.get("href") or "")) is not None
    )
    posts: list[RawPost] = []
    previous_id: int | None = None
    previous_forward: Forward | None = None
    for index, block in enumerate(tree.css("div.message"), start=1):
        classes = _classes(block)
        if "service" in classes:
            previous_forward = None
            continue
        ident = _MESSAGE_ID.fullmatch(block.attributes.get("id") or "")
        if ident is None or int(ident.group(1)) <= 0:
            after = f"after message {previous_id}" if previous_id is not None else "the first on the page"
            raise ExportError(f'{source}: message block {index} ({after}): no id="messageNNN" with a positive NNN')
        message_id = int(ident.group(1))
        where = f"{source}: message {message_id}"
        if "default" not in classes:
            raise ExportError(f"{where}: unknown kind of message block (class {block.attributes.get('class')!r})")
        raw, previous_forward = _message(block, message_id, where, channel, previous_forward)
        if raw is not None:
            posts.append(raw)
        previous_id = message_id
    return title, posts, links


# ------------------------------------------------------------------------------------------ page checks
def _read_page(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_PAGE_BYTES:
            raise ExportError(
                f"{path}: page is {size / 2**20:,.0f} MB; Telegram Desktop pages hold 1,000 messages, "
                f"at most ~25 MB (limit {MAX_PAGE_BYTES // 2**20} MB)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ExportError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    source = str(path)
    if not data.strip():
        raise ExportError(f"{source}: empty file")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ExportError(f"{source}: NUL byte at byte {nul}{_near(data, nul)} (a damaged file)")
    if not data.rstrip().lower().endswith(b"</html>"):
        raise ExportError(
            f"{source}: truncated: the page does not end with </html>{_near(data, len(data))} "
            "(an interrupted export or copy?)"
        )
    _check_nesting(data, source)
    return data


def _decoded(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExportError(f"{source}: not UTF-8 text (byte {exc.start}{_near(data, exc.start)})") from exc


def _check_nesting(data: bytes, source: str) -> None:
    """Refuse pages whose nesting would make the HTML parser quadratic (see MAX_NESTING_COST)."""
    depth = cost = 0
    for match in _TAG.finditer(data):
        if match.group(1):
            depth = max(depth - 1, 0)
            continue
        depth += 1
        cost += depth
        if cost > MAX_NESTING_COST:
            raise ExportError(
                f"{source}: tags nested {depth:,} deep at byte {match.start()}{_near(data, match.start())}: "
                "Telegram Desktop pages nest about 15 deep (a damaged or hostile file)"
            )


def _near(data: bytes, offset: int) -> str:
    """Which message a byte offset is in: the last message id that starts before it."""
    start = max(0, offset - 200_000)  # ids are a few KB apart; never scan a huge page backwards
    last = None
    for last in _ID_IN_BYTES.finditer(data, start, offset):  # noqa: B007 - the last match is wanted
        pass
    return f", in message {int(last.group(1))}" if last is not None else ""


def _title(tree: LexborHTMLParser, source: str) -> str:
    node = tree.css_first("div.page_header div.text")
    if node is None:
        raise ExportError(f"{source}: no div.page_header (not a page of a Telegram Desktop HTML export)")
    title = " ".join((node.text(deep=True) or "").split())
    if not title:
        raise ExportError(f"{source}: the page header names no chat")
    return title


# ------------------------------------------------------------------------------------------- messages
def _message(
    block: LexborNode, message_id: int, where: str, channel: ChannelRef, previous_forward: Forward | None
) -> tuple[RawPost | None, Forward | None]:
    body = _child(block, "body")
    if body is None:
        raise ExportError(f"{where}: no div.body")
    date_node = forwarded = None
    for child in body.iter():
        classes = _classes(child)
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
        header = _child(forwarded, "from_name")
        if header is not None:
            forward = _forward(header, where)
        else:  # a joined forward of the same user leaves its header out: the previous one's name, own date unknown
            forward = Forward(name=previous_forward.name if previous_forward else None)

    text, poll = "", ""
    hashtags: tuple[str, ...] = ()
    media: str | None = None
    reply_to: int | None = None
    for child in content.iter():
        classes = _classes(child)
        if "text" in classes and child.tag == "div":
            text, hashtags = _rich_text(child, where)
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
        forward=forward,
        media_kind=media,
        reply_to=reply_to,
    )
    return raw, forward


def _date(value: str, where: str, what: str = "date") -> datetime:
    match = _DATE.fullmatch(value.strip())
    if match is None:
        raise ExportError(f"{where}: {what} {_short(value)!r} is not DD.MM.YYYY HH:MM:SS [UTC±HH:MM]")
    day, month, year, hour, minute, second = map(int, match.group(1, 2, 3, 4, 5, 6))
    try:
        wall = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise ExportError(f"{where}: {what} {value!r} is not a real date ({exc})") from exc
    if not match.group(7):
        return wall
    offset = timedelta(hours=int(match.group(8)), minutes=int(match.group(9)))
    if offset > _MAX_OFFSET:
        raise ExportError(f"{where}: {what} {value!r} has a UTC offset beyond ±14:00")
    return wall - offset if match.group(7) == "+" else wall + offset


def _forward(header: LexborNode, where: str) -> Forward:
    """`Name<span class="date details" title="…"> dd.mm.yyyy hh:mm:ss</span>`, maybe ` via @bot`."""
    name_parts: list[str] = []
    date = None
    for child in header.iter(include_text=True):
        if child.tag == "-text":
            name_parts.append(child.text_content or "")
        elif "date" in _classes(child):
            title = child.attributes.get("title")
            date = _date(title or (child.text(deep=True) or ""), where, "forwarded date")
    name = _VIA_BOT.sub("", " ".join("".join(name_parts).split()))
    return Forward(name=name or None, date=date)


def _reply_to(node: LexborNode) -> int | None:
    """`In reply to <a href="#go_to_message123">this message</a>`; another chat's message has no link."""
    for link in node.css("a"):
        match = _GO_TO_MESSAGE.search(link.attributes.get("href") or "")
        if match:
            return int(match.group(1))
    return None


def _media(wrap: LexborNode, where: str) -> tuple[str | None, str]:
    """(kind, poll text) of `div.media_wrap`: the same kinds the JSON importer gives the same message."""
    for child in wrap.iter():
        classes = _classes(child)
        for name, kind in _WRAPPED_MEDIA.items():
            if name in classes:
                return kind, _poll_text(child, where) if kind == "poll" else ""
        if "media" not in classes:
            continue
        if "media_photo" in classes:  # a photo, or a sticker shown without its image
            title = _child(_child(child, "body"), "title")
            is_sticker = title is not None and (title.text(deep=True) or "").strip() == "Sticker"
            return ("sticker" if is_sticker else "photo"), ""
        for name, kind in _GENERIC_MEDIA.items():
            if name in classes:
                return kind, ""
    return None, ""


def _poll_text(poll: LexborNode, where: str) -> str:
    """Question, then `- answer` lines: the text the listener and the JSON importer give a poll."""
    lines = []
    question = _child(poll, "question")
    if question is not None:
        lines.append(_rich_text(question, where)[0])
    for answer in poll.iter():
        if "answer" in _classes(answer):
            own = "".join(c.text_content or "" for c in answer.iter(include_text=True) if c.tag == "-text")
            lines.append(_LAYOUT.sub(" ", own).strip())
    return "\n".join(line for line in lines if line)


def _rich_text(node: LexborNode, where: str) -> tuple[str, tuple[str, ...]]:
    """Text with its line breaks, and its hashtags, as the JSON export of the same message has them.

    `<br>` is a line break; a whitespace run holding a raw newline is the writer's (or a
    pretty-printer's) indentation: nothing at the edges or beside a `<br>` or a space, one space
    elsewhere, as a browser shows it. Other whitespace is the author's and is kept. One pass, no recursion.
    """
    out: list[str] = []
    hashtags: list[str] = []
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
        elif tag == "a" and (child.attributes.get("onclick") or "").startswith(_HASHTAG_CLICK):
            name = (child.text(deep=True) or "").strip().lstrip("#")
            if name:
                hashtags.append(name)
    return "".join(out), tuple(dict.fromkeys(hashtags))


# -------------------------------------------------------------------------------------------- helpers
def _classes(node: LexborNode) -> set[str]:
    return set((node.attributes.get("class") or "").split())


def _child(node: LexborNode | None, class_name: str) -> LexborNode | None:
    """The first direct child element with the class: never a nested message's, as `css` would find."""
    if node is None:
        return None
    for child in node.iter():
        if class_name in _classes(child):
            return child
    return None


def _page_name(number: int) -> str:
    return "messages.html" if number == 1 else f"messages{number}.html"


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"
