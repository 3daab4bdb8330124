"""Telegram's public web preview (`t.me/s/CHANNEL`) as RawPosts: a pure function of the page's HTML.

The page is the only credential-free view of a channel, so everything the archive wants must be read
from markup that Telegram renders for browsers:

* text: `.tgme_widget_message_text`, where `<br>` is the only line break (saved or re-indented pages
  carry layout whitespace inside text nodes, so whitespace collapses as a browser would);
* hashtags: links `<a href="?q=%23Tag">`, the one place the page says "this is a hashtag entity";
* views: rounded counters ("69.4K"), good enough for ranking, not for exact counts;
* edits: the page says only *that* a post was edited, never when, so `edit_date` is set to the post
  date as a lower bound (stable across polls, so re-reading an edited post writes nothing);
* albums: one block per album whose id is the album's first message; the other ids are skipped.

Nothing here does I/O; `parse_saved_page` is the one convenience that reads a file.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, unquote, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.core.fingerprint import post_url
from bot.core.html_shape import HtmlLimits, HtmlRefused, check_html
from bot.core.numbers import INT64_MAX, ascii_int
from bot.models import ChannelRef, Forward, RawPost, Sender, TextLink
from bot.sources.desktop_export import EARLIEST_DATE, LATEST_DATE

_WS = re.compile(r"[ \t\r\n\f]+")
_DATA_POST = re.compile(r"^/?([A-Za-z0-9_]+)/([0-9]+)$")
_VIEWS = re.compile(r"^([0-9.,]+)\s*([KMB]?)$", re.IGNORECASE)
_MULTIPLIERS = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}
_BLOCK_TAGS = frozenset({"div", "p", "blockquote", "pre", "ul", "ol", "li"})
MAX_POSTS_PER_PAGE = 200  # a real page has about 20; 100k posts froze the loop for 25 s
# A real page nests 15 deep with ~6,000 elements (20 posts); 20 MB allows a saved page of several.
PAGE_LIMITS = HtmlLimits(
    max_chars=20 * 1024 * 1024, max_depth=1_000, max_elements=200_000, max_cost=50_000_000, max_seconds=3.0
)
_MEDIA_NOT_SUPPORTED = ".message_media_not_supported"
_REFUSED = "refused before parsing"
_PRE_SPACE = "\ue000"  # a space inside <pre>, hidden from the line trimming that layout whitespace needs

# First match wins: an album holds photos and videos, so it must be recognised before them.
# Link-preview media use their own `link_preview_*` classes, so a preview never reads as a photo.
_MEDIA_KINDS: tuple[tuple[str, str], ...] = (
    (".tgme_widget_message_grouped_wrap", "album"),
    (".tgme_widget_message_poll", "poll"),
    (".tgme_widget_message_video_player", "video"),
    (".tgme_widget_message_roundvideo_player", "video"),
    (".tgme_widget_message_photo_wrap", "photo"),
    (".tgme_widget_message_sticker_wrap", "sticker"),
    (".tgme_widget_message_voice_player", "audio"),
    (".tgme_widget_message_document", "document"),
    (".tgme_widget_message_location_wrap", "geo"),
    (".tgme_widget_message_link_preview", "webpage"),
)


class NotAPreviewPage(ValueError):
    """The HTML is not a `t.me/s/...` page (or a single-post embed): nothing in it can be read as posts."""


@dataclass(frozen=True, slots=True)
class WebPage:
    channel: ChannelRef | None
    posts: list[RawPost] = field(default_factory=list)
    # Where `?before=` continues: Telegram's own "more" link when present, else the smallest id.
    before_cursor: int | None = None

    @property
    def min_id(self) -> int | None:
        return min((p.message_id for p in self.posts), default=None)

    @property
    def max_id(self) -> int | None:
        return max((p.message_id for p in self.posts), default=None)


def parse_page(html: str, *, base_url: str = "https://t.me", max_posts: int = MAX_POSTS_PER_PAGE) -> WebPage:
    """Read one preview page; raise NotAPreviewPage when the HTML is something else (e.g. a redirect page),
    or one no parser should be given (the shared guard, bot/core/html_shape.py: 100k nested `<div>`s
    took lexbor 17.7 s within the 5 MB body cap)."""
    try:
        check_html(html, PAGE_LIMITS)
    except HtmlRefused as exc:
        raise NotAPreviewPage(f"{_REFUSED}: {exc}") from None
    tree = LexborHTMLParser(html)
    blocks = tree.css("div.tgme_widget_message")
    if not blocks and tree.css_first(".tgme_channel_history, .tgme_channel_info") is None:
        raise NotAPreviewPage("not a Telegram web preview page: no .tgme_widget_message blocks")
    if len(blocks) > max_posts:
        raise NotAPreviewPage(f"{len(blocks)} posts on one page (t.me shows about 20): not a real preview page")

    header_title = _text_of(tree.css_first(".tgme_channel_info_header_title"))
    page_username = _page_username(tree)
    posts: dict[int, RawPost] = {}
    for block in blocks:
        post = _parse_message(block, header_title, page_username, base_url)
        if post is not None and post.message_id not in posts:
            posts[post.message_id] = post
    ordered = sorted(posts.values(), key=lambda p: p.message_id)

    channel: ChannelRef | None = None
    if ordered:
        channel = ordered[0].channel
    elif page_username:
        channel = ChannelRef(username=page_username, title=header_title or None)

    cursor = _explicit_before(tree)
    if cursor is None and ordered:
        cursor = ordered[0].message_id
    return WebPage(channel=channel, posts=ordered, before_cursor=cursor)


def parse_saved_page(path: Path) -> list[RawPost]:
    """A page saved from a browser (`tgmonitor import page.html`); the error names the file."""
    html = _read_saved(path)
    try:
        return parse_page(html).posts
    except NotAPreviewPage as exc:
        if str(exc).startswith(_REFUSED):  # a page too deep or too big to parse: say so, not "not a page"
            raise NotAPreviewPage(f"{path}: {exc}") from exc
        raise NotAPreviewPage(
            f"{path}: not a Telegram web preview page (expected a saved https://t.me/s/CHANNEL page "
            "with .tgme_widget_message blocks)"
        ) from exc


def _read_saved(path: Path) -> str:
    """The file's text, read no further than PAGE_LIMITS allows: a 300 MB file named `page.html` peaked
    at 700 MB (its bytes and its text) before the guard refused it."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parts: list[str] = []
    chars = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            parts.append(decoder.decode(chunk))
            chars += len(parts[-1])
            if chars > PAGE_LIMITS.max_chars:
                raise NotAPreviewPage(
                    f"{path}: over {PAGE_LIMITS.max_chars:,} characters, not a saved t.me/s/ page "
                    "(one is at most a few MB)"
                )
    parts.append(decoder.decode(b"", final=True))
    return "".join(parts)


