"""Safe by default: security headers, an optional token, and a Host check against DNS rebinding.

Plain ASGI middleware (no request objects), wrapped around every response including errors:

* headers: a Content-Security-Policy with no script at all and styles only from the app's own file,
  so even a post that slipped past escaping could not run; no framing, no referrer sent to t.me
  with the search in it, no MIME sniffing, nothing cached;
* `WEB_TOKEN`: HTTP basic auth (any user name, the token as password; what a browser asks for) or
  `Authorization: Bearer <token>`, compared in constant time;
* Host: a page on another site can point its own name at 127.0.0.1 and read a loopback server as
  itself (DNS rebinding); a server bound to loopback answers only to loopback names.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


async def _plain(send: Send, status: int, text: str, extra: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
        (b"cache-control", b"no-store"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                path = scope.get("path", "")
                # Feeds: readers revalidate with the ETag (bot/web/feeds.py), so stored but always checked.
                cache = (
                    b"public, max-age=3600"
                    if path.startswith("/static/")
                    else b"private, no-cache"
                    if path.startswith("/feeds/")
                    else b"no-store"
                )
                message["headers"] = [*headers, *SECURITY_HEADERS, (b"cache-control", cache)]
            await send(message)

        await self.app(scope, receive, with_headers)


def token_matches(authorization: str, token: str) -> bool:
    """`Bearer <token>`, or `Basic base64(user:token)` with any user name."""
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        offered = value
    elif scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except ValueError:  # binascii.Error, non-ASCII input, UnicodeDecodeError
            return False
        offered = decoded.partition(":")[2]
    else:
        return False
    return hmac.compare_digest(offered.encode(), token.encode())


class TokenAuth:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if authorization and token_matches(authorization, self.token):
            await self.app(scope, receive, send)
            return
        challenge = (b"www-authenticate", b'Basic realm="tgmonitor", charset="UTF-8"')
        await _plain(
            send, 401, "This archive needs the WEB_TOKEN (any user name, the token as password).\n", [challenge]
        )


class HostCheck:
    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(h.lower() for h in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        host = headers.get(b"host", b"").decode("latin-1").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name in self.allowed:
            await self.app(scope, receive, send)
            return
        await _plain(send, 400, "Unexpected Host header: this viewer answers only to its own address.\n")
