"""Feed rendering: one `Feed` as RSS 2.0, Atom 1.0 or JSON Feed 1.1, strings in, a string out.

Written on the standard library's `XMLGenerator` (it escapes every text and attribute) and `json`,
not feedgen: feedgen has no JSON Feed, stamps `lastBuildDate` with the clock unless told otherwise
(a feed must render byte-identical from the same archive, or every poll is a new ETag and
`feeds build` rewrites every file), and would bring lxml and dateutil into the pure core for two
small XML vocabularies. What the W3C validator checks offline is kept here: required elements, dates
in RFC 822 (RSS) and RFC 3339 (Atom, JSON Feed), HTML content escaped as text, absolute links, and
no character XML 1.0 forbids (a post may carry any control character).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Literal
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

FeedFormat = Literal["rss", "atom", "json"]
FORMATS: tuple[FeedFormat, ...] = ("rss", "atom", "json")
EXTENSIONS: dict[FeedFormat, str] = {"rss": "rss", "atom": "atom", "json": "json"}
MEDIA_TYPES: dict[FeedFormat, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
GENERATOR = "tgmonitor"
# Characters XML 1.0 does not allow at all (C0 controls but tab/newline/return, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed. `id` never changes for the same statement; `updated` moves when it is edited."""

    id: str  # an absolute IRI (urn:uuid:… or a URL): Atom's id, RSS's guid (isPermaLink=false), JSON's id
    title: str
    link: str  # absolute URL: the original post
    content_html: str  # HTML, escaped by the renderers as text (never embedded as markup)
    summary: str  # plain text
    published: datetime
    updated: datetime
    categories: tuple[str, ...] = ()
    author: str | None = None


@dataclass(frozen=True, slots=True)
class Feed:
    id: str  # an absolute IRI, the same for the feed's three formats
    title: str
    description: str
    home_url: str  # absolute: the page the feed is about (the web viewer's)
    updated: datetime  # newest entry's `updated`, or the archive's latest post when there are none
    entries: tuple[FeedEntry, ...]
    author: str = GENERATOR


def xml_safe(text: str) -> str:
    """Text without the characters an XML 1.0 document cannot contain (every reader would refuse it)."""
    return _NOT_XML.sub("", text)


def rfc3339(value: datetime) -> str:
    """`2026-11-20T07:15:00Z`: UTC, seconds, what Atom and JSON Feed ask for."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc822(value: datetime) -> str:
    """`Fri, 20 Nov 2026 07:15:00 GMT`: RSS's date form."""
    return format_datetime(_utc(value).replace(microsecond=0), usegmt=True)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def render(feed: Feed, fmt: FeedFormat, self_url: str) -> str:
    """The feed in `fmt`; `self_url` (absolute) is where this very document is read from."""
    if fmt == "rss":
        return render_rss(feed, self_url)
    if fmt == "atom":
        return render_atom(feed, self_url)
    return render_json(feed, self_url)


class _Writer:
    """XMLGenerator with the few shapes a feed needs; every string passes `xml_safe`."""

    def __init__(self) -> None:
        self.out = io.StringIO()
        self.gen = XMLGenerator(self.out, encoding="utf-8", short_empty_elements=True)
        self.gen.startDocument()

    def open(self, name: str, attrs: dict[str, str] | None = None) -> None:
        self.gen.startElement(name, AttributesImpl({k: xml_safe(v) for k, v in (attrs or {}).items()}))

    def close(self, name: str) -> None:
        self.gen.endElement(name)

    def leaf(self, name: str, text: str | None = None, attrs: dict[str, str] | None = None) -> None:
        self.open(name, attrs)
        if text:
            self.gen.characters(xml_safe(text))
        self.close(name)

    def text(self) -> str:
        self.gen.endDocument()
        return self.out.getvalue() + "\n"


def render_rss(feed: Feed, self_url: str) -> str:
    w = _Writer()
    w.open("rss", {"version": "2.0", "xmlns:atom": "http://www.w3.org/2005/Atom"})
    w.open("channel")
    w.leaf("title", feed.title)
    w.leaf("link", feed.home_url)
    w.leaf("description", feed.description or feed.title)
    w.leaf("atom:link", attrs={"href": self_url, "rel": "self", "type": "application/rss+xml"})
    w.leaf("lastBuildDate", rfc822(feed.updated))
    w.leaf("generator", GENERATOR)
    for entry in feed.entries:
        w.open("item")
        w.leaf("title", entry.title)
        w.leaf("link", entry.link)
        w.leaf("description", entry.content_html)
        w.leaf("guid", entry.id, {"isPermaLink": "false"})
        w.leaf("pubDate", rfc822(entry.published))
        for category in entry.categories:
            w.leaf("category", category)
        w.close("item")
    w.close("channel")
    w.close("rss")
    return w.text()


def render_atom(feed: Feed, self_url: str) -> str:
    w = _Writer()
    w.open("feed", {"xmlns": "http://www.w3.org/2005/Atom"})
    w.leaf("id", feed.id)
    w.leaf("title", feed.title)
    w.leaf("subtitle", feed.description)
    w.leaf("updated", rfc3339(feed.updated))
    w.leaf("link", attrs={"href": self_url, "rel": "self", "type": "application/atom+xml"})
    w.leaf("link", attrs={"href": feed.home_url, "rel": "alternate", "type": "text/html"})
    w.open("author")
    w.leaf("name", feed.author)
    w.close("author")
    w.leaf("generator", GENERATOR)
    for entry in feed.entries:
        w.open("entry")
        w.leaf("id", entry.id)
        w.leaf("title", entry.title)
        w.leaf("link", attrs={"href": entry.link, "rel": "alternate", "type": "text/html"})
        w.leaf("published", rfc3339(entry.published))
        w.leaf("updated", rfc3339(entry.updated))
        if entry.author:
            w.open("author")
            w.leaf("name", entry.author)
            w.close("author")
        for category in entry.categories:
            w.leaf("category", attrs={"term": category})
        w.leaf("summary", entry.summary)
        w.leaf("content", entry.content_html, {"type": "html"})
        w.close("entry")
    w.close("feed")
    return w.text()


def render_json(feed: Feed, self_url: str) -> str:
    items = []
    for entry in feed.entries:
        item: dict[str, object] = {
            "id": entry.id,
            "url": entry.link,
            "title": xml_safe(entry.title),
            "content_html": xml_safe(entry.content_html),
            "summary": xml_safe(entry.summary),
            "date_published": rfc3339(entry.published),
            "date_modified": rfc3339(entry.updated),
        }
        if entry.categories:
            item["tags"] = list(entry.categories)
        if entry.author:
            item["authors"] = [{"name": entry.author}]
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": feed.home_url,
        "feed_url": self_url,
        "description": feed.description,
        "authors": [{"name": feed.author}],
        "items": items,
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def newest(entries: Sequence[FeedEntry], fallback: datetime) -> datetime:
    """A feed's `updated`: its newest entry's, else `fallback` (an empty feed still needs a date)."""
    return max((e.updated for e in entries), default=fallback)
