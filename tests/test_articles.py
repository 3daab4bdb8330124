"""Linked articles end to end: posts in, a real server on 127.0.0.1 serving real pages, exact rows out.

Posts go through the real pipeline and store; the worker fetches with the real fetcher; what the
archive then holds is read back through every reader: search, digest, tags, alerts, /post.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app.alerts import Alerter
from bot.app.articles import ArticleWorker, FetchRun
from bot.core.alerts import AlertRules
from bot.core.articles import MAX_ATTEMPTS
from bot.core.digest import build_digest
from bot.core.digest_render import digest_json, render_html, render_text
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, RawPost
from bot.outputs.telegram import TelethonBotSender
from bot.sources.article_fetcher import ArticleFetcher, FetchPolicy
from storage.store import Store
from tests.article_server import DATA, SHARED_PAGES, ArticleServer, Reply, page, serve, shared_page, slow_trickle
from tests.fake_bot import FakeBotClient
from tests.tg_factory import SleepRecorder

pytestmark = pytest.mark.both_backends

WATCH = ChannelRef(tg_id=1001, username="balkan_watch", title="Balkan Watch")
TODAY = ChannelRef(tg_id=1002, username="serbia_today", title="Serbia Today")
# The worker's clock runs ahead of the real one, so links queued at the real time are due even when
# this module was collected long before its tests run (a slow suite before it: the MTProto one).
NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
EUROPA = page("en_europa_plumes")
TITAN = page("en_titan_lakes")
KOREAN = page("ko_lantern_festival")
TITLE = "Hubble Images Hint at Water Plumes Rising From Jupiter's Moon Europa"
BG_PAGE = page("bg_serbia_gas")
RU_PAGE = page("ru_mfa_statement")
# Three real pages of the extraction dev set (English, English, Korean), when ../shared is beside the checkout.
REAL_PAGES = ("14cc2a0ca59c", "359fee228518", "0ec95c7261d1")


@pytest.fixture
def server() -> Iterator[ArticleServer]:
    yield from serve()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def post(channel: ChannelRef, message_id: int, text: str, *links: str, minutes: int = 0) -> RawPost:
    return RawPost(
        channel=channel,
        message_id=message_id,
        date=NOW - timedelta(hours=2) + timedelta(minutes=minutes),
        text=text,
        source="telethon",
        links=links,
    )


def save(store: Store, pipeline: Pipeline, *raws: RawPost) -> list[int]:
    result = store.save_posts([pipeline.process(r) for r in raws])
    return list(result.new_ids + result.updated_ids)


def work(
    store: Store,
    pipeline: Pipeline,
    *,
    clock: Clock | None = None,
    allow: tuple[str, ...] = ("127.0.0.1",),
    limit: int | None = None,
    **policy: object,
) -> FetchRun:
    async def go() -> FetchRun:
        fetcher = ArticleFetcher(FetchPolicy(allow=allow, min_gap=0, **policy))  # type: ignore[arg-type]
        try:
            return await ArticleWorker(store, pipeline, fetcher, now=clock or Clock(NOW)).run(limit=limit)
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def at(**delta: float) -> str:
    return (NOW + timedelta(**delta)).isoformat()


def rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in store.db.execute(sql).fetchall()]


def test_same_url_from_two_channels_is_fetched_once_and_folds_them_into_one_item(
    store: Store, pipeline: Pipeline, server: ArticleServer
) -> None:
    server.page("/europa", EUROPA, ETag='"e1"')
    url = server.url("/europa")
    ids = save(
        store,
        pipeline,
        post(WATCH, 10, f"NASA on Europa: {url}?utm_source=telegram", minutes=0),
        post(TODAY, 20, "Water on Jupiter's moon, says NASA — read the story", url + "#comments", minutes=30),
    )
    assert rows(store, "SELECT id, url, host, status, attempts FROM articles") == [(1, url, "127.0.0.1", "queued", 0)]
    assert rows(store, "SELECT post_id, article_id, position FROM post_articles ORDER BY post_id") == [
        (ids[0], 1, 0),
        (ids[1], 1, 0),
    ]

    run = work(store, pipeline)
    assert (run.done, run.attempted) == ([1], 1)
    assert server.count("/europa") == 1
    article = store.articles.get(1)
    assert article is not None
    assert (article.status, article.http_status, article.lang, article.attempts) == ("done", 200, "en", 0)
    assert article.title == TITLE
    assert article.final_url == url
    assert article.fetched_at == NOW and article.content_hash and len(article.content_hash) == 20
    assert "Goddard Space Flight Center" in article.text and "\n\n" in article.text

    # "plumes" is in neither post, only in the article: both posts are found, and the hit says why.
    found = store.search("Goddard Greenbelt")
    assert sorted(p.id for p in found) == sorted(ids)
    assert all(p.article_match is not None and p.article_match.article_id == 1 for p in found)
    assert "Goddard" in (found[0].article_match.excerpt if found[0].article_match else "")

    # Two channels linking the same statement are one digest item, with the article's title beside it.
    posts = store.posts_between(NOW - timedelta(days=1), NOW)
    digest = build_digest(posts, NOW - timedelta(days=1), NOW)
    assert (digest.item_count, digest.post_count) == (1, 2)
    item = digest.sections[0].items[0]
    assert item.seen_in == 2
    text = render_text(digest, ZoneInfo("UTC"))
    assert f"[article: {TITLE}]" in text
    html = render_html(digest, ZoneInfo("UTC"))[0]
    assert f'📄 <a href="{url}">{TITLE.replace(chr(39), "&#x27;")}</a>' in html
    item_json = digest_json(digest)["sections"][0]["items"][0]  # type: ignore[index]
    assert item_json["article"]["title"].startswith("Hubble Images Hint")


def shingle_overlap(store: Store, server: ArticleServer, gold: dict[str, str]) -> None:
    """The stored text of each page holds (nearly) all of its gold body and little else."""
    import re
    from collections import Counter

    def shingles(text: str) -> Counter[tuple[str, ...]]:
        words = re.findall(r"\w+", text)
        return Counter(tuple(words[i : i + 4]) for i in range(max(0, len(words) - 3)))

    for name, body in gold.items():
        article = store.articles.by_url(server.url(f"/{name}"))
        assert article is not None and article.status == "done"
        want, got = shingles(body), shingles(article.text)
        hit = sum((want & got).values())
        assert hit / sum(got.values()) > 0.85 and hit / sum(want.values()) > 0.85, name


def test_the_extracted_text_is_the_article_not_the_page(
    store: Store, pipeline: Pipeline, server: ArticleServer
) -> None:
    """Pages written after real news pages' shape (menus, share bars, related lists, cookie banners)."""
    import json

    gold = json.loads((DATA / "gold.json").read_text(encoding="utf-8"))
    for name in gold:
        server.page(f"/{name}", page(name))
        save(store, pipeline, post(WATCH, len(server.routes), "link", server.url(f"/{name}")))
    assert len(work(store, pipeline).done) == 3
    shingle_overlap(store, server, {name: g["articleBody"] for name, g in gold.items()})
    korean = store.articles.by_url(server.url("/ko_lantern_festival"))
    assert korean is not None and korean.lang is not None and korean.lang.startswith("ko")  # the page's own lang


