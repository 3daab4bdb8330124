"""`tgmonitor run`: as a real subprocess against a fake t.me on 127.0.0.1, and in-process with fakes.

The subprocess tests (marked slow) drive the service only the way systemd or Docker do
(environment, signals, exit code, stderr) and inspect the archive through a separate read-only
connection while it runs. The in-process tests cover the parts that need Telegram: the listener
and the bot run against fakes of the Telethon client surface they use, with real Telethon messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from telethon import events
from telethon.errors import AccessTokenInvalidError

from bot.app.archive import Archive
from bot.config import SETTING_NAMES, Settings
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef
from bot.service.run import EX_CONFIG, Service, notify_systemd
from storage.store import Store
from tests import tg_factory as tg
from tests.article_server import QuietServer
from tests.tg_factory import FakeEdge

pytestmark = pytest.mark.both_backends

REPO = Path(__file__).resolve().parent.parent
# Listed as TG_SESSION (a secret) and also the name of a watched channel, so the service's own
# start-up line would print it: the log must show it redacted, proving the filter is installed.
SECRET = "beta_news"
# Recent enough for alerts (they skip posts older than a day), fixed so a re-served post is unchanged.
EPOCH = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


VOCABULARY = re.findall(
    r"\w+",
    "minister ambassador embassy treaty sanctions summit parliament border energy pipeline "
    "grain elections referendum protest court ruling budget tariff visa airport railway "
    "harbour drought flood vaccine hospital university festival museum satellite reactor "
    "refinery bridge tunnel",
)


def make_service(settings: Settings, store: Store, pipeline: Pipeline, **options: Any) -> Service:
    return Service(settings, Archive.around(settings, store, pipeline), **options)


def post_text(channel: str, n: int) -> str:
    """Distinct wording per post: near-duplicate folding (alerts, digests) must not merge them."""
    words = " ".join(VOCABULARY[(n * 5 + i * 7 + len(channel)) % len(VOCABULARY)] for i in range(10))
    return f"Statement {n} of {channel}: {words}; talks on regional security."


def page(channel: str, posts: list[int], before: int | None = None) -> bytes:
    """A t.me/s/ page in Telegram's markup: newest 20 posts (below `before`), oldest first."""
    shown = [p for p in posts if before is None or p < before][-20:]
    blocks = "".join(
        f"""
    <div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="{channel}/{n}">
      <div class="tgme_widget_message_text">{post_text(channel, n)}</div>
      <div class="tgme_widget_message_footer"><div class="tgme_widget_message_meta">
        <a class="tgme_widget_message_date" href="https://t.me/{channel}/{n}">
          <time datetime="{(EPOCH + timedelta(minutes=n)).isoformat()}">{n}</time></a>
      </div></div>
    </div></div>"""
        for n in shown
    )
    more = f'<link rel="prev" href="/s/{channel}?before={shown[0]}">' if shown and shown[0] > min(posts) else ""
    html = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
  <meta property="og:title" content="{channel.title()}">{more}
  <link rel="canonical" href="/s/{channel}"></head>
