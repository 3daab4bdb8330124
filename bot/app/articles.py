"""The article worker: fetch what the queue says is due, extract, clean, store; never fail the caller.

Posts queue their links when they are saved (storage/articles.py); this takes due links oldest
first, several sites at once but one request at a time per site (the fetcher's gate), and writes
each outcome in its own transaction. Nothing is marked "in progress": a link stays due until its
outcome is written, so a crash or a restart in the middle of a queue fetches it again and
never loses or doubles anything. Extraction (CPU) runs in a thread; store writes stay in the loop,
on the one connection.

`ArticleJob` wires it into the service: a run after every poll that stored posts and once a
minute for retries, and the alert check for articles that became readable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.core.articles import MIN_TEXT_CHARS, ExtractedPage, verdict
from bot.core.html_shape import HtmlRefused
from bot.core.links import domain_key
from bot.core.pipeline import Pipeline
from bot.sources.article_extract import extract_page
from bot.sources.article_fetcher import ArticleFetcher, Deferred, FetchPolicy, FetchResult
from storage.articles import QueuedArticle
from storage.store import Store

_log = logging.getLogger(__name__)
Extractor = Callable[[bytes, str, str | None], ExtractedPage | None]
Progress = Callable[[int], None]
JOB_EVERY = 60.0  # seconds between runs that pick up retries that came due


def policy_from_settings(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        allow=settings.article_domains,
        skip=settings.article_skip_domains,
        max_bytes=int(settings.article_max_mb * 1024 * 1024),
        min_gap=settings.article_rate,
        robots=settings.article_robots,
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FetchRun:
    """What one run did, by outcome; `done` holds the ids articles are kept under."""

    done: list[int] = field(default_factory=list)
    unchanged: int = 0  # re-checks answered 304 (or the same text)
    retry: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0

    @property
    def attempted(self) -> int:
        return len(self.done) + self.unchanged + self.retry + self.failed + self.skipped + self.deferred

    def summary(self) -> str:
        parts = [f"{len(self.done)} stored"]
        for name in ("unchanged", "retry", "failed", "skipped", "deferred"):
            count = getattr(self, name)
            if count:
                parts.append(f"{count} {'to retry' if name == 'retry' else name}")
        return ", ".join(parts)


class ArticleWorker:
    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        fetcher: ArticleFetcher,
        *,
        concurrency: int = 4,
        batch: int = 200,
        extract: Extractor = extract_page,
        now: Callable[[], datetime] = utc_now,
        log: logging.Logger = _log,
    ) -> None:
        self.store = store
        self.articles = store.articles
        self.pipeline = pipeline
        self.fetcher = fetcher
        self.concurrency = concurrency
        self.batch = batch
        self.extract = extract
        self.now = now
        self.log = log

    async def run(
        self,
        *,
        limit: int | None = None,
        progress: Progress | None = None,
        items: Sequence[QueuedArticle] | None = None,
    ) -> FetchRun:
        """Fetch due links (or `items`, e.g. re-checks) until none is due or `limit` were tried."""
        run = FetchRun()
        tried: set[int] = set()
        while limit is None or len(tried) < limit:
            room = self.batch if limit is None else min(self.batch, limit - len(tried))
            if items is not None:
                wave = [i for i in items if i.id not in tried][:room]
            else:
                wave = self.articles.due(self.now(), room, exclude=tried)
            if not wave:
                break
            tried.update(i.id for i in wave)
            await self._wave(wave, run, progress)
        return run

    async def _wave(self, wave: Sequence[QueuedArticle], run: FetchRun, progress: Progress | None) -> None:
        """Each site's links one after another, up to `concurrency` sites at once."""
        by_site: dict[str, list[QueuedArticle]] = {}
        for item in wave:
            by_site.setdefault(domain_key(item.host), []).append(item)
        limiter = asyncio.Semaphore(self.concurrency)

        async def site(items: list[QueuedArticle]) -> None:
            async with limiter:
                for item in items:
                    await self._one(item, run)
                    if progress is not None:
                        progress(1)

        await asyncio.gather(*(site(items) for items in by_site.values()))

    async def _one(self, item: QueuedArticle, run: FetchRun) -> None:
        recheck = item.status == "done"
        try:
            result = await self.fetcher.fetch(
                item.url,
                etag=item.etag if recheck else None,
                last_modified=item.last_modified if recheck else None,
            )
        except Deferred as exc:
            self.articles.defer(item.id, self.now() + timedelta(seconds=exc.delay))
            run.deferred += 1
            return
        except Exception as exc:  # a bug must cost one link a retry, never the worker
            self.log.exception("article %s: fetch failed unexpectedly", item.url)
            result = FetchResult("network", item.url, item.url, error=f"{exc.__class__.__name__}: {exc}")
        if result.kind == "ok":
            await self._store_page(item, result, run)
        elif recheck:
            self.articles.save_check(item.id, now=self.now(), http_status=result.http_status, error=result.error)
            run.unchanged += result.kind == "not_modified"
            run.failed += result.kind != "not_modified"
        else:
            self._failure(item, result.kind, result, run)

    async def _store_page(self, item: QueuedArticle, result: FetchResult, run: FetchRun) -> None:
        try:
            page = await asyncio.to_thread(self.extract, result.body, result.final_url, result.charset)
        except HtmlRefused as exc:  # a page no parser should be given: failed for good, one line
            self.log.warning("article %s: page refused: %s", item.url, exc)
            page = None
            error = f"page refused: {exc}"
        except Exception as exc:
            self.log.exception("article %s: extraction failed", item.url)
            page = None
            error = f"extraction failed: {exc.__class__.__name__}"
        else:
            error = "no article text found on the page"
        content = self.pipeline.process_article(page, result.final_url) if page is not None else None
        if content is None or len(content.text) < MIN_TEXT_CHARS:
            title = content.title if content is not None else None
            if item.status == "done":  # a re-check that finds an empty shell keeps what was archived
                self.articles.save_check(item.id, now=self.now(), http_status=result.http_status, error=error)
                run.failed += 1
                return
            self.articles.save_failure(
                item.id,
                status="failed",
                attempts=item.attempts + 1,
                now=self.now(),
                next_try_at=None,
                http_status=result.http_status,
                error=error,
                title=title,
            )
            run.failed += 1
            return
        kept = self.articles.save_done(
            item.id,
            content,
            now=self.now(),
            final_url=result.final_url,
            http_status=result.http_status or 200,
            etag=result.etag,
            last_modified=result.last_modified,
        )
        run.done.append(kept)
        self.log.debug("article %s: stored as %d (%d characters)", item.url, kept, len(content.text))

    def _failure(self, item: QueuedArticle, kind: str, result: FetchResult, run: FetchRun) -> None:
        attempts = item.attempts + (0 if kind in ("policy", "robots", "refused") else 1)
        decision = verdict(result.kind, attempts, result.retry_after)
        now = self.now()
        self.articles.save_failure(
            item.id,
            status=decision.status,
            attempts=attempts,
            now=now,
            next_try_at=now + timedelta(seconds=decision.next_try_in) if decision.next_try_in is not None else None,
            http_status=result.http_status,
            error=f"{kind}: {result.error}" if result.error else kind,
        )
        setattr(run, decision.status, getattr(run, decision.status) + 1)
        self.log.debug("article %s: %s (%s) -> %s", item.url, kind, result.error, decision.status)


