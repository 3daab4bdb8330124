"""`tgmonitor login [--string]`: sign in once as a Telegram user and keep the session.

Interactive (phone, login code, 2FA password) because Telegram requires it; after that the session
file (mode 0600, under DATA_DIR unless TG_SESSION names another path) or the printed StringSession
is all the service needs. Reading channel history needs a user account: bots cannot do it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from telethon.errors import RPCError
from telethon.sessions import StringSession

from bot.cli.context import CliContext
from bot.config import Settings
from bot.telegram.client import is_string_session, make_user_client, private_file, session_path

ClientFactory = Callable[..., Any]


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("login", help="sign in to Telegram as a user (phone, code, 2FA) and save the session")
    parser.add_argument(
        "--string",
        action="store_true",
        help="print a StringSession to put in TG_SESSION (containers) instead of writing a session file",
    )
    return parser


def _phone() -> str:
    return input("Phone number in international format (e.g. +381601234567): ")


async def login(
    settings: Settings,
    *,
    as_string: bool,
    client_factory: ClientFactory = make_user_client,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    session_file = None if as_string or is_string_session(settings.session or "") else session_path(settings)
    new_file = session_file is not None and not session_file.exists()
    try:
        client = client_factory(settings, StringSession()) if as_string else client_factory(settings)
        try:
            await client.start(phone=_phone)
        except BaseException:
            await client.disconnect()
            raise
    except (OSError, asyncio.IncompleteReadError, RPCError) as exc:
        _forget(session_file if new_file else None)
        raise RuntimeError(f"could not log in to Telegram: {_reason(exc)}") from exc
    except BaseException:
        _forget(session_file if new_file else None)  # Ctrl-C at a prompt: no half-made login left behind
        raise
    try:
        me = await client.get_me()
        who = f"@{me.username}" if getattr(me, "username", None) else getattr(me, "first_name", "your account")
        if as_string:
            # stdout carries only the secret, so `tgmonitor login --string > file` captures just that.
            print(client.session.save(), file=out)
            print(
                f"logged in as {who}; put the line above in TG_SESSION (it is a password: keep it secret)",
                file=err,
            )
        elif settings.session and is_string_session(settings.session):
            print(f"logged in as {who} with the StringSession from TG_SESSION", file=err)
        else:
            path = private_file(session_path(settings))
            print(f"logged in as {who}; session saved in {path} (readable by you only)", file=err)
    finally:
        await client.disconnect()
    return 0


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RPCError):
        return f"Telegram refused it ({exc})"
    return f"{exc or exc.__class__.__name__} (is this machine online? Telegram must be reachable)"


def _forget(session_file: Path | None) -> None:
    """A session file made by a login that did not finish holds no login: remove it and its journal."""
    if session_file is None:
        return
    for path in (session_file, session_file.with_name(session_file.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.debug:
        # Telethon logs each failed connection attempt; the one-line error below says it once.
        logging.getLogger("telethon").setLevel(logging.CRITICAL)
    return asyncio.run(login(ctx.settings, as_string=args.string))
