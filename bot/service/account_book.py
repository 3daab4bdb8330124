"""What the accounts of TELEGRAM_ACCOUNTS share with `tgmonitor accounts`, `status` and `backfill`:
the meta keys the service leaves its report in, channel keys, the plan of who reads what, and one
account's narrowed view of the archive (docs/accounts.md). The running part is bot/service/accounts.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.config import Settings
from bot.core.accounts import Assignment, Move, assign_channels
from bot.core.channels import ChannelIdentError, parse_channel
from bot.models import ChannelRef, ChannelRow
from storage.store import Store

STATE_KEY = "accounts:state"  # JSON: {name: {state, error, channels, waiting_until}}
ASSIGNMENT_KEY = "accounts:assignment"  # JSON: {channel key: account}, the previous assignment (moves: home)
MOVED_KEY = "accounts:moved"  # JSON: {channel key: {from, to, at}}, this run's stand-ins for down accounts
UNREAD_KEY = "accounts:unread"  # JSON: channel keys no running account reads
UNREADABLE_KEY = "accounts:unreadable"  # JSON: {channel key: accounts that failed to read it (private, unknown)}
UNREADABLE_WHY_KEY = "accounts:unreadable_why"  # JSON: {channel key: {account: what it needs}}, where known
NEEDS_HASH = "needs @username or an access hash"  # a bare id the account's session has never seen
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


def plan(
    settings: Settings,
    store: Store,
    *,
    down: Collection[str] = (),
    previous: Mapping[str, str] | None = None,
    extra: Collection[str] = (),
) -> Assignment:
    """Who reads what: settings' channels, every watched one and `extra`; `previous` (default: the last
    run's, as saved) anchors each channel to its account; `down` accounts take only their explicit ones."""
    keys = [channel_key(c) for c in settings.channels]
    # READ_CHANNELS=configured: the channels watched in the archive are other listeners' (docs/team.md)
    for row in store.channels(watched_only=True) if settings.read_channels == "all" else ():
        known = row_keys(row)
        if not known & set(keys):
            keys.append(row.username or str(row.tg_id))
    keys.extend(k for k in extra if k not in keys)
    explicit = {a.name: [channel_key(c) for c in a.channels] for a in settings.accounts}
    names = [a.name for a in settings.accounts]
    if previous is None:
        saved = read_json(store, ASSIGNMENT_KEY, {})
        previous = {k: v for k, v in saved.items() if isinstance(v, str)}
    unable = read_json(store, UNREADABLE_KEY, {})
    readable = {k: frozenset(names) - frozenset(v) for k, v in unable.items() if isinstance(v, list)}
    return assign_channels(
        names,
        keys,
        explicit=explicit,
        readable=readable,
        previous=previous,
        cap=settings.account_max_channels,
        down=down,
    )


def assigned_account(settings: Settings, store: Store, ident: str) -> str | None:
    """The account that reads channel `ident`: as the service last ran (a stand-in included), else as
    planned (a channel nobody watches gets the account the plan would give it); None: no account has room.
    `backfill` reads with it, so a channel's history comes through the account that can read it."""
    keys = {channel_key(ident)}
    row = store.find_channel(ident)
    if row is not None:
        keys |= row_keys(row)
    saved: dict[str, Any] = read_json(store, STATE_KEY, {})
    for account in settings.accounts:
        last = saved.get(account.name)
        if isinstance(last, dict) and keys & set(last.get("channels") or ()):
            return account.name
    planned = plan(settings, store, extra=[channel_key(ident)])
    return next((a for k in sorted(keys) if (a := planned.account_of(k)) is not None), None)


def moves_json(moves: Mapping[str, Move]) -> str:
    return json.dumps(
        {k: {"from": m.home, "to": m.to, "at": m.at} for k, m in moves.items()}, ensure_ascii=False, sort_keys=True
    )


def read_moves(store: Store) -> dict[str, Move]:
    raw: dict[str, Any] = read_json(store, MOVED_KEY, {})
    return {
        k: Move(v["from"], v["to"] if isinstance(v.get("to"), str) else None, str(v.get("at")))
        for k, v in raw.items()
        if isinstance(v, dict) and isinstance(v.get("from"), str)
    }


def read_json(store: Store, key: str, default: Any) -> Any:
    try:
        value = json.loads(store.meta_get(key) or "null")
    except ValueError:
        return default
    return default if value is None or type(value) is not type(default) else value


def cannot_read(error: str | None) -> bool:
    """This account cannot read the channel (private to it, not found), as opposed to a passing fault."""
    if not error or "flood limit" in error or "gave up after" in error:
        return False
    return error.startswith(("ChannelPrivateError", "ChannelInvalidError", "NoAccessHashError", "cannot resolve")) or (
        " is not a channel" in error
    )


def unreadable_why(error: str | None) -> str | None:
    """What a person can do about it, for the errors that say: a numeric id without an access hash
    (bot/sources/telethon_channels.NoAccessHashError, as a catch-up records it)."""
    return NEEDS_HASH if error and error.startswith("NoAccessHashError") else None


def account_gone(error: str | None) -> bool:
    return bool(error) and str(error).split(":", 1)[0] in ACCOUNT_GONE


def iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
