"""Feeds over a pipeline-filled archive: folding, stable ids, digests and alerts, the web routes
(tokens, per-feed keys, ETag/304) served by uvicorn on 127.0.0.1, and `tgmonitor feeds build/url`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
from httpx import Client

from bot.app.archive import Archive
from bot.app.digest_jobs import subscription_digest, window_posts
from bot.app.feeds import FeedContext, FeedError, FeedSpec, build_feed, carriers, split_format
from bot.cli import main
from bot.config import Settings
from bot.core.digest_render import render_html
from bot.core.feed_keys import feed_key, feed_secret
from bot.core.feeds import FORMATS, Feed, render
from bot.core.windows import Window
from bot.models import ChannelRef, Forward, RawPost
from storage.readonly import ReadOnlyArchive
from storage.store import Store
from tests.feed_rules import check
from tests.web_archive import fill_archive
from tests.web_server import client as client_for

BASE = "https://monitor.example.org"
TOKEN = "s3cret-token-for-tests_0123456789"
LAVROV = "Foreign Minister Sergey Lavrov held talks"


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_archive(tmp_path_factory.mktemp("feeds") / "archive.db")


@pytest.fixture
def archive_path(filled: Path, tmp_path: Path) -> Path:
    """A copy each test may change."""
    return Path(shutil.copy(filled, tmp_path / "archive.db"))


def feed(path: Path, name: str, items: int = 50) -> Feed:
    store = ReadOnlyArchive(path).store()
    try:
        return build_feed(FeedContext(store, BASE), FeedSpec.parse(name), items=items)
    finally:
        store.close()


def ingest(path: Path, raws: list[RawPost]) -> None:
    archive = Archive.open(Settings(), path)
    try:
        archive.ingest.save(raws)
    finally:
        archive.close()


def test_tag_feed_folds_statements_and_lists_carriers(filled: Path) -> None:
    serbia = feed(filled, "tag/serbia")
    lavrov = [e for e in serbia.entries if LAVROV in e.content_html]
    assert len(lavrov) == 1  # forwarded by both sample channels: one entry
    [entry] = lavrov
    assert "Seen in 2 channels:" in entry.content_html
    assert entry.content_html.count('<a href="https://t.me/c/') >= 3  # two carriers and the original
    assert "Forwarded from <b>Russian MFA" in entry.content_html
    assert "Serbia" in entry.categories and "#RussiaSerbia" in entry.categories
    for fmt in FORMATS:
        assert check(render(serbia, fmt, f"{BASE}/feeds/tag/serbia.{fmt}"), fmt) == []


def test_every_kind_of_feed_is_valid_on_hostile_posts(filled: Path) -> None:
    for name in ("channel/1", "channel/2", "channel/3", "search/Kosovo", "tag/kosovo", "tag/none-such"):
        built = feed(filled, name)
        for fmt in FORMATS:
            body = render(built, fmt, f"{BASE}/feeds/{name}.{fmt}")
            assert check(body, fmt) == [], (name, fmt)
            assert "<script>" not in body or fmt == "json"
            assert "javascript:" not in body


def test_id_is_stable_when_a_copy_arrives_and_an_edit_moves_updated(archive_path: Path) -> None:
    before = {e.id: e for e in feed(archive_path, "tag/serbia").entries}
    lavrov_id = next(i for i, e in before.items() if LAVROV in e.content_html)
    store = Store.open(archive_path)
    original = store.search("Lavrov Serbia Moscow", limit=1)[0]
    store.close()
    copy = RawPost(
        channel=ChannelRef(tg_id=1700000077, username="third", title="Third"),
        message_id=1,
        date=datetime(2026, 11, 19, 6, 0, tzinfo=UTC),  # dated before the others: a backfilled copy
        text=original.text,
        source="export",
        forward=Forward(name="Russian MFA 🇷🇺"),
    )
    ingest(archive_path, [copy])
    after = {e.id: e for e in feed(archive_path, "tag/serbia").entries}
    assert lavrov_id in after
    assert "Seen in 3 channels:" in after[lavrov_id].content_html
    assert "@third" in after[lavrov_id].content_html
    # an edit of the earliest-stored post: same id, `updated` moves to the edit
    edited_at = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    edit = RawPost(
        channel=ChannelRef(tg_id=1700000077, username="third", title="Third"),
        message_id=1,
        date=copy.date,
        text=original.text + "\n\nUpdate: the talks went on.",
        source="export",
        forward=Forward(name="Russian MFA 🇷🇺"),
        edit_date=edited_at,
    )
    ingest(archive_path, [edit])
    again = {e.id: e for e in feed(archive_path, "tag/serbia").entries}
    assert lavrov_id in again and set(again) == set(after)
    assert again[lavrov_id].updated == edited_at and after[lavrov_id].updated < edited_at
    assert "Update: the talks went on." in again[lavrov_id].content_html  # the earliest-dated copy, edited


def test_digest_feed_has_one_entry_per_digest_sent_with_its_html(archive_path: Path) -> None:
    store = Store.open(archive_path)
    sub = store.subscriptions.add(42, at=time(8, 0), tz=ZoneInfo("UTC"), tags=("serbia",))
    window = Window(datetime(2026, 11, 20, 8, 0, tzinfo=UTC), datetime(2026, 11, 21, 8, 0, tzinfo=UTC))
    posts, changes = window_posts(store, window.start, window.end, sub.tags)
    messages = render_html(subscription_digest(posts, window.start, window.end, sub.tags, changes), sub.tz)
    record = store.digest_log.begin(sub.id, 42, window, messages)
    sending = Window(window.end, datetime(2026, 11, 22, 8, 0, tzinfo=UTC))
    store.digest_log.finish(record.id, now=datetime(2026, 11, 21, 8, 0, 5, tzinfo=UTC))
    skipped = store.digest_log.begin(sub.id, 42, Window(window.start.replace(day=19), window.start), [])
    store.digest_log.finish(skipped.id)  # an empty window with DIGEST_EMPTY=skip: nothing was sent
    store.digest_log.begin(sub.id, 42, sending, ["not sent yet"])  # still sending: not in the feed
    store.close()
    built = feed(archive_path, f"digest/{sub.id}")
    [entry] = built.entries
    assert entry.published == datetime(2026, 11, 21, 8, 0, 5, tzinfo=UTC)
    assert entry.content_html == "".join(f"<div>{m.replace(chr(10), '<br>' + chr(10))}</div>" for m in messages)
    assert "2026-11-21" in entry.title and "Serbia" in entry.title
    for fmt in FORMATS:
        assert check(render(built, fmt, f"{BASE}/feeds/digest/1.{fmt}"), fmt) == []
    with pytest.raises(FeedError):
        feed(archive_path, "digest/99")


def test_alerts_feed_lists_the_alerted_statements(archive_path: Path) -> None:
    store = Store.open(archive_path)
    sub = store.subscriptions.add(42, at=time(8, 0), tz=ZoneInfo("UTC"))
    lavrov = store.search("Lavrov Serbia Moscow", limit=5)
    for post in lavrov:
        store.alert_log.claim(post.id, 42, datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    store.alert_log.claim(lavrov[0].id, 7, datetime(2026, 11, 20, 9, 0, tzinfo=UTC))  # another chat
    store.close()
    [entry] = feed(archive_path, f"alerts/{sub.id}").entries
    assert LAVROV in entry.content_html and "Seen in 2 channels" in entry.content_html


def test_feed_names_are_checked() -> None:
    overflow = "9" * 20  # over SQLite's 64-bit integers: an OverflowError (a 500 on the web) before
    for bad in (
        "nope/x",
        "tag/",
        "digest/one",
        "alerts/²",
        "tag/" + "x" * 300,
        f"alerts/{overflow}",
        f"digest/{overflow}",
    ):
        with pytest.raises(FeedError):
            FeedSpec.parse(bad)
    for parse, huge in ((FeedSpec.parse, "x" * 100_000), (split_format, "tag/serbia." + "x" * 100_000)):
        with pytest.raises(FeedError) as refused:  # the message quotes 60 characters, not 100 KB
            parse(huge)
        assert len(str(refused.value)) < 200
    assert FeedSpec.parse("tag/#RussiaSerbia").path == "tag/russiaserbia"
    assert FeedSpec.parse("search/a/b c").url_path("atom") == "search/a%2Fb%20c.atom"
    assert FeedSpec.parse("search/a/b c").file_path("rss") == "search/a_b c.rss"
    long = FeedSpec.parse("search/" + "ж" * 150).file_path("json")
    assert len(long.encode()) < 200


# ------------------------------------------------------------------------------------------- web
@pytest.fixture(scope="module")
def guarded(filled: Path) -> Iterator[Client]:
    secret = feed_secret(None, TOKEN)
    with client_for(filled, token=TOKEN, feed_secret=secret, feed_base_url=BASE) as http:
        yield http


def test_web_feed_needs_the_token_or_its_own_key(guarded: Client) -> None:
    secret = feed_secret(None, TOKEN)
    assert secret is not None
    assert guarded.get("/feeds/tag/serbia.atom").status_code == 401
    ok = guarded.get("/feeds/tag/serbia.atom", params={"key": feed_key(secret, "tag/serbia")})
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/atom+xml")
    assert check(ok.text, "atom") == []
    assert f'href="{BASE}/feeds/tag/serbia.atom?key=' in ok.text  # self link as the reader reads it
    assert ok.headers["cache-control"] == "private, no-cache"
    # the same key serves the other formats of that feed, and nothing else
    assert guarded.get("/feeds/tag/serbia.rss", params={"key": feed_key(secret, "tag/serbia")}).status_code == 200
    assert guarded.get("/feeds/tag/kosovo.rss", params={"key": feed_key(secret, "tag/serbia")}).status_code == 401
    assert guarded.get("/", params={"key": feed_key(secret, "tag/serbia")}).status_code == 401
    assert guarded.get("/feeds/tag/serbia.atom", params={"key": "x" * 32}).status_code == 401
    assert guarded.get("/feeds/tag/serbia.json", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_web_feed_etag_and_last_modified_give_304(guarded: Client) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    first = guarded.get("/feeds/channel/2.rss", headers=auth)
    assert first.status_code == 200 and check(first.text, "rss") == []
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = guarded.get("/feeds/channel/2.rss", headers={**auth, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert guarded.get("/feeds/channel/2.rss", headers={**auth, "If-Modified-Since": modified}).status_code == 304
    stale = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert guarded.get("/feeds/channel/2.rss", headers={**auth, "If-Modified-Since": stale}).status_code == 200
    assert guarded.get("/feeds/channel/2.rss", headers={**auth, "If-None-Match": '"other"'}).status_code == 200
    assert guarded.get("/feeds/channel/2.rss", headers={**auth, "If-Modified-Since": "garbage"}).status_code == 200


def test_web_feed_bad_names_are_404_or_400_never_500(guarded: Client) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path, status in (
        ("/feeds/nope/x.atom", 404),
        ("/feeds/tag/serbia.xml", 404),
        ("/feeds/channel/nosuchchannel.atom", 404),
        ("/feeds/digest/77.atom", 404),
        ("/feeds/tag/serbia.atom?items=²", 400),
        ("/feeds/tag/serbia.atom?items=100000", 400),
        ("/feeds/tag/serbia.atom?items=" + "9" * 5000, 400),  # int() raised on 5,000 digits: a 500
        ("/feeds/search/%22.atom", 400),  # an unterminated quote, as search says
        ("/feeds/search/%22Kosovo%22%20OR.atom", 400),  # OR with nothing after it: the rule's syntax error
        ("/feeds/search/%22Kosovo%22%20OR%20Serbia.atom", 200),
    ):
        assert guarded.get(path, headers=auth).status_code == status, path


def test_open_viewer_serves_feeds_with_the_request_base(filled: Path) -> None:
    with client_for(filled) as http:
        page = http.get("/feeds/search/Kosovo.json")
        assert page.status_code == 200 and check(page.text, "json") == []
        assert page.json()["feed_url"] == str(http.base_url).rstrip("/") + "/feeds/search/Kosovo.json"


# ------------------------------------------------------------------------------------------- CLI
def test_feeds_build_writes_valid_files_and_only_what_changed(
    archive_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    args = ["--db", str(archive_path), "feeds", "build", str(site), "--base-url", BASE + "/"]
    assert main(args) == 0
    first = capsys.readouterr().err
    assert "0 unchanged" in first
    files = sorted(p for p in site.rglob("*") if p.is_file())
    feeds = [p for p in files if p.suffix in (".rss", ".atom", ".json")]
    assert {p.parent.name for p in feeds} == {"channel", "tag"}
    for path in feeds:
        assert (
            check(path.read_text(encoding="utf-8"), {".rss": "rss", ".atom": "atom", ".json": "json"}[path.suffix])
            == []
        )
    assert (site / "feeds.opml").is_file() and (site / "index.html").is_file()
    parsed = feedparser.parse((site / "tag" / "serbia.atom").read_text(encoding="utf-8"))
    assert parsed.feed.links[0].href == f"{BASE}/tag/serbia.atom"
    stamps = {p: p.stat().st_mtime_ns for p in files}
    assert main(args) == 0
    assert f"0 files written, {len(files)} unchanged" in capsys.readouterr().err
    ingest(
        archive_path,
        [
            RawPost(
                channel=ChannelRef(tg_id=1700000002),
                message_id=999,
                date=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
                text="Belgrade and Moscow sign a new gas contract for Serbia.",
                source="export",
            )
        ],
    )
    assert main(args) == 0
    capsys.readouterr()
    changed = {p for p in files if p.stat().st_mtime_ns != stamps[p]}
    assert site / "channel" / "2.atom" in changed and site / "channel" / "1.atom" not in changed
    assert len(changed) < len(files) / 2


def test_feeds_build_needs_a_base_url(archive_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(archive_path), "feeds", "build", str(tmp_path / "site")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "tgmonitor: error: feeds need absolute links: pass --base-url https://… or set FEED_BASE_URL"
    assert not (tmp_path / "site").exists()


def test_feeds_build_refuses_a_bad_choice_before_writing_any_file(
    archive_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A good --search then a bad one wrote the good one's files and then failed, before."""
    site = tmp_path / "site"
    build = ["--db", str(archive_path), "feeds", "build", str(site), "--base-url", BASE]
    for bad, says in [
        (["--search", "Serbia", "--search", "(Serbia"], "feed search/(Serbia: '(' at 1 is never closed"),
        (["--search", "Serbia", "--channel", "@nobody_here"], "feed channel/@nobody_here: there is no such channel"),
    ]:
        assert main([*build, *bad]) == 1
        assert says in capsys.readouterr().err
        assert not site.exists()
    for bad in (["--items", "٣"], ["--top-tags", "9" * 20], ["--items", "0"], ["--top-tags", "-1"]):
        with pytest.raises(SystemExit) as usage:  # OverflowError traceback from SQLite's LIMIT, before
            main([*build, *bad])
        assert usage.value.code == 2 and f"argument {bad[0]}:" in capsys.readouterr().err
    assert not site.exists()


