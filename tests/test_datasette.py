"""deploy/datasette/metadata.json: Datasette serves an archive read-only with the shipped descriptions.

Runs `python -m datasette` exactly as docs/feeds-and-exports.md tells (a real server on 127.0.0.1)
against an archive filled by the real pipeline, and checks the metadata against the schema: every
table it describes exists, every described column exists, every table is described or hidden.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.web_archive import fill_archive

REPO = Path(__file__).resolve().parents[1]
METADATA = REPO / "deploy" / "datasette" / "metadata.json"


def test_metadata_describes_the_schema(tmp_path: Path) -> None:
    path = fill_archive(tmp_path / "tgmonitor.db")
    metadata = json.loads(METADATA.read_text(encoding="utf-8"))
    databases = metadata["databases"]
    assert databases["tgmonitor"] == databases["demo"]  # the default archive's name and the demo's
    conn = sqlite3.connect(path)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        plain = {n for n in names if not n.startswith(("posts_fts", "articles_fts", "posts_norm_"))}
        described = databases["tgmonitor"]["tables"]
        assert set(described) <= names
        assert plain <= set(described), f"tables without a description: {plain - set(described)}"
        for table, info in described.items():
            columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            assert set(info.get("columns", {})) <= columns, table
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_datasette_serves_the_archive_read_only(tmp_path: Path) -> None:
    pytest.importorskip("datasette", reason="datasette (test extra) is not installed")
    path = fill_archive(tmp_path / "tgmonitor.db")
    before = path.read_bytes()
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "datasette",
            "serve",
            str(path),
            "--metadata",
            str(METADATA),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--setting",
            "sql_time_limit_ms",
            "3000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/-/versions.json", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    output = server.stdout.read().decode() if server.stdout and server.poll() is not None else ""
                    pytest.fail(f"datasette did not start: {output[-2000:]}")
                time.sleep(0.2)
        meta = httpx.get(base + "/-/metadata.json", timeout=10).json()
        assert meta["title"] == "tgmonitor archive"
        posts = httpx.get(base + "/tgmonitor/posts.json", params={"_shape": "array", "_size": "100"}, timeout=10)
        assert posts.status_code == 200 and len(posts.json()) == 12
        found = httpx.get(base + "/tgmonitor/posts.json", params={"_search": "Kosovo", "_shape": "array"}, timeout=10)
        assert found.status_code == 200 and found.json()
        page = httpx.get(base + "/tgmonitor/posts", timeout=10)
        assert "Clean text: channel boilerplate" in page.text  # a column description from the metadata
        write = httpx.get(base + "/tgmonitor.json", params={"sql": "DELETE FROM posts", "_shape": "array"}, timeout=10)
        assert write.status_code >= 400  # SQL is read-only
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert path.read_bytes() == before
