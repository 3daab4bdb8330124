"""ArticleFetcher against a real HTTP server on 127.0.0.1: what it asks, what it refuses, when it stops.

127.0.0.1 is a loopback address, so every test that expects a page lists it in ARTICLE_DOMAINS
(`allow`), exactly as an intranet user would; `localhost` (the same server) is left unlisted where
a test needs a host the address guard must refuse.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import httpcore
import pytest

from bot.sources.article_fetcher import ArticleFetcher, Deferred, DomainGate, FetchPolicy, retry_after_seconds
from bot.sources.http_guard import GuardedBackend, RefusedAddress, is_public
from tests.article_server import ArticleServer, Reply, gzip_bomb, huge_body, page, serve, slow_trickle

LOCAL = ("127.0.0.1",)
PAGE = page("en_europa_plumes")


@pytest.fixture
def server() -> Iterator[ArticleServer]:
    yield from serve()


class Sleeps(list[float]):
    """Politeness waits recorded instead of slept: the order and size of pauses are the assertion."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def fetch(url: str, policy: FetchPolicy | None = None, *, gate: DomainGate | None = None, **kwargs: str):
    async def go():
        fetcher = ArticleFetcher(policy or FetchPolicy(allow=LOCAL, min_gap=0), gate=gate)
        try:
            return await fetcher.fetch(url, **kwargs)
        finally:
            await fetcher.aclose()

    return asyncio.run(go())


def test_a_page_comes_back_with_its_validators_and_a_real_user_agent(server: ArticleServer) -> None:
    server.page("/europa", PAGE, ETag='"v1"', **{"Last-Modified": "Tue, 17 Nov 2026 10:00:00 GMT"})
    result = fetch(server.url("/europa"))
    assert (result.kind, result.http_status, result.body) == ("ok", 200, PAGE)
    assert (result.etag, result.last_modified, result.charset) == ('"v1"', "Tue, 17 Nov 2026 10:00:00 GMT", "utf-8")
    page_request = server.requests[-1]
    assert server.paths() == ["/robots.txt", "/europa"]  # robots.txt first (404 here: everything allowed)
    assert page_request.headers["user-agent"].startswith("Mozilla/5.0 (compatible; tgmonitor/")
    assert page_request.headers["accept-encoding"] == "gzip, deflate"


def test_conditional_request_sends_the_validators_and_reads_304(server: ArticleServer) -> None:
    server.page("/europa", PAGE, ETag='"v1"')
    result = fetch(server.url("/europa"), etag='"v1"', last_modified="Tue, 17 Nov 2026 10:00:00 GMT")
    assert (result.kind, result.http_status, result.body) == ("not_modified", 304, b"")
    assert server.requests[-1].headers["if-none-match"] == '"v1"'
    assert server.requests[-1].headers["if-modified-since"] == "Tue, 17 Nov 2026 10:00:00 GMT"


def test_redirects_are_followed_and_each_hop_is_checked_again(server: ArticleServer) -> None:
    server.routes["/short"] = [Reply(301, headers={"Location": "/middle"})]
    server.routes["/middle"] = [Reply(302, headers={"Location": server.url("/europa") + "#top"})]
    server.page("/europa", PAGE)
    result = fetch(server.url("/short"))
    assert (result.kind, result.url, result.final_url) == ("ok", server.url("/short"), server.url("/europa"))
    assert server.paths() == ["/robots.txt", "/short", "/middle", "/europa"]


def test_a_redirect_to_an_unlisted_private_host_is_refused_at_the_connection(server: ArticleServer) -> None:
    server.routes["/jump"] = [Reply(302, headers={"Location": server.url("/europa", host="localhost")})]
    server.page("/europa", PAGE)
    # Any public host, plus 127.0.0.1 by name: localhost passes the domain lists, not the address guard.
    result = fetch(server.url("/jump"), FetchPolicy(allow=("*", "127.0.0.1"), min_gap=0))
    assert result.kind == "refused"
    assert "localhost resolves to" in (result.error or "") and "private, loopback" in (result.error or "")
    assert "/europa" not in server.paths()