class ArticleJob:
    """The service's part: a worker on the scheduler, and alerts for what became readable."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        pipeline: Pipeline,
        *,
        fetcher_factory: Callable[[FetchPolicy], ArticleFetcher] = ArticleFetcher,
        on_stored: Callable[[], Awaitable[object]] | None = None,
        log: logging.Logger = _log,
    ) -> None:
        self.settings = settings
        self.store = store
        self.pipeline = pipeline
        self.fetcher_factory = fetcher_factory
        self.on_stored = on_stored
        self.log = log
        self.worker: ArticleWorker | None = None

    def start(self) -> str:
        """Create the worker; the start-up line says what runs, or why it does not."""
        s = self.settings
        if not s.fetch_articles:
            return "articles: off (FETCH_ARTICLES=false); links are still recorded, `tgmonitor articles fetch` fetches"
        self.worker = ArticleWorker(self.store, self.pipeline, self.fetcher_factory(policy_from_settings(s)))
        again = self.store.articles.reset_skipped(utc_now())
        domains = (
            "any public site" if not s.article_domains or "*" in s.article_domains else ", ".join(s.article_domains)
        )
        robots = "robots.txt obeyed" if s.article_robots else "robots.txt ignored (ARTICLE_ROBOTS=false)"
        recheck = f"; {again} skipped links looked at again" if again else ""
        return (
            f"articles: on → linked pages from {domains}, one request per site every {s.article_rate:g}s, "
            f"up to {s.article_max_mb:g} MB, {robots}{recheck}"
        )

    async def run(self) -> None:
        if self.worker is None:
            return
        try:
            result = await self.worker.run()
        except Exception:
            self.log.exception("articles: run failed; the queue is tried again at the next run")
            return
        if result.attempted:
            self.log.info("articles: %s", result.summary())
        if result.done and self.on_stored is not None:
            await self.on_stored()

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.fetcher.aclose()
