"""The W3C Feed Validation Service's rules that can be checked offline, for RSS 2.0, Atom 1.0 and JSON Feed 1.1.

Each check returns the problems found (empty: valid). What is checked, after the validator's
messages: required elements, dates in RFC 822 (RSS) / RFC 3339 (Atom, JSON Feed), HTML content
escaped as text (no element inside <description>/<content type="html">), absolute http(s) links,
ids that are IRIs and unique, a self link, and that feedparser reads the document without a
complaint (`bozo`).
"""

from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse
from xml.etree import ElementTree

import feedparser

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} (GMT|[+-]\d{4})$"
)


def absolute(url: str | None) -> bool:
    if not url:
        return False
    parts = urlparse(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def iri(value: str | None) -> bool:
    return bool(value) and bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$", value or ""))


def check(text: str, fmt: str) -> list[str]:
    problems = {"rss": _rss, "atom": _atom, "json": _json}[fmt](text)
    if fmt != "json":
        parsed = feedparser.parse(text)
        if parsed.bozo:
            problems.append(f"feedparser: {parsed.bozo_exception}")
    return problems


def _text_only(element: ElementTree.Element, where: str) -> list[str]:
    return [f"{where}: contains markup elements, not escaped HTML"] if len(element) else []


def _rss(text: str) -> list[str]:
    problems: list[str] = []
    root = ElementTree.fromstring(text.encode())
    if root.tag != "rss" or root.get("version") != "2.0":
        return ["root: not <rss version=2.0>"]
    channel = root.find("channel")
    if channel is None:
        return ["missing <channel>"]
    for name in ("title", "link", "description"):
        if not (channel.findtext(name) or "").strip():
            problems.append(f"channel: missing <{name}>")
    if not absolute(channel.findtext("link")):
        problems.append("channel: <link> not absolute")
    selfs = [e for e in channel.findall(f"{ATOM}link") if e.get("rel") == "self"]
    if not selfs or not absolute(selfs[0].get("href")):
        problems.append("channel: no absolute atom:link rel=self")
    for tag in ("lastBuildDate", "pubDate"):
        value = channel.findtext(tag)
        if value is not None and not _rfc822(value):
            problems.append(f"channel: <{tag}> {value!r} is not RFC 822")
    guids = []
    for index, item in enumerate(channel.findall("item")):
        where = f"item {index}"
        if not (item.findtext("title") or item.findtext("description")):
            problems.append(f"{where}: needs <title> or <description>")
        if item.find("link") is not None and not absolute(item.findtext("link")):
            problems.append(f"{where}: <link> not absolute")
        description = item.find("description")
        if description is not None:
            problems += _text_only(description, f"{where} <description>")
        date = item.findtext("pubDate")
        if date is None or not _rfc822(date):
            problems.append(f"{where}: <pubDate> {date!r} is not RFC 822")
        guid = item.find("guid")
        if guid is None or not guid.text:
            problems.append(f"{where}: no <guid>")
        else:
            guids.append(guid.text)
            if guid.get("isPermaLink", "true") == "true" and not absolute(guid.text):
                problems.append(f"{where}: permalink guid not absolute")
    if len(guids) != len(set(guids)):
        problems.append("items: duplicate guids")
    return problems


def _rfc822(value: str) -> bool:
    if not RFC822.match(value):
        return False
    try:
        parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return True


def _atom(text: str) -> list[str]:
    problems: list[str] = []
    root = ElementTree.fromstring(text.encode())
    if root.tag != f"{ATOM}feed":
        return ["root: not an Atom <feed>"]
    for name in ("id", "title", "updated"):
        if not (root.findtext(f"{ATOM}{name}") or "").strip():
            problems.append(f"feed: missing <{name}>")
    if not iri(root.findtext(f"{ATOM}id")):
        problems.append("feed: <id> is not an IRI")
    if not RFC3339.match(root.findtext(f"{ATOM}updated") or ""):
        problems.append("feed: <updated> not RFC 3339")
    links = root.findall(f"{ATOM}link")
    if not any(link.get("rel") == "self" and absolute(link.get("href")) for link in links):
        problems.append("feed: no absolute link rel=self")
    feed_author = root.find(f"{ATOM}author/{ATOM}name") is not None
    ids = []
    for index, entry in enumerate(root.findall(f"{ATOM}entry")):
        where = f"entry {index}"
        for name in ("id", "title", "updated"):
            if entry.find(f"{ATOM}{name}") is None:
                problems.append(f"{where}: missing <{name}>")
        ids.append(entry.findtext(f"{ATOM}id"))
        if not iri(ids[-1]):
            problems.append(f"{where}: <id> is not an IRI")
        for name in ("updated", "published"):
            value = entry.findtext(f"{ATOM}{name}")
            if value is not None and not RFC3339.match(value):
                problems.append(f"{where}: <{name}> {value!r} not RFC 3339")
        if not feed_author and entry.find(f"{ATOM}author/{ATOM}name") is None:
            problems.append(f"{where}: no author (and none on the feed)")
        for link in entry.findall(f"{ATOM}link"):
            if not absolute(link.get("href")):
                problems.append(f"{where}: link {link.get('href')!r} not absolute")
        content = entry.find(f"{ATOM}content")
        if content is not None:
            if content.get("type") == "html":
                problems += _text_only(content, f"{where} <content>")
        elif not [link for link in entry.findall(f"{ATOM}link") if link.get("rel", "alternate") == "alternate"]:
            problems.append(f"{where}: neither content nor an alternate link")
    if len(ids) != len(set(ids)):
        problems.append("entries: duplicate ids")
    return problems


def _json(text: str) -> list[str]:
    problems: list[str] = []
    doc = json.loads(text)
    if doc.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append("version: not JSON Feed 1.1")
    if not isinstance(doc.get("title"), str) or not doc["title"]:
        problems.append("missing title")
    for name in ("home_page_url", "feed_url"):
        if name in doc and not absolute(doc[name]):
            problems.append(f"{name} not absolute")
    if not isinstance(doc.get("items"), list):
        return [*problems, "items: not a list"]
    ids = []
    for index, item in enumerate(doc["items"]):
        where = f"item {index}"
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"{where}: id must be a non-empty string")
        ids.append(item.get("id"))
        if "content_html" not in item and "content_text" not in item:
            problems.append(f"{where}: needs content_html or content_text")
        for name in ("date_published", "date_modified"):
            if name in item and not RFC3339.match(item[name]):
                problems.append(f"{where}: {name} not RFC 3339")
        if "url" in item and not absolute(item["url"]):
            problems.append(f"{where}: url not absolute")
        if "tags" in item and not all(isinstance(t, str) for t in item["tags"]):
            problems.append(f"{where}: tags must be strings")
    if len(ids) != len(set(ids)):
        problems.append("items: duplicate ids")
    return problems
