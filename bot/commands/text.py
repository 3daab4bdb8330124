"""Reply building blocks: one-message replies, text split under Telegram's limit, short labels."""

from __future__ import annotations

import html
import re

from bot.core.digest import TELEGRAM_LIMIT, split_messages, utf16_len
from bot.models import Button, Reply


def reply_of(html_text: str, buttons: tuple[tuple[Button, ...], ...] = (), *, alert: bool = False) -> Reply:
    """One message, split at line boundaries in the rare case it is too long."""
    if utf16_len(html_text) <= TELEGRAM_LIMIT:
        return Reply((html_text,), buttons, alert)
    return Reply(tuple(split_messages("", [(None, line) for line in html_text.split("\n")])), buttons, alert)


SILENT = Reply()


LABEL = 64  # channel names, tags and forward names in headers and list lines


def label(text: str) -> str:
    """A channel title, tag or forward name as a reply shows it: one line, at most LABEL characters."""
    return short(text, LABEL)


def short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def split_text(text: str, budget: int) -> list[str]:
    """Plain text in chunks whose HTML-escaped form fits `budget`, cut at paragraph, line, then word.

    Escaping happens per chunk, so a cut can never fall inside an entity like `&amp;`.
    """

    def fits(piece: str) -> bool:
        return utf16_len(html.escape(piece)) <= budget

    def pieces(chunk: str, separators: tuple[str, ...]) -> list[str]:
        if fits(chunk):
            return [chunk]
        if not separators:  # one enormous word: cut by characters
            out, current = [], ""
            for char in chunk:
                if current and not fits(current + char):
                    out.append(current)
                    current = ""
                current += char
            return [*out, current] if current else out
        head, *rest = separators
        parts = re.split(f"(?<={head})", chunk)
        return [p for part in parts if part for p in pieces(part, tuple(rest))]

    chunks: list[str] = []
    current = ""
    for piece in pieces(text, ("\n\n", "\n", " ")):
        if current and not fits(current + piece):
            chunks.append(current)
            current = piece
        else:
            current += piece
    if current:
        chunks.append(current)
    return [c.strip("\n") for c in chunks if c.strip()]
