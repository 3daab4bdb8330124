"""Prev/Next buttons: what a page button carries, and a list reply with its buttons.

Telegram callback data holds at most 64 bytes. A page button carries a command letter, an offset and
the command's own argument text when that fits (so a button keeps working across restarts); longer
argument texts live in `PageKeys`, an in-memory LRU keyed by a short hash. A button whose key was
forgotten (restart, eviction) answers "send the command again" instead of guessing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections import OrderedDict
from collections.abc import Sequence

from bot.core.telegram_text import split_messages
from bot.models import Button, Reply

CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for inline button data


class ListExpired(LookupError):
    """A page button refers to argument text this process no longer remembers."""


class PageKeys:
    """Argument texts too long for callback data, behind an 8-character key.

    The key is a hash of the text, so pressing "Next" twice or running the same search again reuses
    one entry; the LRU bound keeps memory flat however many searches are made.
    """

    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self._texts: OrderedDict[str, str] = OrderedDict()

    def put(self, text: str) -> str:
        key = base64.urlsafe_b64encode(hashlib.blake2b(text.encode(), digest_size=6).digest()).decode()
        self._texts[key] = text
        self._texts.move_to_end(key)
        while len(self._texts) > self.capacity:
            self._texts.popitem(last=False)
        return key

    def get(self, key: str) -> str | None:
        text = self._texts.get(key)
        if text is not None:
            self._texts.move_to_end(key)
        return text


_PAGE_DATA = re.compile(r"([a-z])([0-9]{1,7})([=*])(.*)", re.DOTALL)


def encode_page(code: str, offset: int, args: str, keys: PageKeys) -> str:
    """`s10=Kosovo #serbia` inline when it fits in 64 bytes, else `s10*<key>`."""
    inline = f"{code}{offset}={args}"
    if len(inline.encode()) <= CALLBACK_DATA_LIMIT:
        return inline
    return f"{code}{offset}*{keys.put(args)}"


def decode_page(data: str, keys: PageKeys) -> tuple[str, int, str] | None:
    """(command letter, offset, args); None for data we never made. Raises ListExpired."""
    match = _PAGE_DATA.fullmatch(data)
    if not match:
        return None
    code, offset, kind, payload = match.groups()
    if kind == "=":
        return code, int(offset), payload
    args = keys.get(payload)
    if args is None:
        raise ListExpired(payload)
    return code, int(offset), args


def paged(
    header: str,
    blocks: Sequence[str],
    *,
    code: str,
    args: str,
    offset: int,
    limit: int,
    more: bool,
    pages: PageKeys,
    gap: bool = True,
) -> Reply:
    joiner = "\n" if gap else ""
    parts = split_messages(header, [(None, joiner + block) for block in blocks])
    row: list[Button] = []
    if offset > 0:
        row.append(("« Prev", encode_page(code, max(0, offset - limit), args, pages)))
    if more:
        row.append(("Next »", encode_page(code, offset + limit, args, pages)))
    return Reply(tuple(parts), (tuple(row),) if row else ())


def range_text(offset: int, shown: int, total: int | None) -> str:
    span = f"{offset + 1}–{offset + shown}"
    return f"{span} of {total}" if total is not None else span
