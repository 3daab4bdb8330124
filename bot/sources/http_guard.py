"""Two guards for fetching pages that strangers linked to: which addresses, and how many bytes.

* Addresses: a channel can link to `http://192.168.1.1/` or to a name that resolves to 127.0.0.1
  (or resolves to a public address when checked and a private one a moment later). So the check
  is made where the connection is opened, on the addresses actually connected to, for the first
  request and every redirect alike: `GuardedTransport` is httpx's transport with a network backend
  that resolves the host, refuses private, loopback, link-local, reserved and multicast addresses
  (unless the host is trusted by name, ARTICLE_DOMAINS), and connects to the address it checked.
* Bytes: the body is read raw and decompressed here, with the output bounded at every step, so a
  10 KB gzip bomb stops at the cap instead of inflating to gigabytes in one call, and a body
  without Content-Length stops at the cap too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpcore
import httpx


class RefusedAddress(Exception):
    """The host resolves to an address that is not on the public internet."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, a private, loopback, link-local or reserved address")
        self.host = host
        self.address = address


class TooLarge(Exception):
    """The body (as sent, or once decompressed) is over the size cap."""


class BadEncoding(Exception):
    """A Content-Encoding that was not asked for, or a corrupt compressed stream."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve(host: str, port: int) -> list[str]:
    """Every address the host has; a DNS failure is a connection error like any other."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, then connects to a checked one (TLS still names the host)."""

    def __init__(
        self,
        trusted: Callable[[str], bool],
        *,
        resolver: Callable[[str, int], Any] = resolve,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.trusted = trusted
        self.resolver = resolver
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.resolver(host, port)
        if not self.trusted(host.lower()):
            for address in addresses:
                if not is_public(address):
                    raise RefusedAddress(host, address)  # one bad record is enough to refuse
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress(path, "a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, its connection pool rebuilt on the guarded backend.

    httpx (0.28) has no parameter for the network backend, so the pool it built is replaced by an
    identical one that has it; `tests/test_article_fetcher.py` checks that the guard is reached.
    """

    def __init__(
        self,
        trusted: Callable[[str], bool],
        *,
        max_connections: int = 20,
        resolver: Callable[[str, int], Any] = resolve,
    ) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections // 2,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(trusted, resolver=resolver),
        )


class _Inflater:
    """Bounded decompression: never more than `room` bytes of output per call."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_fallback = encoding == "deflate"  # "deflate" is zlib-wrapped in theory, raw in practice
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._d = zlib.decompressobj(wbits)
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        try:
            out = self._d.decompress(data, room)
        except zlib.error as exc:
            if self._raw_fallback and not self._started:
                self._raw_fallback = False
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(data, room)
            raise BadEncoding(f"corrupt {self.encoding} body: {exc}") from exc
        self._started = True
        while self._d.unconsumed_tail and len(out) < room:
            out += self._d.decompress(self._d.unconsumed_tail, room - len(out))
        if self._d.unconsumed_tail:
            raise TooLarge  # more output is waiting than the cap leaves room for
        return out

    def flush(self, room: int) -> bytes:
        out = self._d.flush(room + 1)
        if len(out) > room:
            raise TooLarge
        return out


async def read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body, raising TooLarge past `max_bytes` (sent or decompressed) and BadEncoding."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
        raise BadEncoding(f"unsupported Content-Encoding {encoding!r} (only gzip and deflate are asked for)")
    inflater = _Inflater(encoding) if encoding not in ("identity", "") else None
    body = bytearray()
    sent = 0
    chunks: AsyncIterator[bytes] = response.aiter_raw()
    async for chunk in chunks:
        sent += len(chunk)
        if sent > max_bytes:
            raise TooLarge
        body += inflater.feed(chunk, max_bytes + 1 - len(body)) if inflater else chunk
        if len(body) > max_bytes:
            raise TooLarge
    if inflater is not None:
        body += inflater.flush(max_bytes - len(body))
    return bytes(body)
