"""Feeds over the archive: which statements a feed holds, read through the same listing as search.

A feed is named by a `FeedSpec` (`tag/serbia`, `channel/2`, `search/kosovo serbia`, `alerts/1`,
`digest/1`): the web viewer serves it (bot/web/feeds.py), `tgmonitor feeds build` writes it
(bot/cli/feeds_cmd.py), and both get the same `Feed` from `build_feed`, rendered by the pure
bot/core/feeds.py. Statements are folded by `bot.app.listing.collect_items` (the digest's
`fold_items`) and their carriers are the posts sharing a folding key with them across the archive
(the keys `Browse.copies` and `bot.app.listing.seen_in_channels` follow), so "seen in N channels" reads
the same in a feed as on every other screen.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import quote, urlencode

from bot.app.digest_jobs import subscription_digest, window_posts
from bot.app.listing import MAX_SCANNED_POSTS, collect_items
from bot.core.digest import DigestItem, fold_items
from bot.core.digest_render import render_html
from bot.core.feed_items import digest_entry, stable_id, statement_entry
from bot.core.feeds import EXTENSIONS, FORMATS, Feed, FeedEntry, FeedFormat, newest
from bot.core.numbers import ascii_int
from bot.models import StoredPost
from storage.browse import Browse
from storage.export_rows import ExportReads
from storage.store import Store

FeedKind = Literal["tag", "channel", "search", "alerts", "digest"]
KINDS: tuple[FeedKind, ...] = ("tag", "channel", "search", "alerts", "digest")
FEED_ITEMS = 50  # entries per feed: what readers poll for; `--items` and `?items=` change it
MAX_FEED_ITEMS = 10_000
MAX_FILE_NAME = 120  # bytes of a static feed's file name before its extension
MAX_ARG_CHARS = 200  # a tag, channel or query in a feed's name (queries are bounded like search's)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COPIES_PAGE = 2000  # posts whose copies one query reads
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_UNSAFE_FILE = re.compile(r"[/\\\x00-\x1f\x7f]")  # what cannot be in a file name (or would leave the directory)


class FeedError(ValueError):
    """A feed name that names nothing (unknown kind, subscription or channel); a 404, not a 500."""


@dataclass(frozen=True, slots=True)
class FeedSpec:
    kind: FeedKind
    arg: str

    @classmethod
    def parse(cls, path: str) -> FeedSpec:
        """`tag/serbia` (the part of a feed's URL between /feeds/ and the extension, decoded)."""
        kind, _, arg = path.strip("/").partition("/")
        if kind not in KINDS:
            raise FeedError(f"unknown feed kind {_shown(kind)}: expected one of {', '.join(KINDS)}")
        arg = arg.strip()
        if not arg or len(arg) > MAX_ARG_CHARS:
            raise FeedError(f"feed {kind}/…: expected a name of 1 to {MAX_ARG_CHARS} characters")
        if _CONTROL.search(arg):  # no tag or channel holds one; PostgreSQL refuses text with a NUL (a 500)
            raise FeedError(f"feed {kind}/{_shown(arg)}: a feed's name has no control characters")
        if kind in ("alerts", "digest") and ascii_int(arg) is None:  # a 64-bit id: more digits overflow SQLite
            raise FeedError(
                f"feed {kind}/{arg}: expected a subscription number (tgmonitor digest --list-subscriptions)"
            )
        if kind == "tag":
            arg = arg.lstrip("#").casefold()
        return cls(kind, arg)

    @property
    def path(self) -> str:
        """The feed's name, as its key is made from: the same for its three formats."""
        return f"{self.kind}/{self.arg}"

    def url_path(self, fmt: FeedFormat) -> str:
        """Relative URL of the feed in `fmt` under /feeds/: `tag/serbia.atom` (the name percent-encoded)."""
        return f"{self.kind}/{quote(self.arg, safe='')}.{EXTENSIONS[fmt]}"

    def file_path(self, fmt: FeedFormat) -> str:
        """The static file's relative path, as a web server finds it from `static_url_path`."""
        name = _UNSAFE_FILE.sub("_", self.arg).lstrip(".") or "_"
        if len(name.encode()) > MAX_FILE_NAME:  # file systems stop at 255 bytes; keep it unique by a hash
            name = name[:40] + "-" + hashlib.sha256(self.arg.encode()).hexdigest()[:16]
        return f"{self.kind}/{name}.{EXTENSIONS[fmt]}"

    def static_url_path(self, fmt: FeedFormat) -> str:
        return quote(self.file_path(fmt))


def _shown(name: str) -> str:
    """A name as an error quotes it: cut at 60 characters (a URL or argument may be 100 KB long)."""
    return repr(name[:60]) + ("…" if len(name) > 60 else "")


def split_format(rest: str) -> tuple[str, FeedFormat]:
    """`serbia.atom` -> (`serbia`, `atom`)."""
    name, dot, ext = rest.rpartition(".")
    if not dot or ext not in FORMATS:
        raise FeedError(f"feed {_shown(rest)}: the name must end in .rss, .atom or .json")
    return name, ext


@dataclass(frozen=True, slots=True)
class FeedContext:
    store: Store
    base_url: str  # absolute, no trailing slash: where the viewer's pages (and /feeds/) are served
    pages: bool = True  # the viewer's pages are served at base_url (False: static files, no pages)


def carriers(items: Sequence[DigestItem], store: Store) -> list[list[StoredPost]]:
    """Every post carrying each statement across the archive: the items' posts and their copies (the
    keys `Browse.copies` follows, one hop), folded again by `fold_items`. Copies are read for 2,000
    posts per statement, not per item: a 10,000-entry feed is a few queries, not 10,000."""
    posts = [p for item in items for p in item.posts]
    reads = ExportReads(store)
    found = {p.id: p for p in posts}
    for start in range(0, len(posts), COPIES_PAGE):
        for copy in reads.copies(posts[start : start + COPIES_PAGE]):
            found.setdefault(copy.id, copy)
    home = {p.id: item for item in fold_items(found.values()) for p in item.posts}
    return [list(home[item.first.id].posts) for item in items]


def _statement_entries(ctx: FeedContext, items: Sequence[DigestItem]) -> list[FeedEntry]:
    return [
        statement_entry(item, copies, ctx.base_url)
        for item, copies in zip(items, carriers(items, ctx.store), strict=True)
    ]


def _channel_arg(arg: str) -> str | int:
    return int(arg) if arg.isascii() and arg.isdecimal() else arg


def _statements(ctx: FeedContext, spec: FeedSpec, items: int) -> tuple[list[DigestItem], str, str, str]:
    """(items, title, description, page path) of a tag, channel or search feed."""
    scan = max(MAX_SCANNED_POSTS, items * 4)
    if spec.kind == "tag":
        tag = Browse(ctx.store).tag_display(spec.arg)
        shown = tag.display if tag else spec.arg
        found = collect_items(ctx.store, want=items, tags=[spec.arg], max_posts=scan)
        return found, f"tgmonitor · {shown}", f"Statements tagged {shown}", f"/tag/{quote(spec.arg, safe='')}"
    if spec.kind == "channel":
        row = ctx.store.find_channel(_channel_arg(spec.arg))
        if row is None:
            raise FeedError(f"feed channel/{spec.arg}: there is no such channel in the archive")
        found = collect_items(ctx.store, want=items, channel=row.id, max_posts=scan)
        return found, f"tgmonitor · {row.label}", f"Posts of {row.title or row.label}", f"/channel/{row.id}"
    found = collect_items(ctx.store, want=items, query=spec.arg, max_posts=scan)
    return (
        found,
        f"tgmonitor · search: {spec.arg}",
        f"Statements matching {spec.arg!r}",
        "/?" + urlencode({"q": spec.arg}),
    )


def _alert_items(ctx: FeedContext, subscription_id: int, items: int) -> tuple[list[DigestItem], str]:
    sub = ctx.store.subscriptions.get(subscription_id)
    if sub is None:
        raise FeedError(f"feed alerts/{subscription_id}: there is no such subscription")
    sent = ctx.store.alert_log.sent(sub.chat_id)[-items:]
    posts = ctx.store.get_posts([post_id for post_id, _ in sent])
    folded = sorted(fold_items(posts), key=lambda item: max(p.id for p in item.posts), reverse=True)
    return folded[:items], f"chat {sub.chat_id}"


def _digest_entries(ctx: FeedContext, subscription_id: int, items: int) -> tuple[list[FeedEntry], str]:
    """One entry per digest sent, newest first, with the digest's HTML.

    The `digests` table keeps a window's messages only while sending (storage/digests.py), so a sent
    digest is rebuilt from its window by the job's own code (`window_posts`, `subscription_digest`,
    `render_html`): it reads as sent unless posts of that window were edited or imported since.
    """
    sub = ctx.store.subscriptions.get(subscription_id)
    if sub is None:
        raise FeedError(f"feed digest/{subscription_id}: there is no such subscription")
    history = ctx.store.digest_log.history(subscription_id)
    records = [r for r in history if r.status == "sent" and r.parts_total > 0][-items:]  # 0: empty, skipped
    entries = []
    for record in reversed(records):
        start, end = record.window.start, record.window.end
        posts, changes = window_posts(ctx.store, start, end, sub.tags)
        digest = subscription_digest(posts, start, end, sub.tags, changes)
        local = end.astimezone(sub.tz)
        entries.append(
            digest_entry(
                subscription_id,
                f"{digest.title} · {local:%Y-%m-%d}",
                end,
                record.sent_at or record.started_at,
                render_html(digest, sub.tz),
                f"{ctx.base_url}/day/{local.date().isoformat()}" if ctx.pages else f"{ctx.base_url}/",
            )
        )
    label = ", ".join(sub.tags) or "all posts"
    return entries, label


def build_feed(ctx: FeedContext, spec: FeedSpec, *, items: int = FEED_ITEMS) -> Feed:
    """The feed `spec` names, its newest `items` entries first. Raises FeedError, QueryError."""
    items = max(1, min(items, MAX_FEED_ITEMS))
    page = "/"
    if spec.kind in ("tag", "channel", "search"):
        found, title, description, page = _statements(ctx, spec, items)
        entries = _statement_entries(ctx, found[:items])
    elif spec.kind == "alerts":
        alerted, chat = _alert_items(ctx, int(spec.arg), items)
        entries = _statement_entries(ctx, alerted)
        title, description = f"tgmonitor · alerts {spec.arg}", f"Alerts sent to {chat}"
    else:
        entries, label = _digest_entries(ctx, int(spec.arg), items)
        title, description = f"tgmonitor · digest {spec.arg}", f"Daily digest ({label})"
    return Feed(
        id=stable_id("feed", spec.path),
        title=title,
        description=description,
        home_url=ctx.base_url + (page if ctx.pages else "/"),
        updated=newest(entries, _EPOCH),  # an empty feed: a fixed date, so its ETag holds
        entries=tuple(entries),
    )
