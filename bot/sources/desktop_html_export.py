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
from dataclasses import dataclass, replace
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from bot.core.html_shape import HtmlLimits, HtmlRefused, check_html
from bot.models import ChannelRef, Forward, RawPost, Sender
from bot.sources.desktop_export import ExportError, check_message_id
from bot.sources.desktop_html_message import classes_of, read_message, read_sender, read_signature, short

# A page holds at most 1,000 messages of at most 4,096 characters, each up to 6 bytes once escaped
# (`&quot;`): ~25 MB. Far above that is not a Telegram Desktop page.
MAX_PAGE_BYTES = 32 * 2**20
# The HTML parser checks element scope against every open element, so cost grows with nesting depth
# times tags (a 20,000-deep page takes seconds, 300,000 deep takes minutes). Real pages nest ~15 deep:
# ~30,000 tags x 15 = 450,000. The shared guard (bot/core/html_shape.py) measures the tree the parser
# will build, stray and commented-out end tags ignored as the parser ignores them, and bounds the
# sum of depths to keep any page under ~0.5 s. Depth itself may be large: a Telegram Desktop bug
# (tdesktop#28712) nests every later message inside the one before.
MAX_NESTING_COST = 50_000_000
PAGE_LIMITS = HtmlLimits(
    max_chars=MAX_PAGE_BYTES, max_depth=100_000, max_elements=2_000_000, max_cost=MAX_NESTING_COST, max_seconds=20.0
)

INDEX_PAGE = "index.html"
_PAGE_NAME = re.compile(r"messages([2-9]|[1-9][0-9]{1,5})?\.html")
_MESSAGE_ID = re.compile(r"message(-?[0-9]{1,30})")
_ID_IN_BYTES = re.compile(rb'id="message([0-9]+)"')
_BLOCK_ID = re.compile(rb'id="message(-?[0-9]+)"')
_BLOCK_START = re.compile(rb'<div class="message [^"]*"[^>]*>')
_DIV_TAG = re.compile(rb"<(/?)div\b[^>]*>")
_EXPORT_MARKERS = (b'class="page_header"', b'class="history"', b"class='page_header'")


@dataclass(frozen=True, slots=True)
class HtmlPage:
    path: Path
    title: str
    posts: list[RawPost]
    links: tuple[str, ...]  # the pages its "Previous messages" / "Next messages" links name
    note: str | None = None  # a page cut short: what was read of it and what was skipped (one line)


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
        if self.pages[0].name == INDEX_PAGE:  # published as a site: the first page's links may keep its name
            names.add("messages.html")
        for page_path in self.pages:
            page = parse_page_file(page_path, channel)
            if page.title != self.title:
                raise ExportError(
                    f"{page_path}: the page header names «{short(page.title)}» but {self.pages[0].name} names "
                    f"«{short(self.title)}»: pages of two different exports in one folder?"
                )
            for link in page.links:
                if link not in names:
                    raise ExportError(f"{page_path}: links to {short(link)}, which is missing from {self.folder}")
            yield page

    def iter_posts(self, channel: ChannelRef) -> Iterator[RawPost]:
        for page in self.iter_pages(channel):
            yield from page.posts


def page_number(path: Path) -> int | None:
    """1 for `messages.html` (and `index.html`, its name on a published export), N for `messagesN.html`."""
    if path.name == INDEX_PAGE:
        return 1
    match = _PAGE_NAME.fullmatch(path.name)
    if match is None:
        return None
    return int(match.group(1) or 1)


def find_pages(path: Path) -> list[Path]:
    """`messages.html`, `messages2.html` … of the export `path` is (or is in), in order, with no gaps.

    An export published as a static site has its first page renamed `index.html`; that name stands
    for `messages.html` when there is none and it is a Telegram Desktop page.
    """
    folder = path if path.is_dir() else path.parent
    numbered = {}
    for candidate in folder.iterdir():
        number = page_number(candidate)
        if number is not None and candidate.is_file() and candidate.name != INDEX_PAGE:
            numbered[number] = candidate
    index = folder / INDEX_PAGE
    if 1 not in numbered and looks_like_export_page(index):
        numbered[1] = index
    if not numbered:
        raise ExportError(f"{folder}: no messages.html (not a Telegram Desktop HTML export)")
    missing = [n for n in range(1, max(numbered) + 1) if n not in numbered]
    if missing:
        names = ", ".join(_page_name(n) for n in missing[:5]) + (" …" if len(missing) > 5 else "")
        raise ExportError(f"{folder}: export pages missing: {names} (found {len(numbered)} of {max(numbered)})")
    return [numbered[n] for n in sorted(numbered)]


def looks_like_export_page(path: Path) -> bool:
    """A `messages*.html` that Telegram Desktop wrote (not, say, a saved t.me/s page of that name).
    Only a regular file is opened: opening a named pipe waits for a writer, for ever."""
    if page_number(path) is None or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(16384)
    except OSError:
        return False
    return any(marker in head for marker in _EXPORT_MARKERS)


def read_title(path: Path) -> str:
    """The chat's name from the page header (every page repeats it)."""
    data, _ = _read_page(path)
    tree = LexborHTMLParser(_decoded(data, str(path)))
    return _title(tree, str(path))


def parse_page_file(path: Path, channel: ChannelRef) -> HtmlPage:
    data, note = _read_page(path)
    title, posts, links = parse_page(data, str(path), channel)
    return HtmlPage(path, title, posts, links, note)


