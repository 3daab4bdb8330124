"""Several Telegram accounts as one source of `tgmonitor run` (TELEGRAM_ACCOUNTS; docs/accounts.md).

Each account is an ordinary `ListenerPart` (its own client, live handlers, catch-up, flood waits and
reconnects) that sees only the channels assigned to it (`AssignedBook`); all of them write through
the one archive, whose (channel, message id) identity stores a post seen by two accounts once.
Checkpoints are per channel, not per account, so a channel moved to another account is caught up by
the new one from where the old one stopped: nothing missed, nothing doubled.

An account that cannot start (not logged in, refused) or is logged out or banned while running stops
alone: the others go on, its channels are listed as unread in `meta` (`tgmonitor accounts`,
`tgmonitor status`), and only when every account is gone does the service exit for a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.app.archive import Archive
from bot.config import Settings
from bot.core.accounts import Assignment, assign_channels
from bot.core.channels import ChannelIdentError, parse_channel
from bot.models import ChannelRef, ChannelRow
from bot.service.parts import ClientFactory, ListenerPart, PollOutcome, ServiceConfigError, plural
from bot.telegram.client import make_user_client
from storage.store import Store

_log = logging.getLogger(__name__)

STATE_KEY = "accounts:state"  # JSON: {name: {state, error, channels, waiting_until}}
ASSIGNMENT_KEY = "accounts:assignment"  # JSON: {channel key: account}, the previous assignment
UNREAD_KEY = "accounts:unread"  # JSON: channel keys no running account reads
UNREADABLE_KEY = "accounts:unreadable"  # JSON: {channel key: accounts that failed to read it (private, unknown)}
# Telegram's answers meaning the account itself is gone (its session logged out, or the user banned).
ACCOUNT_GONE = (
    "AuthKeyUnregisteredError",
    "AuthKeyInvalidError",
    "AuthKeyDuplicatedError",
    "SessionRevokedError",
    "SessionExpiredError",
    "UserDeactivatedError",
    "UserDeactivatedBanError",
)


def channel_key(ident: str) -> str:
    """A configured channel as an assignment key: its lower-case username or its bare numeric id."""
    try:
        parsed = parse_channel(ident)
    except ChannelIdentError:
        return ident.strip().lstrip("@").lower()
    return parsed.username if parsed.username else str(parsed.tg_id)


def row_keys(row: ChannelRow) -> set[str]:
    return {k for k in (row.username, str(row.tg_id) if row.tg_id is not None else None) if k}


def key_ident(key: str) -> str:
    return key if key.isascii() and key.isdecimal() else "@" + key


class AssignedBook:
    """The archive's `ChannelBook` narrowed to one account's channels where it matters: the watched list
    (catch-up, live filtering, resolving). Everything else (checkpoints, meta) is the shared archive."""

    def __init__(self, store: Store, keys: Callable[[], frozenset[str]]) -> None:
        self.store = store
        self.keys = keys

    def channels(self, *, watched_only: bool = False) -> list[ChannelRow]:
        rows = self.store.channels(watched_only=watched_only)
        if not watched_only:
            return rows
        mine = self.keys()
        return [r for r in rows if row_keys(r) & mine]

    def ensure_channel(self, ref: ChannelRef, source: str | None = None) -> int:
        return self.store.ensure_channel(ref, source)

    def find_channel(self, ident: str | int) -> ChannelRow | None:
        return self.store.find_channel(ident)

    def set_watched(self, ref: ChannelRef, watched: bool) -> int:
        return self.store.set_watched(ref, watched)

    def checkpoint(self, channel_id: int) -> int:
        return self.store.checkpoint(channel_id)

    def record_poll(self, channel_id: int, *, error: str | None = None, at: datetime | None = None) -> None:
        self.store.record_poll(channel_id, error=error, at=at)

    def meta_get(self, key: str) -> str | None:
        return self.store.meta_get(key)

    def meta_set(self, key: str, value: str) -> None:
        self.store.meta_set(key, value)


def plan(settings: Settings, store: Store) -> Assignment:
    """This run's assignment: settings' channels and every watched one, the previous run's as the anchor."""
    keys = [channel_key(c) for c in settings.channels]
    for row in store.channels(watched_only=True):
        known = row_keys(row)
        if not known & set(keys):
            keys.append(row.username or str(row.tg_id))
    explicit = {a.name: [channel_key(c) for c in a.channels] for a in settings.accounts}
    names = [a.name for a in settings.accounts]
    previous = read_json(store, ASSIGNMENT_KEY, {})
    unable = read_json(store, UNREADABLE_KEY, {})
    readable = {k: frozenset(names) - frozenset(v) for k, v in unable.items() if isinstance(v, list)}
    return assign_channels(
        names,
        keys,
        explicit=explicit,
        readable=readable,
        previous=previous if isinstance(previous, dict) else {},
        cap=settings.account_max_channels,
    )


