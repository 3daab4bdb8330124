"""Several Telegram accounts as one source of `tgmonitor run` (TELEGRAM_ACCOUNTS; docs/accounts.md).

Each account is an ordinary `ListenerPart` (its own client, live handlers, catch-up, flood waits and
reconnects) that sees only the channels assigned to it (`AssignedBook`); all of them write through
the one archive, whose (channel, message id) identity stores a post seen by two accounts once.
Checkpoints are per channel, not per account, so a channel moved to another account is caught up by
the new one from where the old one stopped: nothing missed, nothing doubled.

An account that cannot start (not logged in, refused) or is logged out, banned or disconnected for good
while running stops alone: the others go on, and its channels are handed at once to the running
accounts with room (stand-ins, caught up from their checkpoints; `tgmonitor accounts` shows the move).
Its explicit `CHANNELS_<name>` channels, and those no running account has room for or can read (a bare
numeric id the stand-ins' sessions have no access hash for), are listed as unread in
`meta` (`tgmonitor accounts`, `tgmonitor status`). Only when every account is gone does the service
exit for a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from bot.app.archive import Archive
from bot.config import Settings
from bot.core.accounts import Assignment, Move, record_moves
from bot.service.account_book import (
    ASSIGNMENT_KEY,
    MOVED_KEY,
    STATE_KEY,
    UNREAD_KEY,
    UNREADABLE_KEY,
    UNREADABLE_WHY_KEY,
    AssignedBook,
    account_gone,
    cannot_read,
    channel_key,
    iso,
    key_ident,
    moves_json,
    plan,
    read_json,
    read_moves,
    row_keys,
    unreadable_why,
)
from bot.service.parts import (
    ClientFactory,
    ListenerPart,
    PollOutcome,
    ServiceConfigError,
    ServiceStartError,
    plural,
)
from bot.telegram.client import make_user_client

__all__ = ["STATE_KEY", "UNREAD_KEY", "AccountRun", "AccountsPart"]

_log = logging.getLogger(__name__)


@dataclass
class AccountRun:
    """One account while the service runs: its listener, its channels and what went wrong."""

    name: str
    part: ListenerPart
    keys: frozenset[str] = frozenset()
    state: str = "starting"  # running, logged out, failed, disconnected, stopped
    error: str | None = None
    waiting_until: float | None = None  # epoch seconds: in a flood wait (or reconnect back-off)
    watcher: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def down(self) -> bool:
        """Stopped by a fault, not by the service stopping: its channels go to others, its explicit ones unread."""
        return self.state in ("logged out", "failed", "disconnected")


class AccountsPart:
    """The `Source` for TELEGRAM_ACCOUNTS: one ListenerPart per account, polled side by side."""

    name = "listener"

    def __init__(
        self,
        settings: Settings,
        archive: Archive,
        client_factory: ClientFactory = make_user_client,
        on_live_saved: Callable[[Sequence[int]], None] | None = None,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        log: logging.Logger = _log,
    ) -> None:
        self.settings = settings
        self.archive = archive
        self.store = archive.store
        self.client_factory = client_factory
        self.on_live_saved = on_live_saved
        self._sleep = sleep
        self.log = log
        self.assignment = Assignment()
        self.accounts: dict[str, AccountRun] = {}
        self.moves: dict[str, Move] = {}  # channel key -> its stand-in while its own account is down
        self._all_lost: asyncio.Future[None] | None = None
        self._unreadable_changed = False
        self._moves_due = False  # an account went down: its channels wait for `_reassign`
        self._moving = asyncio.Lock()  # one reassignment at a time (poll, a watcher, bot /watch)

    # ------------------------------------------------------------------ start
    async def start(self) -> str:
        self._all_lost = asyncio.get_running_loop().create_future()
        self.assignment = plan(self.settings, self.store)
        for account in self.settings.accounts:
            keys = self.assignment.channels.get(account.name, ())
            own = self.settings.for_account(account, tuple(key_ident(k) for k in keys))
            part = ListenerPart(
                own,
                self.archive,
                self.client_factory,
                self.on_live_saved,
                book=AssignedBook(self.store, self._keys_of(account.name)),
                sleep=self._waiting(account.name),
            )
            run = AccountRun(account.name, part, frozenset(keys))
            self.accounts[account.name] = run
        await asyncio.gather(*(self._start_one(run) for run in self.accounts.values()))
        self._save()
        if not any(run.running for run in self.accounts.values()):
            why = "; ".join(f"{run.name}: {run.error}" for run in self.accounts.values())
            if all(run.state == "logged out" for run in self.accounts.values()):
                raise ServiceConfigError(f"no Telegram account could start ({why})")
            # One unreachable (network, refused): a restart may find it back; a config error would stop for good.
            raise ServiceStartError(f"no Telegram account could start ({why})")
        if self._moves_due or self._unreadable_changed:
            await self._reassign(catch_up=False)  # the first poll reads the moved channels
        shown = ", ".join(
            f"{r.name}: {plural(len(r.keys), 'channel')}"
            + ("" if r.running else f" ({r.state}{', UNREAD' if r.keys else ''})")
            for r in self.accounts.values()
        )
        moved = [k for k, m in self.moves.items() if m.to is not None]
        extra = f"; {plural(len(moved), 'channel')} moved to a running account" if moved else ""
        if self.assignment.unassigned:
            extra += (
                f"; {plural(len(self.assignment.unassigned), 'channel')} no account has room for or can read, unread"
            )
        return f"listener: on, {plural(len(self.accounts), 'account')} ({shown}){extra}; web preview: off"

    async def _start_one(self, run: AccountRun) -> None:
        try:
            await run.part.start()
        except ServiceConfigError:
            self._stopped(run, "logged out", f"not logged in: run `tgmonitor login --account {run.name}`")
            return
        except Exception as exc:  # refused, banned, unreachable: this account only
            self._stopped(run, "failed", f"{exc.__class__.__name__}: {exc}")
            return
        run.state = "running"
        resolution = run.part.resolution
        if resolution is not None:
            self._learn(run, {channel_key(i): why for i, why in resolution.failures.items() if cannot_read(why)})
        lost = run.part.lost()
        if lost is not None:
            run.watcher = asyncio.ensure_future(self._watch(run, lost))

    async def _watch(self, run: AccountRun, lost: Awaitable[object]) -> None:
        try:
            await lost
            error = None
        except Exception as exc:  # Telethon ends `disconnected` with the error that made it give up
            error = f"{exc.__class__.__name__}: {exc}"
        if run.running:
            self._stopped(run, "disconnected", error or "the connection ended")
            # At once, not at the next poll: the stand-ins catch the channels up from their checkpoints.
            try:
                await self._settle()
            except Exception:  # a task of its own: nobody else would see it; the next poll tries again
                self._moves_due = True
                self.log.exception("handing account %s's channels on failed; the next poll tries again", run.name)

    def _stopped(self, run: AccountRun, state: str, error: str) -> None:
        run.state, run.error = state, error
        self.log.error(
            "account %s stopped (%s): %s; its channels (%d) go to running accounts with room (explicit ones: unread)",
            run.name,
            state,
            error,
            len(run.keys),
        )
        self._moves_due = True
        self._save()
        everyone_gone = not any(r.running for r in self.accounts.values())
        if self._all_lost is not None and not self._all_lost.done() and everyone_gone:
            self._all_lost.set_result(None)

    def _keys_of(self, name: str) -> Callable[[], frozenset[str]]:
        return lambda: self.accounts[name].keys

    def _waiting(self, name: str) -> Callable[[float], Awaitable[object]]:
        """The account's own sleep: a flood wait holds this account only, and `accounts` shows it."""

        async def sleep(seconds: float) -> None:
            run = self.accounts[name]
            run.waiting_until = time.time() + seconds
            self._save()
            try:
                await self._sleep(seconds)
            finally:
                run.waiting_until = None
                self._save()

        return sleep

    # ------------------------------------------------------------------- poll
    async def poll(self) -> PollOutcome:
        outcomes: list[PollOutcome] = []
        if self._unreadable_changed or self._moves_due:
            await self._reassign(catch_up=False)  # before the poll, which then reads every channel
        running = [r for r in self.accounts.values() if r.running]
        polled = await asyncio.gather(*(self._poll_one(r) for r in running))
        # An account that went down in this poll: its channels are read again by a stand-in or counted
        # unread below, so its own failures are not counted twice.
        outcomes += [o if r.running else PollOutcome(o.ok, 0, o.new_ids) for r, o in zip(running, polled, strict=True)]
        outcomes += await self._settle()
        ok = sum(o.ok for o in outcomes)
        failed = sum(o.failed for o in outcomes) + len(self.unread())
        return PollOutcome(ok=ok, failed=failed, new_ids=tuple(i for o in outcomes for i in o.new_ids))

    async def _settle(self) -> list[PollOutcome]:
        """An account went down, or could not read a channel: its channels are handed on and read now.
        Bounded: each round stops an account or learns a new (account, channel) pair."""
        outcomes = []
        for _ in range(2 * len(self.accounts) + 2):
            if not (self._unreadable_changed or self._moves_due):
                break
            outcomes.append(await self._reassign(catch_up=True))
        return outcomes

    async def _poll_one(self, run: AccountRun, only: Collection[str] | None = None) -> PollOutcome:
        """Catch up the account's channels (`only`: just these keys); a gone session stops the account."""
        ids = None if only is None else self._row_ids(only)
        outcome = await run.part.poll(only=ids)
        rows = [r for r in run.part.book.channels(watched_only=True) if ids is None or r.id in ids]
        gone = [r.last_error for r in rows if account_gone(r.last_error)]
        if gone and outcome.ok == 0:
            self._stopped(run, "logged out", str(gone[0]))
            await run.part.close()
        else:
            if only is None:  # each just polled: its error is fresh
                run.error = next((r.last_error for r in rows if r.last_error), None)
            unable = [r for r in rows if cannot_read(r.last_error)]
            learnt = self._learn(run, {k: r.last_error or "" for r in unable for k in row_keys(r) & run.keys})
            self._save()
            # Learnt just now: handed to another account (read there) or counted unread, not failed here too.
            handed = sum(1 for r in unable if row_keys(r) & learnt)
            outcome = PollOutcome(outcome.ok, max(0, outcome.failed - handed), outcome.new_ids)
        return outcome

    def _row_ids(self, keys: Collection[str]) -> frozenset[int]:
        wanted = set(keys)
        return frozenset(r.id for r in self.store.channels(watched_only=True) if row_keys(r) & wanted)

    def _learn(self, run: AccountRun, errors: Mapping[str, str]) -> frozenset[str]:
        """Remember that `run` cannot read these channels (key -> the error that says so); the next
        refresh hands them to another account, or lists them unread when none can. Learnt once: the
        account is not asked again, so a channel it cannot read logs no error on every poll."""
        unable: dict[str, list[str]] = read_json(self.store, UNREADABLE_KEY, {})
        new = {k: e for k, e in errors.items() if run.name not in unable.get(k, [])}
        if not new:
            return frozenset()
        whys: dict[str, dict[str, str]] = read_json(self.store, UNREADABLE_WHY_KEY, {})
        for key, error in new.items():
            unable.setdefault(key, []).append(run.name)
            why = unreadable_why(error)
            if why is not None:
                whys.setdefault(key, {})[run.name] = why
            self.log.warning(
                "account %s cannot read %s%s; another account will be tried",
                run.name,
                key_ident(key),
                f" ({why})" if why else "",
            )
        self.store.meta_set_many(
            {
                UNREADABLE_KEY: json.dumps(unable, ensure_ascii=False, sort_keys=True),
                UNREADABLE_WHY_KEY: json.dumps(whys, ensure_ascii=False, sort_keys=True),
            }
        )
        self._unreadable_changed = True
        return frozenset(new)

    async def refresh(self) -> None:
        """Bot /watch or /unwatch: new channels get an account (the others keep theirs), then resolve;
        the service polls right after."""
        await self._reassign(catch_up=False)

    async def _reassign(self, *, catch_up: bool) -> PollOutcome:
        """Channels to accounts again: a down account's go to running ones with room (stand-ins, recorded
        in `moves`), learnt unreadable ones to another reader, new ones balanced; the rest stay put.
        Each running account resolves what it was given and, with `catch_up`, reads it from the checkpoint."""
        async with self._moving:
            self._unreadable_changed = self._moves_due = False
            down = [r.name for r in self.accounts.values() if r.down]
            before = {k: r.name for r in self.accounts.values() for k in r.keys}
            # A stand-in keeps what it took; an unread channel whose account is down is placed again.
            previous = {**{k: m.home for k, m in self.moves.items()}, **before}
            self.assignment = plan(self.settings, self.store, down=down, previous=previous)
            moves = record_moves(before, self.assignment, down, self.moves, at=iso(time.time()) or "")
            self._log_moves({k: m for k, m in moves.items() if self.moves.get(k) != m})
            self.moves = moves
            added: dict[str, list[str]] = {}
            for run in self.accounts.values():
                keys = frozenset(self.assignment.channels.get(run.name, ()))
                added[run.name] = sorted(keys - run.keys)
                run.keys = keys
            self._save()
            given = [r for r in self.accounts.values() if r.running and r.part.source is not None]
            for run in given:
                assert run.part.source is not None
                # Channels new to this account are resolved by it (by name: the old account may never have).
                resolution = await run.part.source.resolve_channels([key_ident(k) for k in added[run.name]])
                self._learn(run, {channel_key(i): why for i, why in resolution.failures.items() if cannot_read(why)})
            if not catch_up:
                return PollOutcome(ok=0, failed=0)
            outcomes = await asyncio.gather(
                *(self._poll_one(r, only=added[r.name]) for r in given if r.running and added[r.name])
            )
        return PollOutcome(
            ok=sum(o.ok for o in outcomes),
            failed=sum(o.failed for o in outcomes),
            new_ids=tuple(i for o in outcomes for i in o.new_ids),
        )

    def _log_moves(self, moves: dict[str, Move]) -> None:
        """One line per (down account, stand-in): a banned account may hand on hundreds of channels."""
        groups: dict[tuple[str, str | None], list[str]] = {}
        for key, move in moves.items():
            groups.setdefault((move.home, move.to), []).append(key_ident(key))
        for (home, to), idents in groups.items():
            shown = ", ".join(idents[:8]) + (", …" if len(idents) > 8 else "")
            where = f"{to} reads them from their checkpoints" if to else "no account has room or can read: UNREAD"
            self.log.warning("account %s is down; %s: %s", home, where, f"{plural(len(idents), 'channel')} ({shown})")

    # --------------------------------------------------------------- reports
    def unread(self) -> list[str]:
        dead = [k for r in self.accounts.values() if r.down for k in sorted(r.keys)]
        return [*dead, *self.assignment.unassigned]

    def _save(self) -> None:
        state = {
            r.name: {
                "state": r.state,
                "error": r.error,
                "channels": sorted(r.keys),
                "waiting_until": iso(r.waiting_until),
            }
            for r in self.accounts.values()
        }
        # A moved channel is saved with its own account, so the next run gives it back once that is up.
        previous = {k: r.name for r in self.accounts.values() for k in r.keys}
        previous |= {k: m.home for k, m in self.moves.items()}
        unread, moves = self.unread(), dict(self.moves)
        if self.settings.read_channels == "configured":
            # Other listeners write the same database (a team, docs/team.md): keep their accounts' entries.
            mine = set(self.accounts)
            keys = set(previous) | set(unread) | set(self.assignment.unassigned)
            state = {k: v for k, v in read_json(self.store, STATE_KEY, {}).items() if k not in mine} | state
            theirs = read_json(self.store, ASSIGNMENT_KEY, {})
            previous = {k: v for k, v in theirs.items() if v not in mine and k not in keys} | previous
            unread = [k for k in read_json(self.store, UNREAD_KEY, []) if k not in keys] + unread
            moves = {k: m for k, m in read_moves(self.store).items() if m.home not in mine} | moves
        self.store.meta_set_many(
            {
                STATE_KEY: json.dumps(state, ensure_ascii=False),
                ASSIGNMENT_KEY: json.dumps(previous, ensure_ascii=False, sort_keys=True),
                UNREAD_KEY: json.dumps(unread, ensure_ascii=False),
                MOVED_KEY: moves_json(moves),
            }
        )

    # ------------------------------------------------------------------- stop
    def stop_updates(self) -> None:
        for run in self.accounts.values():
            run.part.stop_updates()

    async def close(self) -> None:
        for run in self.accounts.values():
            if run.watcher is not None:
                run.watcher.cancel()
        await asyncio.gather(
            *(r.part.close() for r in self.accounts.values() if r.part.client is not None), return_exceptions=True
        )
        for run in self.accounts.values():
            if run.running:
                run.state = "stopped"
        self._save()

    def lost(self) -> Awaitable[object] | None:
        return self._all_lost