@pytest.mark.skipif(not SHARED_PAGES.is_dir(), reason="../shared/extraction is not here (a user's clone)")
def test_the_extracted_text_of_real_pages_is_the_article(
    store: Store, pipeline: Pipeline, server: ArticleServer
) -> None:
    """Three real pages of the extraction dev set and their gold bodies (../shared/extraction)."""
    import json

    gold = json.loads((SHARED_PAGES.parent / "gold.json").read_text(encoding="utf-8"))
    for page_id in REAL_PAGES:
        server.page(f"/{page_id}", shared_page(page_id))
        save(store, pipeline, post(WATCH, len(server.routes), "link", server.url(f"/{page_id}")))
    assert len(work(store, pipeline).done) == 3
    shingle_overlap(store, server, {page_id: gold[page_id]["articleBody"] for page_id in REAL_PAGES})
    korean = store.articles.by_url(server.url("/0ec95c7261d1"))
    assert korean is not None and korean.lang is not None and korean.lang.startswith("ko")


def test_bulgarian_and_russian_pages_are_cleaned_tagged_and_searchable(
    store: Store, pipeline: Pipeline, server: ArticleServer
) -> None:
    server.page("/bg", BG_PAGE)
    server.routes["/ru"] = [Reply(200, RU_PAGE, content_type="text/html; charset=windows-1251")]
    ids = save(
        store,
        pipeline,
        post(WATCH, 1, "Важно споразумение днес.", server.url("/bg")),
        post(TODAY, 2, "Заявление МИД:", server.url("/ru")),
    )
    assert len(work(store, pipeline).done) == 2
    bg = store.articles.by_url(server.url("/bg"))
    ru = store.articles.by_url(server.url("/ru"))
    assert bg is not None and ru is not None
    assert (bg.lang, ru.lang) == ("bg", "ru")
    assert bg.title == "Сърбия и България подписаха споразумение за газовия интерконектор"
    assert bg.author == "Мария Петрова" and bg.published == "2026-11-20"
    assert "газовия интерконектор" in bg.text and "Нови Искър" in bg.text
    for junk in ("РЕКЛАМА", "Сподели", "Прочетете още", "Влакът София", "Коментари", "Ако нашият сайт", "Начало"):
        assert junk not in bg.text
    assert "резолюции 1244" in ru.text and "Приштины" in ru.text  # windows-1251 decoded
    for junk in ("Поделиться", "Другие материалы", "Брифинг", "При использовании материалов", "Главная"):
        assert junk not in ru.text
    # The articles' topics become the posts' tags: filters, digests and counts see them.
    assert {t.display for t in ru.tags} >= {"Serbia", "Kosovo", "UN"}
    assert {t.display for t in bg.tags} >= {"Serbia", "Bulgaria"}
    assert [p.id for p in store.search(None, tags=["kosovo"])] == [ids[1]]
    assert sorted(p.id for p in store.search(None, tags=["serbia"])) == sorted(ids)
    by_id = {p.id: p for p in store.search(None)}
    assert "Serbia" in {t.display for t in by_id[ids[0]].tags}
    assert [p.id for p in store.search("интерконектор")] == [ids[0]]
    assert [p.id for p in store.search("Приштины")] == [ids[1]]


