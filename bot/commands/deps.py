"""What every command handler gets: the archive, the settings, paging keys, the clock and hooks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.commands.paging import PageKeys
from bot.config import Settings
from bot.models import Chat, Reply, User
from storage.store import Store
from storage.subscriptions import Subscriptions

_log = logging.getLogger("bot.commands")


class UsageError(ValueError):
    """The user asked for something malformed; the (plain text) message says how to ask instead."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class CommandDeps:
    """What handlers may touch; the router builds it once. Callbacks are sync and must not block."""

    store: Store
    settings: Settings
    subscriptions: Subscriptions
    pages: PageKeys
    now: Callable[[], datetime] = utcnow
    on_subscriptions_changed: Callable[[], object] | None = None
    on_channels_changed: Callable[[], object] | None = None
    log: logging.Logger = _log
    commands: Sequence[Command] = ()  # the registry, for /help

    def is_admin(self, user: User) -> bool:
        return user.id in self.settings.admin_users

    def when(self, value: datetime) -> str:
        return value.astimezone(self.settings.tz).strftime("%d %b %Y %H:%M")

    def notify(self, hook: Callable[[], object] | None, what: str) -> None:
        """The change is saved either way; a failing hook only delays when others notice it."""
        if hook is None:
            return
        try:
            hook()
        except Exception:
            self.log.exception("%s changed, but notifying the scheduler/listener failed", what)


Handler = Callable[[str, Chat, User, CommandDeps, int], Reply]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: Handler
    usage: str
    example: str
    about: str
    admin: bool = False
    page_code: str | None = None  # set for commands whose replies have Prev/Next buttons
