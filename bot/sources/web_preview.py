"""Poll public channels through `t.me/s/CHANNEL` without any Telegram credentials.

The adapter only fetches pages and moves them into the store; what a page means is
`web_preview_parser`'s business and what a post means is the pipeline's.  Its own rules are about
being a polite, crash-safe HTTP client:

* the newest page is fetched with the validators (ETag / Last-Modified) of the last good fetch, so an
  unchanged channel costs one 304; validators are remembered only after the posts are committed, so
  a crash between fetch and save can never turn into a 304 that hides posts;
* `?before=` pages are followed until the checkpoint is reached, at most `max_pages` per poll; the
  very first poll of a channel takes only the newest page ("monitor from now", backfill is explicit);
* the newest page is saved whole on every poll (when it changed: no 304), so edits of the last ~20
  posts reach the archive's edit history; older pages only add what is above the checkpoint;
* posts and the moved checkpoint are written in one transaction (`PostSink.save`, the ingest path);
* 429, 5xx and transport errors are retried with exponential backoff; a `Retry-After` is obeyed,
  and one longer than `max_wait` fails the poll instead of sleeping for it (the next poll retries).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from bot.core.channels import ChannelIdentError, parse_channel
from bot.core.numbers import ascii_int
from bot.models import ChannelRef, RawPost, SaveResult, SaveTally
from bot.sources.http_fetch import BadEncoding, Fetched, TooLarge, fetch_bounded
from bot.sources.ports import ChannelBook, PostSink
from bot.sources.web_preview_parser import NotAPreviewPage, WebPage, parse_page, parse_saved_page
from bot.version import package_version

__all__ = [
    "DEFAULT_USER_AGENT",
    "NotAPreviewPage",
    "WebPreviewError",
    "WebPreviewSource",
    "backfill_web",
    "parse_saved_page",
    "resolve_channel",
]

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Progress = Callable[[int], None]

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 524})


DEFAULT_USER_AGENT = f"Mozilla/5.0 (compatible; tgmonitor/{package_version()}; +https://t.me/s/)"


class WebPreviewError(RuntimeError):
    """A channel could not be read from its web preview; the message is safe to store as last_error."""


def resolve_channel(name: str) -> str:
    """`@name`, `name`, `https://t.me/name`, `t.me/s/name`, `t.me/name/123` -> `name` (bot/core/channels.py)."""
    try:
        ident = parse_channel(name)
    except ChannelIdentError as exc:
        raise ValueError(f"cannot read a public channel name from {name!r}: {exc}") from None
    if ident.username is None:
        raise ValueError(
            f"cannot read a public channel name from {name!r}: expected @name, name, https://t.me/name "
            "or t.me/s/name (private channels and numeric ids have no web preview)"
        )
    return ident.username


@dataclass(frozen=True, slots=True)
class _Validators:
    etag: str | None
    last_modified: str | None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class WebPreviewSource:
    def __init__(
        self,
        client: httpx.AsyncClient,
        sink: PostSink,
        channels: ChannelBook,
        *,
        base_url: str,
        user_agent: str,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        timeout: float = 20.0,
        deadline: float = 60.0,
        max_bytes: int = 5 * 2**20,
        max_pages: int = 20,
        page_delay: float = 0.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.client = client
        self.sink = sink
        self.channels = channels
        self.base_url = base_url.rstrip("/")
        self.user_agent = user_agent
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.timeout = timeout
        self.deadline = deadline  # seconds for one whole request, however slowly the server answers
        self.max_bytes = max_bytes  # a page is ~100 KB; the cap counts decompressed bytes
        self.max_pages = max_pages
        self.page_delay = page_delay
        self._sleep = sleep
        self._validators: dict[str, _Validators] = {}

    # ------------------------------------------------------------------------------------- polling
    async def poll(self, channel: str) -> SaveResult:
        """New posts since the checkpoint; the failure (if any) is recorded on the channel and re-raised."""
        name = resolve_channel(channel)
        # A new channel is created by the first save, from the page, so it gets its title and source.
        row = self.channels.find_channel(name)
        try:
            result, ref = await self._poll(name, row.last_message_id if row else 0)
        except Exception as exc:
            channel_id = row.id if row else self.channels.ensure_channel(ChannelRef(username=name), "web")
            self.channels.record_poll(channel_id, error=_describe(exc))
            raise
        self.channels.record_poll(row.id if row else self.channels.ensure_channel(ref, "web"), error=None)
        return result

    async def poll_all(self, channels: Iterable[str]) -> dict[str, SaveResult | Exception]:
        """One channel after another (gentler on t.me's rate limits); a failure never stops the rest."""
        results: dict[str, SaveResult | Exception] = {}
        for channel in channels:
            try:
                results[channel] = await self.poll(channel)
            except Exception as exc:
                log.warning("web preview poll of %s failed: %s", channel, _describe(exc))
                results[channel] = exc
        return results

    async def _poll(self, name: str, checkpoint: int) -> tuple[SaveResult, ChannelRef]:
        validators = self._validators.get(name)
        response = await self._get(self._page_url(name), validators.headers() if validators else {})
        if response.status == 304:
            return SaveResult(), ChannelRef(username=name)
        page = await self._parse(response, name)
        # The newest page is saved whole, archived posts too: re-reading them is how an edit (a changed
        # text, the "edited" mark) is noticed; an unchanged post writes nothing.
        fresh: dict[int, RawPost] = {p.message_id: p for p in page.posts}
        newest = page.max_id

        if checkpoint > 0:
            cursor, pages = page.before_cursor, 1
            oldest = page.min_id
            while cursor is not None and oldest is not None and oldest > checkpoint + 1:
                if pages >= self.max_pages:
                    log.warning(
                        "@%s: stopped after %d pages before reaching message %d; "
                        "run `tgmonitor backfill-web` to fill the gap",
                        name,
                        pages,
                        checkpoint,
                    )
                    break
                older = await self._older_page(name, cursor)
                pages += 1
                older_ids = [p.message_id for p in older.posts if p.message_id < oldest]
                if not older_ids:
                    break  # nothing older: the channel's first post, or a page that repeats itself
                fresh.update({p.message_id: p for p in older.posts if p.message_id > checkpoint})
                oldest, cursor = min(older_ids), older.before_cursor

        result = SaveResult()
        ref = self._channel_ref(page, name)
        if newest is not None:
            result = self.sink.save(sorted(fresh.values(), key=lambda p: p.message_id), checkpoint=(ref, newest))
        self._remember_validators(name, response)
        return result, ref

    # ------------------------------------------------------------------------------------ backfill
    async def backfill(
        self,
        channel: str,
        *,
        since: datetime | None = None,
        limit: int | None = None,
        progress: Progress | None = None,
    ) -> SaveResult:
        """History from the newest post back to `since` / `limit` / the channel's first post.

        Each page is saved as it arrives, so an interrupted backfill keeps what it fetched.  The
        checkpoint moves only when the history is contiguous from the newest post down to it;
        otherwise the poller still fetches what lies between.
        """
        name = resolve_channel(channel)
        row = self.channels.find_channel(name)
        checkpoint = row.last_message_id if row else 0
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)  # post dates are aware; a naive bound is read as UTC

        tally = SaveTally()
        taken = 0
        seen: set[int] = set()
        newest: int | None = None
        moved = False
        page = await self._parse(await self._get(self._page_url(name), {}), name)
        ref = self._channel_ref(page, name)
        while True:
            newest_first = sorted(
                (p for p in page.posts if p.message_id not in seen), key=lambda p: p.message_id, reverse=True
            )
            at_start = not newest_first or page.before_cursor is None
            if newest_first:
                seen.update(p.message_id for p in newest_first)
                newest = newest or newest_first[0].message_id
            batch = [p for p in newest_first if since is None or p.date >= since]
            if limit is not None:
                batch = batch[: max(0, limit - taken)]
            contiguous = bool(seen) and (checkpoint == 0 or at_start or min(seen) <= checkpoint + 1)
            mark = (ref, newest) if contiguous and not moved and newest is not None else None
            if batch or mark:
                tally.add(self.sink.save(list(reversed(batch)), checkpoint=mark))
                moved = moved or mark is not None
            taken += len(batch)
            if progress is not None and batch:
                progress(len(batch))
            if (
                at_start
                or (limit is not None and taken >= limit)
                or (since is not None and newest_first[-1].date < since)
            ):
                break
            if self.page_delay:
                await self._sleep(self.page_delay)
            assert page.before_cursor is not None
            page = await self._older_page(name, page.before_cursor)
        self.channels.record_poll(row.id if row else self.channels.ensure_channel(ref, "web"), error=None)
        return tally.result()

    # ---------------------------------------------------------------------------------------- HTTP
    def _page_url(self, name: str, before: int | None = None) -> str:
        url = f"{self.base_url}/s/{name}"
        return f"{url}?before={before}" if before is not None else url

    async def _older_page(self, name: str, before: int) -> WebPage:
        return await self._parse(await self._get(self._page_url(name, before), {}), name)

    async def _parse(self, fetched: Fetched, name: str) -> WebPage:
        """In a thread: a big page takes a while to parse, and the loop has other channels and the bot."""
        try:
            return await asyncio.to_thread(parse_page, fetched.text, base_url=self.base_url)
        except NotAPreviewPage as exc:
            raise WebPreviewError(f"{fetched.url}: not a web preview page for @{name} ({exc})") from exc

    async def _get(self, url: str, extra_headers: dict[str, str]) -> Fetched:
        """GET with bounded retries; returns a 200 or 304 response, raises WebPreviewError otherwise.

        Each attempt has a total `deadline` and a body cap; running into either is not retried (the
        next poll tries again), so a hostile server costs one deadline per poll, not minutes.
        """
        headers = {"User-Agent": self.user_agent, "Accept": "text/html", **extra_headers}
        attempt = 0
        while True:
            wait: float | None = None
            try:
                response = await fetch_bounded(
                    self.client,
                    url,
                    headers=headers,
                    timeout=self.timeout,
                    deadline=self.deadline,
                    max_bytes=self.max_bytes,
                )
            except TimeoutError:
                raise WebPreviewError(f"{url}: no complete answer within {self.deadline:g}s") from None
            except TooLarge:
                raise WebPreviewError(f"{url}: the page is over {self.max_bytes // 1024:,} KB") from None
            except BadEncoding as exc:
                raise WebPreviewError(f"{url}: {exc}") from None
            except httpx.TransportError as exc:
                problem = f"{url}: {exc.__class__.__name__}: {exc}".rstrip(": ")
            else:
                status = response.status
                if status in (200, 304):
                    return response
                if 300 <= status < 400:
                    raise WebPreviewError(
                        f"{url}: redirected to {response.headers.get('location', '?')} "
                        "(the channel does not exist or has no public web preview)"
                    )
                if status not in _RETRY_STATUSES and status < 500:
                    raise WebPreviewError(f"{url}: HTTP {status}")
                problem = f"{url}: HTTP {status}"
                wait = _retry_after(response.headers.get("retry-after"))
                if wait is not None and wait > self.max_wait:
                    limit = f"more than {self.max_wait:.0f}s"
                    raise WebPreviewError(f"{problem}: asked to wait {wait:.0f}s ({limit})")
            attempt += 1
            if attempt > self.max_retries:
                raise WebPreviewError(f"{problem} (gave up after {attempt} attempts)")
            delay = wait if wait is not None else min(self.max_wait, self.backoff * 2 ** (attempt - 1))
            log.info("%s; retry %d/%d in %.1fs", problem, attempt, self.max_retries, delay)
            await self._sleep(delay)

    # -------------------------------------------------------------------------------------- helpers
    def _remember_validators(self, name: str, response: Fetched) -> None:
        etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        if etag or modified:
            self._validators[name] = _Validators(etag, modified)
        else:
            self._validators.pop(name, None)

    @staticmethod
    def _channel_ref(page: WebPage, name: str) -> ChannelRef:
        if page.channel is not None and page.channel.username == name:
            return page.channel
        return ChannelRef(username=name, title=page.channel.title if page.channel else None)


def _retry_after(raw: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if raw is None:
        return None
    raw = raw.strip()
    if (seconds := ascii_int(raw)) is not None:
        return float(seconds)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _describe(exc: BaseException) -> str:
    return str(exc).strip() or exc.__class__.__name__


async def backfill_web(
    sink: PostSink,
    channels: ChannelBook,
    channel: str,
    *,
    base_url: str,
    since: datetime | None = None,
    limit: int | None = None,
    progress: Progress | None = None,
    page_delay: float = 1.0,
    user_agent: str = DEFAULT_USER_AGENT,
) -> SaveResult:
    """One-shot backfill with its own HTTP client: what `tgmonitor backfill-web` runs."""
    async with httpx.AsyncClient() as client:
        source = WebPreviewSource(
            client, sink, channels, base_url=base_url, user_agent=user_agent, page_delay=page_delay
        )
        return await source.backfill(channel, since=since, limit=limit, progress=progress)