def test_an_edited_post_keeps_its_article_topics(store: Store, pipeline: Pipeline, server: ArticleServer) -> None:
    server.routes["/ru"] = [Reply(200, RU_PAGE, content_type="text/html; charset=windows-1251")]
    first = post(TODAY, 2, "Заявление МИД:", server.url("/ru"))
    [post_id] = save(store, pipeline, first)
    work(store, pipeline)
    topics = rows(store, f"SELECT tag FROM post_tags WHERE post_id = {post_id} AND kind = 'topic' ORDER BY tag")
    assert ("kosovo",) in topics
    edited = RawPost(**{**{f: getattr(first, f) for f in first.__slots__}, "text": "Заявление МИД (обновено):"})
    assert store.save_posts([pipeline.process(edited)]).updated == 1
    assert rows(store, f"SELECT tag FROM post_tags WHERE post_id = {post_id} AND kind = 'topic' ORDER BY tag") == topics
    assert store.save_posts([pipeline.process(edited)]).unchanged == 1  # and re-saving changes nothing


def test_failures_are_stored_with_a_status_and_retried_with_backoff_up_to_a_limit(
    store: Store, pipeline: Pipeline, server: ArticleServer
) -> None:
    server.routes["/down"] = [Reply(503)]
    server.routes["/busy"] = [Reply(429, headers={"Retry-After": "7200"}), Reply(200, TITAN)]
    server.routes["/doc"] = [Reply(200, b"%PDF-1.5", content_type="application/pdf")]
    server.routes["/empty"] = [Reply(200, b"<html><head><title>Just a video</title></head><body></body></html>")]
    server.page("/later", EUROPA)
    links = ["/missing", "/doc", "/empty", "/down", "/busy", "/later"]
    save(store, pipeline, *(post(WATCH, n, "see", server.url(p)) for n, p in enumerate(links, start=1)))
    clock = Clock(NOW)
    run = work(store, pipeline, clock=clock, robots=False)
    assert (run.failed, run.retry, run.deferred, run.done) == (3, 2, 1, [])
    found = rows(store, "SELECT url, status, http_status, error, attempts, next_try_at, title FROM articles")
    assert found[:5] == [
        (server.url("/missing"), "failed", 404, "gone: HTTP 404", 1, None, None),
        (server.url("/doc"), "failed", 200, "not_html: not HTML: application/pdf", 1, None, None),
        (server.url("/empty"), "failed", 200, "no article text found on the page", 1, None, "Just a video"),
        (server.url("/down"), "retry", 503, "server_error: HTTP 503", 1, at(minutes=5), None),
        (server.url("/busy"), "retry", 429, "rate_limited: 429 Too Many Requests", 1, at(hours=2), None),
    ]  # fmt: skip
    # The site asked for two hours: its next link waits that long without a request or an attempt.
    url, status, _, _, attempts, next_try, _ = found[5]
    assert (url, status, attempts) == (server.url("/later"), "queued", 0)
    assert at(minutes=119) <= next_try <= at(minutes=121)
    assert server.count("/later") == 0
    # Nothing is due until its time comes; then the 503 is tried again, up to MAX_ATTEMPTS in all.
    assert work(store, pipeline, clock=clock, robots=False).attempted == 0
    for attempt in range(2, MAX_ATTEMPTS + 1):
        article = store.articles.by_url(server.url("/down"))
        assert article is not None and article.next_try_at is not None
        clock.now = article.next_try_at
        work(store, pipeline, clock=clock, robots=False)
        article = store.articles.by_url(server.url("/down"))
        assert article is not None and article.attempts == attempt
    assert article.status == "failed" and article.next_try_at is None
    assert server.count("/down") == MAX_ATTEMPTS
    assert rows(store, "SELECT url, status FROM articles WHERE status = 'done' ORDER BY id") == [
        (server.url("/busy"), "done"),  # tried again once its Retry-After had passed
        (server.url("/later"), "done"),
    ]