def test_feeds_url_prints_a_working_key(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_TOKEN", TOKEN)
    assert main(["--db", str(filled), "feeds", "url", "tag/#Serbia", "--base-url", BASE, "--format", "rss"]) == 0
    url = capsys.readouterr().out.strip()
    secret = feed_secret(None, TOKEN)
    assert secret is not None
    assert url == f"{BASE}/feeds/tag/serbia.rss?key={feed_key(secret, 'tag/serbia')}"
    assert TOKEN not in url


def test_seen_in_agrees_with_the_listing_everywhere_else(filled: Path) -> None:
    """The feed's batched carrier look-up counts what `bot.app.listing.seen_in` counts for the web and the bot."""
    from bot.app.listing import collect_items, seen_in
    from bot.core.feed_items import statement_id

    store = ReadOnlyArchive(filled).store()
    try:
        expected = {
            statement_id(item, carriers([item], store)[0]): seen_in(item, store)
            for item in collect_items(store, want=100)
        }
    finally:
        store.close()
    entries = [e for name in ("channel/1", "channel/2", "channel/3", "tag/serbia") for e in feed(filled, name).entries]
    counts = {e.id: int(e.content_html.split("Seen in ")[1].split(" ")[0]) for e in entries}
    assert sorted(counts.values()).count(2) == 2  # the two statements both sample channels forwarded: one id each
    assert set(counts) <= set(expected)
    for entry_id, count in counts.items():
        assert count == expected[entry_id]
