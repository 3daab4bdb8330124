"""The address guard for fetching pages that strangers linked to (the byte cap is bot/sources/http_fetch.py).

* Addresses: a channel can link to `http://192.168.1.1/` or to a name that resolves to 127.0.0.1
  (or resolves to a public address when checked and a private one a moment later). So the check
  is made where the connection is opened, on the addresses actually connected to, for the first
  request and every redirect alike: `GuardedTransport` is httpx's transport with a network backend
  that resolves the host, refuses private, loopback, link-local, reserved and multicast addresses
  (unless the host is trusted by name, ARTICLE_DOMAINS), and connects to the address it checked.
* IPv6 forms that carry an IPv4 address reach that IPv4 address (a NAT64 gateway turns
  `64:ff9b::a00:1` into 10.0.0.1; 6to4 and Teredo relays, IPv4-compatible `::7f00:1`, translated
  `::ffff:0:7f00:1`), so each is judged by the IPv4 address it embeds as well as by itself; the
  local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215), whose embedding varies, is refused whole.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx


class RefusedAddress(Exception):
    """The host resolves to an address that is not on the public internet."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, a private, loopback, link-local or reserved address")
        self.host = host
        self.address = address


_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_LOW32_PREFIXES = (
    0,  # ::a.b.c.d, IPv4-compatible (deprecated, still routed by some stacks)
    0xFFFF,  # ::ffff:a.b.c.d, IPv4-mapped
    0xFFFF_0000,  # ::ffff:0:a.b.c.d, IPv4-translated (RFC 2765)
    0x0064_FF9B_0000_0000_0000_0000,  # 64:ff9b::/96, well-known NAT64 (RFC 6052)
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address leads to: its low 32 bits under the prefixes above, the
    6to4 (2002::/16) gateway, and Teredo's (2001::/32) server and client."""
    found = []
    if int(ip) >> 32 in _LOW32_PREFIXES:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        embedded = embedded_ipv4(ip)
        if ip.ipv4_mapped is not None:
            return _public(ip.ipv4_mapped)  # the IPv4 address is the whole of it
        if embedded and not all(_public(v4) for v4 in embedded):
            return False
        if int(ip) >> 32 in _LOW32_PREFIXES[2:] or ip.sixtofour is not None:
            return True  # a translation prefix in front of a public IPv4 address
    return _public(ip)


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