def test_redirect_loops_and_long_chains_stop(server: ArticleServer) -> None:
    server.routes["/a"] = [Reply(302, headers={"Location": "/b"})]
    server.routes["/b"] = [Reply(302, headers={"Location": "/a?utm_source=x"})]  # the same page again
    assert fetch(server.url("/a")).kind == "redirects"
    for hop in range(10):
        server.routes[f"/hop{hop}"] = [Reply(301, headers={"Location": f"/hop{hop + 1}"})]
    result = fetch(server.url("/hop0"), FetchPolicy(allow=LOCAL, min_gap=0, max_redirects=3))
    assert (result.kind, result.error) == ("redirects", "more than 3 redirects")
    assert server.count("/hop4") == 0


def test_redirect_to_a_skipped_domain_or_a_non_web_scheme_stops(server: ArticleServer) -> None:
    server.routes["/out"] = [Reply(302, headers={"Location": "https://ads.example.com/track"})]
    server.routes["/ftp"] = [Reply(302, headers={"Location": "ftp://files.example.com/a"})]
    policy = FetchPolicy(allow=("127.0.0.1", "example.com"), skip=("ads.example.com",), min_gap=0)
    assert fetch(server.url("/out"), policy).error == "domain in ARTICLE_SKIP_DOMAINS"
    assert fetch(server.url("/ftp"), policy).kind == "redirects"


def test_unlisted_loopback_address_is_refused_before_any_request(server: ArticleServer) -> None:
    result = fetch(server.url("/europa"), FetchPolicy(min_gap=0))  # no ARTICLE_DOMAINS: public hosts only
    assert result.kind == "refused"
    assert server.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.7",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:10.0.0.1",
        "224.0.0.1",
        "240.0.0.1",
        # IPv6 forms that embed an IPv4 address are judged by it too (issue #27 item 8)
        "::7f00:1",  # IPv4-compatible ::127.0.0.1
        "::127.0.0.1",
        "::ffff:0:7f00:1",  # IPv4-translated
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 to 10.0.0.1
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",  # NAT64 to the cloud metadata address
        "64:ff9b:1::808:808",  # local-use NAT64 prefix: refused whole
        "2002:7f00:1::1",  # 6to4 through 127.0.0.1
        "2002:a00:1::",  # 6to4 through 10.0.0.1
        "2002:c0a8:101::1",  # 6to4 through 192.168.1.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:a00:1:0:0:f7f7:f7f7",  # Teredo, server 10.0.0.1
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]
)
def test_public_addresses_and_translations_of_public_ones_pass(address: str) -> None:
    assert is_public(address)


def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    """DNS may answer with several records; one internal address is enough to refuse the host."""

    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.1.2.3"]

    backend = GuardedBackend(lambda host: False, resolver=resolver, inner=httpcore.AsyncMockBackend([]))
    with pytest.raises(RefusedAddress, match=r"10\.1\.2\.3"):
        asyncio.run(backend.connect_tcp("news.example.com", 443))
    trusted = GuardedBackend(
        lambda host: host == "intranet.example", resolver=resolver, inner=httpcore.AsyncMockBackend([])
    )
    assert asyncio.run(trusted.connect_tcp("intranet.example", 443)) is not None


def test_404_and_other_client_errors(server: ArticleServer) -> None:
    server.routes["/gone"] = [Reply(410)]
    server.routes["/forbidden"] = [Reply(403)]
    assert (fetch(server.url("/missing")).kind, fetch(server.url("/missing")).http_status) == ("gone", 404)
    assert fetch(server.url("/gone")).kind == "gone"
    assert (fetch(server.url("/forbidden")).kind, fetch(server.url("/forbidden")).error) == ("http_error", "HTTP 403")


def test_429_reports_retry_after_and_pauses_the_site(server: ArticleServer) -> None:
    server.routes["/busy"] = [Reply(429, headers={"Retry-After": "3600"})]
    server.page("/other", PAGE)

    async def go() -> tuple[object, object]:
        fetcher = ArticleFetcher(FetchPolicy(allow=LOCAL, min_gap=0))
        try:
            first = await fetcher.fetch(server.url("/busy"))
            try:
                await fetcher.fetch(server.url("/other"))
            except Deferred as exc:
                return first, exc.delay
            return first, None
        finally:
            await fetcher.aclose()

    first, delay = asyncio.run(go())
    assert (first.kind, first.retry_after, first.http_status) == ("rate_limited", 3600.0, 429)
    assert delay is not None and 3500 < delay <= 3600  # the site's next request waits; nothing was sent
    assert server.count("/other") == 0


