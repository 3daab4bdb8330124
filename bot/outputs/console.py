"""No-credentials outputs: digests and alerts printed to stdout or appended to a file."""

from __future__ import annotations

import sys
import zlib
from pathlib import Path
from typing import TextIO


class ConsoleSender:
    """No-credentials mode: each message printed with a header; ids are a running counter."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.count = 0

    def _write(self, text: str) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        stream.write(text)
        stream.flush()

    async def send_html(self, chat: int | str, html: str) -> int:
        self.count += 1
        self._write(f"----- message {self.count} to {chat} -----\n{html}\n")
        return self.count

    async def resolve_chat(self, chat: int | str) -> int:
        return console_chat_id(chat)


class FileSender(ConsoleSender):
    """Like ConsoleSender, appended to a file (opened per message, so log rotation is harmless)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def _write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(text)


def console_chat_id(chat: int | str) -> int:
    """A stable stand-in id for a @username when no bot can resolve it (no-credentials mode)."""
    if isinstance(chat, int):
        return chat
    return -zlib.crc32(chat.lstrip("@").lower().encode())


def output_sender(output: str | None) -> ConsoleSender:
    """DIGEST_OUTPUT: '-' or unset is stdout, anything else a file path."""
    if output is None or output.strip() in ("", "-"):
        return ConsoleSender()
    return FileSender(Path(output).expanduser())
