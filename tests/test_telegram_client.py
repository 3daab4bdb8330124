from __future__ import annotations

import argparse
import asyncio
import io
import socket
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import rsa
from telethon import TelegramClient, errors, events
from telethon.crypto import AuthKey
from telethon.crypto import rsa as telethon_rsa
from telethon.sessions import MemorySession, SQLiteSession, StringSession
from telethon.tl import types

from bot.cli import backfill_cmd, login_cmd
from bot.cli.context import CliContext
from bot.config import Settings, TelegramServer
from bot.outputs.telegram import make_bot_client
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


def test_telegram_server_points_new_sessions_at_it_and_trusts_its_key(tmp_path: Path) -> None:
    public, _private = rsa.newkeys(512)
    pem = tmp_path / "pubkey.asc"
    pem.write_bytes(public.save_pkcs1())
    values = {"DATA_DIR": str(tmp_path), "API_ID": "12345", "API_HASH": API["api_hash"]}
    settings = Settings.from_mapping({**values, "TELEGRAM_SERVER": "4@127.0.0.1:4430", "TELEGRAM_PUBLIC_KEY": str(pem)})
    for client in (make_user_client(settings), make_bot_client(replace(settings, bot_token="1234:" + "A" * 30))):
        session = client.session
        assert (session.dc_id, session.server_address, session.port) == (4, "127.0.0.1", 4430)
        session.close()
    assert any(key == public for key, _old in telethon_rsa._server_keys.values())  # Telethon's only key table
    # A StringSession made against the server carries its address: no TELEGRAM_SERVER needed to use it.
    made_there = StringSession()
    made_there.set_dc(2, "127.0.0.1", 4430)
    made_there.auth_key = AuthKey(bytes(256))
    plain = Settings.from_mapping({**values, "TG_SESSION": made_there.save()})
    assert make_user_client(plain).session.server_address == "127.0.0.1"
    assert make_user_client(replace(plain, telegram_server=settings.telegram_server)).session.port == 4430


def test_a_session_logged_in_elsewhere_is_not_moved_to_telegram_server(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, telegram_server=TelegramServer(2, "127.0.0.1", 4430), **API)
    with pytest.raises(RuntimeError, match=r"logged in at 149\.154\.167\.51:443, but TELEGRAM_SERVER is 2@127"):
        make_user_client(settings, authorised(StringSession()))
    broken = tmp_path / "broken.asc"
    broken.write_text("-----BEGIN RSA PUBLIC KEY-----\nnot base64\n-----END RSA PUBLIC KEY-----\n")
    with pytest.raises(RuntimeError, match=r"TELEGRAM_PUBLIC_KEY: .*broken\.asc is not a readable RSA public key"):
        make_user_client(replace(settings, telegram_public_key=broken), StringSession())


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

    def __init__(self, settings: Settings, session: Any = None, *, fail: BaseException | None = None) -> None:
        self.session = session if session is not None else make_session(settings)
        self.calls: list[str] = []
        self.fail = fail
        self.kwargs: dict[str, Any] = {}

    async def start(self, phone: Any = None, code_callback: Any = None, **kwargs: Any) -> FakeLoginClient:
        """Telethon's order: the phone, then (once the code was sent) the code, then the 2FA password."""
        self.calls.append("start")
        self.kwargs = {"phone": phone, **kwargs}
        if self.fail is not None:
            raise self.fail
        if code_callback is not None:
            self.calls.append(f"phone {phone() if callable(phone) else phone}, code {code_callback()}")
        if callable(kwargs.get("password")):
            self.calls.append(f"password {kwargs['password']()}")
        authorised(self.session)
        print("Signed in successfully as Analyst; remember to not break the ToS")  # as Telethon does, on stdout
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


