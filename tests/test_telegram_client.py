from __future__ import annotations

import argparse
import asyncio
import io
import stat
from pathlib import Path
from typing import Any

import pytest
from telethon import TelegramClient, events
from telethon.crypto import AuthKey
from telethon.sessions import MemorySession, SQLiteSession, StringSession
from telethon.tl import types

from bot.cli import backfill_cmd, login_cmd
from bot.cli.context import CliContext
from bot.config import Settings
from bot.telegram.client import (
    TelethonClientEdge,
    is_string_session,
    make_session,
    make_user_client,
    session_path,
)
from tests.tg_factory import FakeEdge, channel, message

API = {"api_id": 12345, "api_hash": "0123456789abcdef0123456789abcdef"}


def authorised(session: Any) -> Any:
    """What a successful sign-in leaves in a session: a data centre and an auth key (zeros here)."""
    session.set_dc(2, "149.154.167.51", 443)
    session.auth_key = AuthKey(bytes(256))
    return session


STRING_SESSION = authorised(StringSession()).save()


def test_string_sessions_are_told_apart_from_paths(tmp_path: Path) -> None:
    assert STRING_SESSION.startswith("1") and len(STRING_SESSION) > 300
    assert is_string_session(STRING_SESSION)
    assert not is_string_session("/var/lib/tgmonitor/account.session")
    assert not is_string_session("1.session")
    settings = Settings(data_dir=tmp_path, session=STRING_SESSION, **API)
    assert isinstance(make_session(settings), StringSession)
    assert not (tmp_path / "tgmonitor.session").exists()


def test_default_session_file_is_created_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", **API)
    client = make_user_client(settings)
    path = tmp_path / "data" / "tgmonitor.session"
    assert isinstance(client.session, SQLiteSession) and client.session.filename == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert client.flood_sleep_threshold == 0  # flood waits are call_with_retry's to decide
    client.session.close()


def test_session_path_from_tg_session_gets_telethons_suffix(tmp_path: Path) -> None:
    loose = tmp_path / "acct.session"
    loose.write_bytes(b"")
    loose.chmod(0o644)
    settings = Settings(data_dir=tmp_path, session=str(tmp_path / "acct"), **API)
    assert session_path(settings) == loose
    make_session(settings).close()
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600  # an existing file is tightened too


def test_user_client_needs_api_credentials(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"API_ID and API_HASH are required.*my\.telegram\.org"):
        make_user_client(Settings(data_dir=tmp_path))


def test_edge_turns_telethon_events_into_plain_handler_calls() -> None:
    client = TelegramClient(MemorySession(), API["api_id"], API["api_hash"])
    edge = TelethonClientEdge(client)
    seen: list[Any] = []

    async def on_message(msg: types.Message) -> None:
        seen.append(("message", msg.id))

    async def on_deleted(channel_id: int | None, ids: Any) -> None:
        seen.append(("deleted", channel_id, list(ids)))

    edge.on_new_message(on_message)
    edge.on_message_edited(on_message)
    edge.on_message_deleted(on_deleted)
    handlers = client.list_event_handlers()
    assert [type(builder) for _, builder in handlers] == [
        events.NewMessage,
        events.MessageEdited,
        events.MessageDeleted,
    ]

    async def deliver() -> None:
        new = events.NewMessage.build(types.UpdateNewChannelMessage(message(5, "hi"), pts=1, pts_count=1))
        await handlers[0][0](new)
        update = types.UpdateDeleteChannelMessages(channel_id=1001, messages=[5, 6], pts=2, pts_count=2)
        deleted = events.MessageDeleted.build(update)
        deleted.original_update = update
        await handlers[2][0](deleted)
        private = types.UpdateDeleteMessages(messages=[7], pts=3, pts_count=1)
        gone = events.MessageDeleted.build(private)
        gone.original_update = private
        await handlers[2][0](gone)

    asyncio.run(deliver())
    assert seen == [("message", 5), ("deleted", 1001, [5, 6]), ("deleted", None, [7])]


