"""`tgmonitor run` against a PostgreSQL server that is down: one line, a pause, then exit 1.

Without the pause, a restart policy with no back-off (podman, compose `restart:`) restarts the service
in a tight loop for as long as the database is down; that is what starting deploy/compose.postgres.yml
showed. A stop request during the pause ends it at once with 0, as for an unreachable Telegram.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import SETTING_NAMES

pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "s3cret-db-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_run(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": f"postgresql://tgmonitor:{PASSWORD}@127.0.0.1:{free_port()}/tgmonitor",
            "CHANNELS": "@balkan_watch",
            "LOG_LEVEL": "INFO",
        }
    )
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "run"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return proc, log_path


def wait_for_line(log_path: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = log_path.read_text(errors="replace")
        if text in out:
            return out
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"no {text!r} in the log: {log_path.read_text(errors='replace')!r}")


def test_a_database_that_is_down_is_one_line_then_a_pause_a_stop_ends_it_with_0(tmp_path: Path) -> None:
    proc, log_path = start_run(tmp_path)
    try:
        out = wait_for_line(log_path, "cannot start yet:", proc)
        time.sleep(1.0)
        assert proc.poll() is None, "it exited at once: a restart policy with no back-off would loop"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = log_path.read_text(errors="replace")
    lines = [line for line in out.splitlines() if line.strip()]
    assert any("cannot connect to postgresql://tgmonitor:***@127.0.0.1:" in line for line in lines), out
    assert any("exiting with 1 in 2m so the supervisor retries" in line for line in lines), out
    assert PASSWORD not in out and "Traceback" not in out
