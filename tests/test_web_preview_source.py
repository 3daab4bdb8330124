"""WebPreviewSource end to end: fixture pages served by a real HTTP server on 127.0.0.1, a real SQLite file.

The server is stdlib `ThreadingHTTPServer`; each route answers from a script of responses, so a test
can say "429 once, then the page" and read back exactly which requests the source made.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from bot.cli import main
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, RawPost, SaveResult
from bot.sources.web_preview import WebPreviewError, WebPreviewSource, _retry_after, resolve_channel
from bot.sources.web_preview_parser import parse_saved_page
from storage.store import Store
from tests.conftest import make_ingest

PAGES = Path(__file__).parent / "data" / "web_preview"
NEWEST = (PAGES / "balkan_watch.html").read_bytes()
OLDER = (PAGES / "balkan_watch_before_2031.html").read_bytes()
OLDEST = (PAGES / "balkan_watch_before_2024.html").read_bytes()
NEWEST_IDS = [2031, 2032, 2033, 2037, 2038, 2039, 2040, 2041]
OLDER_IDS = [2024, 2025, 2027, 2029]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class FakeTme:
    """Routes map a path (with query) to a script of replies; the last reply repeats forever."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with fake._lock:
                    fake.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
                    script = fake.routes.get(self.path)
                    reply = (script.pop(0) if len(script) > 1 else script[0]) if script else Reply(404)
                etag = reply.headers.get("ETag")
                modified = reply.headers.get("Last-Modified")
                if reply.status == 200 and (
                    (etag and self.headers.get("If-None-Match") == etag)
                    or (modified and self.headers.get("If-Modified-Since") == modified)
                ):
                    reply = Reply(304, headers=reply.headers)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                body = reply.body if reply.status == 200 else b""
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def serve_balkan_watch(self, *, etag: str | None = None, modified: str | None = None) -> None:
        headers = {k: v for k, v in (("ETag", etag), ("Last-Modified", modified)) if v}
        self.routes["/s/balkan_watch"] = [Reply(200, NEWEST, headers)]
        self.routes["/s/balkan_watch?before=2031"] = [Reply(200, OLDER)]
        self.routes["/s/balkan_watch?before=2024"] = [Reply(200, OLDEST)]


@pytest.fixture
def tme() -> Iterator[FakeTme]:
    fake = FakeTme()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "t.db")
    yield opened
    opened.close()


