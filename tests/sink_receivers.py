"""Real receivers on 127.0.0.1 for the sink tests: an HTTP server that records every request (json://,
ntfy://, form://...) and answers as told (200, 429, 500, or hangs), and an SMTP server (aiosmtpd)
that keeps every message it receives.  Runnable as a script so a killed subprocess can share them."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """`answers` are consumed one per request (then `default`): an int status, or 'hang'."""

    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    answers: list[int | str] = field(default_factory=list)
    default: int | str = 200
    release: threading.Event = field(default_factory=threading.Event)  # set to let hung requests go
    answered: int = 0  # requests answered so far (a hung one only once released)
    log_file: Path | None = None  # every request also appended here (a subprocess test reads it)

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.port}"


def _matrix_answer(path: str) -> dict[str, object]:
    """What a Matrix homeserver answers, enough for Apprise's login, join and send (other services ignore it)."""
    if "/login" in path:
        return {"access_token": "syt_local_token", "user_id": "@bot:127.0.0.1", "home_server": "127.0.0.1"}
    if "/join" in path or "/directory/room" in path:
        return {"room_id": "!room:127.0.0.1"}
    if "/send/" in path:
        return {"event_id": "$event"}
    return {"ok": True}


def _handler(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = receiver.answers.pop(0) if receiver.answers else receiver.default
            record = Recorded(self.command, self.path, dict(self.headers.items()), body)
            receiver.requests.append(record)
            if receiver.log_file is not None:
                with receiver.log_file.open("a", encoding="utf-8") as out:
                    out.write(json.dumps({"path": self.path, "body": body.decode("utf-8", "replace")}) + "\n")
            if answer == "hang":
                receiver.release.wait(30)
                answer = 200
            receiver.answered += 1
            payload = json.dumps(_matrix_answer(self.path)).encode()
            try:
                self.send_response(int(answer))
                if answer == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (a hung answer): nothing to tell it

        do_POST = do_GET = do_PUT = _any

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def http_receiver(**kwargs: object) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(**kwargs)  # type: ignore[arg-type]
    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        raw = envelope.original_content or envelope.content  # type: ignore[attr-defined]
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_receiver() -> Iterator[tuple[int, list[EmailMessage]]]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, inbox.messages
    finally:
        controller.stop()
