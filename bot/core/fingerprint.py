"""Identity of content, independent of where it was seen.

`origin_key` says "this is the same Telegram post" (a forward points at its source); `content_hash`
says "this is the same text" (a re-post or a copy with no forward header).  Digests fold on both,
by the rule of bot/core/statements.py: text that is no statement (too few words) folds only as a forward.
"""

from __future__ import annotations

import hashlib
import re

from bot.core.spaces import collapse_spaces
from bot.core.statements import TRIVIAL_MARK, is_statement
from bot.models import ChannelRef, Forward

_WS = re.compile(r"\s+")


def content_hash(clean_text: str) -> str:
    """Same text, same hash. A text that is no statement ("👍", "Thanks") gets TRIVIAL_MARK as its
    first character instead of a hex digit, so folds that read only the hash from an index leave it
    apart (`bot.core.statements.content_folds`); an empty text is one of those."""
    # split/join is the regex `\s+` -> " " plus strip (both use str.isspace), four times faster; a
    # clean text's paragraphs are joined by blank lines, so with those made spaces it usually needs
    # no split at all (collapse_spaces; the same string either way).
    canon = collapse_spaces(clean_text.casefold().replace("\n\n", " "))
    digest = hashlib.blake2b(canon.encode("utf-8"), digest_size=10).hexdigest()
    return digest if is_statement(canon) else TRIVIAL_MARK + digest[1:]


# What a clean text without a single word hashes to (a media-only post).
EMPTY_TEXT_HASH = content_hash("")


def channel_key(tg_id: int | None, username: str | None) -> str:
    return f"tg:{tg_id}" if tg_id is not None else f"@{username}"


def origin_key(channel: ChannelRef, message_id: int, forward: Forward | None, text_hash: str) -> str:
    """The forward's source post when it is known, else the post itself.

    A forward whose source is hidden (only a display name, as in Desktop exports) gets a key from the
    name and the text, so ten copies of the same forwarded statement still fold into one; unless the
    text is no statement: two "👍" forwarded from one person are not known to be the same message.
    """
    if forward is not None:
        if forward.message_id is not None and (forward.channel_id is not None or forward.username):
            return f"{channel_key(forward.channel_id, forward.username)}/{forward.message_id}"
        if forward.name and not text_hash.startswith(TRIVIAL_MARK):
            return f"fwd:{_WS.sub(' ', forward.name.casefold()).strip()}/{text_hash}"
    return f"{channel_key(channel.tg_id, channel.username)}/{message_id}"


def post_url(channel: ChannelRef, message_id: int) -> str | None:
    if channel.username:
        return f"https://t.me/{channel.username}/{message_id}"
    if channel.tg_id is not None:
        return f"https://t.me/c/{channel.tg_id}/{message_id}"
    return None