def test_5xx_backs_off_the_site_doubling_and_success_resets_it(server: ArticleServer) -> None:
    server.routes["/flaky"] = [Reply(503), Reply(502), Reply(200, PAGE)]
    sleeps = Sleeps()
    gate = DomainGate(min_gap=0.0, sleep=sleeps)

    async def go() -> list[str]:
        fetcher = ArticleFetcher(FetchPolicy(allow=LOCAL, min_gap=0, robots=False), gate=gate)
        try:
            return [(await fetcher.fetch(server.url("/flaky"))).kind for _ in range(3)]
        finally:
            await fetcher.aclose()

    assert asyncio.run(go()) == ["server_error", "server_error", "ok"]
    assert [round(s) for s in sleeps] == [2, 4]  # 1 s base, doubled per consecutive error
    assert gate._failures == {}


def test_one_request_at_a_time_per_site_with_the_minimum_gap(server: ArticleServer) -> None:
    for n in range(4):
        server.page(f"/p{n}", PAGE)

    async def go() -> None:
        fetcher = ArticleFetcher(FetchPolicy(allow=LOCAL, min_gap=0.25, robots=False))
        try:
            await asyncio.gather(*(fetcher.fetch(server.url(f"/p{n}")) for n in range(4)))
        finally:
            await fetcher.aclose()

    asyncio.run(go())
    assert server.max_in_flight == 1
    starts = sorted(r.started for r in server.requests)
    assert all(b - a >= 0.24 for a, b in itertools.pairwise(starts))


def test_a_slow_server_hits_the_total_deadline(server: ArticleServer) -> None:
    server.routes["/slow"] = slow_trickle(seconds=10, every=0.1)
    started = time.monotonic()
    result = fetch(server.url("/slow"), FetchPolicy(allow=LOCAL, min_gap=0, robots=False, deadline=1.0))
    assert result.kind == "timeout"
    assert time.monotonic() - started < 4  # every single read was quick; the whole was not


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
def test_a_50_mb_body_stops_at_the_cap(server: ArticleServer, declare_length: bool) -> None:
    server.routes["/huge"] = huge_body(50, declare_length=declare_length)
    result = fetch(server.url("/huge"), FetchPolicy(allow=LOCAL, min_gap=0, robots=False, max_bytes=2 * 1024 * 1024))
    assert (result.kind, result.error) == ("too_large", "body over 2 MB (ARTICLE_MAX_MB)")
    time.sleep(0.2)
    assert server.sent.get("/huge", 0) < 20 * 1024 * 1024  # the client stopped reading long before the end


def test_a_gzip_bomb_stops_at_the_cap_while_inflating(server: ArticleServer) -> None:
    bomb = gzip_bomb(200)
    assert len(bomb) < 300_000
    server.routes["/bomb"] = [Reply(200, bomb, {"Content-Encoding": "gzip"})]
    started = time.monotonic()
    result = fetch(server.url("/bomb"), FetchPolicy(allow=LOCAL, min_gap=0, robots=False, max_bytes=5 * 1024 * 1024))
    assert result.kind == "too_large"
    assert time.monotonic() - started < 3


def test_gzip_and_deflate_bodies_are_decoded(server: ArticleServer) -> None:
    import gzip
    import zlib

    server.routes["/gz"] = [Reply(200, gzip.compress(PAGE), {"Content-Encoding": "gzip"})]
    server.routes["/raw-deflate"] = [Reply(200, zlib.compress(PAGE)[2:-4], {"Content-Encoding": "deflate"})]
    server.routes["/br"] = [Reply(200, b"xx", {"Content-Encoding": "br"})]
    policy = FetchPolicy(allow=LOCAL, min_gap=0, robots=False)
    assert fetch(server.url("/gz"), policy).body == PAGE
    assert fetch(server.url("/raw-deflate"), policy).body == PAGE
    assert fetch(server.url("/br"), policy).kind == "bad_encoding"