def parse_views(raw: str | None) -> int | None:
    """Telegram's rounded counters: "937", "12.3K", "1.2M"; None when absent or unreadable."""
    if not raw:
        return None
    match = _VIEWS.match(raw.strip().replace("\u00a0", ""))
    if not match:
        return None
    digits = match.group(1)
    if len(digits) > 24:  # no counter is written that long; Decimal would take a 5,000-digit one
        return None
    try:
        number = Decimal(digits.replace(",", "."))
    except InvalidOperation:
        return None
    views = int(number * _MULTIPLIERS[match.group(2).upper()])
    return views if views <= INT64_MAX else None  # the archive's integers are 64-bit


# ------------------------------------------------------------------------------------------ internals
def _parse_message(block: LexborNode, header_title: str, page_username: str | None, base_url: str) -> RawPost | None:
    match = _DATA_POST.match((block.attributes.get("data-post") or "").strip())
    if match is None:
        return None
    classes = (block.attributes.get("class") or "").split()
    if "service_message" in classes or block.css_first(".tgme_widget_message_service") is not None:
        return None
    username, message_id = match.group(1), ascii_int(match.group(2))
    if not message_id:  # 0, or past what the archive holds (SQLite's 64 bits): not a post of Telegram's
        return None
    date = _post_date(block)
    if date is None:
        return None  # a block without a date (or with one no post has) is page chrome, not a post

    title = header_title if header_title and username.lower() == (page_username or "").lower() else ""
    if not title:
        title = _text_of(block.css_first(".tgme_widget_message_owner_name"))
    channel = ChannelRef(username=username, title=title or None)

    links: list[str] = []
    preview = block.css_first("a.tgme_widget_message_link_preview")
    if preview is not None and not _inside(preview, block, ("tgme_widget_message_reply",)):
        _add_link(links, preview.attributes.get("href"))  # first: the page Telegram chose to show
    text_node = _message_text_node(block)
    text, hashtags = _rich_text(text_node, base_url, links) if text_node is not None else ("", ())
    if not text:
        question = block.css_first(".tgme_widget_message_poll_question")
        if question is not None:
            text, hashtags = _rich_text(question, base_url)

    meta = block.css_first(".tgme_widget_message_meta")
    edited = meta is not None and "edited" in (meta.text(deep=True) or "").lower()

    return RawPost(
        channel=channel,
        message_id=message_id,
        date=date,
        text=text,
        source="web",
        hashtags=hashtags,
        edit_date=date if edited else None,
        forward=_forward(block, base_url),
        media_kind=_media_kind(block, has_text=bool(text)),
        views=parse_views(_text_of(block.css_first(".tgme_widget_message_views"))),
        url=post_url(channel, message_id),
        links=tuple(links),
        sender=_signature(block),
        text_links=_text_links(text_node) if text_node is not None else (),
    )


