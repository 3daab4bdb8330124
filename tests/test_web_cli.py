"""`tgmonitor web`: refuses clearly, serves for real, and reads beside a writer without changing the file."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.cli import main
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, RawPost
from storage.db import shown
from storage.store import Store
from tests.conftest import make_ingest
from tests.pg_backend import location
from tests.web_archive import fill_archive

pytestmark = pytest.mark.both_backends

RUN = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"


def web_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, db: Path, *args: str) -> tuple[int, str]:
    code = main(["--db", str(db), "web", *args])
    return code, capsys.readouterr().err


def test_missing_archive_is_an_error_and_nothing_is_created(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = web_cli(capsys, tmp_path, tmp_path / "data" / "none.db")
    assert code == 1
    assert f"tgmonitor: error: archive not found: {tmp_path / 'data' / 'none.db'} (set DB_PATH or pass --db)" in err
    assert not (tmp_path / "data").exists()


def test_serving_beyond_loopback_needs_a_token(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEB_TOKEN", raising=False)
    code, err = web_cli(capsys, tmp_path, tmp_path / "a.db", "--host", "0.0.0.0")
    assert code == 1
    assert "--host 0.0.0.0 serves the archive beyond this machine: set WEB_TOKEN" in err
    with pytest.raises(SystemExit) as usage:  # argparse refuses it: exit 2, one line naming the option
        web_cli(capsys, tmp_path, tmp_path / "a.db", "--port", "70000")
    assert usage.value.code == 2 and "argument --port: must be 1 to 65535, got 70000" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--port", "٣"),
        ("--port", "1_0"),
        ("--query-seconds", "nan"),
        ("--query-seconds", "inf"),
        ("--query-seconds", "0"),
    ],
)
def test_port_and_time_limit_are_ascii_numbers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, value: str
) -> None:
    """int() read "٣" as port 3; float() took "nan" and "inf", time limits that are never reached."""
    with pytest.raises(SystemExit) as usage:
        web_cli(capsys, tmp_path, tmp_path / "a.db", option, value)
    err = capsys.readouterr().err
    assert usage.value.code == 2 and f"argument {option}: " in err
    assert "expected" in err or "must be more than 0" in err


def test_without_the_web_extra_the_error_says_what_to_install(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # what a missing package looks like to `import`
    code, err = web_cli(capsys, tmp_path, tmp_path / "a.db")
    assert code == 1
    assert "tgmonitor web needs the web extra: pip install 'tgmonitor[web]'" in err


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                _, err = process.communicate(timeout=5)
                raise AssertionError(f"the server did not start: {err.decode()}") from None
            time.sleep(0.1)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def start(path: Path, tmp_path: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("WEB_TOKEN", "DB_PATH", "TGMONITOR_ENV_FILE")}
    command = [sys.executable, "-c", RUN, "--db", location(path), "web"]
    return subprocess.Popen(
        [*command, "--port", str(port), *args],
        cwd=Path(__file__).parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def stop(process: subprocess.Popen[bytes]) -> str:
    """SIGTERM: uvicorn finishes the requests in flight, then ends by the signal, as a supervisor expects."""
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == -signal.SIGTERM, err.decode()
    assert "Finished server process" in err.decode()
    return err.decode()


def test_serves_beside_a_writer_and_shows_its_new_posts(tmp_path: Path, pipeline: Pipeline) -> None:
    path = fill_archive(tmp_path / "archive.db", pipeline)
    writer = Store.open(path)  # the service, holding the archive open in WAL mode
    port = free_port()
    process = start(path, tmp_path, port)
    try:
        first = wait_for(f"http://127.0.0.1:{port}/?q=Tirana", process)
        assert first.status_code == 200 and "No posts found." in first.text
        raw = RawPost(
            ChannelRef(tg_id=1700000001), 99, datetime(2026, 11, 22, 9, tzinfo=UTC), "Talks in Tirana today.", "export"
        )
        make_ingest(writer, pipeline).save([raw])  # the service writes while the viewer runs
        found = httpx.get(f"http://127.0.0.1:{port}/?q=Tirana", timeout=5)
        assert "<mark>Tirana</mark>" in found.text
        assert httpx.get(f"http://127.0.0.1:{port}/sql", timeout=5).status_code == 404
        rebound = httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": "evil.example"}, timeout=5)
        assert rebound.status_code == 400
    finally:
        err = stop(process)
        writer.close()
    assert (
        f"tgmonitor web: {shown(location(path))} read-only at http://127.0.0.1:{port}/ (token: none; SQL page: off)"
        in err
    )


def test_the_viewer_leaves_the_archive_file_as_it_was(tmp_path: Path, pipeline: Pipeline) -> None:
    path = fill_archive(tmp_path / "archive.db", pipeline)
    before = digest(path)
    port = free_port()
    process = start(path, tmp_path, port, "--sql")
    try:
        for page in ("/", "/?q=Kosovo", "/post/1", "/channels", "/channel/1", "/tag/serbia", "/day/2026-11-21"):
            assert wait_for(f"http://127.0.0.1:{port}{page}", process).status_code == 200
        form = httpx.get(f"http://127.0.0.1:{port}/sql", timeout=5).text
        token = re.search(r'name="token" value="([^"]+)"', form)
        assert token is not None
        sql = httpx.post(
            f"http://127.0.0.1:{port}/sql", data={"token": token.group(1), "sql": "DROP TABLE posts"}, timeout=5
        )
        assert sql.status_code == 400
    finally:
        stop(process)
    if location(path) == str(path):  # SQLite: the file itself is what the viewer must not change
        assert digest(path) == before  # no migration, no meta note, nothing
    assert Store.open(path).stats()["posts"] == 12
