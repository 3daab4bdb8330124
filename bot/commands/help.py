"""/start and /help: what the bot is and every command with an example."""

from __future__ import annotations

import html

from bot.commands.deps import CommandDeps
from bot.core.telegram_text import split_messages
from bot.models import Chat, Reply, User


def cmd_start(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    intro = (
        "<b>Hi!</b> I keep an archive of the Telegram channels this monitor watches: posts cleaned, "
        "tagged and folded when several channels carry the same thing. Ask me to search it, "
        "show the latest posts or send a digest."
    )
    return _help(intro, user, deps)


def cmd_help(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    return _help("<b>What I can do</b>", user, deps)


def _help(intro: str, user: User, deps: CommandDeps) -> Reply:
    blocks = []
    for command in deps.commands:
        if command.admin and not deps.is_admin(user):
            continue
        admin = " <i>(admin)</i>" if command.admin else ""
        blocks.append(
            f"<code>{html.escape(command.usage)}</code>{admin}\n{html.escape(command.about)}\n"
            f"e.g. <code>{html.escape(command.example)}</code>"
        )
    blocks.append(
        "Searches find every form of your words in either script (all must appear; "
        '"quotes" for an exact phrase); results list one item per story, '
        f"however many channels carried it. Times are in {html.escape(deps.settings.tz.key)}."
    )
    return Reply(tuple(split_messages(intro, [(None, "\n" + b) for b in blocks])))