def test_non_html_is_refused_by_its_content_type_or_its_bytes(server: ArticleServer) -> None:
    server.routes["/doc.pdf"] = [Reply(200, b"%PDF-1.7 ...", content_type="application/pdf")]
    server.routes["/untyped"] = [Reply(200, b"\x89PNG\r\n\x1a\n....", content_type=None)]
    server.routes["/untyped-html"] = [Reply(200, b"<!DOCTYPE html><html><body>hi</body></html>", content_type=None)]
    policy = FetchPolicy(allow=LOCAL, min_gap=0, robots=False)
    assert (fetch(server.url("/doc.pdf"), policy).kind, fetch(server.url("/doc.pdf"), policy).error) == (
        "not_html",
        "not HTML: application/pdf",
    )
    assert fetch(server.url("/untyped"), policy).kind == "not_html"
    assert fetch(server.url("/untyped-html"), policy).kind == "ok"


def test_robots_txt_is_obeyed_unless_turned_off(server: ArticleServer) -> None:
    robots = b"User-agent: *\nDisallow: /private/\n\nUser-agent: tgmonitor\nDisallow: /no-bots/\n"
    server.routes["/robots.txt"] = [Reply(200, robots, content_type="text/plain")]
    for path in ("/private/a", "/no-bots/b", "/public/c"):
        server.page(path, PAGE)

    async def go(robots_on: bool) -> list[str]:
        fetcher = ArticleFetcher(FetchPolicy(allow=LOCAL, min_gap=0, robots=robots_on))
        try:
            return [(await fetcher.fetch(server.url(p))).kind for p in ("/no-bots/b", "/public/c", "/private/a")]
        finally:
            await fetcher.aclose()

    assert asyncio.run(go(True)) == ["robots", "ok", "ok"]  # our own group wins over `*`
    assert server.count("/robots.txt") == 1  # read once per origin, cached
    assert server.count("/no-bots/b") == 0
    assert asyncio.run(go(False)) == ["ok", "ok", "ok"]


def test_an_unreachable_robots_txt_means_try_later_not_fetch_anyway(server: ArticleServer) -> None:
    server.routes["/robots.txt"] = [Reply(503)]
    server.page("/page", PAGE)
    result = fetch(server.url("/page"))
    assert result.kind == "server_error" and "robots.txt unreachable" in (result.error or "")
    assert server.count("/page") == 0


def test_retry_after_as_a_date() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert retry_after_seconds("Fri, 20 Nov 2026 10:02:00 GMT", now) == 120
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("soon") is None


def test_the_deadline_covers_robots_txt_and_every_redirect_together(server: ArticleServer) -> None:
    """Issue #27 item 7: a slow first origin redirecting to a second whose robots.txt drips used to get
    a fresh deadline for that robots.txt (about twice the setting in all)."""
    second = next(iter(serve()))
    try:

        def slow_jump(handler: BaseHTTPRequestHandler, _: ArticleServer) -> None:
            time.sleep(1.5)
            handler.send_response(302)
            handler.send_header("Location", second.url("/page"))
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        server.routes["/jump"] = slow_jump
        second.routes["/robots.txt"] = slow_trickle(seconds=10, every=0.1)
        second.page("/page", PAGE)
        started = time.monotonic()
        result = fetch(server.url("/jump"), FetchPolicy(allow=LOCAL, min_gap=0, deadline=2.0))
        elapsed = time.monotonic() - started
    finally:
        second.server.shutdown()
        second.server.server_close()
    assert result.kind == "timeout"
    assert elapsed < 3.0  # 2 s in all (was 1.5 s + a fresh 2 s for the second robots.txt)
    assert second.count("/page") == 0


@pytest.mark.parametrize(
    "location",
    ["http:127.0.0.1:{port}/x", "https:127.0.0.1:{port}/x", "http://127.0.0.1:99999/x", "http://[::1/x"],
)
def test_an_unusable_location_is_a_result_not_an_exception(
    server: ArticleServer, location: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.routes["/jump"] = [Reply(302, headers={"Location": location.format(port=server.port)})]
    result = fetch(server.url("/jump"), FetchPolicy(allow=LOCAL, min_gap=0, robots=False))
    assert result.kind in ("redirects", "network")
    assert result.error and "\n" not in result.error
    assert not [r for r in caplog.records if r.exc_info]
