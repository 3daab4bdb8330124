"""Edit and deletion alerts (ALERT_EDITS): which channels are watched, and what the alert says. Pure.

An alert is the diff itself: removed words struck through, added words bold, a little unchanged text
around each change (a long statement with one number changed shows that number, not the statement),
Telegram HTML with every piece of post text escaped, split into messages under 4,096 characters
between self-contained pieces, so no tag is ever cut.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from bot.core.channels import ChannelIdentError, parse_channel
from bot.core.telegram_text import TELEGRAM_LIMIT, strip_bidi, utf16_len
from bot.core.wordiff import WordDiff, compact, html_pieces

ALERT_CONTEXT = 80  # characters of unchanged text kept on each side of a change


@dataclass(frozen=True, slots=True)
class EditWatch:
    """ALERT_EDITS: `all`, or channels by @username, t.me link or numeric id (-100… chat ids too)."""

    everything: bool = False
    usernames: frozenset[str] = frozenset()
    tg_ids: frozenset[int] = frozenset()

    @classmethod
    def parse(cls, values: Iterable[str]) -> EditWatch:
        usernames: set[str] = set()
        tg_ids: set[int] = set()
        for value in values:
            text = value.strip()
            if text.lower() == "all":
                return cls(everything=True)
            try:
                ident = parse_channel(text)  # bot/core/channels.py: the one reading of a channel name
            except ChannelIdentError:
                continue  # the settings check reports it; nothing here could match it
            if ident.tg_id is not None:
                tg_ids.add(ident.tg_id)
            elif ident.username:
                usernames.add(ident.username)
        return cls(False, frozenset(usernames), frozenset(tg_ids))

    @property
    def active(self) -> bool:
        return self.everything or bool(self.usernames or self.tg_ids)

    def covers(self, username: str | None, tg_id: int | None) -> bool:
        return (
            self.everything
            or (username is not None and username.lower() in self.usernames)
            or (tg_id is not None and tg_id in self.tg_ids)
        )

    def describe(self) -> str:
        if self.everything:
            return "all channels"
        names = sorted("@" + u for u in self.usernames) + [str(i) for i in sorted(self.tg_ids)]
        return ", ".join(names)


@dataclass(frozen=True, slots=True)
class AlertPost:
    """What an edit or deletion alert shows about its post (a StoredPost has all of it)."""

    channel_label: str
    date: datetime
    url: str | None


def pack(header: str, pieces: Sequence[str], footer: str = "", limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Messages under `limit`: the header, then pieces in order (never split), then the footer."""
    messages: list[str] = []
    current = header
    for piece in pieces:
        if current and utf16_len(current) + utf16_len(piece) > limit:
            messages.append(current)
            current = ""
        current += piece
    if footer:
        if utf16_len(current) + utf16_len(footer) + 1 > limit:
            messages.append(current)
            current = footer
        else:
            current += "\n" + footer
    messages.append(current)
    return [m.strip("\n") for m in messages if m.strip()]


def _when(value: datetime, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%d %b %H:%M")


def _link(url: str | None) -> str:
    return f'<a href="{html.escape(url, quote=True)}">open</a>' if url else ""


def render_edit_alert(
    post: AlertPost,
    diff: WordDiff,
    *,
    version: int,
    edited_at: datetime,
    tz: tzinfo,
    context: int = ALERT_CONTEXT,
    edits: int = 1,
) -> list[str]:
    """✏️ Edited · channel · when, why it counts, then the diff around each change. `edits` > 1: one
    alert for several edits of the post (coalesced), the diff from before the first to after the last."""
    esc = html.escape
    why = ", ".join(diff.reasons) or "minor"
    span = f"version {version - edits} → {version}" + (f" ({edits:,} edits)" if edits > 1 else "")
    header = (
        f"✏️ <b>Edited</b> · {esc(strip_bidi(post.channel_label))} · <i>{esc(_when(edited_at, tz))}</i>\n"
        f"<i>{esc(f'posted {_when(post.date, tz)} · {span} · changed: {why}')}</i>\n\n"
    )
    return pack(header, html_pieces(compact(diff.segments(), context)), _link(post.url))


def render_deletion_alert(post: AlertPost, text: str, *, noticed_at: datetime, tz: tzinfo) -> list[str]:
    """🗑 Deleted · channel · when it was noticed, then the text the archive kept."""
    esc = html.escape
    header = (
        f"🗑 <b>Deleted</b> · {esc(strip_bidi(post.channel_label))} · <i>noticed {esc(_when(noticed_at, tz))}</i>\n"
        f"<i>{esc(f'posted {_when(post.date, tz)} · kept in the archive')}</i>\n\n"
    )
    body = text.strip() or "[media without text]"
    chunks = [body[i : i + 500] for i in range(0, len(body), 500)]
    return pack(header, [esc(c) for c in chunks], _link(post.url))


DELETIONS_LISTED = 20  # posts listed by name in one alert about many deletions


def render_deletions_alert(
    channel_label: str, posts: Sequence[tuple[AlertPost, str]], *, noticed_at: datetime, tz: tzinfo
) -> list[str]:
    """🗑 N posts deleted · channel: one alert for a channel clearing many posts at once, each listed by
    its date, first words and link (the first DELETIONS_LISTED), instead of one alert per post."""
    esc = html.escape
    header = (
        f"🗑 <b>{len(posts):,} posts deleted</b> · {esc(strip_bidi(channel_label))} · "
        f"<i>noticed {esc(_when(noticed_at, tz))}</i>\n\n"
    )
    pieces = []
    for post, text in posts[:DELETIONS_LISTED]:
        words = " ".join(text.split())
        first = words[:100] + ("…" if len(words) > 100 else "") or "[media without text]"
        link = f" · {_link(post.url)}" if post.url else ""
        pieces.append(f"• <i>{esc(_when(post.date, tz))}</i> {esc(first)}{link}\n")
    more = len(posts) - DELETIONS_LISTED
    return pack(header, pieces, f"<i>and {more:,} more</i>" if more > 0 else "")
