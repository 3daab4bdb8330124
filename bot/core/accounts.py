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

Channels are plain string keys (a lower-case username or a numeric id); what they mean is the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.account_settings import DEFAULT_MAX_CHANNELS

__all__ = ["DEFAULT_MAX_CHANNELS", "Assignment", "assign_channels"]


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
) -> Assignment:
    """Spread `channels` (plus every explicitly assigned one) over `accounts`.

    `readable[channel]` is the set of accounts known to be able to read it (absent: all can);
    `previous[channel]` is the account it had before. Explicit entries naming an unknown account are
    ignored here (settings validation rejects them first).
    """
    if cap < 1:
        raise ValueError("cap must be at least 1")
    names = list(dict.fromkeys(accounts))
    explicit = explicit or {}
    readable = readable or {}
    previous = previous or {}
    owner: dict[str, str] = {}
    for account in names:
        for channel in explicit.get(account, ()):
            owner.setdefault(channel, account)
    load = {a: sum(1 for o in owner.values() if o == a) for a in names}
    pending = [c for c in dict.fromkeys(channels) if c not in owner]

    def can(account: str, channel: str) -> bool:
        allowed = readable.get(channel)
        return (allowed is None or account in allowed) and load[account] < cap

    def take(channel: str, account: str) -> None:
        owner[channel] = account
        load[account] += 1

    # Most constrained first, so a channel with one reader is never crowded out by a flexible one.
    def constraint(channel: str) -> int:
        allowed = readable.get(channel)
        return len(names) if allowed is None else len(allowed & set(names))

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
    gone = set(unassigned)
    return Assignment(result, tuple(c for c in dict.fromkeys(channels) if c in gone))