# ------------------------------------------------------------------------ CLI


class FakeLoginClient:
    """Stands in for TelegramClient at the network edge of `login`: start() is where Telegram is asked."""

    def __init__(self, settings: Settings, session: Any = None) -> None:
        self.session = session if session is not None else make_session(settings)
        self.calls: list[str] = []

    async def start(self, phone: Any = None) -> FakeLoginClient:
        self.calls.append("start")
        authorised(self.session)
        return self

    async def get_me(self) -> types.User:
        return types.User(id=1, username="analyst")

    async def disconnect(self) -> None:
        self.calls.append("disconnect")


def test_login_writes_a_private_session_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, **API)
    out, err = io.StringIO(), io.StringIO()
    made: list[FakeLoginClient] = []

    def factory(*a: Any) -> FakeLoginClient:
        made.append(FakeLoginClient(*a))
        return made[-1]

    assert asyncio.run(login_cmd.login(settings, as_string=False, client_factory=factory, out=out, err=err)) == 0
    path = tmp_path / "tgmonitor.session"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert out.getvalue() == ""
    assert f"logged in as @analyst; session saved in {path}" in err.getvalue()
    assert made[0].calls == ["start", "disconnect"]
    made[0].session.close()


def test_login_string_prints_only_the_session_on_stdout(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, **API)
    out, err = io.StringIO(), io.StringIO()
    asyncio.run(login_cmd.login(settings, as_string=True, client_factory=FakeLoginClient, out=out, err=err))
    printed = out.getvalue()
    assert printed.endswith("\n") and printed.count("\n") == 1
    assert is_string_session(printed) and printed.strip() == STRING_SESSION
    assert "TG_SESSION" in err.getvalue()
    assert not (tmp_path / "tgmonitor.session").exists()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    backfill_cmd.add_parser(sub)
    login_cmd.add_parser(sub)
    return parser.parse_args(argv)


def test_login_and_backfill_parsers() -> None:
    assert parse(["login", "--string"]).string is True
    args = parse(["backfill", "@news", "--since", "7d", "--limit", "50", "--restart"])
    assert (args.channel, args.since, args.limit, args.restart) == ("@news", "7d", 50, True)


def test_backfill_command_runs_the_source_over_an_edge(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"DATA_DIR={tmp_path}\n", encoding="utf-8")
    ctx = CliContext(env_file=tmp_path / ".env")
    edge = FakeEdge([channel(1001, "news", "News")])
    edge.post(*[message(i, f"Report {i} from Novi Sad") for i in range(1, 8)])
    args = parse(["backfill", "t.me/news", "--limit", "5"])
    try:
        result = asyncio.run(backfill_cmd.backfill_with_edge(args, ctx, edge, None))
        assert result.inserted == 5
        ids = [r[0] for r in ctx.store.db.execute("SELECT message_id FROM posts ORDER BY message_id")]
        assert ids == [3, 4, 5, 6, 7]
        result = asyncio.run(backfill_cmd.backfill_with_edge(parse(["backfill", "@news"]), ctx, edge, None))
        assert result.inserted == 2  # resumed below 3
    finally:
        ctx.close()


def test_backfill_command_rejects_bad_input_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, why in (
        (["backfill", "https://t.me/+abc"], "invite link: join the channel first"),
        (["backfill", "@news", "--limit", "0"], "--limit: must be a positive number"),
    ):
        with pytest.raises(SystemExit) as usage:
            parse(argv)
        assert usage.value.code == 2 and why in capsys.readouterr().err
    ctx = CliContext(env_file=None, db_override=tmp_path / "x.db")
    with pytest.raises(ValueError, match="no channel 'Nobody Here' in the archive"):
        backfill_cmd.run(parse(["backfill", "Nobody Here"]), ctx)