def _signature(block: LexborNode) -> Sender | None:
    """A signed channel post's author (`.tgme_widget_message_from_author`); the preview shows channels only."""
    name = " ".join(_text_of(block.css_first(".tgme_widget_message_from_author")).split())[:256]
    return Sender(name=name) if name else None


def _text_links(node: LexborNode) -> tuple[TextLink, ...]:
    """Words linking to a web address that is not themselves (the preview writes visible links out,
    sometimes without their scheme); mentions and hashtags are not hidden links."""
    found: list[TextLink] = []
    for link in node.css("a"):
        href = (link.attributes.get("href") or "").strip()
        words = " ".join((link.text(deep=True) or "").split())
        if not href.lower().startswith(("http://", "https://")) or not words or words[0] in "@#":
            continue
        if _written_out(words, href):
            continue
        found.append(TextLink(words, href))
    return tuple(found)


def _written_out(words: str, href: str) -> bool:
    """The link's words are its address (maybe without scheme or `www.`, maybe cut with `…`): visible."""

    def bare(value: str) -> str:
        value = value.split("://", 1)[-1].rstrip("/").rstrip("…").rstrip("/")
        return value[4:] if value.lower().startswith("www.") else value

    shown = bare(words)
    return bool(shown) and bare(href).lower().startswith(shown.lower())


def _post_date(block: LexborNode) -> datetime | None:
    node = block.css_first(".tgme_widget_message_date time[datetime]") or block.css_first(
        ".tgme_widget_message_info time[datetime]"
    )
    raw = node.attributes.get("datetime") if node is not None else None
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
        value = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # 9999-12-31T23:59:59-14:00 is in the year 10000
        return None
    # The range the importers hold too (bot/sources/desktop_export.py): the archive's date arithmetic
    # (time zones, day and week windows) never overflows inside it.
    return value if EARLIEST_DATE <= value < LATEST_DATE else None


def _message_text_node(block: LexborNode) -> LexborNode | None:
    """The post's own text: not the quoted text of a reply, not a link preview's description."""
    for node in block.css(".tgme_widget_message_text"):
        if not _inside(node, block, ("tgme_widget_message_reply", "tgme_widget_message_link_preview")):
            return node
    return None