class Sleeps(list[float]):
    """Records the waits instead of waiting, so backoff is asserted rather than endured."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _poll(
    tme: FakeTme,
    store: Store,
    pipeline: Pipeline,
    *channels: str,
    sleeps: Sleeps | None = None,
    **options: object,
) -> dict[str, SaveResult | Exception]:
    async def go() -> dict[str, SaveResult | Exception]:
        async with httpx.AsyncClient() as client:
            web = WebPreviewSource(
                client,
                make_ingest(store, pipeline),
                store,
                base_url=tme.base_url,
                user_agent="tgmonitor-test",
                sleep=sleeps if sleeps is not None else Sleeps(),
                **options,  # type: ignore[arg-type]
            )
            return await web.poll_all(channels)

    return asyncio.run(go())


def _set_checkpoint(store: Store, username: str, message_id: int) -> None:
    """As a previous run of the poller left it (through its own Store, as a restart would)."""
    earlier = Store.open(store.db.conn.execute("PRAGMA database_list").fetchone()[2])
    earlier.ensure_channel(ChannelRef(username=username), "web")
    earlier.save_posts([], checkpoint=(ChannelRef(username=username), message_id))
    earlier.close()


def _ids(store: Store, username: str = "balkan_watch") -> list[int]:
    rows = store.db.execute(
        "SELECT p.message_id FROM posts p JOIN channels c ON c.id = p.channel_id WHERE c.username = ? "
        "ORDER BY p.message_id",
        [username],
    ).fetchall()
    return [r[0] for r in rows]


def test_poll_pages_back_to_the_checkpoint_once_each_and_then_gets_304(
    tme: FakeTme, db: Store, pipeline: Pipeline
) -> None:
    tme.serve_balkan_watch(etag='"v1"')
    tme.routes["/s/balkan_watch?before=2031"].insert(0, Reply(429, headers={"Retry-After": "1"}))
    _set_checkpoint(db, "balkan_watch", 2026)  # polled before, up to 2026
    sleeps = Sleeps()

    async def go() -> tuple[SaveResult, SaveResult]:
        async with httpx.AsyncClient() as client:
            web = WebPreviewSource(
                client, make_ingest(db, pipeline), db, base_url=tme.base_url, user_agent="tgmonitor-test", sleep=sleeps
            )
            return await web.poll("https://t.me/s/balkan_watch"), await web.poll("@Balkan_Watch")

    first, second = asyncio.run(go())

    assert first.inserted == 10 and first.updated == first.unchanged == 0
    assert _ids(db) == [2027, 2029, *NEWEST_IDS]  # 2024/2025 are at or below the checkpoint; 2031 once
    assert tme.paths() == [
        "/s/balkan_watch",
        "/s/balkan_watch?before=2031",  # 429, Retry-After: 1
        "/s/balkan_watch?before=2031",
        "/s/balkan_watch",  # second poll: 304
    ]
    assert sleeps == [1.0]
    assert tme.requests[0].headers["user-agent"] == "tgmonitor-test"
    assert "if-none-match" not in tme.requests[0].headers
    assert tme.requests[3].headers["if-none-match"] == '"v1"'
    assert second == SaveResult()

    channel = db.find_channel("balkan_watch")
    assert channel is not None
    assert (channel.title, channel.source, channel.last_message_id) == ("Balkan Watch", "web", 2041)
    assert channel.last_error is None and channel.last_polled_at is not None

    row = db.db.execute(
        "SELECT views, media_kind, edit_date, url, source FROM posts WHERE message_id = 2039"
    ).fetchone()
    assert tuple(row) == (
        1_200_000,
        None,
        "2025-03-14T11:20:00+00:00",
        "https://t.me/balkan_watch/2039",
        "web",
    )
    (stored,) = [p for p in db.search(channel="balkan_watch", limit=50) if p.message_id == 2031]
    assert stored.origin_key == "@mfa_russia/12345"
    assert stored.forward_name == "МИД России 🇷🇺"
    assert "russiaserbia" in {t.key for t in stored.tags}


def test_first_poll_takes_only_the_newest_page_and_a_repoll_stores_nothing(
    tme: FakeTme, db: Store, pipeline: Pipeline
) -> None:
    tme.serve_balkan_watch()  # no validators: the second poll downloads the page again
    first = _poll(tme, db, pipeline, "balkan_watch")["balkan_watch"]
    second = _poll(tme, db, pipeline, "balkan_watch")["balkan_watch"]

    assert isinstance(first, SaveResult) and first.inserted == 8
    assert second == SaveResult(unchanged=8)  # the newest page is read again for edits; nothing changed
    assert _ids(db) == NEWEST_IDS
    assert tme.paths() == ["/s/balkan_watch", "/s/balkan_watch"]
    assert db.checkpoint(db.ensure_channel(ChannelRef(username="balkan_watch"))) == 2041


def test_last_modified_is_sent_back_and_304_means_nothing_to_do(tme: FakeTme, db: Store, pipeline: Pipeline) -> None:
    stamp = "Fri, 14 Mar 2025 13:20:00 GMT"
    tme.serve_balkan_watch(modified=stamp)

    async def go() -> list[SaveResult]:
        async with httpx.AsyncClient() as client:
            web = WebPreviewSource(
                client, make_ingest(db, pipeline), db, base_url=tme.base_url, user_agent="t", sleep=Sleeps()
            )
            return [await web.poll("balkan_watch"), await web.poll("balkan_watch")]

    first, second = asyncio.run(go())
    assert first.inserted == 8 and second == SaveResult()
    assert tme.requests[1].headers["if-modified-since"] == stamp
    assert "if-modified-since" not in tme.requests[0].headers


def test_a_failing_channel_is_recorded_and_the_others_still_poll(tme: FakeTme, db: Store, pipeline: Pipeline) -> None:
    tme.serve_balkan_watch()
    tme.routes["/s/broken"] = [Reply(500)]
    sleeps = Sleeps()

    results = _poll(tme, db, pipeline, "@broken", "balkan_watch", sleeps=sleeps, max_retries=3, backoff=0.5)

    assert isinstance(results["@broken"], WebPreviewError)
    assert "HTTP 500" in str(results["@broken"])
    assert isinstance(results["balkan_watch"], SaveResult) and results["balkan_watch"].inserted == 8
    assert tme.paths().count("/s/broken") == 4  # first try + 3 retries
    assert sleeps == [0.5, 1.0, 2.0]
    broken, good = db.find_channel("broken"), db.find_channel("balkan_watch")
    assert broken is not None and good is not None
    assert broken.last_error is not None and "HTTP 500" in broken.last_error
    assert broken.last_polled_at is not None and broken.last_message_id == 0
    assert good.last_error is None

    # once the channel answers again, its error is cleared
    tme.routes["/s/broken"] = [Reply(200, OLDEST)]
    assert _poll(tme, db, pipeline, "broken")["broken"] == SaveResult()
    recovered = db.find_channel("broken")
    assert recovered is not None and recovered.last_error is None


def test_redirect_unknown_status_and_long_retry_after_fail_without_retrying(
    tme: FakeTme, db: Store, pipeline: Pipeline
) -> None:
    tme.routes["/s/private_one"] = [Reply(302, headers={"Location": "https://t.me/private_one"})]
    tme.routes["/s/slow_down"] = [Reply(429, headers={"Retry-After": "3600"})]
    sleeps = Sleeps()
    results = _poll(tme, db, pipeline, "private_one", "slow_down", "missing_one", sleeps=sleeps)

    assert "no public web preview" in str(results["private_one"])
    assert "asked to wait 3600s" in str(results["slow_down"])
    assert "HTTP 404" in str(results["missing_one"])
    assert sleeps == []
    assert tme.paths() == ["/s/private_one", "/s/slow_down", "/s/missing_one"]
    row = db.find_channel("slow_down")
    assert row is not None and row.last_error is not None and "3600" in row.last_error


def test_transport_errors_are_retried_then_reported(db: Store, pipeline: Pipeline) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there any more
    sleeps = Sleeps()

    async def go() -> dict[str, SaveResult | Exception]:
        async with httpx.AsyncClient() as client:
            web = WebPreviewSource(
                client,
                make_ingest(db, pipeline),
                db,
                base_url=f"http://127.0.0.1:{port}",
                user_agent="t",
                sleep=sleeps,
                max_retries=2,
                backoff=0.25,
                timeout=2.0,
            )
            return await web.poll_all(["balkan_watch"])

    result = asyncio.run(go())["balkan_watch"]
    assert isinstance(result, WebPreviewError) and "ConnectError" in str(result)
    assert sleeps == [0.25, 0.5]


def test_not_a_preview_page_is_an_error(tme: FakeTme, db: Store, pipeline: Pipeline) -> None:
    tme.routes["/s/landing"] = [Reply(200, (PAGES / "not_a_preview.html").read_bytes())]
    result = _poll(tme, db, pipeline, "landing")["landing"]
    assert isinstance(result, WebPreviewError) and "not a web preview page" in str(result)


def _backfill(tme: FakeTme, store: Store, pipeline: Pipeline, **kwargs: object) -> tuple[SaveResult, list[int]]:
    counts: list[int] = []

    async def go() -> SaveResult:
        async with httpx.AsyncClient() as client:
            web = WebPreviewSource(
                client, make_ingest(store, pipeline), store, base_url=tme.base_url, user_agent="t", sleep=Sleeps()
            )
            return await web.backfill("balkan_watch", progress=counts.append, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go()), counts


def test_backfill_pages_to_the_first_post(tme: FakeTme, db: Store, pipeline: Pipeline) -> None:
    tme.serve_balkan_watch()
    result, counts = _backfill(tme, db, pipeline)
    assert result.inserted == 12 and sum(counts) == 12 and counts == [8, 4]
    assert _ids(db) == OLDER_IDS + NEWEST_IDS
    assert tme.paths() == ["/s/balkan_watch", "/s/balkan_watch?before=2031", "/s/balkan_watch?before=2024"]
    assert db.checkpoint(db.ensure_channel(ChannelRef(username="balkan_watch"))) == 2041
    again, _ = _backfill(tme, db, pipeline)
    assert again.inserted == 0 and again.updated == 0 and again.unchanged == 12


def test_backfill_stops_at_limit_and_since(tme: FakeTme, db: Store, pipeline: Pipeline) -> None:
    tme.serve_balkan_watch()
    result, _ = _backfill(tme, db, pipeline, limit=10)
    assert result.inserted == 10
    assert _ids(db) == [2027, 2029, *NEWEST_IDS]
    assert "/s/balkan_watch?before=2024" not in tme.paths()

    tme.requests.clear()
    result, _ = _backfill(tme, db, pipeline, since=datetime(2025, 3, 13, 9, 0, tzinfo=UTC))
    assert result.inserted == 1  # 2025 (09:05); 2024 (06:40) is older than `since`
    assert 2024 not in _ids(db) and 2025 in _ids(db)
    assert tme.paths() == ["/s/balkan_watch", "/s/balkan_watch?before=2031"]


def test_backfill_moves_the_checkpoint_only_over_contiguous_history(
    tme: FakeTme, db: Store, pipeline: Pipeline
) -> None:
    tme.serve_balkan_watch()
    ref = ChannelRef(username="balkan_watch")
    _set_checkpoint(db, "balkan_watch", 2000)
    _backfill(tme, db, pipeline, limit=3)
    assert _ids(db) == [2039, 2040, 2041]
    # 2001..2038 were not all seen, so the poller must still fetch them
    assert db.checkpoint(db.ensure_channel(ref)) == 2000


@pytest.mark.parametrize(
    "given",
    [
        "@mfa_russia",
        "mfa_russia",
        "MFA_Russia",
        "https://t.me/mfa_russia",
        "t.me/s/mfa_russia",
        "https://t.me/s/mfa_russia?before=12",
        "https://t.me/mfa_russia/12345",
        "telegram.me/mfa_russia/",
    ],
)
def test_resolve_channel(given: str) -> None:
    assert resolve_channel(given) == "mfa_russia"


@pytest.mark.parametrize("given", ["", "@", "-1001234567890", "https://t.me/+AbCdEf", "t.me/c/123/4", "a b"])
def test_resolve_channel_refuses(given: str) -> None:
    with pytest.raises(ValueError, match="public channel name"):
        resolve_channel(given)


def test_retry_after_forms() -> None:
    assert _retry_after("7") == 7.0
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: go now


def test_cli_import_of_a_saved_page_and_backfill_web(
    tme: FakeTme, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / "test.env"
    env.write_text(f"WEB_PREVIEW_BASE={tme.base_url}\n", encoding="utf-8")
    base = ["--env", str(env), "--db", str(tmp_path / "cli.db")]

    assert main([*base, "import", str(PAGES / "balkan_watch.html")]) == 0
    assert "8 new" in capsys.readouterr().out
    assert main([*base, "import", str(PAGES / "not_a_preview.html")]) == 1
    assert "not_a_preview.html: not a Telegram web preview page" in capsys.readouterr().err

    tme.serve_balkan_watch()
    assert main([*base, "backfill-web", "https://t.me/s/balkan_watch", "--delay", "0"]) == 0
    assert "@balkan_watch: 4 new, 0 updated, 8 unchanged" in capsys.readouterr().out


def test_backfill_web_folds_a_copy_into_the_cluster_of_its_original(
    tme: FakeTme, tmp_path: Path, pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every ingest path clusters near-duplicates: backfill-web used to save without the index."""
    statement = (
        "Министр иностранных дел России Сергей Лавров провёл телефонный разговор с министром иностранных дел "
        "Сербии.\n\nСтороны обсудили энергетическое сотрудничество"
    )
    db_path = tmp_path / "cli.db"
    store = Store.open(db_path)
    elsewhere = ChannelRef(tg_id=77, username="serbia_today", title="Serbia Today")
    page_post = next(p for p in parse_saved_page(PAGES / "balkan_watch.html") if p.message_id == 2031)
    assert page_post.text.startswith(statement)  # the page carries the statement, forwarded from the MFA
    copy = RawPost(
        channel=elsewhere,
        message_id=5,
        date=page_post.date,
        text="⚡️ВАЖНО:\n" + page_post.text + "\n\n👉 Подпишитесь на Serbia Today",
        source="telethon",
    )
    (copy_id,) = make_ingest(store, pipeline).save([copy]).new_ids
    store.close()

    env = tmp_path / "test.env"
    env.write_text(f"WEB_PREVIEW_BASE={tme.base_url}\n", encoding="utf-8")
    tme.serve_balkan_watch()
    assert main(["--env", str(env), "--db", str(db_path), "backfill-web", "@balkan_watch", "--delay", "0"]) == 0
    capsys.readouterr()

    store = Store.open(db_path)
    try:
        clusters = dict(store.db.execute("SELECT message_id, cluster_id FROM posts").fetchall())
        assert None not in clusters.values()  # every backfilled post went through the index
        assert clusters[2031] == clusters[5] == copy_id  # the copy joined the earlier post's cluster
        assert len(set(clusters.values())) == len(clusters) - 1  # and nothing else folded
    finally:
        store.close()
