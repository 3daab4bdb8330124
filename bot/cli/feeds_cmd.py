"""`tgmonitor feeds build DIR` and `tgmonitor feeds url NAME`: feeds as static files, and readers' URLs.

`build` writes every feed in RSS, Atom and JSON Feed under DIR (tag/serbia.atom, channel/2.rss, …)
for any static host, with an index.html and a feeds.opml to subscribe to them all. It is
incremental: a file is replaced only when its bytes change (feeds render byte-identical from the same
archive), through a temporary file and a rename, so a reader never sees half a feed. The archive is
opened read-only, like the web viewer's, so it runs beside the service.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.app.feeds import FEED_ITEMS, MAX_FEED_ITEMS, FeedContext, FeedError, FeedSpec, build_feed
from bot.cli import argtypes
from bot.cli.context import CliContext
from bot.core.feed_keys import feed_key, feed_secret
from bot.core.feeds import FORMATS, FeedFormat, render, xml_safe
from storage.readonly import ReadOnlyArchive
from storage.store import QueryError

TOP_TAGS = 50  # tags given a feed by default: the most used hashtags and topics


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("feeds", help="RSS/Atom/JSON feeds: write them as static files, or print a reader's URL")
    actions = parser.add_subparsers(dest="feeds_action", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build",
        help="write feeds under DIR (only the ones that changed)",
        description="Default feeds: every channel, the top tags, every subscription's digest and alerts; "
        "--tag/--channel/--search choose instead.",
    )
    build.add_argument("dir", type=Path, metavar="DIR")
    build.add_argument("--base-url", help="where DIR is published (default FEED_BASE_URL): feeds need absolute links")
    build.add_argument("--tag", action="append", type=argtypes.tag, default=[], help="a tag's feed (repeatable)")
    build.add_argument("--channel", action="append", default=[], help="a channel's feed (@name or id; repeatable)")
    build.add_argument(
        "--search", action="append", default=[], metavar="QUERY", help="a saved search's feed (repeatable)"
    )
    build.add_argument(
        "--top-tags", type=argtypes.non_negative_int, default=TOP_TAGS, help=f"default tag feeds (default {TOP_TAGS})"
    )
    build.add_argument(
        "--items",
        type=argtypes.int_range(1, MAX_FEED_ITEMS),
        default=FEED_ITEMS,
        help=f"entries per feed (default {FEED_ITEMS})",
    )
    url = actions.add_parser("url", help="a feed's URL for a feed reader, with its own key (not WEB_TOKEN)")
    url.add_argument("name", help="tag/serbia, channel/2, search/kosovo serbia, alerts/1, digest/1")
    url.add_argument("--format", choices=FORMATS, default="atom")
    url.add_argument("--base-url", help="where `tgmonitor web` is reached (default FEED_BASE_URL)")
    return parser


def _base_url(args: argparse.Namespace, ctx: CliContext) -> str:
    base = args.base_url or ctx.settings.feed_base_url
    if not base:
        raise ValueError("feeds need absolute links: pass --base-url https://… or set FEED_BASE_URL")
    if not base.startswith(("https://", "http://")) or " " in base:
        raise ValueError(f"--base-url: expected an http(s) URL, got {base!r}")
    return base.rstrip("/")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.feeds_action == "url":
        return _url(args, ctx)
    return _build(args, ctx)


def _url(args: argparse.Namespace, ctx: CliContext) -> int:
    spec = FeedSpec.parse(args.name)
    base = _base_url(args, ctx)
    secret = feed_secret(ctx.settings.feed_secret, ctx.settings.web_token)
    url = f"{base}/feeds/{spec.url_path(args.format)}"
    if secret is not None:
        url += f"?key={feed_key(secret, spec.path)}"
    print(url)
    return 0


@dataclass
class BuildTally:
    written: int = 0
    unchanged: int = 0


def write_if_changed(path: Path, body: bytes, tally: BuildTally) -> None:
    """Replace `path` only when its bytes differ, atomically (temporary file, then rename)."""
    try:
        if path.read_bytes() == body:
            tally.unchanged += 1
            return
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
        os.chmod(tmp, 0o644)  # published files: readable by the web server (the CLI's umask is 077)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    tally.written += 1


def default_specs(ctx: FeedContext, top_tags: int) -> list[FeedSpec]:
    store = ctx.store
    specs = [FeedSpec("channel", str(c.id)) for c in store.channels()]
    specs += [FeedSpec("tag", t.key) for t, _ in store.top_tags(limit=top_tags, kinds=("hashtag", "topic"))]
    for sub in store.subscriptions.list(enabled_only=False):
        specs += [FeedSpec("digest", str(sub.id)), FeedSpec("alerts", str(sub.id))]
    return specs


def _build(args: argparse.Namespace, ctx: CliContext) -> int:
    base = _base_url(args, ctx)
    chosen = [
        *(FeedSpec.parse(f"tag/{t}") for t in args.tag),
        *(FeedSpec.parse(f"channel/{c}") for c in args.channel),
        *(FeedSpec.parse(f"search/{q}") for q in args.search),
    ]
    if args.dir.exists() and not args.dir.is_dir():
        raise ValueError(f"{args.dir} is not a directory")
    store = ReadOnlyArchive(ctx.location).store()
    tally = BuildTally()
    try:
        feed_ctx = FeedContext(store, base, pages=False)
        for spec in chosen:  # a --channel or --search that names nothing is refused before any file is written
            try:
                build_feed(feed_ctx, spec, items=1)
            except QueryError as exc:
                raise ValueError(f"feed {spec.path}: {exc}") from None
            except FeedError as exc:
                raise ValueError(str(exc)) from None
        specs = list(dict.fromkeys(chosen or default_specs(feed_ctx, args.top_tags)))
        listed: list[tuple[FeedSpec, str]] = []
        for spec in specs:
            try:
                feed = build_feed(feed_ctx, spec, items=args.items)
            except FeedError as exc:
                raise ValueError(str(exc)) from None
            for fmt in FORMATS:
                body = render(feed, fmt, f"{base}/{spec.static_url_path(fmt)}").encode("utf-8")
                write_if_changed(args.dir / spec.file_path(fmt), body, tally)
            listed.append((spec, feed.title))
        write_if_changed(args.dir / "index.html", _index(listed).encode("utf-8"), tally)
        write_if_changed(args.dir / "feeds.opml", _opml(listed, base).encode("utf-8"), tally)
    finally:
        store.close()
    print(
        f"feeds: {len(specs)} feeds × {len(FORMATS)} formats in {args.dir}: "
        f"{tally.written} files written, {tally.unchanged} unchanged",
        file=sys.stderr,
    )
    return 0


def _index(listed: list[tuple[FeedSpec, str]]) -> str:
    esc = html.escape
    rows = "\n".join(
        f"<li>{esc(title)}: "
        + " · ".join(f'<a href="{esc(spec.static_url_path(fmt), quote=True)}">{fmt}</a>' for fmt in FORMATS)
        + "</li>"
        for spec, title in listed
    )
    return (
        '<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>tgmonitor feeds</title>\n'
        f'<h1>tgmonitor feeds</h1>\n<p>All of them for a reader: <a href="feeds.opml">feeds.opml</a></p>\n'
        f"<ul>\n{rows}\n</ul>\n</html>\n"
    )


def _opml(listed: list[tuple[FeedSpec, str]], base: str) -> str:
    esc = html.escape
    fmt: FeedFormat = "atom"
    outlines = "\n".join(
        f'    <outline type="rss" text="{esc(xml_safe(title), quote=True)}" title="{esc(xml_safe(title), quote=True)}" '
        f'xmlUrl="{esc(base + "/" + spec.static_url_path(fmt), quote=True)}"/>'
        for spec, title in listed
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0">\n  <head><title>tgmonitor feeds</title></head>\n'
        f"  <body>\n{outlines}\n  </body>\n</opml>\n"
    )