def _inside(node: LexborNode, stop: LexborNode, classes: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None and parent.mem_id != stop.mem_id:
        if any(c in classes for c in (parent.attributes.get("class") or "").split()):
            return True
        parent = parent.parent
    return False


def _rich_text(node: LexborNode, base_url: str, links: list[str] | None = None) -> tuple[str, tuple[str, ...]]:
    """Text as a reader sees it: `<br>` and block edges break lines, emoji images keep their glyph.

    The web links of the text (hidden behind words or written out) are appended to `links`.
    """
    parts: list[str] = []
    hashtags: list[str] = []
    _walk(node, parts, hashtags, base_url, in_pre=False, links=links if links is not None else [])
    text = "".join(parts).replace("\u00a0", " ")
    lines = [line.strip(" ").replace(_PRE_SPACE, " ") for line in text.split("\n")]
    return "\n".join(lines).strip("\n"), tuple(hashtags)


def _walk(
    node: LexborNode, parts: list[str], hashtags: list[str], base_url: str, *, in_pre: bool, links: list[str]
) -> None:
    """Depth first with an explicit stack: a hostile page nests tags thousands deep, and recursion
    there was a RecursionError on every poll of that channel."""
    stack: list[tuple[Iterator[LexborNode], bool, bool]] = [(node.iter(include_text=True), in_pre, False)]
    while stack:
        children, pre, block = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if block:
                _line_break(parts)
            continue
        tag = child.tag
        if tag == "-text":
            raw = child.text_content or ""
            parts.append(raw.replace(" ", _PRE_SPACE) if pre else _WS.sub(" ", raw))
        elif tag == "br":
            parts.append("\n")
        elif tag in _BLOCK_TAGS:
            _line_break(parts)
            stack.append((child.iter(include_text=True), pre or tag == "pre", True))
        else:
            if tag == "a":
                href = child.attributes.get("href")
                name = _hashtag_from_href(href, base_url)
                if name and name not in hashtags:
                    hashtags.append(name)
                _add_link(links, href)
            stack.append((child.iter(include_text=True), pre, False))


def _add_link(links: list[str], href: str | None) -> None:
    """Absolute web links only: relative ones are the page's own (hashtag searches, t.me paths)."""
    href = (href or "").strip()
    if href.lower().startswith(("http://", "https://")) and href not in links:
        links.append(href)


def _line_break(parts: list[str]) -> None:
    """A block starts or ends on its own line, without stacking blank lines on an existing break."""
    for part in reversed(parts):
        tail = part.rstrip(" ")
        if tail:
            if not tail.endswith("\n"):
                parts.append("\n")
            return


def _hashtag_from_href(href: str | None, base_url: str) -> str | None:
    if not href or "q=" not in href:
        return None
    parts = _split(href, base_url)
    values = parse_qs(parts.query).get("q") if parts is not None else None
    if not values:
        return None
    value = unquote(values[0]).strip()
    if value.startswith("#") and len(value) > 1:
        return value[1:]
    return None


def _forward(block: LexborNode, base_url: str) -> Forward | None:
    node = block.css_first(".tgme_widget_message_forwarded_from_name")
    if node is None:
        if block.css_first(".tgme_widget_message_forwarded_from") is None:
            return None
        label = _text_of(block.css_first(".tgme_widget_message_forwarded_from"))
        label = re.sub(r"^Forwarded from\s*", "", label).strip()
        return Forward(name=label or None)
    name = _text_of(node) or None
    href = node.attributes.get("href") if node.tag == "a" else None
    if not href:
        return Forward(name=name)
    parts = _split(href, base_url)
    if parts is None:
        return Forward(name=name)
    path = parts.path.strip("/").split("/")
    if path and path[0] == "s":
        path = path[1:]
    if len(path) >= 3 and path[0] == "c" and ascii_int(path[1]) is not None:
        return Forward(channel_id=ascii_int(path[1]), message_id=_int(path[2]), name=name)
    if path and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{2,}", path[0]):
        message_id = _int(path[1]) if len(path) >= 2 else None
        return Forward(username=path[0], message_id=message_id, name=name)
    return Forward(name=name)


def _media_kind(block: LexborNode, *, has_text: bool) -> str | None:
    for selector, kind in _MEDIA_KINDS:
        for node in block.css(selector):
            if not _inside(node, block, ("tgme_widget_message_reply",)):
                return kind
    if not has_text and block.css_first(_MEDIA_NOT_SUPPORTED) is not None:
        return "unsupported"  # "Please open Telegram to view this post": a sticker, game, story...
    return None


def _page_username(tree: LexborHTMLParser) -> str | None:
    link = tree.css_first(".tgme_channel_info_header_username a")
    if link is not None:
        name = _text_of(link).lstrip("@")
        if name:
            return name
    canonical = tree.css_first('link[rel="canonical"]')
    if canonical is not None:
        match = re.search(r"/s/([A-Za-z0-9_]+)", canonical.attributes.get("href") or "")
        if match:
            return match.group(1)
    return None


def _explicit_before(tree: LexborHTMLParser) -> int | None:
    more = tree.css_first("a.tme_messages_more[data-before]")
    if more is not None:
        value = _int(more.attributes.get("data-before"))
        if value is not None:
            return value
    prev = tree.css_first('link[rel="prev"]')
    if prev is not None:
        parts = _split(prev.attributes.get("href") or "")
        values = parse_qs(parts.query).get("before") if parts is not None else None
        if values:
            return _int(values[0])
    return None


def _split(href: str, base_url: str | None = None) -> SplitResult | None:
    """`href` split (joined to the page's address first, when given); None for one urllib refuses
    (`http://[::1`, "Invalid IPv6 URL"): a link on a page must not stop the page being read."""
    try:
        return urlsplit(urljoin(base_url + "/", href) if base_url is not None else href)
    except ValueError:
        return None


def _text_of(node: LexborNode | None) -> str:
    if node is None:
        return ""
    return _WS.sub(" ", (node.text(deep=True) or "").replace("\u00a0", " ")).strip()


def _int(raw: str | None) -> int | None:
    if raw is None:
        return None
    return ascii_int(raw.strip())