def parse_page(data: bytes, source: str, channel: ChannelRef) -> tuple[str, list[RawPost], tuple[str, ...]]:
    """(title, posts, pagination links) of one page; ExportError names `source` and the message."""
    tree = LexborHTMLParser(_decoded(data, source))
    title = _title(tree, source)
    if tree.css_first("div.history") is None:
        raise ExportError(f"{source}: no div.history (not a chat page of a Telegram Desktop export)")
    hrefs = (a.attributes.get("href") or "" for a in tree.css("a.pagination"))
    links = tuple(href for href in hrefs if page_number(Path(href)) is not None)
    posts: list[RawPost] = []
    previous_id: int | None = None
    previous_forward: Forward | None = None
    sender: Sender | None = None
    for index, block in enumerate(tree.css("div.message"), start=1):
        classes = classes_of(block)
        if "service" in classes:
            previous_forward = sender = None
            continue
        ident = _MESSAGE_ID.fullmatch(block.attributes.get("id") or "")
        if ident is None or int(ident.group(1)) <= 0:
            after = f"after message {previous_id}" if previous_id is not None else "the first on the page"
            raise ExportError(f'{source}: message block {index} ({after}): no id="messageNNN" with a positive NNN')
        message_id = check_message_id(int(ident.group(1)), f"{source}: message block {index}")
        where = f"{source}: message {message_id}"
        if "default" not in classes:
            kind = short(block.attributes.get("class") or "")
            raise ExportError(f"{where}: unknown kind of message block (class {kind!r})")
        try:
            raw, previous_forward = read_message(block, message_id, where, channel, previous_forward)
            if "joined" not in classes:  # a joined one is the same sender's, with no from_name of its own
                sender = read_sender(block, title)
        except ExportError:
            raise
        except Exception as exc:  # a shape the checks did not foresee: still one line naming the message
            raise ExportError(
                f"{where}: cannot read this message ({exc.__class__.__name__}: {str(exc)[:120]})"
            ) from exc
        if raw is not None:
            own = sender or read_signature(block)
            posts.append(replace(raw, sender=own) if own is not None else raw)
        previous_id = message_id
    return title, posts, links


# ------------------------------------------------------------------------------------------ page checks
def _read_page(path: Path) -> tuple[bytes, str | None]:
    """The page's bytes, checked; a page cut short is cut back to its last complete message, with a note."""
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
    note = None
    if not data.rstrip().lower().endswith(b"</html>"):
        data, note = _complete_part(data, source)
    _check_nesting(data, source)
    return data, note


def _complete_part(data: bytes, source: str) -> tuple[bytes, str]:
    """A page that does not end with `</html>` (an interrupted export, copy or upload): its bytes up to
    the end of the last message block whose tags all close, and a line saying what was skipped.

    Every message before the last block that starts is complete (the next one started after it); the
    last one is complete when its `<div>`s balance before the end of the file. What follows it (the
    closing tags, the pagination links) is layout. Nothing complete: the page is refused as before.
    """
    starts = list(_BLOCK_START.finditer(data))
    last = starts[-1] if starts else None
    end = _block_end(data, last.start()) if last is not None else None
    complete = starts if end is not None else starts[:-1]
    kept_id = next((i for i in map(_block_id, reversed(complete)) if not i.startswith("-")), None)
    if end is None and kept_id is not None and last is not None:
        cut, skipped = last.start(), f"message {_block_id(last)} is cut off and skipped"
    elif end is not None and kept_id is not None:
        cut, skipped = end, "nothing else was skipped"
    else:
        raise ExportError(
            f"{source}: truncated: the page does not end with </html>{_near(data, len(data))} and holds no "
            "complete message (an interrupted export or copy?)"
        )
    note = (
        f"{source}: the page ends without its closing tags after message {kept_id} (an interrupted export, "
        f"copy or upload): every complete message on it is imported, {skipped}"
    )
    return data[:cut], note


def _block_end(data: bytes, start: int) -> int | None:
    """The offset just past the `</div>` that closes the block opened at `start`, or None if none does."""
    depth = 0
    for match in _DIV_TAG.finditer(data, start):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return match.end()
    return None


def _block_id(match: re.Match[bytes]) -> str:
    ident = _BLOCK_ID.search(match.group(0))
    return ident.group(1)[:30].decode() if ident else "(no id)"


def _decoded(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExportError(f"{source}: not UTF-8 text (byte {exc.start}{_near(data, exc.start)})") from exc


def _check_nesting(data: bytes, source: str) -> None:
    """Refuse pages whose tree would make the HTML parser quadratic (see MAX_NESTING_COST). Measured on
    the bytes read as Latin-1: every byte one character, so offsets are byte offsets."""
    try:
        check_html(data.decode("latin-1"), PAGE_LIMITS)
    except HtmlRefused as exc:
        raise ExportError(
            f"{source}: {exc}{_near(data, exc.offset)}: Telegram Desktop pages nest about 15 deep "
            "(a damaged or hostile file)"
        ) from None


def _near(data: bytes, offset: int) -> str:
    """Which message a byte offset is in: the last message id that starts before it."""
    start = max(0, offset - 200_000)  # ids are a few KB apart; never scan a huge page backwards
    last = None
    for last in _ID_IN_BYTES.finditer(data, start, offset):  # noqa: B007 - the last match is wanted
        pass
    return f", in message {last.group(1)[:30].decode()}" if last is not None else ""


def _title(tree: LexborHTMLParser, source: str) -> str:
    node = tree.css_first("div.page_header div.text")
    if node is None:
        raise ExportError(f"{source}: no div.page_header (not a page of a Telegram Desktop HTML export)")
    title = " ".join((node.text(deep=True) or "").split())
    if not title:
        raise ExportError(f"{source}: the page header names no chat")
    return title


def _page_name(number: int) -> str:
    return "messages.html" if number == 1 else f"messages{number}.html"
