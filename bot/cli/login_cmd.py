"""`tgmonitor login [--string]`: sign in once as a Telegram user and keep the session.

Interactive by default (phone, login code, 2FA password on the terminal); `--phone`, `--code` or
`--code-stdin` and `--password-stdin` make it scriptable (provisioning, the integration tests). After
that the session file (mode 0600, under DATA_DIR unless TG_SESSION names another path) or the
printed StringSession is all the service needs. Reading channel history needs a user account: bots
cannot do it.

A failed login leaves no session file behind when there was none before, so a later `tgmonitor run`
never mistakes a half-made session for a login. Telethon prints its own "Signed in successfully"
line on stdout; it is sent to stderr here, so `login --string > file` captures the secret alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from telethon import errors
from telethon.sessions import StringSession

from bot.cli.argtypes import UsageError
from bot.cli.context import CliContext
from bot.config import Settings
from bot.telegram.client import is_string_session, make_user_client, private_file, session_path

ClientFactory = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Credentials:
    """Where the phone, the code and the 2FA password come from; None means "ask on the terminal"."""

    phone: str | None = None
    code: str | None = None
    code_stdin: bool = False
    password_stdin: bool = False

    @property
    def scripted(self) -> bool:
        return self.code is not None or self.code_stdin


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "login",
        help="sign in to Telegram as a user (phone, code, 2FA) and save the session",
        description=(
            "Asks for the phone number, the login code and the 2FA password on the terminal unless given. "
            "For scripts: --phone, and --code or --code-stdin (one line read when Telegram has sent the code), "
            "--password-stdin (the next line). Nothing is written when the login fails."
        ),
    )
    parser.add_argument(
        "--string",
        action="store_true",
        help="print a StringSession to put in TG_SESSION (containers) instead of writing a session file",
    )
    parser.add_argument(
        "--account",
        metavar="NAME",
        help="one of TELEGRAM_ACCOUNTS: its session (TELEGRAM_SESSION_<NAME>) and API credentials (docs/accounts.md)",
    )
    parser.add_argument("--phone", help="phone number in international format, e.g. +381601234567")
    code = parser.add_mutually_exclusive_group()
    code.add_argument("--code", help="the login code Telegram sent (only when it was requested beforehand)")
    code.add_argument(
        "--code-stdin",
        action="store_true",
        help="read the login code from a line of standard input once Telegram has sent it",
    )
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the 2FA password from a line of standard input (never from the command line, which `ps` shows)",
    )
    return parser


def _read_line(stdin: TextIO, what: str) -> str:
    line = stdin.readline()
    if not line.strip():
        raise RuntimeError(f"no {what} on standard input")
    return line.strip()


def _ask_phone() -> str:
    return input("Phone number in international format (e.g. +381601234567): ")


def _start_kwargs(creds: Credentials, stdin: TextIO) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"phone": creds.phone or _ask_phone}
    if creds.code is not None:
        code = creds.code
        kwargs["code_callback"] = lambda: code
    elif creds.code_stdin:
        kwargs["code_callback"] = lambda: _read_line(stdin, "login code")
    if creds.password_stdin:
        kwargs["password"] = lambda: _read_line(stdin, "2FA password")
    if creds.scripted:
        kwargs["max_attempts"] = 1  # a wrong scripted code would only be tried again unchanged
    return kwargs


def _refusal(exc: errors.RPCError, creds: Credentials) -> RuntimeError:
    if isinstance(exc, errors.PhoneNumberUnoccupiedError):
        phone = creds.phone or "this number"
        return RuntimeError(f"no Telegram account uses {phone}: create it in a Telegram app first, then log in")
    return RuntimeError(f"Telegram refused the login: {exc.__class__.__name__}: {exc}")


def _discard(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


async def login(
    settings: Settings,
    *,
    as_string: bool,
    credentials: Credentials | None = None,
    client_factory: ClientFactory = make_user_client,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    creds = credentials or Credentials()
    uses_file = not as_string and not (settings.session and is_string_session(settings.session))
    path = session_path(settings) if uses_file else None
    fresh = path is not None and not path.exists()
    client = None
    done = False
    try:
        client = client_factory(settings, StringSession()) if as_string else client_factory(settings)
        kwargs = _start_kwargs(creds, stdin or sys.stdin)
        try:
            with contextlib.redirect_stdout(err):  # Telethon's prompts and "Signed in" line: not stdout
                await client.start(**kwargs)
        except errors.RPCError as exc:
            raise _refusal(exc, creds) from exc
        except asyncio.IncompleteReadError as exc:  # a proxy or captive portal answered instead
            raise ConnectionError(f"could not log in to Telegram: the connection closed early ({exc})") from exc
        except ConnectionError as exc:
            if settings.telegram_server is not None and settings.telegram_public_key is None and "auth_key" in str(exc):
                raise ConnectionError(
                    f"{exc}: the handshake with {settings.telegram_server} failed; a test server's RSA key must be "
                    "given in TELEGRAM_PUBLIC_KEY"
                ) from exc
            raise
        except RuntimeError as exc:
            if creds.scripted and "sign-in attempts failed" in str(exc):  # Telethon's words for a refused code
                raise RuntimeError(
                    "Telegram did not accept the login code (wrong or expired); "
                    "run `tgmonitor login` again for a new one"
                ) from exc
            raise
        me = await client.get_me()
        who = f"@{me.username}" if getattr(me, "username", None) else getattr(me, "first_name", "your account")
        if as_string:
            # stdout carries only the secret, so `tgmonitor login --string > file` captures just that.
            print(client.session.save(), file=out)
            print(
                f"logged in as {who}; put the line above in TG_SESSION (it is a password: keep it secret)",
                file=err,
            )
        elif path is None:
            print(f"logged in as {who} with the StringSession from TG_SESSION", file=err)
        else:
            private_file(path)
            print(f"logged in as {who}; session saved in {path} (readable by you only)", file=err)
        done = True
    finally:
        if client is not None:
            await client.disconnect()
        if not done and fresh and path is not None:
            _discard(path)  # a half-made session file would look like a login to `tgmonitor run`
    return 0


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.debug:
        # Telethon logs each failed connection attempt; the one-line error says it once (issue #14).
        logging.getLogger("telethon").setLevel(logging.CRITICAL)
    creds = Credentials(
        phone=args.phone, code=args.code, code_stdin=args.code_stdin, password_stdin=args.password_stdin
    )
    return asyncio.run(login(account_settings(ctx.settings, args.account), as_string=args.string, credentials=creds))


def account_settings(settings: Settings, name: str | None) -> Settings:
    """The settings `login` works with: one account's when --account names it (or when only it exists)."""
    if name is None:
        if settings.accounts:
            names = ", ".join(a.name for a in settings.accounts)
            raise UsageError(f"TELEGRAM_ACCOUNTS is set: name the account with --account ({names})")
        return settings
    account = settings.account(name)
    if account is None:
        known = ", ".join(a.name for a in settings.accounts) or "none (TELEGRAM_ACCOUNTS is not set)"
        raise UsageError(f"--account {name}: no such account; TELEGRAM_ACCOUNTS has {known}")
    return settings.for_account(account)
