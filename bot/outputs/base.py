"""Where digests, alerts and replies leave tgmonitor: one interface for every way out.

Digest and alert jobs know only `MessageSender`; which one they get (the Telegram bot, stdout, a file)
is decided once, at wiring time, from the settings.
"""

from __future__ import annotations

from typing import Protocol


class MessageSender(Protocol):
    async def send_html(self, chat: int | str, html: str) -> int:
        """Send one Telegram-HTML message; returns its message id."""
        ...

    async def resolve_chat(self, chat: int | str) -> int:
        """A numeric chat id for `chat` (an id or @username), for the tables keyed by chat id."""
        ...
