"""What a user may type for a channel, read one way everywhere (settings, CLI, bot, sources, store).

Accepted: `@name`, `name`, `t.me/name`, `https://t.me/s/name`, `t.me/name/123` (a post link),
`t.me/c/123/45` (a private channel's post link), `-100123` (a chat id as bots see it), `123`, and,
where the archive can look it up, a channel's title as written ("Serbia Today"). Invite links are
refused with what to do instead: an invite cannot be read until you have joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.numbers import INT64_MAX, ascii_int, is_ascii_digits

USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_LINK = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/", re.IGNORECASE)
_FORMS = "an @username, a t.me/name link or a numeric channel id"


class ChannelIdentError(ValueError):
    """Text that cannot name a channel; the message quotes it and says what would."""


@dataclass(frozen=True, slots=True)
class ChannelIdent:
    """One of: a lower-case username, a bare channel id (no -100), or a title to look up."""

    username: str | None = None
    tg_id: int | None = None
    title: str | None = None

    @property
    def label(self) -> str:
        if self.username:
            return "@" + self.username
        return str(self.tg_id) if self.tg_id is not None else repr(self.title)


def parse_channel(value: str | int, *, titles: bool = False) -> ChannelIdent:
    """Read a channel reference; with `titles`, text that is no username or id is a title to look up.

    A bare word that is a valid username (`serbia_today`) is the username; with `titles` the
    archive also tries it as a title when no channel has that username.
    """
    if isinstance(value, int):
        return ChannelIdent(tg_id=_bare_id(str(value), value))
    text = value.strip()
    if not text:
        raise ChannelIdentError("no channel given: use " + _FORMS)
    link = _LINK.sub("", text)
    if link != text:
        if link.startswith("+") or link.lower().startswith("joinchat/"):
            raise ChannelIdentError(
                f"{_shown(value)} is an invite link: join the channel first, then use its @name (or numeric id)"
            )
        parts = [p for p in re.split(r"[/?#]", link) if p]
        if parts and parts[0].lower() == "s":
            parts = parts[1:]
        if len(parts) >= 2 and parts[0].lower() == "c" and is_ascii_digits(parts[1]):
            return ChannelIdent(tg_id=_bare_id(parts[1], value))
        name = parts[0] if parts else ""
        if not USERNAME.fullmatch(name):
            raise ChannelIdentError(f"{_shown(value)} is not a channel link: expected https://t.me/name")
        return ChannelIdent(username=name.lower())
    bare = text[1:] if text.startswith("@") else text
    if re.fullmatch(r"-?[0-9]+", bare):
        return ChannelIdent(tg_id=_bare_id(bare, value))
    if USERNAME.fullmatch(bare):
        return ChannelIdent(username=bare.lower())
    if titles and not text.startswith("@"):
        return ChannelIdent(title=text)
    raise ChannelIdentError(f"{_shown(value)} is not a channel: use {_FORMS}")


def _bare_id(text: str, value: str | int) -> int:
    """Telegram's "marked" chat id -100… is the channel id with a prefix; basic groups are negative."""
    negative = text.startswith("-")
    digits = text[4:] if text.startswith("-100") and len(text) > 4 else text[1:] if negative else text
    number = ascii_int(digits)
    if number is None:
        raise ChannelIdentError(f"{_shown(value)} is not a channel id (ASCII digits, at most {INT64_MAX:,})")
    if text.startswith("-100") and len(text) > 4 and number > 0:
        return number
    if negative or number == 0:
        raise ChannelIdentError(f"{_shown(value)} is not a channel id (basic groups and users are not supported)")
    return number


def _shown(value: str | int) -> str:
    """The value for an error message: quoted, and never 5,000 characters of it."""
    text = str(value)
    return repr(text if len(text) <= 60 else text[:60] + "…")


def title_matches(query: str, title: str | None) -> bool:
    """Case-insensitive, space-insensitive equality: `serbia today` finds "Serbia Today"."""
    return title is not None and " ".join(query.casefold().split()) == " ".join(title.casefold().split())
