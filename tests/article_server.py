"""A real HTTP server on 127.0.0.1 for the linked-articles tests.

Each path answers from a script of replies (the last one repeats), or from a function for the
misbehaving servers: a slow trickle, a 50 MB body, a gzip bomb. Every request is recorded with its
headers, its arrival and end times, so politeness (one at a time per site, a gap between requests)
is asserted from what the server saw.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).parent / "data" / "articles"
# Real pages of the extraction dev set (third-party, not in the repository): ../shared beside the checkout.
SHARED_PAGES = Path(__file__).resolve().parents[2] / "shared" / "extraction" / "html"


def page(name: str) -> bytes:
    """A page written for the tests (tests/data/articles/README.md)."""
    return (DATA / f"{name}.html").read_bytes()


def shared_page(page_id: str) -> bytes:
    """A real page of ../shared/extraction/html/; callers skip when SHARED_PAGES is absent."""
    return gzip.decompress((SHARED_PAGES / f"{page_id}.html.gz").read_bytes())


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "text/html; charset=utf-8"


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    started: float
    ended: float = 0.0


Custom = Callable[[BaseHTTPRequestHandler, "ArticleServer"], None]


class QuietServer(ThreadingHTTPServer):
    """A client hanging up (what the size cap, the deadline and cancellation do) is not an error here.
    Nor is it printed: a handler still sleeping when its test ends would print it into a later test's stderr."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class ArticleServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply] | Custom] = {}
        self.requests: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.sent: dict[str, int] = {}  # bytes of body written per path (for the streaming routes)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic())
                with server._lock:
                    server.requests.append(seen)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    route = server.routes.get(self.path)
                    if isinstance(route, list):
                        route = route.pop(0) if len(route) > 1 else route[0]
                try:
                    if callable(route):
                        route(self, server)
                    else:
                        self._reply(route if isinstance(route, Reply) else Reply(404, b"not found"))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what the size cap and the deadline do
                finally:
                    with server._lock:
                        server.in_flight -= 1
                        seen.ended = time.monotonic()

            def _reply(self, reply: Reply) -> None:
                etag = reply.headers.get("ETag")
                if reply.status == 200 and etag and self.headers.get("If-None-Match") == etag:
                    reply = Reply(304, b"", reply.headers, None)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.content_type:
                    self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def page(self, path: str, body: bytes, **headers: str) -> None:
        self.routes[path] = [Reply(200, body, dict(headers))]

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)


def serve() -> Iterator[ArticleServer]:
    """Body of each test module's `server` fixture: started before the test, stopped after."""
    running = ArticleServer()
    running.thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


# ----------------------------------------------------------------------------- misbehaving routes
def slow_trickle(seconds: float = 10.0, every: float = 0.2) -> Custom:
    """Headers at once, then one byte every `every` seconds: each read is quick, the whole is not."""

    def handle(handler: BaseHTTPRequestHandler, server: ArticleServer) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(int(seconds / every) + 100))
        handler.end_headers()
        handler.wfile.write(b"<html><body>")
        handler.wfile.flush()
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(every)

    return handle


def huge_body(megabytes: int = 50, *, declare_length: bool) -> Custom:
    """An HTML body of `megabytes`, with or without Content-Length (chunked)."""
    chunk = b"<p>" + b"word " * 13_000 + b"</p>\n"  # ~64 KB

    def handle(handler: BaseHTTPRequestHandler, server: ArticleServer) -> None:
        total = megabytes * 1024 * 1024
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        if declare_length:
            handler.send_header("Content-Length", str(total))
        else:
            handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        written = 0
        while written < total:
            piece = chunk[: total - written]
            if declare_length:
                handler.wfile.write(piece)
            else:
                handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            written += len(piece)
            server.sent[handler.path] = written
        if not declare_length:
            handler.wfile.write(b"0\r\n\r\n")

    return handle


def gzip_bomb(megabytes: int = 200) -> bytes:
    """A few hundred KB of gzip that inflates to `megabytes` of HTML-looking zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1024 * 1024)
    parts = [compressor.compress(b"<html><body>")]
    parts += [compressor.compress(block) for _ in range(megabytes)]
    parts.append(compressor.flush())
    return b"".join(parts)