def test_a_refused_address_is_skipped_and_looked_at_again_after_the_settings_change(
    store: Store, pipeline: Pipeline, server: ArticleServer
) -> None:
    server.page("/europa", EUROPA)
    save(store, pipeline, post(WATCH, 1, "x", server.url("/europa")))
    run = work(store, pipeline, allow=())  # default: public hosts only
    assert run.skipped == 1 and server.requests == []
    assert rows(store, "SELECT status, attempts, error FROM articles") == [
        ("skipped", 0, "refused: 127.0.0.1 resolves to 127.0.0.1, a private, loopback, link-local or reserved address")
    ]
    assert store.articles.reset_skipped(NOW) == 1  # what the worker does when it starts
    assert work(store, pipeline).done == [1]


def test_two_links_to_one_article_are_stored_once(store: Store, pipeline: Pipeline, server: ArticleServer) -> None:
    """The page names its canonical URL; a second link to it (an AMP copy) becomes an alias."""
    server.page("/bg", BG_PAGE)
    server.page("/amp/bg", BG_PAGE)
    first, second = save(
        store,
        pipeline,
        post(WATCH, 1, "Газ", server.url("/bg")),
        post(TODAY, 2, "Газ (AMP)", server.url("/amp/bg"), minutes=5),
    )
    run = work(store, pipeline)
    assert run.done == [1, 1]
    assert rows(store, "SELECT id, status, alias_of, canonical_url FROM articles ORDER BY id") == [
        (1, "done", None, "http://127.0.0.1/news/2026/11/20/srbiya-bulgaria-gaz"),
        (2, "alias", 1, "http://127.0.0.1/news/2026/11/20/srbiya-bulgaria-gaz"),
    ]
    assert rows(store, "SELECT post_id, article_id FROM post_articles ORDER BY post_id") == [(first, 1), (second, 1)]
    # A later post with the AMP link goes straight to the stored article.
    [third] = save(store, pipeline, post(WATCH, 3, "again", server.url("/amp/bg"), minutes=9))
    assert rows(store, f"SELECT article_id FROM post_articles WHERE post_id = {third}") == [(1,)]
    assert work(store, pipeline).attempted == 0


