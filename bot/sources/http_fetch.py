"""Bounded HTTP bodies for sources that read the open web: a total deadline, and a cap on the body
counted as sent and after decompression.

An upstream is not trusted: a server dripping one byte every few seconds kept a poll (and every poll
after it) waiting for minutes, and a 1 MB gzip bomb took the process to 5 GB. So only gzip and
deflate are accepted, the body is read raw and inflated with the output bounded at every step (a
bomb stops at the cap instead of inflating to gigabytes in one call), and a body without
Content-Length stops at the cap too. `fetch_bounded` adds one deadline for the whole exchange (the
web preview); the article fetcher (bot/sources/article_fetcher.py) reads its bodies with `read_body`.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from bot.core.numbers import ascii_int, is_ascii_digits


class TooLarge(Exception):
    """The body (as sent, or once decompressed) is over the size cap."""


class BadEncoding(Exception):
    """A Content-Encoding that was not asked for, or a corrupt compressed stream."""


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def text(self) -> str:
        charset = "utf-8"
        for param in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"'")
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


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
    if is_ascii_digits(declared) and (ascii_int(declared) or max_bytes + 1) > max_bytes:
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


async def fetch_bounded(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: dict[str, str],
    timeout: float,
    deadline: float,
    max_bytes: int,
) -> Fetched:
    """GET `url`; the body is read only for a 200. Raises TimeoutError past `deadline` seconds in all,
    TooLarge past `max_bytes`, BadEncoding, or httpx's transport errors."""
    async with asyncio.timeout(deadline):
        request_headers = {**headers, "Accept-Encoding": "gzip, deflate"}
        async with client.stream("GET", url, headers=request_headers, timeout=timeout) as response:
            body = await read_body(response, max_bytes) if response.status_code == 200 else b""
            return Fetched(str(response.url), response.status_code, response.headers, body)
