"""Which Telegram account reads which channel (TELEGRAM_ACCOUNTS; docs/accounts.md).

One account can join about 500 channels and has its own flood limits, so a large watch list is
spread over several accounts. The assignment is a pure function of the settings and of the previous
assignment, in this order of precedence:

1. explicit `CHANNELS_<name>` assignments are kept as given (even above the cap: a person asked);
2. a channel only some accounts can read goes to one of those (one reader: it stays with it);
3. a channel keeps the account it had last time when that account still can read it and is under the
   cap (stability: moving a channel costs a resolve on the new account, and an edit recheck);
4. the rest go to the readable account with the fewest channels (ties: settings order), never above
   `cap`; a channel no account can take is returned as unassigned, never silently dropped.

An account that is `down` (logged out, banned, disconnected for good) keeps only its explicit channels,
which are then unread: an explicit assignment usually means only that account has joined the channel,
and a person asked for it. Its other channels are handed to the live accounts by rules 2-4, as stand-ins
(`record_moves`): the next run, with the account back, gives them back to it.

Channels are plain string keys (a lower-case username or a numeric id); what they mean is the caller's.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from bot.account_settings import DEFAULT_MAX_CHANNELS

__all__ = ["DEFAULT_MAX_CHANNELS", "Assignment", "Move", "assign_channels", "record_moves"]


@dataclass(frozen=True, slots=True)
class Assignment:
    """account name -> its channels (in input order), and the channels no account could take."""

    channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    unassigned: tuple[str, ...] = ()

    def account_of(self, channel: str) -> str | None:
        for account, chans in self.channels.items():
            if channel in chans:
                return account
        return None


def assign_channels(
    accounts: Sequence[str],
    channels: Sequence[str],
    *,
    explicit: Mapping[str, Sequence[str]] | None = None,
    readable: Mapping[str, frozenset[str]] | None = None,
    previous: Mapping[str, str] | None = None,
    cap: int = DEFAULT_MAX_CHANNELS,
    down: Collection[str] = (),
) -> Assignment:
    """Spread `channels` (plus every explicitly assigned one) over `accounts`.

    `readable[channel]` is the set of accounts known to be able to read it (absent: all can);
    `previous[channel]` is the account it had before; `down` accounts keep their explicit channels and
    take no other. Explicit entries naming an unknown account are ignored here (settings validation
    rejects them first).
    """
    if cap < 1:
        raise ValueError("cap must be at least 1")
    names = list(dict.fromkeys(accounts))
    explicit = explicit or {}
    readable = readable or {}
    previous = previous or {}
    gone = frozenset(down)
    live = [a for a in names if a not in gone]
    owner: dict[str, str] = {}
    for account in names:
        for channel in explicit.get(account, ()):
            owner.setdefault(channel, account)
    load = {a: sum(1 for o in owner.values() if o == a) for a in names}
    pending = [c for c in dict.fromkeys(channels) if c not in owner]

    def can(account: str, channel: str) -> bool:
        allowed = readable.get(channel)
        return (allowed is None or account in allowed) and load[account] < cap and account not in gone

    def take(channel: str, account: str) -> None:
        owner[channel] = account
        load[account] += 1

    # Most constrained first, so a channel with one reader is never crowded out by a flexible one; among
    # equals, those staying where they were first, so a hand-over never pushes out a channel that stays.
    def constraint(channel: str) -> tuple[int, bool]:
        allowed = readable.get(channel)
        before = previous.get(channel)
        stays = before in load and before not in gone and (allowed is None or before in allowed)
        return (len(live) if allowed is None else len(allowed & set(live))), not stays

    left: list[str] = []
    unassigned: list[str] = []
    for channel in sorted(pending, key=constraint):
        before = previous.get(channel)
        if before in load and can(before, channel):
            take(channel, before)
        elif channel in readable:
            best = [a for a in names if can(a, channel)]
            if best:
                take(channel, min(best, key=lambda a: (load[a], names.index(a))))
            else:
                unassigned.append(channel)
        else:
            left.append(channel)
    for channel in left:
        candidates = [a for a in names if can(a, channel)]
        if not candidates:
            unassigned.append(channel)
            continue
        take(channel, min(candidates, key=lambda a: (load[a], names.index(a))))
    order = {c: i for i, c in enumerate(dict.fromkeys([*(c for a in names for c in explicit.get(a, ())), *channels]))}
    result = {a: tuple(sorted((c for c, o in owner.items() if o == a), key=order.__getitem__)) for a in names}
    left_out = set(unassigned)
    return Assignment(result, tuple(c for c in dict.fromkeys(channels) if c in left_out))


@dataclass(frozen=True, slots=True)
class Move:
    """A channel read by a stand-in because its own account (`home`) is down; `to` None: no account had
    room or could read it, so it is unread. `at` is when it last moved (an ISO time, the caller's)."""

    home: str
    to: str | None
    at: str


def record_moves(
    before: Mapping[str, str],
    after: Assignment,
    down: Collection[str],
    moves: Mapping[str, Move],
    *,
    at: str,
) -> dict[str, Move]:
    """The stand-in moves after a reassignment: `before` is channel -> account before it, `moves` the
    moves so far. A channel that left a down account is a move (its home is the first account it left);
    a moved channel that moves again keeps its home; a channel no longer assigned at all (unwatched) or
    back with its home is no longer a move."""
    gone = frozenset(down)
    wanted = {c for chans in after.channels.values() for c in chans} | set(after.unassigned)
    result: dict[str, Move] = {}
    for channel, move in moves.items():
        if channel not in wanted:
            continue
        to = after.account_of(channel)
        if to == move.home:
            continue
        result[channel] = move if to == move.to else Move(move.home, to, at)
    for channel, account in before.items():
        if account in gone and channel in wanted and channel not in result:
            to = after.account_of(channel)
            if to != account:
                result[channel] = Move(account, to, at)
    return result