def test_scripted_login_reads_the_code_and_password_from_stdin(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, **API)
    made: list[FakeLoginClient] = []

    def factory(*a: Any) -> FakeLoginClient:
        made.append(FakeLoginClient(*a))
        return made[-1]

    creds = login_cmd.Credentials(phone="+99966", code_stdin=True, password_stdin=True)
    out, err, stdin = io.StringIO(), io.StringIO(), io.StringIO("12345\nsecret pass\n")
    assert (
        asyncio.run(
            login_cmd.login(
                settings, as_string=True, credentials=creds, client_factory=factory, out=out, err=err, stdin=stdin
            )
        )
        == 0
    )
    assert made[0].calls == ["start", "phone +99966, code 12345", "password secret pass", "disconnect"]
    assert made[0].kwargs["max_attempts"] == 1  # a wrong scripted code is not retried unchanged
    assert is_string_session(out.getvalue()) and out.getvalue().count("\n") == 1  # Telethon's line went to stderr
    assert "Signed in successfully" in err.getvalue()

    creds = login_cmd.Credentials(phone="+99966", code="54321")
    asyncio.run(login_cmd.login(settings, as_string=True, credentials=creds, client_factory=factory, out=out, err=err))
    assert made[1].calls[1] == "phone +99966, code 54321"
    with pytest.raises(RuntimeError, match="no login code on standard input"):
        asyncio.run(
            login_cmd.login(
                settings,
                as_string=False,
                credentials=login_cmd.Credentials(phone="+99966", code_stdin=True),
                client_factory=factory,
                out=out,
                err=err,
                stdin=io.StringIO(""),
            )
        )
    assert not (tmp_path / "tgmonitor.session").exists()  # the failed login left nothing behind


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (ConnectionError("Connection to Telegram failed 5 time(s)"), "Connection to Telegram failed"),
        (errors.PhoneNumberUnoccupiedError(request=None), "no Telegram account uses \\+99966"),
        (errors.PhoneCodeInvalidError(request=None), "Telegram refused the login: PhoneCodeInvalidError"),
        (RuntimeError("1 consecutive sign-in attempts failed. Aborting"), "did not accept the login code"),
        (ConnectionError("auth_key generation failed 5 time(s)"), "must be given in TELEGRAM_PUBLIC_KEY"),
    ],
)
def test_a_failed_login_leaves_no_session_file(failure: BaseException, message: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, telegram_server=TelegramServer(2, "127.0.0.1", 4430), **API)
    made: list[FakeLoginClient] = []

    def factory(*a: Any) -> FakeLoginClient:
        made.append(FakeLoginClient(*a, fail=failure))
        return made[-1]

    creds = login_cmd.Credentials(phone="+99966", code="1")
    with pytest.raises((ConnectionError, RuntimeError), match=message):
        asyncio.run(login_cmd.login(settings, as_string=False, credentials=creds, client_factory=factory))
    assert made[0].calls == ["start", "disconnect"]
    assert list(tmp_path.iterdir()) == []
    # a session file that was there before (an earlier login) is left alone
    kept = tmp_path / "tgmonitor.session"
    kept.write_bytes(b"")  # an earlier, empty session
    with pytest.raises((ConnectionError, RuntimeError)):
        asyncio.run(login_cmd.login(settings, as_string=False, credentials=creds, client_factory=factory))
    assert kept.exists()


@pytest.mark.slow
def test_login_without_a_reachable_server_fails_and_leaves_nothing(tmp_path: Path) -> None:
    """Real Telethon, real socket: TELEGRAM_SERVER names a closed port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the block ends: nothing listens there
    settings = Settings.from_mapping(
        {
            "DATA_DIR": str(tmp_path),
            "API_ID": "12345",
            "API_HASH": API["api_hash"],
            "TELEGRAM_SERVER": f"127.0.0.1:{port}",
        }
    )
    creds = login_cmd.Credentials(phone="+99966", code="1")
    with pytest.raises(ConnectionError):
        asyncio.run(login_cmd.login(settings, as_string=False, credentials=creds, err=io.StringIO()))
    assert list(tmp_path.iterdir()) == []


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    backfill_cmd.add_parser(sub)
    login_cmd.add_parser(sub)
    return parser.parse_args(argv)


def test_login_and_backfill_parsers() -> None:
    assert parse(["login", "--string"]).string is True
    args = parse(["login", "--phone", "+99966", "--code-stdin", "--password-stdin"])
    assert (args.phone, args.code, args.code_stdin, args.password_stdin) == ("+99966", None, True, True)
    with pytest.raises(SystemExit):
        parse(["login", "--code", "1", "--code-stdin"])
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


def test_backfill_command_rejects_bad_input_before_connecting(tmp_path: Path) -> None:
    ctx = CliContext(env_file=None, db_override=tmp_path / "x.db")
    with pytest.raises(ValueError, match="invite link"):
        backfill_cmd.run(parse(["backfill", "https://t.me/+abc"]), ctx)
    with pytest.raises(ValueError, match="--limit"):
        backfill_cmd.run(parse(["backfill", "@news", "--limit", "0"]), ctx)
