"""The protocol suite against Telegram's own test servers: opt-in (`pytest -m live`), needs network.

Telegram runs test data centres beside the real ones; client authors test against them with the test
phone numbers +99966 X YYYY (X the DC id; the login code is X five times). This suite logs in there
with the contributor's own API id/hash, creates its own channels and a bot, posts, forwards, edits and
deletes, runs tgmonitor's real entry points against it, and deletes what it made at the end.

Settings (environment; without the first three the suite is skipped with the reason):
  TGMONITOR_LIVE_API_ID, TGMONITOR_LIVE_API_HASH  your app's id and hash (https://my.telegram.org)
  TGMONITOR_LIVE_SERVER      a test DC as TELEGRAM_SERVER takes it, `DC@HOST:PORT` (e.g. 2@149.154.167.40:443)
  TGMONITOR_LIVE_PHONE       the monitoring account's test number (default: a random +99966X____)
  TGMONITOR_LIVE_BOT_TOKEN   a bot of the test server to use (default: one made with BotFather, deleted after)
  TGMONITOR_LIVE_PUBLIC_KEY  the test servers' RSA key (PEM), if your Telethon does not know it
See docs/testing.md for the steps.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.config import SETTING_NAMES
from bot.setting_values import TelegramServer, parse_server

REPO = Path(__file__).resolve().parents[2]
WORLD = Path(__file__).with_name("world.py")
BIN = Path(sys.executable).parent  # the project's venv: tgmonitor as installed
REQUIRED = ("TGMONITOR_LIVE_API_ID", "TGMONITOR_LIVE_API_HASH", "TGMONITOR_LIVE_SERVER")
LIVE_ENV = (*REQUIRED, "TGMONITOR_LIVE_PHONE", "TGMONITOR_LIVE_BOT_TOKEN", "TGMONITOR_LIVE_PUBLIC_KEY")
_PHONE = re.compile(r"^\+?99966[1-3][0-9]{4}$")


def missing_settings(environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """Why the live suite cannot run here (a one-line reason), or None."""
    absent = [name for name in REQUIRED if not environ.get(name)]
    if absent:
        return f"live suite: set {', '.join(absent)} (Telegram's test servers; see docs/testing.md)"
    api_id, server = environ["TGMONITOR_LIVE_API_ID"], environ["TGMONITOR_LIVE_SERVER"]
    phone = environ.get("TGMONITOR_LIVE_PHONE")
    if not (api_id.isascii() and api_id.isdecimal()):
        return f"live suite: TGMONITOR_LIVE_API_ID must be a number, got {api_id!r}"
    try:
        parse_server(server)
    except ValueError:
        return f"live suite: TGMONITOR_LIVE_SERVER must be DC@HOST:PORT (e.g. 2@149.154.167.40:443), got {server!r}"
    if phone and not _PHONE.match(phone):
        return f"live suite: TGMONITOR_LIVE_PHONE must be a test number +99966XYYYY (X = DC 1-3), got {phone!r}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Selected (`-m live`) but not configured: skipped with the reason, never an error."""
    reason = missing_settings()
    if reason is None:
        return
    for item in items:
        if item.get_closest_marker("live") is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass(frozen=True)
class Server:
    """The test DC and the contributor's app, from the TGMONITOR_LIVE_* variables."""

    address: TelegramServer
    api_id: str
    api_hash: str
    phone: str | None
    bot_token: str | None
    public_key: str | None

    def login_code(self) -> str:
        """What Telegram's test DCs take as the login code of +99966XYYYY: the DC digit five times."""
        return str(self.address.dc_id) * 5

    def test_phone(self, rng: random.Random) -> str:
        return f"+99966{self.address.dc_id}{rng.randrange(10_000):04d}"

    def api(self) -> dict[str, str]:
        return {"API_ID": self.api_id, "API_HASH": self.api_hash}

    def tgmonitor_env(self) -> dict[str, str]:
        """What tgmonitor needs to talk to the test DC: TELEGRAM_SERVER (and the key, when given)."""
        key = {"TELEGRAM_PUBLIC_KEY": self.public_key} if self.public_key else {}
        return {"TELEGRAM_SERVER": str(self.address), **key, **self.api()}

    def world_env(self) -> dict[str, str]:
        return {name: os.environ[name] for name in LIVE_ENV if os.environ.get(name)}


