"""TELEGRAM_ACCOUNTS and its per-account variables, read and checked with the other settings.

`TELEGRAM_ACCOUNTS=main,second` names the accounts; each may have `TELEGRAM_SESSION_<name>` (a session
file path or a StringSession; default `<DATA_DIR>/tgmonitor-<name>.session`), `API_ID_<name>` and
`API_HASH_<name>` (default: API_ID/API_HASH) and `CHANNELS_<name>` (channels it must read). Unset,
nothing here runs and the one-account settings (TG_SESSION, API_ID, API_HASH) work as before.
Kept apart from bot/config.py, which reads fixed variable names; these names are built from the accounts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.setting_values import (
    check_each,
    parse_channels,
    parse_hash,
    parse_positive_int,
    shown_detail,
    shown_value,
)

DEFAULT_MAX_CHANNELS = 450  # ACCOUNT_MAX_CHANNELS: below Telegram's ~500 joined channels per ordinary account
ACCOUNT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,31}$")
# Variables built from an account name: `<prefix><name>`.
ACCOUNT_PREFIXES = ("TELEGRAM_SESSION_", "API_ID_", "API_HASH_", "CHANNELS_")
SECRET_PREFIXES = ("TELEGRAM_SESSION_", "API_HASH_")
CHANNEL_FORM = "a comma-separated list of @username, t.me/name links or ids"


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """One Telegram account's credentials and explicit channels; secrets stay out of repr()."""

    name: str
    api_id: int | None = None
    api_hash: str | None = field(default=None, repr=False)
    session: str | None = field(default=None, repr=False)
    channels: tuple[str, ...] = ()


def parse_account_names(raw: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    bad = [n for n in names if not ACCOUNT_NAME.match(n)]
    if bad:
        raise ValueError(f"{', '.join(map(repr, bad))}: a name is a letter then up to 31 letters or digits")
    if not names:
        raise ValueError("no account named")
    return names


def is_account_variable(name: str) -> bool:
    return name.startswith(ACCOUNT_PREFIXES)


def parse_accounts(
    values: Mapping[str, str],
    names: tuple[str, ...],
    *,
    where: Callable[[str], str],
    describe_secret: Callable[[str], str],
    channel_check: Callable[[str], object] | None = None,
) -> tuple[tuple[AccountSettings, ...], list[str]]:
    """The accounts and the problems found, one line each naming the variable (never a secret's value)."""
    problems: list[str] = []
    known = set(names)
    for variable in sorted(k for k in values if is_account_variable(k) and (values.get(k) or "").strip()):
        suffix = next(variable[len(p) :] for p in ACCOUNT_PREFIXES if variable.startswith(p))
        if suffix not in known:
            shown = ", ".join(names) if names else "none (TELEGRAM_ACCOUNTS is not set)"
            problems.append(f"{variable}{where(variable)}: no account named {suffix!r}; TELEGRAM_ACCOUNTS has {shown}")
    global_id = (values.get("API_ID") or "").strip()
    global_hash = (values.get("API_HASH") or "").strip()
    accounts: list[AccountSettings] = []
    owner: dict[str, str] = {}
    for name in names:
        raw_id = (values.get(f"API_ID_{name}") or "").strip()
        raw_hash = (values.get(f"API_HASH_{name}") or "").strip()
        api_id: int | None = None
        api_hash: str | None = None
        if bool(raw_id) != bool(raw_hash):
            problems.append(f"API_ID_{name} and API_HASH_{name}: set both or neither (then API_ID/API_HASH are used)")
        elif raw_id:
            try:
                api_id = parse_positive_int(raw_id)
            except ValueError:
                problems.append(
                    f"API_ID_{name}{where(f'API_ID_{name}')}: expected a positive integer, got {shown_value(raw_id)}"
                )
            try:
                api_hash = parse_hash(raw_hash)
            except ValueError:
                problems.append(
                    f"API_HASH_{name}{where(f'API_HASH_{name}')}: expected 32 hexadecimal characters, "
                    f"got {describe_secret(raw_hash)}"
                )
        elif not (global_id and global_hash):
            problems.append(
                f"API_ID_{name}/API_HASH_{name}: account {name!r} has no API credentials; set them or API_ID/API_HASH"
            )
        channels: tuple[str, ...] = ()
        raw_channels = (values.get(f"CHANNELS_{name}") or "").strip()
        if raw_channels:
            variable = f"CHANNELS_{name}"
            try:
                channels = parse_channels(raw_channels)
                if channel_check is not None:
                    check_each(channels, channel_check)
            except ValueError as exc:
                detail = f" ({shown_detail(str(exc))})" if str(exc) else ""
                problems.append(
                    f"{variable}{where(variable)}: expected {CHANNEL_FORM}, got {shown_value(raw_channels)}{detail}"
                )
                channels = ()
            for channel in channels:
                key = channel.strip().lstrip("@").lower()
                if key in owner:
                    problems.append(
                        f"{variable}{where(variable)}: {channel} is also in CHANNELS_{owner[key]}; pick one"
                    )
                owner.setdefault(key, name)
        session = (values.get(f"TELEGRAM_SESSION_{name}") or "").strip() or None
        accounts.append(AccountSettings(name, api_id, api_hash, session, channels))
    return tuple(accounts), problems
