"""Which archived channel an HTML export is: it names its chat by title only, never by id or username.

A wrong answer would be costly (another channel's message 57 overwriting this one's), so the title
is matched only when exactly one channel in the archive has it, `--channel` can say it outright, and
either way every message the archive already holds must carry the same date in the export: message
dates never change on Telegram, so a different date means a different channel.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from bot.core.numbers import ascii_int
from bot.models import ChannelRef, ChannelRow, RawPost
from bot.sources.desktop_export import ExportError
from bot.sources.desktop_html_message import short
from storage.store import Store

_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
# The same message read from exports made on two clocks: an old JSON export's local wall time taken
# as UTC against an HTML date with its offset. Offsets are whole quarter hours within ±14 h.
_MAX_OFFSET_SECONDS = 14 * 3600


def parse_channel_option(value: str) -> ChannelRef:
    """`@name`, `name`, `t.me/name`, a channel id (`1234567890`, as in a JSON export) or `-1001234567890`."""
    text = re.sub(r"^(https?://)?(www\.)?(t|telegram)\.me/(s/)?", "", value.strip(), flags=re.IGNORECASE)
    text = text.strip("/").lstrip("@")
    number = text[4:] if text.startswith("-100") else text[2:].split("/")[0] if text.startswith("c/") else text
    tg_id = ascii_int(number)
    if tg_id is not None and tg_id > 0:
        return ChannelRef(tg_id=tg_id)
    if _USERNAME.fullmatch(text):
        return ChannelRef(username=text)
    shown = value if len(value) <= 60 else value[:60] + "…"
    raise ValueError(f"--channel {shown!r}: expected @username, a t.me link or a numeric channel id")


def resolve_channel(
    store: Store, title: str, option: ChannelRef | None, source: str, pending: Sequence[ChannelRef] = ()
) -> tuple[ChannelRef, str]:
    """(the channel, how it was found) for an export whose header names `title`.

    `pending`: channels of sources read in the same import but not written yet (a JSON export of the
    channel named before its HTML export), matched like archived ones.
    """
    if option is not None:
        return ChannelRef(tg_id=option.tg_id, username=option.username, title=title), "named with --channel"
    candidates = {(r.tg_id, r.username): r.ref for r in store.channels() if _same_title(r.title, title)}
    candidates.update({(c.tg_id, c.username): c for c in pending if _same_title(c.title, title)})
    matches = list(candidates.values())
    if len(matches) == 1:
        found = matches[0]
        ref = ChannelRef(tg_id=found.tg_id, username=found.username, title=title)
        return ref, f"matched by title to {_label(found)}"
    if not matches:
        raise ExportError(
            f"{source}: an HTML export names its channel only by title («{short(title)}») and no archived channel has "
            "that title: say which channel it is with --channel @username or --channel ID (the 'id' of a JSON "
            "export of it, or the number in its t.me/c/ID/… links)"
        )
    labels = ", ".join(_label(ref) for ref in matches[:5])
    raise ExportError(
        f"{source}: «{short(title)}» is the title of {len(matches)} archived channels ({labels}); "
        "say which with --channel"
    )


def archived(store: Store, channel: ChannelRef) -> ChannelRow | None:
    for row in store.channels():
        if (channel.tg_id is not None and row.tg_id == channel.tg_id) or (
            channel.username and row.username == channel.username
        ):
            return row
    return None


def check_same_channel(store: Store, row: ChannelRow, posts: Sequence[RawPost], source: str) -> None:
    """Every message of `posts` the archive already holds for `row` must have the same date."""
    if not posts:
        return
    ids = [p.message_id for p in posts]
    known = store.message_dates(row.id, min(ids), max(ids))
    for post in posts:
        other = known.get(post.message_id)
        if other is not None and not same_message_date(post.date, other):
            raise ExportError(
                f"{source}: message {post.message_id} is dated {post.date:%Y-%m-%d %H:%M:%S} UTC here but "
                f"{other:%Y-%m-%d %H:%M:%S} UTC in the archive's {_label(row.ref)}: an export of another channel? "
                "Name the right one with --channel"
            )


def same_message_date(a: datetime, b: datetime) -> bool:
    """Equal, or apart by a whole number of quarter hours up to 14 h (one of them a wall time taken as UTC)."""
    seconds = abs((a - b).total_seconds())
    return seconds % 900 == 0 and seconds <= _MAX_OFFSET_SECONDS


def _same_title(a: str | None, b: str) -> bool:
    return a is not None and " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _label(ref: ChannelRef) -> str:
    ident = f"@{ref.username}" if ref.username else f"id {ref.tg_id}"
    return f"channel «{ref.title}» ({ident})" if ref.title else f"channel {ident}"