@pytest.fixture(scope="session")
def live() -> Server:
    reason = missing_settings()
    if reason is not None:
        pytest.skip(reason)
    env = os.environ
    return Server(
        parse_server(env["TGMONITOR_LIVE_SERVER"]),
        env["TGMONITOR_LIVE_API_ID"],
        env["TGMONITOR_LIVE_API_HASH"],
        env.get("TGMONITOR_LIVE_PHONE") or None,
        env.get("TGMONITOR_LIVE_BOT_TOKEN") or None,
        env.get("TGMONITOR_LIVE_PUBLIC_KEY") or None,
    )


class WorldError(AssertionError):
    pass


@dataclass
class World:
    """The other side of the chat, in its own process (see world.py); `world.post(...)` and so on."""

    proc: subprocess.Popen[str]
    log: Path

    def call(self, op: str, **kwargs: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise WorldError(f"world.py died during {op}:\n{self.log.read_text(errors='replace')[-3000:]}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise WorldError(answer["error"])
        return answer["result"]

    def __getattr__(self, op: str) -> Callable[..., Any]:
        return lambda **kwargs: self.call(op, **kwargs)


@pytest.fixture(scope="session")
def world(live: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("world")
    log = work / "world.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(WORLD), str(work)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**os.environ, **live.world_env()},
        )
    handle = World(proc, log)
    assert proc.stdout is not None
    if '"ready"' not in proc.stdout.readline():
        pytest.fail(f"world.py did not start:\n{log.read_text(errors='replace')}")
    try:
        yield handle
    finally:
        # Whatever happened above: delete the channels and the bot, end the accounts' sessions.
        try:
            left = handle.cleanup()
            if left:
                print(f"live suite: could not clean up on the test server: {'; '.join(left)}", file=sys.stderr)
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="session")
def run_id() -> str:
    """Unique names per session: usernames on the test server are global (and shared with everyone)."""
    return f"{os.getpid() % 10000:04d}{int(time.time()) % 1000:03d}"


@pytest.fixture(scope="session")
def rng(run_id: str) -> random.Random:
    """Picks the test phone numbers (seeded by the run id: a failed run's numbers are in its log)."""
    return random.Random(run_id)


@dataclass
class Tgmonitor:
    """`tgmonitor` of the project's venv, with settings in the environment (no .env file)."""

    bin: Path
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def environ(self, extra: dict[str, str]) -> dict[str, str]:
        # Settings come from the environment only: no settings file is named.
        base = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES and k != "TGMONITOR_ENV_FILE"}
        return {**base, "TZ": "UTC", "LOG_LEVEL": "INFO", **self.env, **extra}

    def command(self, *args: str) -> list[str]:
        return [str(self.bin / "tgmonitor"), *args]

    def __call__(
        self, *args: str, input: str | None = None, check: bool = True, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.command(*args),
            input=input,
            capture_output=True,
            text=True,
            env=self.environ(extra),
            cwd=self.home,
            timeout=180,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"tgmonitor {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    def json(self, *args: str, **extra: str) -> Any:
        return json.loads(self(*args, "--json", **extra).stdout)

    def login(
        self, server: Server, phone: str, *args: str, password: str | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """`tgmonitor login --phone P --code-stdin`: the test DC's fixed code typed in, then the password."""
        proc = subprocess.Popen(
            self.command("login", "--phone", phone, "--code-stdin", *args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.environ(extra),
            cwd=self.home,
        )
        try:
            typed = server.login_code() + "\n" + (f"{password}\n" if password is not None else "")
            out, err = proc.communicate(typed, timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@dataclass
class Service:
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"tgmonitor run exited ({self.proc.returncode}) waiting for {what}:\n{self.log()}")
            value = check()
            if value:
                return value
            time.sleep(0.2)
        pytest.fail(f"timed out after {timeout}s waiting for {what}:\n{self.log()[-6000:]}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"tgmonitor run did not stop on SIGTERM:\n{self.log()}")


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []

    def start(tg: Tgmonitor, **extra: str) -> Service:
        log_path = tmp_path / f"service{len(started)}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                tg.command("run"), stdout=log, stderr=subprocess.STDOUT, env=tg.environ(extra), cwd=tg.home
            )
        service = Service(proc, log_path)
        started.append(service)
        service.wait_for("start-up", lambda: "running; SIGTERM" in service.log())
        return service

    yield start
    for service in started:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait()


def archive(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows from the archive through a separate read-only connection, as `tgmonitor status` reads it."""
    if not db.exists():
        return []
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if re.search(r"no such table", str(exc)):
            return []
        raise
    finally:
        con.close()
