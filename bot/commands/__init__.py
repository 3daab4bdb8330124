"""Bot commands over the archive: a router plus one plain function per command, grouped by family.

`router.py` (who may ask, how often, dispatch), `registry.py` (the one list of commands), `args.py`
(parsing what users type), `paging.py` (Prev/Next buttons), `items.py` (item lists), and one module
per family: `search.py`, `post.py`, `digests.py`, `admin.py`, `help.py`. Offsets count result
*items* (posts folded by origin / near-duplicate cluster, see bot/app/listing.py), newest first.
"""

from bot.commands.deps import Command, CommandDeps, UsageError
from bot.commands.paging import CALLBACK_DATA_LIMIT, PageKeys, decode_page, encode_page
from bot.commands.registry import COMMANDS
from bot.commands.router import REFUSAL, CommandRouter, parse_command
from bot.commands.text import SILENT, reply_of, split_text
from bot.models import Chat, Reply, User

__all__ = [
    "CALLBACK_DATA_LIMIT",
    "COMMANDS",
    "REFUSAL",
    "SILENT",
    "Chat",
    "Command",
    "CommandDeps",
    "CommandRouter",
    "PageKeys",
    "Reply",
    "UsageError",
    "User",
    "decode_page",
    "encode_page",
    "parse_command",
    "reply_of",
    "split_text",
]
