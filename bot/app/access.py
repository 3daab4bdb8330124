"""Who may use the bot and who may receive digests: one policy, checked when a command arrives AND when
a digest is about to be sent.

Checking only at command time let a user removed from ALLOWED_USERS keep receiving the digests they
had subscribed to, forever. Subscriptions from the settings (DIGEST_CHAT) are the owner's own and
always allowed.
"""

from __future__ import annotations

from bot.config import Settings
from bot.models import Chat, User
from storage.subscriptions import Subscription


class AccessPolicy:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _user(self, user_id: int) -> bool:
        return user_id in self.settings.allowed_users or user_id in self.settings.admin_users

    def may_command(self, chat: Chat, user: User) -> bool:
        return self._user(user.id) or chat.id in self.settings.allowed_chats

    def may_be_alerted(self, user_id: int, chat_id: int) -> bool:
        """A user's own alert rule (/alert add) still sends: the user, or the chat it alerts, is allowed."""
        return self._user(user_id) or chat_id in self.settings.allowed_chats

    def may_receive(self, sub: Subscription) -> bool:
        """A digest goes to an allowed chat, a private chat with an allowed user (its id is the user's),
        or a chat where an allowed user subscribed it."""
        if sub.origin == "settings":
            return True
        if sub.chat_id in self.settings.allowed_chats or self._user(sub.chat_id):
            return True
        return sub.subscriber_id is not None and self._user(sub.subscriber_id)
