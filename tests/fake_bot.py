"""A stand-in for the Telethon bot client: the only fake in the digest and alert tests.

It parses every message with Telethon's own HTML parser (what `send_message(parse_mode="html")`
does before anything leaves the machine) and checks Telegram's length limit on the result, so a
test that passes here sends messages Telegram would accept.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from telethon.extensions import html as telethon_html

from bot.core.telegram_text import utf16_len


@dataclass
class Sent:
    id: int
    chat: int | str
    html: str
    text: str
    parse_mode: str | None
    link_preview: bool


class Crash(BaseException):
    """The process dying mid-send: not an Exception, so nothing in tgmonitor catches it."""


@dataclass
class FakeBotClient:
    sent: list[Sent] = field(default_factory=list)
    # per call number (1-based): an exception to raise before sending, or "crash-after" to deliver
    # the message and then die before the caller learns its id
    script: dict[int, BaseException | str] = field(default_factory=dict)
    calls: int = 0
    peers: dict[str, int] = field(default_factory=dict)
    yield_each_send: bool = False
    next_id: int = 100

    async def send_message(
        self, entity: Any, message: str, *, parse_mode: str | None = None, link_preview: bool = True
    ):
        self.calls += 1
        if self.yield_each_send:
            await asyncio.sleep(0)
        outcome = self.script.get(self.calls)
        if isinstance(outcome, BaseException):
            raise outcome
        text, _entities = telethon_html.parse(message)
        if utf16_len(text) > 4096 or not text.strip():
            raise ValueError(f"Telegram would reject a message of {utf16_len(text)} UTF-16 units")
        self.next_id += 1
        self.sent.append(Sent(self.next_id, entity, message, text, parse_mode, link_preview))
        if outcome == "crash-after":
            raise Crash()
        return type("Message", (), {"id": self.next_id})()

    async def get_peer_id(self, entity: Any) -> int:
        return self.peers[entity] if isinstance(entity, str) else int(entity)

    @property
    def htmls(self) -> list[str]:
        return [s.html for s in self.sent]
