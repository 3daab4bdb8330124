"""The viewer served for real: uvicorn on 127.0.0.1 (a free port) in a thread, an httpx client for it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import uvicorn

from bot.web.app import create_app
from bot.web.state import WebOptions
from storage.readonly import ReadOnlyArchive

UTC_OPTIONS = WebOptions(tz=ZoneInfo("UTC"), digest_time=clock_time(8, 0))


@contextmanager
def serve(path: Path, **options: Any) -> Iterator[str]:
    """The app on http://127.0.0.1:<free port>, until the block ends."""
    app = create_app(ReadOnlyArchive(path), replace(UTC_OPTIONS, **options))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web viewer did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def client(path: Path, **options: Any) -> Iterator[httpx.Client]:
    with serve(path, **options) as base, httpx.Client(base_url=base, timeout=30) as http:
        yield http