def read_json(store: Store, key: str, default: Any) -> Any:
    try:
        value = json.loads(store.meta_get(key) or "null")
    except ValueError:
        return default
    return default if value is None or type(value) is not type(default) else value


def _cannot_read(error: str | None) -> bool:
    """This account cannot read the channel (private to it, not found), as opposed to a passing fault."""
    if not error or "flood limit" in error or "gave up after" in error:
        return False
    return error.startswith(("ChannelPrivateError", "ChannelInvalidError", "cannot resolve")) or (
        " is not a channel" in error
    )


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
        """Stopped by a fault, not by the service stopping: its channels are unread."""
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
        self._all_lost: asyncio.Future[None] | None = None
        self._unreadable_changed = False

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
            raise ServiceConfigError(f"no Telegram account could start ({why})")
        shown = ", ".join(
            f"{r.name}: {plural(len(r.keys), 'channel')}" + ("" if r.running else f" UNREAD ({r.state})")
            for r in self.accounts.values()
        )
        extra = (
            f"; {plural(len(self.assignment.unassigned), 'channel')} over every cap, unread"
            if self.assignment.unassigned
            else ""
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
            self._learn(run, [channel_key(i) for i, why in resolution.failures.items() if _cannot_read(why)])
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

    def _stopped(self, run: AccountRun, state: str, error: str) -> None:
        run.state, run.error = state, error
        self.log.error(
            "account %s stopped (%s): %s; its %s stay unread", run.name, state, error, plural(len(run.keys), "channel")
        )
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
        if self._unreadable_changed:
            await self.refresh()  # a channel one account cannot read goes to one that may
        running = [r for r in self.accounts.values() if r.running]
        outcomes = await asyncio.gather(*(self._poll_one(r) for r in running))
        if self._unreadable_changed:
            await self.refresh()
        ok = sum(o.ok for o in outcomes)
        failed = sum(o.failed for o in outcomes) + len(self.unread())
        return PollOutcome(ok=ok, failed=failed, new_ids=tuple(i for o in outcomes for i in o.new_ids))

    async def _poll_one(self, run: AccountRun) -> PollOutcome:
        outcome = await run.part.poll()
        gone = [r.last_error for r in run.part.book.channels(watched_only=True) if _account_gone(r.last_error)]
        if gone and outcome.ok == 0:
            self._stopped(run, "logged out", str(gone[0]))
            await run.part.close()
        else:
            rows = run.part.book.channels(watched_only=True)  # each just polled: its error is fresh
            run.error = next((r.last_error for r in rows if r.last_error), None)
            self._learn(run, [k for r in rows if _cannot_read(r.last_error) for k in row_keys(r) & run.keys])
            self._save()
        return outcome

    def _learn(self, run: AccountRun, keys: Sequence[str]) -> None:
        """Remember that `run` cannot read these channels; the next refresh hands them to another account."""
        unable: dict[str, list[str]] = read_json(self.store, UNREADABLE_KEY, {})
        new = [k for k in keys if run.name not in unable.get(k, [])]
        if not new:
            return
        for key in new:
            unable.setdefault(key, []).append(run.name)
            self.log.warning("account %s cannot read %s; another account will be tried", run.name, key_ident(key))
        self.store.meta_set(UNREADABLE_KEY, json.dumps(unable, ensure_ascii=False, sort_keys=True))
        self._unreadable_changed = True

    async def refresh(self) -> None:
        """Bot /watch or /unwatch: new channels get an account (the others keep theirs), then resolve."""
        self._unreadable_changed = False
        self.assignment = plan(self.settings, self.store)
        added: dict[str, list[str]] = {}
        for run in self.accounts.values():
            keys = frozenset(self.assignment.channels.get(run.name, ()))
            added[run.name] = sorted(keys - run.keys)
            run.keys = keys
        self._save()
        for run in self.accounts.values():
            if run.running and run.part.source is not None:
                # Channels new to this account are resolved by it (by name: the old account may never have).
                resolution = await run.part.source.resolve_channels([key_ident(k) for k in added[run.name]])
                self._learn(run, [channel_key(i) for i, why in resolution.failures.items() if _cannot_read(why)])

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
                "waiting_until": _iso(r.waiting_until),
            }
            for r in self.accounts.values()
        }
        previous = {k: r.name for r in self.accounts.values() for k in r.keys}
        self.store.meta_set_many(
            {
                STATE_KEY: json.dumps(state, ensure_ascii=False),
                ASSIGNMENT_KEY: json.dumps(previous, ensure_ascii=False, sort_keys=True),
                UNREAD_KEY: json.dumps(self.unread(), ensure_ascii=False),
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


def _account_gone(error: str | None) -> bool:
    return bool(error) and str(error).split(":", 1)[0] in ACCOUNT_GONE


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
