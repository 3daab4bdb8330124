"""`tgmonitor login [--string]`: sign in once as a Telegram user and keep the session.

Interactive (phone, login code, 2FA password) because Telegram requires it; after that the session
file (mode 0600, under DATA_DIR unless TG_SESSION names another path) or the printed StringSession
is all the service needs. Reading channel history needs a user account: bots cannot do it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any, TextIO

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
    client = client_factory(settings, StringSession()) if as_string else client_factory(settings)
    await client.start(phone=_phone)
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


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    return asyncio.run(login(ctx.settings, as_string=args.string))
