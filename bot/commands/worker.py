"""Commands run off the event loop: one worker thread with its own archive connection and a time budget.

On the loop, `/digest week` over 30k posts froze the listener and every other user for 4 s, and a user
within the rate limit could keep it frozen most of each minute. Here the router runs in one thread
(commands take turns, so the archive sees one command at a time) on a connection of its own; the
loop only awaits the answer. Every command gets `budget` seconds of SQL: a query still running then
is interrupted and the user is told to narrow the request. Hooks the handlers call (a subscription
or watch list changed) are passed back to the loop, where the scheduler lives.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from bot.commands.router import CommandRouter
from bot.models import Chat, Reply, User

T = TypeVar("T")
COMMAND_BUDGET = 10.0  # seconds of SQL per command


class CommandWorker:
    """The `CommandHandler` the Telegram adapter awaits (bot/telegram/bot_client.py)."""

    def __init__(self, router: CommandRouter, *, budget: float = COMMAND_BUDGET, threaded: bool = True) -> None:
        """`router` must own its store connection when `threaded` (nothing else may use it meanwhile)."""
        self.router = router
        self.budget = budget
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="commands") if threaded else None

    @classmethod
    def inline(cls, router: CommandRouter) -> CommandWorker:
        """On the loop itself (tests, an in-memory archive that a second connection cannot see)."""
        return cls(router, threaded=False)

    @property
    def bot_username(self) -> str | None:
        return self.router.bot_username

    @bot_username.setter
    def bot_username(self, value: str | None) -> None:
        self.router.bot_username = value

    def menu(self) -> list[tuple[str, str]]:
        return self.router.menu()

    async def route(self, text: str, chat: Chat, user: User) -> Reply:
        return await self._run(lambda: self.router.route(text, chat, user))

    async def route_callback(self, data: str, chat: Chat, user: User) -> Reply:
        return await self._run(lambda: self.router.route_callback(data, chat, user))

    async def _run(self, call: Callable[[], Reply]) -> Reply:
        if self._executor is None:
            return self._budgeted(call)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._budgeted, call)

    def _budgeted(self, call: Callable[[], Reply]) -> Reply:
        store = self.router.deps.store
        store.set_deadline(time.monotonic() + self.budget)
        try:
            return call()
        finally:
            store.set_deadline(None)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self.router.deps.store.close()


def on_loop(loop: asyncio.AbstractEventLoop, hook: Callable[[], object]) -> Callable[[], object]:
    """`hook`, callable from the worker thread, run on `loop` (APScheduler is not thread-safe)."""

    def call() -> None:
        loop.call_soon_threadsafe(hook)

    return call
