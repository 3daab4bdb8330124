"""Fetch one linked page politely and safely; report what happened, never raise for the network.

Politeness, per site (`www.` folded): one request at a time, at least ARTICLE_RATE between two
requests, longer after errors (doubling per consecutive 5xx/429, a Retry-After obeyed), robots.txt
read once an hour per origin and obeyed (ARTICLE_ROBOTS=false turns that off). A site asking for a
longer pause than a fetch may wait is reported as `Deferred`, so the worker reschedules instead of
sleeping.

Safety: every hop of a redirect chain is checked again (scheme, ARTICLE_DOMAINS /
ARTICLE_SKIP_DOMAINS, robots.txt, and, in the transport, the addresses connected to); at most
`max_redirects` hops; connect and read timeouts plus a total deadline over all hops and the
robots.txt reads they need (one clock for the whole fetch: `deadline=6` is 6 s, not 6 s per origin);
the body is capped as sent and as decompressed (bot/sources/http_guard.py); only HTML is kept.
A URL httpx cannot use (a hostile `Location: http:127.0.0.1:80/x`, a port past 65535) is a
`redirects` result with a one-line error, never an exception out of `fetch()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from bot.core.articles import FetchKind
from bot.core.links import canonical_url, domain_key, domain_refusal, explicitly_allowed, url_host
from bot.core.numbers import ascii_int
from bot.sources.http_fetch import BadEncoding, TooLarge, read_body
from bot.sources.http_guard import GuardedTransport, RefusedAddress

USER_AGENT = "Mozilla/5.0 (compatible; tgmonitor/0.1; +https://github.com/tgmonitor/tgmonitor)"
ROBOTS_AGENT = "tgmonitor"  # the token robots.txt rules name
ROBOTS_TTL = 3600.0
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 asks crawlers to read at least 500 KiB
MAX_BACKOFF = 600.0  # a site's pause after repeated errors never exceeds this (a Retry-After may)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    allow: tuple[str, ...] = ()  # ARTICLE_DOMAINS ("*" or empty: any public host)
    skip: tuple[str, ...] = ()  # ARTICLE_SKIP_DOMAINS
    max_bytes: int = 5 * 1024 * 1024
    min_gap: float = 2.0  # ARTICLE_RATE, seconds between two requests to one site
    robots: bool = True
    user_agent: str = USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 45.0  # all hops of one fetch together
    max_redirects: int = 5
    max_wait: float = 60.0  # longer pauses are reported as Deferred instead of waited out


@dataclass(frozen=True, slots=True)
class FetchResult:
    kind: FetchKind
    url: str
    final_url: str
    http_status: int | None = None
    body: bytes = b""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None
    error: str | None = None


class Deferred(Exception):
    """The site is pausing for longer than a fetch waits; try this link again in `delay` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"site paused for {delay:.0f}s")
        self.delay = delay