def test_a_restart_in_the_middle_of_the_queue_loses_and_doubles_nothing(
    tmp_path: Path, pipeline: Pipeline, server: ArticleServer
) -> None:
    pages = {"/a": EUROPA, "/b": TITAN, "/c": BG_PAGE, "/e": KOREAN}
    for path, body in pages.items():
        server.page(path, body)
    server.routes["/d"] = slow_trickle(seconds=5, every=0.05)  # in flight when the process dies
    store = Store.open(tmp_path / "archive.db")
    links = ["/a", "/b", "/d", "/c", "/e"]
    save(store, pipeline, *(post(WATCH, n, "x", server.url(p), minutes=n) for n, p in enumerate(links, start=1)))

    async def interrupted() -> None:
        fetcher = ArticleFetcher(FetchPolicy(allow=("127.0.0.1",), min_gap=0, robots=False))
        worker = ArticleWorker(store, pipeline, fetcher, concurrency=1, now=Clock(NOW))
        task = asyncio.create_task(worker.run())
        deadline = asyncio.get_running_loop().time() + 60
        while server.count("/d") == 0:
            if task.done():
                raise AssertionError(f"the worker stopped before reaching /d: {task.result()!r}")
            assert asyncio.get_running_loop().time() < deadline, "the worker never reached /d"
            await asyncio.sleep(0.01)
        task.cancel()  # what a SIGTERM past the grace period does
        await asyncio.gather(task, return_exceptions=True)
        await fetcher.aclose()

    asyncio.run(interrupted())
    assert rows(store, "SELECT url, status FROM articles ORDER BY id") == [
        (server.url("/a"), "done"),
        (server.url("/b"), "done"),
        (server.url("/d"), "queued"),  # never half-written: still due
        (server.url("/c"), "queued"),
        (server.url("/e"), "queued"),
    ]
    store.close()

    reopened = Store.open(tmp_path / "archive.db")
    server.page("/d", EUROPA.replace(b"new signs", b"fresh signs"))
    run = work(reopened, pipeline)
    assert sorted(run.done) == [3, 4, 5]
    done = "SELECT count(*), count(DISTINCT url), count(*) FILTER (WHERE status = 'done') FROM articles"
    assert rows(reopened, done) == [(5, 5, 5)]
    assert rows(reopened, "SELECT count(*) FROM post_articles") == [(5,)]
    assert [server.count(p) for p in ("/a", "/b", "/c", "/e")] == [1, 1, 1, 1]
    reopened.close()


