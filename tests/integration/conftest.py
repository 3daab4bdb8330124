"""A real MTProto server (piltover, from ../shared/piltover) and a Telethon 1.39 venv, once per session.

Skipped, with the reason, when ../shared/piltover is not beside the checkout (a user's clone). Built
things are cached under `.cache/mtproto/` in the checkout (the server's venv, ~30 s the first time;
the integration venv with `telethon==1.39.0` and the project, ~20 s), so reruns start in seconds.
Everything the server writes goes to a temporary directory; the server listens on a free port of
127.0.0.1 picked at start, so parallel runs do not collide.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import signal
import socket
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

REPO = Path(__file__).resolve().parents[2]
PILTOVER = Path(os.environ.get("PILTOVER_DIR", REPO.parent / "shared" / "piltover"))
CACHE = REPO / ".cache" / "mtproto"
TELETHON = "telethon==1.39.0"  # the newest Telethon whose API layer the server speaks (see its README)
API = {"API_ID": "12345", "API_HASH": "0123456789abcdef0123456789abcdef"}  # any pair is accepted
WORLD = Path(__file__).with_name("world.py")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One builder at a time for a cache directory (two test runs in one checkout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    data: Path
    pubkey: Path
    db: Path

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            "PILTOVER_HOST": self.host,
            "PILTOVER_PORT": str(self.port),
            "PILTOVER_PUBKEY": str(self.pubkey),
            "PILTOVER_DB": str(self.db),
        }

    def _codes(self, phone: str) -> list[tuple[int, int]]:
        digits = "".join(c for c in phone if c.isdigit())
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT id, code FROM sentcode WHERE phone_number=? ORDER BY id", (digits,)).fetchall()
        finally:
            con.close()

    def last_code_id(self, phone: str) -> int:
        codes = self._codes(phone)
        return codes[-1][0] if codes else 0

    def login_code(self, phone: str, after: int, timeout: float = 15.0) -> str:
        """The code the server "sent" after code `after` (it keeps codes in its database; opened read-only)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = [code for id_, code in self._codes(phone) if id_ > after]
            if fresh:
                return str(fresh[-1]).zfill(5)
            time.sleep(0.1)
        raise AssertionError(f"the server sent no login code to {phone} within {timeout}s")


@pytest.fixture(scope="session")
def piltover(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not (PILTOVER / "setup.sh").is_file():
        pytest.skip(
            f"no local MTProto server at {PILTOVER} (../shared/piltover is only in the project's workspace); "
            "see README, 'Testing against a local Telegram server'"
        )
    base = tmp_path_factory.mktemp("piltover")
    data, port = base / "data", free_port()
    dest = CACHE / "piltover-server"
    log_path = base / "server.log"
    with locked(CACHE / "piltover-server.lock"):  # setup.sh rewrites DEST's config for this port
        started = time.monotonic()
        command = run(["bash", str(PILTOVER / "setup.sh"), str(dest), str(port), str(data)]).stdout.strip()
        command = command.splitlines()[-1]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                ["bash", "-c", command], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        ready = f"Running on 127.0.0.1:{port}"
        while ready not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() - started > 120:
                proc.kill()
                pytest.fail(f"piltover did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
    server = Server("127.0.0.1", port, data, data / "secrets" / "pubkey.asc", data / "piltover.db")
    try:
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # our own process group, started above
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def venv139() -> Path:
    """A second venv with Telethon 1.39.0 and the project (editable), rebuilt when pyproject.toml changes."""
    digest = hashlib.sha1((REPO / "pyproject.toml").read_bytes() + TELETHON.encode()).hexdigest()[:12]
    venv = CACHE / "venv-telethon-1.39"
    stamp = venv / f".installed-{digest}"
    with locked(CACHE / "venv.lock"):
        if not stamp.exists():
            run([sys.executable, "-m", "venv", "--clear", str(venv)])
            run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", TELETHON, "-e", str(REPO)])
            stamp.touch()
    return venv / "bin"


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
def world(piltover: Server, venv139: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("world")
    log = work / "world.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [str(venv139 / "python"), str(WORLD), str(work)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**os.environ, **piltover.env()},
        )
    handle = World(proc, log)
    assert proc.stdout is not None
    if '"ready"' not in proc.stdout.readline():
        pytest.fail(f"world.py did not start:\n{log.read_text(errors='replace')}")
    yield handle
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def run_id() -> str:
    """Unique names per session: the server's usernames and phones are global."""
    return f"{os.getpid() % 10000:04d}{int(time.time()) % 1000:03d}"


@dataclass
class Tgmonitor:
    """`tgmonitor` of the integration venv, with settings in the environment (no .env file)."""

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
            timeout=120,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"tgmonitor {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    def json(self, *args: str, **extra: str) -> Any:
        return json.loads(self(*args, "--json", **extra).stdout)

    def login(
        self, server: Server, phone: str, *args: str, password: str | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """`tgmonitor login --phone P --code-stdin`: the code is typed in once the server has sent it."""
        after = server.last_code_id(phone)
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
            typed = server.login_code(phone, after) + "\n" + (f"{password}\n" if password is not None else "")
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

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"tgmonitor run exited ({self.proc.returncode}) waiting for {what}:\n{self.log()}")
            value = check()
            if value:
                return value
            time.sleep(0.1)
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
