"""Issue #13: heavy commands run off the event loop, within a time budget, and deep pages are bounded."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from bot.commands import Command, CommandDeps, CommandRouter
from bot.commands.registry import COMMANDS
from bot.commands.router import MAX_OFFSET, TOO_SLOW
from bot.commands.text import reply_of
from bot.commands.worker import CommandWorker, on_loop
from bot.models import Chat, Reply, User
from storage.store import Store
from tests.test_commands import FRIEND, PRIVATE, SETTINGS

FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def endless(args: str, chat: Chat, user: User, deps: CommandDeps, offset: int = 0) -> Reply:
    """A command whose query never ends: what `/digest week` on a huge archive is, in the limit."""
    deps.store.db.execute(FOREVER).fetchone()
    return reply_of("finished")


def test_a_runaway_command_is_interrupted_and_never_stalls_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    Store.open(path).close()
    commands = (*COMMANDS, Command("endless", endless, "/endless", "/endless", "never ends"))
    router = CommandRouter(Store.open(path), SETTINGS, commands=commands)
    worker = CommandWorker(router, budget=0.5)
    gaps: list[float] = []

    async def main() -> tuple[Reply, float]:
        done = False

        async def ticker() -> None:
            last = time.monotonic()
            while not done:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        reply = await worker.route("/endless", PRIVATE, FRIEND)
        took = time.monotonic() - started
        done = True
        await ticking
        return reply, took

    try:
        reply, took = asyncio.run(main())
    finally:
        worker.close()
    assert reply.parts == (TOO_SLOW,)
    assert 0.4 < took < 5
    assert max(gaps) < 0.3, max(gaps)  # the loop kept running while the command worked


def test_the_budget_is_reset_for_the_next_command(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    Store.open(path).close()
    router = CommandRouter(Store.open(path), SETTINGS)
    worker = CommandWorker(router, budget=0.2)

    async def main() -> Reply:
        await asyncio.sleep(0.3)  # longer than the budget: a leftover deadline would interrupt /stats
        return await worker.route("/stats", PRIVATE, FRIEND)

    try:
        assert asyncio.run(main()).parts[0].startswith("<b>Archive</b>")
    finally:
        worker.close()


def test_paging_stops_at_a_bounded_depth(store: Store) -> None:
    router = CommandRouter(store, SETTINGS)
    deep = router.route_callback(f"s{MAX_OFFSET + 1}=Kosovo", PRIVATE, FRIEND)
    assert deep.alert and "as deep as lists go" in deep.parts[0]
    assert not router.route_callback("s9999999=Kosovo", PRIVATE, FRIEND).parts[0].startswith("<b>")


def test_handler_hooks_run_on_the_loop_thread() -> None:
    seen: list[str] = []

    async def main() -> None:
        hook = on_loop(asyncio.get_running_loop(), lambda: seen.append(threading.current_thread().name))
        await asyncio.get_running_loop().run_in_executor(None, hook)
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert seen == [threading.main_thread().name]