def test_a_fetch_never_raises_into_the_caller(store: Store, pipeline: Pipeline, server: ArticleServer) -> None:
    server.page("/europa", EUROPA)
    save(store, pipeline, post(WATCH, 1, "x", server.url("/europa")))

    def broken_extractor(body: bytes, url: str, charset: str | None) -> None:
        raise RuntimeError("extractor bug")

    async def go() -> FetchRun:
        fetcher = ArticleFetcher(FetchPolicy(allow=("127.0.0.1",), min_gap=0))
        try:
            return await ArticleWorker(store, pipeline, fetcher, extract=broken_extractor, now=Clock(NOW)).run()
        finally:
            await fetcher.aclose()

    assert asyncio.run(go()).failed == 1
    assert rows(store, "SELECT status, error FROM articles") == [("failed", "extraction failed: RuntimeError")]


def test_alerts_see_the_article_once_it_is_readable(store: Store, pipeline: Pipeline, server: ArticleServer) -> None:
    server.page("/europa", EUROPA)
    client = FakeBotClient()
    alerter = Alerter(
        store=store,
        sender=TelethonBotSender(client, sleep=SleepRecorder()),
        chat_id=-100,
        rules=AlertRules.from_settings((), ("Goddard",)),
        tz=ZoneInfo("UTC"),
        clock=Clock(NOW),
    )
    first = save(store, pipeline, post(WATCH, 1, "Big news from NASA", server.url("/europa")))
    assert asyncio.run(alerter.check(first)).sent == []  # the article is not fetched yet
    assert asyncio.run(alerter.check_articles()).sent == []  # nothing readable yet: the watermark starts here
    work(store, pipeline)
    run = asyncio.run(alerter.check_articles())
    assert run.sent == first
    assert client.sent[0].text.splitlines()[0] == "🔔 Goddard (article)"
    assert f"📄 {TITLE}" in client.sent[0].text
    # The same statement linked by another channel later is not alerted again.
    second = save(store, pipeline, post(TODAY, 7, "NASA: water on Europa", server.url("/europa"), minutes=20))
    assert asyncio.run(alerter.check(second)).folded == second
    assert len(client.sent) == 1


BOMB = "<html><head><title>Deep</title></head><body>" + "<div>" * 160_000  # 0.8 MB: 77 s of lexbor before


@pytest.mark.parametrize(
    ("page", "content_type"),
    [
        (BOMB.encode(), "text/html; charset=utf-8"),
        (b"<html><head><title>Stray</title></head><body>" + b"<div></x>" * 150_000, "text/html; charset=utf-8"),
        (b"<html><head><title>Hidden</title></head><body>" + b"<div><!--</div>-->" * 60_000, "text/html"),
        (BOMB.encode("utf-16"), "text/html"),  # a BOM and no charset: decoded as the parsers would
        (gzip.compress(BOMB.encode()), "text/html"),  # the body itself gzip (no Content-Encoding): 2 KB
    ],
    ids=["nested", "stray-end-tags", "commented-end-tags", "utf-16", "gzip-body"],
)
def test_a_hostile_page_is_refused_before_parsing_and_failed_for_good(
    store: Store,
    pipeline: Pipeline,
    server: ArticleServer,
    page: bytes,
    content_type: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue #27 item 1: the title fallback parsed a nesting bomb for minutes while the link stayed
    `queued` (fetched again at every restart). Now it is measured first, refused, and `failed`."""
    server.routes["/deep"] = [Reply(200, page, content_type=content_type)]
    save(store, pipeline, post(WATCH, 1, "see", server.url("/deep")))
    started = time.process_time()
    run = work(store, pipeline, robots=False)
    assert time.process_time() - started < 5  # the refusal itself stops at depth 1,001
    assert (run.failed, run.done) == (1, [])
    ((status, error, attempts, next_try),) = rows(store, "SELECT status, error, attempts, next_try_at FROM articles")
    assert (status, attempts, next_try) == ("failed", 1, None)
    assert str(error).startswith("page refused: tags nested over 1,000 deep at character ")
    refusals = [r for r in caplog.records if "page refused" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].exc_info is None  # one line, no traceback
    assert work(store, pipeline, robots=False).attempted == 0  # not fetched again
    assert server.count("/deep") == 1