<body><section class="tgme_channel_history js-message_history">{blocks}
</section></body></html>"""
    return html.encode()


@dataclass
class FakeChannel:
    posts: list[int]
    grow_for: int = 0  # the first `grow_for` requests each publish one new post
    hang: float = 0.0  # seconds every request takes (a poll in flight at shutdown)
    requests: int = 0
    served: set[int] = field(default_factory=set)


class FakeTme:
    def __init__(self, channels: dict[str, FakeChannel]) -> None:
        self.channels = channels
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                name = url.path.removeprefix("/s/")
                with fake.lock:
                    chan = fake.channels.get(name)
                    if chan is None:
                        body, status = b"", 404
                    else:
                        chan.requests += 1
                        if chan.requests <= chan.grow_for:
                            chan.posts.append(max(chan.posts) + 1)
                        before = parse_qs(url.query).get("before")
                        body, status = page(name, chan.posts, int(before[0]) if before else None), 200
                        chan.served.update(int(m) for m in re.findall(rb'data-post="\w+/(\d+)"', body))
                    hang = chan.hang if chan else 0.0
                if hang:
                    time.sleep(hang)
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        # quiet: a hanging poll's handler writes to a client long gone (BrokenPipe) after its test ended
        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeTme:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    log_path: Path
    db: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"service exited early ({self.proc.returncode}) waiting for {what}:\n{self.log()}")
            if check():
                return
            time.sleep(0.1)
        pytest.fail(f"timed out after {timeout}s waiting for {what}:\n{self.log()}")

    def stop(self, *signals: signal.Signals, gap: float = 0.3, timeout: float = 10.0) -> tuple[int, float]:
        began = time.monotonic()
        for i, sig in enumerate(signals):
            if i:
                time.sleep(gap)
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"service did not exit within {timeout}s:\n{self.log()}")
        return code, time.monotonic() - began


def stored(db: Path) -> dict[str, list[int]]:
    """channel -> message ids, read like `tgmonitor status` does: a separate read-only connection."""
    if not db.exists():
        return {}
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute(
            "SELECT c.username, p.message_id FROM posts p JOIN channels c ON c.id = p.channel_id ORDER BY 1, 2"
        ).fetchall()
    except sqlite3.OperationalError:
        return {}  # schema not created yet
    finally:
        conn.close()
    found: dict[str, list[int]] = {}
    for channel, message_id in rows:
        found.setdefault(channel, []).append(message_id)
    return found


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(base: str, channels: str, **extra: str) -> Running:
        env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
        env.update(
            {
                "PYTHONPATH": str(REPO),
                "TZ": "UTC",
                "DATA_DIR": str(tmp_path / "data"),
                "CHANNELS": channels,
                "WEB_PREVIEW_BASE": base,
                "POLL_INTERVAL": "1",
                "DIGEST_OUTPUT": str(tmp_path / "digests.txt"),
                "TG_SESSION": SECRET,
                "LOG_LEVEL": "INFO",
                **extra,
            }
        )
        log_path = tmp_path / f"service{len(started)}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sys; from bot.cli import main; sys.exit(main())",
                    "run",
                ],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        running = Running(proc, log_path, tmp_path / "data" / "tgmonitor.db")
        started.append(running)
        return running

    yield start
    for running in started:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait()


@pytest.mark.slow
def test_run_polls_then_stops_cleanly_on_sigterm(start_service: Callable[..., Running]) -> None:
    channels = {"alpha_news": FakeChannel([1, 2, 3], grow_for=3), SECRET: FakeChannel([10, 11])}
    with FakeTme(channels) as tme:
        svc = start_service(
            tme.base, f"@alpha_news, https://t.me/{SECRET}", LOG_FORMAT="json", ALERT_WORDS="regional security"
        )

        def settled() -> bool:
            with tme.lock:
                grown = all(c.requests > c.grow_for for c in channels.values())
                expected = {name: sorted(c.posts) for name, c in channels.items()}
            return grown and stored(svc.db) == expected

        svc.wait_for("every published post in the archive", settled)
        code, took = svc.stop(signal.SIGTERM)

    log = svc.log()
    assert code == 0, log
    assert took < 10
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]  # JSON lines, one per event
    messages = [line["msg"] for line in lines]
    assert any(m.startswith("listener: off (no API_ID/API_HASH) → web preview source for 2 channels") for m in messages)
    assert any(m.startswith("bot: off (no BOT_TOKEN)") for m in messages)
    assert any(m.startswith("tgmonitor stopped cleanly in") for m in messages), log
    assert SECRET not in log and "[redacted]" in log
    # nothing lost, nothing doubled: exactly the served posts, each once (stored() keeps duplicates)
    final = stored(svc.db)
    assert final == {name: sorted(c.served) for name, c in channels.items()}
    assert final["alpha_news"] == [1, 2, 3, 4, 5, 6]
    # alerts are wired to the console sender (DIGEST_OUTPUT): one per matching post, none twice
    alerts = (svc.db.parent.parent / "digests.txt").read_text(encoding="utf-8")
    for name, ids in final.items():
        for n in ids:
            assert alerts.count(f"Statement {n} of {name}:") == 1, alerts


@pytest.mark.slow
def test_status_reads_the_running_service_and_reports_health(
    start_service: Callable[..., Running], tmp_path: Path
) -> None:
    channels = {"alpha_news": FakeChannel([1, 2])}
    with FakeTme(channels) as tme:
        svc = start_service(tme.base, "@alpha_news")
        svc.wait_for("the first poll", lambda: stored(svc.db) == {"alpha_news": [1, 2]})
        svc.wait_for("a recorded poll", lambda: "poll: 1 channel read" in svc.log())
        status = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from bot.cli import main; sys.exit(main())",
                "--db",
                str(svc.db),
                "status",
                "--json",
            ],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO), "POLL_INTERVAL": "1"},
            capture_output=True,
            text=True,
            timeout=20,
        )
        code, _ = svc.stop(signal.SIGTERM)
    assert code == 0
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["healthy"] is True
    assert report["service"]["state"] == "running" and report["service"]["source"] == "web preview"
    assert report["channels"][0]["channel"] == "@alpha_news" and report["channels"][0]["posts"] == 2
    assert report["db"]["total_bytes"] >= report["db"]["file_bytes"] > 0


@pytest.mark.slow
def test_sigterm_during_a_hanging_poll_still_exits_0_within_10s(start_service: Callable[..., Running]) -> None:
    channels = {"slow_news": FakeChannel([1], hang=30.0)}
    with FakeTme(channels) as tme:
        svc = start_service(tme.base, "@slow_news")
        svc.wait_for("a poll in flight", lambda: channels["slow_news"].requests >= 1)
        code, took = svc.stop(signal.SIGTERM)
    log = svc.log()
    assert code == 0, log
    assert took < 10, log
    assert "cancelled" in log and "tgmonitor stopped cleanly" in log


@pytest.mark.slow
def test_second_signal_exits_at_once(start_service: Callable[..., Running]) -> None:
    channels = {"slow_news": FakeChannel([1], hang=30.0)}
    with FakeTme(channels) as tme:
        svc = start_service(tme.base, "@slow_news")
        svc.wait_for("a poll in flight", lambda: channels["slow_news"].requests >= 1)
        code, took = svc.stop(signal.SIGTERM, signal.SIGINT, gap=0.5)
    log = svc.log()
    assert code == 128 + signal.SIGINT, log
    assert took < 2.5, log
    assert "second signal (SIGINT): exiting now" in log


@pytest.mark.slow
def test_bad_settings_exit_78_so_systemd_does_not_restart(start_service: Callable[..., Running]) -> None:
    svc = start_service("http://127.0.0.1:9", "@alpha_news", POLL_INTERVAL="often")
    assert svc.proc.wait(timeout=20) == 78
    assert "POLL_INTERVAL" in svc.log()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("setting", "content"),
    [("RULES_FILE", "[[topic\nbroken"), ("BOILERPLATE_FILE", "not a rule ((\n")],
)
def test_a_broken_rules_file_exits_78_too(
    start_service: Callable[..., Running], tmp_path: Path, setting: str, content: str
) -> None:
    """A keyword or boilerplate file that does not parse is a settings problem: restarting cannot help."""
    broken = tmp_path / "broken.toml"
    broken.write_text(content, encoding="utf-8")
    svc = start_service("http://127.0.0.1:9", "@alpha_news", **{setting: str(broken)})
    assert svc.proc.wait(timeout=20) == 78, svc.log()
    log = svc.log()
    assert str(broken) in log and "Traceback" not in log


# ------------------------------------------------------------------------------ in-process, fakes
class FakeUserClient:
    """The TelegramClient surface ListenerPart and TelethonClientEdge use, over tg_factory.FakeEdge."""

    def __init__(self, edge: FakeEdge, *, authorized: bool = True) -> None:
        self.edge = edge
        self.authorized = authorized
        self.handlers: list[tuple[Any, Any]] = []
        self.connected = False
        self._disconnected: asyncio.Future[None] | None = None

    async def connect(self) -> None:
        self.connected = True
        self._disconnected = asyncio.get_running_loop().create_future()

    def is_connected(self) -> bool:
        return self.connected

    async def is_user_authorized(self) -> bool:
        return self.authorized

    def iter_messages(self, entity: Any, **kwargs: Any) -> Any:
        return self.edge.iter_messages(entity, **kwargs)

    async def get_entity(self, ref: Any) -> Any:
        return await self.edge.get_entity(ref)

    async def download_media(self, message: Any, file: str) -> str | None:
        return await self.edge.download_media(message, Path(file))

    def add_event_handler(self, callback: Any, event: Any) -> None:
        self.handlers.append((callback, event))

    def list_event_handlers(self) -> list[tuple[Any, Any]]:
        return list(self.handlers)

    def remove_event_handler(self, callback: Any, event: Any = None) -> None:
        self.handlers = [(c, e) for c, e in self.handlers if c != callback]  # bound methods: ==, not is

    async def disconnect(self) -> None:
        self.connected = False
        if self._disconnected is not None and not self._disconnected.done():
            self._disconnected.set_result(None)

    @property
    def disconnected(self) -> asyncio.Future[None]:
        assert self._disconnected is not None
        return self._disconnected

    async def push_new(self, msg: Any) -> None:
        self.edge.post(msg)
        for callback, event in list(self.handlers):
            if isinstance(event, events.NewMessage):
                await callback(SimpleNamespace(message=msg))


class FakeBotClient(FakeUserClient):
    """A logged-in bot: answers get_me, takes requests and messages."""

    def __init__(self, *, refuse_token: bool = False) -> None:
        super().__init__(FakeEdge())
        self.sent: list[tuple[int | str, str]] = []
        self.requests: list[Any] = []
        self.refuse_token = refuse_token

    async def start_as_bot(self, settings: Settings) -> FakeBotClient:
        if self.refuse_token:
            raise AccessTokenInvalidError(request=None)
        await self.connect()
        return self

    async def get_me(self) -> Any:
        return SimpleNamespace(username="TgMonitorBot")

    async def __call__(self, request: Any) -> None:
        self.requests.append(request)

    async def send_message(self, chat: int | str, text: str, **kwargs: Any) -> Any:
        self.sent.append((chat, text))
        return SimpleNamespace(id=len(self.sent))


def listener_settings(tmp_path: Path, **extra: str) -> Settings:
    return Settings.from_mapping(
        {
            "DATA_DIR": str(tmp_path),
            "API_ID": "12345",
            "API_HASH": "0123456789abcdef0123456789abcdef",
            "CHANNELS": "@balkan_watch",
            "POLL_INTERVAL": "1h",
            **extra,
        }
    )


async def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def test_listener_and_bot_run_in_one_loop_and_stop_cleanly(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    edge = FakeEdge([tg.channel(1001, "balkan_watch", "Balkan Watch")])
    edge.post(
        tg.message(1, "Talks on Kosovo in Brussels.", date=now - timedelta(minutes=5)),
        tg.message(2, "Weather in Sofia.", date=now - timedelta(minutes=4)),
    )
    user, bot = FakeUserClient(edge), FakeBotClient()
    settings = listener_settings(
        tmp_path, BOT_TOKEN="123456789:" + "A" * 30, DIGEST_CHAT="-100123", ALERT_WORDS="Kosovo", ALLOWED_USERS="7"
    )
    notes: list[str] = []

    async def scenario() -> int:
        service = make_service(
            settings,
            store,
            pipeline,
            user_client_factory=lambda s: user,  # type: ignore[arg-type,return-value]
            bot_starter=bot.start_as_bot,  # type: ignore[arg-type]
            notify=lambda m: notes.append(m) or True,
        )
        running = asyncio.create_task(service.run())
        await wait_until(lambda: len(store.search(limit=10)) == 2 and bool(bot.sent))
        await user.push_new(tg.message(3, "Live: Serbia and Kosovo.", date=now))  # a live update
        await wait_until(lambda: len(store.search(limit=10)) == 3)
        await wait_until(lambda: len(bot.sent) == 2)  # the live post's alert goes out at once
        assert len(bot.handlers) == 2 and len(user.handlers) == 3
        service.request_stop("test")
        return await asyncio.wait_for(running, timeout=10)

    with caplog.at_level(logging.INFO):
        assert asyncio.run(scenario()) == 0
    assert notes == ["READY=1", "STOPPING=1"]
    assert not user.handlers and not bot.handlers  # stopped taking updates
    assert not user.connected and not bot.connected
    assert [chat for chat, _ in bot.sent] == [-100123, -100123]  # one alert per matching post
    assert "Talks on Kosovo" in bot.sent[0][1] and "Live: Serbia and Kosovo" in bot.sent[1][1]
    assert store.meta_get("service.state") == "stopped" and store.meta_get("service.source") == "listener"
    assert store.checkpoint(store.ensure_channel(ChannelRef(tg_id=1001))) == 2  # live updates never move it
    text = caplog.text
    assert "listener: on (Telegram user client, live updates + catch-up) for 1 channel" in text
    assert "bot: on (@TgMonitorBot) → commands for 1 allowed user/chat" in text
    assert "digests: on, 1 subscription (daily 08:00 UTC)" in text and "alerts: on (0 tags, 1 word)" in text
    assert "tgmonitor stopped cleanly" in text


def test_a_live_post_is_alerted_at_once_not_at_the_next_poll(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    """Found over the real protocol: a live post waited for the 30 s drain run (or the next poll)."""
    now = datetime.now(UTC).replace(microsecond=0)
    edge = FakeEdge([tg.channel(1001, "balkan_watch", "Balkan Watch")])
    edge.post(tg.message(1, "Weather in Sofia.", date=now - timedelta(minutes=5)))
    user, bot = FakeUserClient(edge), FakeBotClient()
    settings = listener_settings(
        tmp_path, BOT_TOKEN="123456789:" + "A" * 30, ALERT_CHAT="-100123", ALERT_WORDS="Kosovo", ALLOWED_USERS="7"
    )

    async def scenario() -> float:
        service = make_service(
            settings,
            store,
            pipeline,
            user_client_factory=lambda s: user,
            bot_starter=bot.start_as_bot,
            notify=lambda m: True,
        )
        running = asyncio.create_task(service.run())
        await wait_until(lambda: store.meta_get("service.last_poll_at") is not None)
        pushed = asyncio.get_running_loop().time()
        await user.push_new(tg.message(2, "Live: talks on Kosovo resume.", date=now))
        await wait_until(lambda: bool(bot.sent), timeout=5)  # the drain run is 30 s away
        took = asyncio.get_running_loop().time() - pushed
        service.request_stop("test")
        await asyncio.wait_for(running, timeout=10)
        return took

    assert asyncio.run(scenario()) < 5
    assert [chat for chat, _ in bot.sent] == [-100123] and "Live: talks on Kosovo" in bot.sent[0][1]


@pytest.mark.parametrize("problem", ["not logged in", "token refused"])
def test_configuration_problems_exit_78(
    problem: str, store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    user = FakeUserClient(FakeEdge([tg.channel(1001, "balkan_watch", "Balkan Watch")]))
    user.authorized = problem != "not logged in"
    bot = FakeBotClient(refuse_token=problem == "token refused")
    service = make_service(
        listener_settings(tmp_path, BOT_TOKEN="123456789:" + "A" * 30),
        store,
        pipeline,
        user_client_factory=lambda s: user,  # type: ignore[arg-type,return-value]
        bot_starter=bot.start_as_bot,  # type: ignore[arg-type]
        notify=lambda m: True,
    )
    assert asyncio.run(service.run()) == EX_CONFIG
    assert "tgmonitor login" in caplog.text if problem == "not logged in" else "refused BOT_TOKEN" in caplog.text
    assert not user.connected


def test_without_channels_or_bot_it_exits_78_saying_what_to_set(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(Settings.from_mapping({"DATA_DIR": str(tmp_path)}), store, pipeline, notify=lambda m: True)
    with caplog.at_level(logging.INFO):
        assert asyncio.run(service.run()) == EX_CONFIG
    assert "cannot start: nothing to monitor: set CHANNELS" in caplog.text and "BOT_TOKEN" in caplog.text


def test_a_watched_channel_is_enough_and_what_is_off_says_why(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store.set_watched(ChannelRef(username="balkan_watch"), True)  # /watch in the bot, earlier
    settings = Settings.from_mapping({"DATA_DIR": str(tmp_path), "WEB_PREVIEW_BASE": "http://127.0.0.1:9"})
    service = make_service(settings, store, pipeline, notify=lambda m: True)

    async def scenario() -> int:
        running = asyncio.create_task(service.run())
        await wait_until(lambda: "running;" in caplog.text)
        service.request_stop("test")
        return await running

    with caplog.at_level(logging.INFO):
        assert asyncio.run(scenario()) == 0
    for line in (
        "listener: off (no API_ID/API_HASH) → web preview source for 1 channel (@balkan_watch)",
        "bot: off (no BOT_TOKEN) → no bot commands; digests and alerts to stdout",
        "digests: on, 1 subscription (daily 08:00 UTC) → stdout",
        "alerts: off (no ALERT_TAGS or ALERT_WORDS, no ALERT_RULES or /alert rules)",
        "edit alerts: off (no ALERT_EDITS)",
    ):
        assert line in caplog.text


def test_notify_systemd_sends_one_datagram(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        assert notify_systemd("READY=1", {"NOTIFY_SOCKET": str(path)})
        assert server.recv(100) == b"READY=1"
    assert not notify_systemd("READY=1", {})
    assert not notify_systemd("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})


def test_a_listener_that_gives_up_reconnecting_exits_1_for_a_restart(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    user = FakeUserClient(FakeEdge([tg.channel(1001, "balkan_watch", "Balkan Watch")]))

    async def scenario() -> int:
        service = make_service(
            listener_settings(tmp_path),
            store,
            pipeline,
            user_client_factory=lambda s: user,  # type: ignore[arg-type,return-value]
            notify=lambda m: True,
        )
        running = asyncio.create_task(service.run())
        await wait_until(lambda: store.meta_get("service.last_poll_at") is not None)
        user.disconnected.set_exception(ConnectionError("server closed the connection"))
        return await asyncio.wait_for(running, timeout=10)

    with caplog.at_level(logging.INFO):
        assert asyncio.run(scenario()) == 1
    assert "listener lost its Telegram connection for good: ConnectionError: server closed" in caplog.text
    assert "tgmonitor stopped in" in caplog.text and "with exit code 1" in caplog.text


def test_edit_alerts_run_in_the_service_for_live_edits_and_deletions(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    edge = FakeEdge([tg.channel(1001, "balkan_watch", "Balkan Watch")])
    edge.post(
        tg.message(1, "Serbia will not join the sanctions, the minister said.", date=now - timedelta(minutes=5)),
        tg.message(2, "Weather in Sofia.", date=now - timedelta(minutes=4)),
    )
    user, bot = FakeUserClient(edge), FakeBotClient()
    settings = listener_settings(
        tmp_path, BOT_TOKEN="123456789:" + "A" * 30, ALERT_CHAT="-100123", ALERT_EDITS="@balkan_watch"
    )

    async def scenario() -> int:
        service = make_service(
            settings,
            store,
            pipeline,
            user_client_factory=lambda s: user,  # type: ignore[arg-type,return-value]
            bot_starter=bot.start_as_bot,  # type: ignore[arg-type]
            notify=lambda m: True,
        )
        running = asyncio.create_task(service.run())
        await wait_until(lambda: len(store.search(limit=10)) == 2)
        edited = tg.message(1, "Serbia will join the sanctions, the minister said.", date=now - timedelta(minutes=5))
        edited.edit_date = now
        edge.post(edited)
        for callback, event in list(user.handlers):
            if isinstance(event, events.MessageEdited):
                await callback(SimpleNamespace(message=edited))
            if isinstance(event, events.MessageDeleted):
                await callback(SimpleNamespace(original_update=SimpleNamespace(channel_id=1001), deleted_ids=[2]))
        service.scheduler.run_soon("alerts:edits")
        await wait_until(lambda: len(bot.sent) == 2)
        service.request_stop("test")
        return await asyncio.wait_for(running, timeout=10)

    with caplog.at_level(logging.INFO):
        assert asyncio.run(scenario()) == 0
    (chat1, edit_alert), (chat2, deletion) = bot.sent
    assert chat1 == chat2 == -100123
    assert edit_alert.startswith("✏️ <b>Edited</b> · @balkan_watch") and "will <s>not</s> join" in edit_alert
    assert deletion.startswith("🗑 <b>Deleted</b> · @balkan_watch") and "Weather in Sofia." in deletion
    assert "edit alerts: on (@balkan_watch: substantive edits and deletions) → the bot" in caplog.text
