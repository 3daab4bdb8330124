"""One bounded HTTP GET for sources that read the open web: a total deadline, and a cap on the body
counted after decompression.

An upstream is not trusted: a server dripping one byte every few seconds kept a poll (and every poll
after it) waiting for minutes, and a 1 MB gzip bomb took the process to 5 GB. So the whole exchange
has one deadline, only gzip and deflate are accepted, and the body is inflated in bounded steps that
stop as soon as the cap is passed.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

STEP = 64 * 1024  # bytes inflated per step: a bomb never expands further than one step past the cap


class FetchTooLarge(Exception):
    """The body (after decompression) is over the cap."""


class FetchUnreadable(Exception):
    """A content encoding that was not asked for, or a corrupt compressed body."""


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
    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()  # zlib-wrapped, as the RFC says (raw deflate is refused)
        else:
            raise FetchUnreadable(f"content encoding {encoding!r} was not asked for")

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            yield data
            return
        try:
            yield self._zlib.decompress(data, STEP)
            while self._zlib.unconsumed_tail:
                yield self._zlib.decompress(self._zlib.unconsumed_tail, STEP)
        except zlib.error as exc:
            raise FetchUnreadable(f"corrupt compressed body: {exc}") from exc


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
    FetchTooLarge past `max_bytes` decompressed, FetchUnreadable, or httpx's transport errors."""
    async with asyncio.timeout(deadline):
        request_headers = {**headers, "Accept-Encoding": "gzip, deflate"}
        async with client.stream("GET", url, headers=request_headers, timeout=timeout) as response:
            body = b""
            if response.status_code == 200:
                inflater = _Inflater(response.headers.get("content-encoding", ""))
                chunks: list[bytes] = []
                total = 0
                async for raw in response.aiter_raw():
                    for piece in inflater.feed(raw):
                        total += len(piece)
                        if total > max_bytes:
                            raise FetchTooLarge(f"{url}: the body is over {max_bytes // 1024:,} KB")
                        chunks.append(piece)
                body = b"".join(chunks)
            return Fetched(str(response.url), response.status_code, response.headers, body)
