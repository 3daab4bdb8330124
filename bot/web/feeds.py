"""`/feeds/<kind>/<name>.<rss|atom|json>`: the archive's feeds, served by `tgmonitor web`.

Feed readers poll, so every answer carries an ETag (a hash of the body) and Last-Modified (the
feed's newest entry), and a conditional request that matches gets a bodyless 304. Behind WEB_TOKEN
a reader cannot do basic auth everywhere, so `FeedKeyGate` lets a request through when its `?key=`
is that feed's own key (bot/core/feed_keys.py): the key opens one feed, never the viewer.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import parse_qs, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.app.feeds import FEED_ITEMS, FeedContext, FeedError, FeedSpec, build_feed, split_format
from bot.core.feed_keys import key_matches
from bot.core.feeds import MEDIA_TYPES, FeedFormat, render
from bot.web.forms import FormError, bounded_int
from bot.web.security import ASGIApp, Receive, Scope, Send
from bot.web.state import state_of
from storage.store import QueryError

MAX_WEB_ITEMS = 500  # ?items= above this is refused: a page of SQL time per poll is the viewer's limit
PREFIX = "/feeds/"


def parse_feed_path(rest: str) -> tuple[FeedSpec, FeedFormat]:
    """`tag/serbia.atom` -> (FeedSpec tag/serbia, "atom"); FeedError for anything else."""
    name, fmt = split_format(rest)
    return FeedSpec.parse(name), fmt


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def not_modified(request: Request, etag: str, updated: datetime) -> bool:
    """RFC 9110: If-None-Match wins when present; else If-Modified-Since against the feed's date."""
    match = request.headers.get("if-none-match")
    if match is not None:
        offered = {tag.strip().removeprefix("W/") for tag in match.split(",")}
        return etag in offered or "*" in offered
    since = request.headers.get("if-modified-since")
    if since:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return updated.astimezone(UTC).replace(microsecond=0) <= when
    return False


def feed_page(request: Request) -> Response:
    state = state_of(request)
    try:
        spec, fmt = parse_feed_path(request.path_params["rest"])
    except FeedError as exc:
        raise HTTPException(404, str(exc)) from None
    # the forms' number guard: ASCII digits, their count checked before int() (5,000 digits raised: a 500)
    items = bounded_int(request.query_params, "items", FEED_ITEMS, 1, MAX_WEB_ITEMS)
    base = state.options.feed_base_url or str(request.base_url).rstrip("/")
    with state.reading() as reader:
        ctx = FeedContext(reader.store, base)
        try:
            feed = build_feed(ctx, spec, items=items)
        except FeedError as exc:
            raise HTTPException(404, str(exc)) from None
        except QueryError as exc:  # a search feed's rule: a 400 that names the feed, as `feeds build` does
            raise FormError(f"feed {spec.path}: {exc}") from None
    query = {k: v for k, v in (("key", request.query_params.get("key")),) if v}
    if items != FEED_ITEMS:
        query["items"] = str(items)
    self_url = f"{base}{PREFIX}{spec.url_path(fmt)}" + (f"?{urlencode(query)}" if query else "")
    body = render(feed, fmt, self_url).encode("utf-8")
    etag = etag_of(body)
    headers = {"etag": etag, "last-modified": format_datetime(feed.updated.astimezone(UTC), usegmt=True)}
    if not_modified(request, etag, feed.updated):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)


ROUTES = [Route(PREFIX + "{rest:path}", feed_page, methods=["GET", "HEAD"])]


class FeedKeyGate:
    """Lets `/feeds/…?key=<that feed's key>` past the token check; everything else goes to `guarded`."""

    def __init__(self, guarded: ASGIApp, open_app: ASGIApp, secret: bytes) -> None:
        self.guarded = guarded
        self.open_app = open_app
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._has_key(scope):
            await self.open_app(scope, receive, send)
            return
        await self.guarded(scope, receive, send)

    def _has_key(self, scope: Scope) -> bool:
        path = scope.get("path", "")
        if not path.startswith(PREFIX):
            return False
        keys = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("key", [])
        if len(keys) != 1:
            return False
        try:
            spec, _ = parse_feed_path(path[len(PREFIX) :])
        except FeedError:
            return False
        return key_matches(self.secret, spec.path, keys[0])
