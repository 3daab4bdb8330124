"""Media files of posts, fetched next to the archive when DOWNLOAD_MEDIA is on.

Text is what tgmonitor is for and files are a convenience, so a file that cannot be fetched is
logged and skipped, never a failure of the ingest that found it. The same message reaches this
module several times (live update then catch-up, overlapping backfills, restarts), so "already
done" must be one cheap look at the disk: `<media_dir>/<channel id>/<message id><ext>` exists only
once the file is complete, because the download goes to `.partial/` first and is moved into place
with `os.replace` (atomic on one file system). A killed process leaves at most a partial file,
which is never mistaken for a finished one and is cleared on the next attempt or swept once stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from telethon.tl import types

from bot.config import Settings
from bot.telegram.client import TelegramEdge
from bot.telegram.retry import call_with_retry

_log = logging.getLogger(__name__)

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MB
PARTIAL_DIR = ".partial"
# A partial file nobody has written to for this long belongs to a dead run, not to a slow download
# in another process (Telethon writes every chunk as it arrives, which keeps the mtime fresh).
STALE_PARTIAL_SECONDS = 3600.0


def has_file(media: types.TypeMessageMedia | None) -> bool:
    """Photos and documents (video, audio, voice, sticker, gif, files) are files of the post itself.

    A web page preview's picture belongs to the linked page, and polls, geo, contacts, dice and the
    like have no file at all: for those the recorded media kind is the whole story.
    """
    if isinstance(media, types.MessageMediaPhoto):
        return isinstance(media.photo, types.Photo)
    if isinstance(media, types.MessageMediaDocument):
        return isinstance(media.document, types.Document)
    return False


def declared_size(media: types.TypeMessageMedia | None) -> int | None:
    """The size Telegram states up front; only documents carry one (photos are small by design)."""
    document = getattr(media, "document", None)
    return document.size if isinstance(document, types.Document) else None


class MediaDownloader:
    """Downloads the files of stored messages into `<media_dir>/<channel id>/<message id><ext>`."""

    def __init__(
        self,
        edge: TelegramEdge,
        media_dir: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_flood_wait: float = 300.0,
        max_attempts: int = 5,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        log: logging.Logger = _log,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.edge = edge
        self.media_dir = media_dir
        self.max_bytes = max_bytes
        self.max_flood_wait = max_flood_wait
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._log = log
        self._clock = clock
        # Live handlers run concurrently with catch-up: one download per message at a time.
        self._in_flight: set[tuple[int, int]] = set()
        self._swept: set[int] = set()

    @classmethod
    def from_settings(
        cls, edge: TelegramEdge, settings: Settings, *, log: logging.Logger = _log
    ) -> MediaDownloader | None:
        """None when DOWNLOAD_MEDIA is off, so callers pass the result straight to the source."""
        if not settings.download_media:
            return None
        return cls(edge, settings.data_dir / "media", max_bytes=settings.media_max_mb * MB, log=log)

    def channel_dir(self, channel_id: int) -> Path:
        return self.media_dir / str(channel_id)

    def existing(self, channel_id: int, message_id: int) -> Path | None:
        """The finished file of a message, whatever extension it got."""
        return next(iter(sorted(self.channel_dir(channel_id).glob(f"{message_id}.*"))), None)

    async def download_all(self, channel_id: int, messages: Iterable[Any]) -> list[Path]:
        """One message after another: a burst of large files must not open dozens of transfers."""
        saved: list[Path] = []
        for msg in messages:
            path = await self.download(channel_id, msg)
            if path is not None:
                saved.append(path)
        return saved

    async def download(self, channel_id: int, msg: Any) -> Path | None:
        """The new file's path; None when there is nothing to fetch, it is already there, or it failed."""
        media = getattr(msg, "media", None)
        if not has_file(media):
            return None
        key = (channel_id, msg.id)
        if key in self._in_flight or self.existing(channel_id, msg.id) is not None:
            return None
        size = declared_size(media)
        if size is not None and size > self.max_bytes:
            self._log.info(
                "media %s/%s not downloaded: %.1f MB is over the %.0f MB limit",
                channel_id,
                msg.id,
                size / MB,
                self.max_bytes / MB,
            )
            return None
        self._in_flight.add(key)
        try:
            return await self._fetch(channel_id, msg)
        except Exception as exc:  # any failure of one file is logged and never stops the text
            self._log.error("media %s/%s not downloaded: %s: %s", channel_id, msg.id, exc.__class__.__name__, exc)
            return None
        finally:
            self._in_flight.discard(key)

    async def _fetch(self, channel_id: int, msg: Any) -> Path | None:
        folder = self.channel_dir(channel_id)
        partial = folder / PARTIAL_DIR
        partial.mkdir(parents=True, exist_ok=True)
        self._sweep(channel_id, partial)

        async def attempt() -> str | None:
            # Telethon names around an existing file ("12 (1).jpg"), so every attempt starts clean.
            _remove_partials(partial, msg.id)
            return await self.edge.download_media(msg, partial / str(msg.id))

        try:
            written = await call_with_retry(
                attempt,
                max_wait=self.max_flood_wait,
                max_attempts=self.max_attempts,
                sleep=self._sleep,
                log=self._log,
                what=f"download media {channel_id}/{msg.id}",
            )
            if written is None:
                return None
            final = folder / f"{msg.id}{Path(written).suffix or '.bin'}"
            os.replace(written, final)
            return final
        finally:
            _remove_partials(partial, msg.id)

    def _sweep(self, channel_id: int, partial: Path) -> None:
        """Once per channel and process: partial files a killed run left behind."""
        if channel_id in self._swept:
            return
        self._swept.add(channel_id)
        cutoff = self._clock() - STALE_PARTIAL_SECONDS
        for leftover in partial.iterdir():
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()


def _remove_partials(partial: Path, message_id: int) -> None:
    for leftover in (partial / str(message_id), *partial.glob(f"{message_id}.*")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