@dataclass
class DomainGate:
    """One request at a time per site, spaced by `min_gap`, longer after errors."""

    min_gap: float
    max_wait: float = 60.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _next: dict[str, float] = field(default_factory=dict)
    _failures: dict[str, int] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def slot(self, site: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(site, asyncio.Lock())
        async with lock:
            wait = self._next.get(site, 0.0) - self.clock()
            if wait > self.max_wait:
                raise Deferred(wait)
            if wait > 0:
                await self.sleep(wait)
            try:
                yield
            finally:
                self._next[site] = max(self._next.get(site, 0.0), self.clock() + self.min_gap)

    def succeeded(self, site: str) -> None:
        self._failures.pop(site, None)

    def failed(self, site: str, retry_after: float | None = None) -> float:
        """Push the site's next request back; returns the pause."""
        count = self._failures.get(site, 0) + 1
        self._failures[site] = count
        pause = min(max(self.min_gap, 1.0) * 2**count, MAX_BACKOFF)
        if retry_after is not None:
            pause = max(pause, retry_after)
        self._next[site] = max(self._next.get(site, 0.0), self.clock() + pause)
        return pause


def retry_after_seconds(raw: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not raw:
        return None
    raw = raw.strip()
    if (seconds := ascii_int(raw)) is not None:
        return float(seconds)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class _Robots:
    parser: RobotFileParser
    expires: float


class ArticleFetcher:
    def __init__(
        self,
        policy: FetchPolicy,
        *,
        client: httpx.AsyncClient | None = None,
        gate: DomainGate | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.gate = gate or DomainGate(policy.min_gap, policy.max_wait, clock=clock)
        self.client = client or httpx.AsyncClient(
            transport=GuardedTransport(lambda host: explicitly_allowed(host, policy.allow)),
            timeout=httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout),
            follow_redirects=False,
            trust_env=False,
        )
        self._robots: dict[str, _Robots] = {}

    async def aclose(self) -> None:
        await self.client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET `url`, following redirects; raises only Deferred (and cancellation)."""
        conditional = {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if v}
        result = await self._follow(url, conditional, html=True, started=self.clock())
        return replace(result, url=url)

    async def _follow(self, url: str, extra: dict[str, str], *, html: bool, started: float) -> FetchResult:
        current, seen = url, {canonical_url(url) or url}
        for _hop in range(self.policy.max_redirects + 1):
            host = url_host(current) if _usable(current) else ""
            if not host:
                return FetchResult("redirects", url, current, error=f"not a web address: {current[:300]!r}")
            refusal = domain_refusal(host, self.policy.allow, self.policy.skip)
            if refusal:
                return FetchResult("policy", url, current, error=refusal)
            if html and self.policy.robots:
                blocked = await self._robots_verdict(current, started)
                if blocked is not None:
                    return blocked
            result, location = await self._get(current, extra, html=html, started=started)
            if location is None:
                return result
            nxt = urljoin(current, location).split("#", 1)[0]
            key = canonical_url(nxt) or nxt
            if key in seen:
                return FetchResult("redirects", url, nxt, result.http_status, error=f"redirect loop at {nxt}")
            seen.add(key)
            current = nxt
        return FetchResult("redirects", url, current, error=f"more than {self.policy.max_redirects} redirects")

    async def _get(
        self, url: str, extra: dict[str, str], *, html: bool, started: float
    ) -> tuple[FetchResult, str | None]:
        """One request (one hop); the Location of a redirect is returned beside the result."""
        site = domain_key(url_host(url))
        headers = {
            "User-Agent": self.policy.user_agent,
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1" if html else "text/plain,*/*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
            "Accept-Language": "en;q=0.9, bg;q=0.8, ru;q=0.8, *;q=0.5",
            **extra,
        }
        cap = self.policy.max_bytes if html else ROBOTS_MAX_BYTES
        async with self.gate.slot(site):
            remaining = self.policy.deadline - (self.clock() - started)
            try:
                if remaining <= 0:
                    raise TimeoutError
                async with asyncio.timeout(remaining), self.client.stream("GET", url, headers=headers) as response:
                    status = response.status_code
                    if status in _REDIRECTS and response.headers.get("location"):
                        return FetchResult("ok", url, url, status), response.headers["location"]
                    result = await self._response(url, response, html=html, cap=cap)
            except (TimeoutError, httpx.TimeoutException):
                result = FetchResult(
                    "timeout", url, url, error=f"no complete answer within {self.policy.deadline:.0f}s"
                )
            except RefusedAddress as exc:
                return FetchResult("refused", url, url, error=str(exc)), None
            except httpx.InvalidURL as exc:  # httpx reads a redirect's Location itself, even unfollowed
                return FetchResult("redirects", url, url, error=f"unusable redirect: {exc}"), None
            except httpx.TransportError as exc:
                result = FetchResult("network", url, url, error=f"{exc.__class__.__name__}: {exc}".strip(": "))
        if result.kind in ("server_error", "rate_limited", "timeout", "network"):
            self.gate.failed(site, result.retry_after)
        elif result.kind in ("ok", "not_modified"):
            self.gate.succeeded(site)
        return result, None

    async def _response(self, url: str, response: httpx.Response, *, html: bool, cap: int) -> FetchResult:
        status = response.status_code
        meta = {
            "http_status": status,
            "etag": response.headers.get("etag"),
            "last_modified": response.headers.get("last-modified"),
        }
        if status == 304:
            return FetchResult("not_modified", url, url, **meta)
        if status == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"))
            return FetchResult("rate_limited", url, url, retry_after=wait, error="429 Too Many Requests", **meta)
        if status >= 500:
            wait = retry_after_seconds(response.headers.get("retry-after"))
            return FetchResult("server_error", url, url, retry_after=wait, error=f"HTTP {status}", **meta)
        if status in (404, 410):
            return FetchResult("gone", url, url, error=f"HTTP {status}", **meta)
        if status != 200:
            return FetchResult("http_error", url, url, error=f"HTTP {status}", **meta)
        kind = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if html and kind and kind not in _HTML_TYPES:
            return FetchResult("not_html", url, url, error=f"not HTML: {kind}", **meta)
        try:
            body = await read_body(response, cap)
        except TooLarge:
            limit = f"{cap / 1_048_576:g} MB"
            return FetchResult("too_large", url, url, error=f"body over {limit} (ARTICLE_MAX_MB)", **meta)
        except BadEncoding as exc:
            return FetchResult("bad_encoding", url, url, error=str(exc), **meta)
        if html and not kind and not _looks_like_html(body):
            return FetchResult("not_html", url, url, error="not HTML (no Content-Type, no <html>)", **meta)
        return FetchResult("ok", url, url, body=body, charset=response.charset_encoding, **meta)

    # ------------------------------------------------------------------ robots.txt
    async def _robots_verdict(self, url: str, started: float) -> FetchResult | None:
        """None when robots.txt lets us fetch `url`; else the result to report (refusal or failure)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        cached = self._robots.get(origin)
        if cached is None or cached.expires <= self.clock():
            got = await self._follow(origin + "/robots.txt", {}, html=False, started=started)
            parser = RobotFileParser()
            if got.kind == "ok" and got.http_status == 200:
                parser.parse(got.body.decode(got.charset or "utf-8", errors="replace").splitlines())
            elif got.kind in ("gone", "http_error", "not_html", "too_large", "bad_encoding", "redirects", "policy"):
                parser.parse([])  # RFC 9309: an unavailable robots.txt allows everything
            elif got.kind == "refused":
                return FetchResult("refused", url, url, error=got.error)
            else:
                # Unreachable (5xx, timeout, network): nothing may be fetched now; the link is retried.
                error = f"robots.txt unreachable: {got.error}"
                return FetchResult(got.kind, url, url, got.http_status, retry_after=got.retry_after, error=error)
            cached = _Robots(parser, self.clock() + ROBOTS_TTL)
            self._robots[origin] = cached
        if cached.parser.can_fetch(ROBOTS_AGENT, url):
            return None
        return FetchResult("robots", url, url, error="disallowed by robots.txt (ARTICLE_ROBOTS=false ignores it)")


def _usable(url: str) -> bool:
    """An http(s) URL with a host and a port that exists, that httpx accepts as it is."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # ValueError past 65535 or not a number
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _looks_like_html(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head or b"<body" in head
