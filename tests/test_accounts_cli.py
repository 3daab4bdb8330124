"""`tgmonitor login --account NAME`, `tgmonitor accounts [--json]` and the accounts in `status`."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from bot.app.archive import Archive
from bot.cli import backfill_cmd, login_cmd, main
from bot.cli.argtypes import UsageError
from bot.cli.context import CliContext
from bot.config import Settings
from bot.core.pipeline import Pipeline
from bot.service.accounts import AccountsPart
from storage.store import Store
from tests.test_accounts_run import World
from tests.test_telegram_client import FakeLoginClient

HASH = "0123456789abcdef0123456789abcdef"
HASH2 = "fedcba9876543210fedcba9876543210"


def env_file(tmp_path: Path, **extra: str) -> Path:
    values = {
        "DATA_DIR": str(tmp_path),
        "API_ID": "12345",
        "API_HASH": HASH,
        "CHANNELS": "@alpha_news,@bravo_news,@charlie_news",
        "TELEGRAM_ACCOUNTS": "main,second",
        "API_ID_second": "777",
        "API_HASH_second": HASH2,
        **extra,
    }
    path = tmp_path / "settings.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
    return path


def test_login_account_uses_its_own_session_and_credentials(tmp_path: Path) -> None:
    settings = Settings.load(env_file(tmp_path), {})
    own = login_cmd.account_settings(settings, "second")
    assert (own.api_id, own.api_hash) == (777, HASH2)
    out, err = io.StringIO(), io.StringIO()
    made: list[FakeLoginClient] = []

    def factory(*a: Any) -> FakeLoginClient:
        made.append(FakeLoginClient(*a))
        return made[-1]

    assert asyncio.run(login_cmd.login(own, as_string=False, client_factory=factory, out=out, err=err)) == 0
    path = tmp_path / "tgmonitor-second.session"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"session saved in {path}" in err.getvalue()
    assert not (tmp_path / "tgmonitor.session").exists()
    made[0].session.close()


def test_login_account_errors(tmp_path: Path) -> None:
    settings = Settings.load(env_file(tmp_path), {})
    with pytest.raises(UsageError, match="--account third: no such account; TELEGRAM_ACCOUNTS has main, second"):
        login_cmd.account_settings(settings, "third")
    with pytest.raises(UsageError, match="name the account with --account"):
        login_cmd.account_settings(settings, None)
    one = Settings(data_dir=tmp_path)
    assert login_cmd.account_settings(one, None) is one  # unset: exactly as before


def test_accounts_command_before_and_after_a_run(
    tmp_path: Path, store: Store, pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    path = env_file(
        tmp_path,
        DB_PATH=str(tmp_path / "archive.db"),
        CHANNELS="@alpha_news,@bravo_news,@charlie_news,@delta_news",
        CHANNELS_second="@charlie_news",
    )
    assert main(["--env", str(path), "accounts"]) == 0
    text = capsys.readouterr().out
    assert "main: never run, 2/450 channels (@alpha_news, @bravo_news)" in text
    assert "second: never run, 2/450 channels (@charlie_news, @delta_news)" in text
    assert HASH2 not in text

    world = World(["main", "second"], authorized={"second": False})
    settings = Settings.load(path, {})

    async def scenario() -> None:
        part = AccountsPart(settings, Archive.around(settings, store, pipeline), world.factory)
        await part.start()
        await part.poll()

    asyncio.run(scenario())
    assert main(["--env", str(path), "accounts", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    main_, second = report["accounts"]
    # delta moved to main; charlie is second's explicitly, so it waits for second, reported unread
    assert (second["name"], second["state"], second["channels"]) == ("second", "logged out", ["charlie_news"])
    assert main_["channels"] == ["alpha_news", "bravo_news", "delta_news"]
    assert "tgmonitor login --account second" in second["last_error"]
    assert report["unread"] == ["charlie_news"]
    assert [(m["channel"], m["from"], m["to"]) for m in report["moved"]] == [("delta_news", "second", "main")]
    assert second["cannot_read"] == [] and report["accounts"][0]["cannot_read"] == []
    assert main(["--env", str(path), "status"]) in (0, 1)
    text = capsys.readouterr().out
    assert "second: logged out" in text and "UNREAD (1): @charlie_news" in text
    assert re.search(r"^MOVED \(1\) from second \(down\) to main since \S+: @delta_news$", text, re.M)


def backfill_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    backfill_cmd.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["backfill", *argv])


def test_backfill_reads_with_the_account_the_channel_is_assigned_to(
    tmp_path: Path, store: Store, pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    path = env_file(tmp_path, DB_PATH=str(tmp_path / "archive.db"))  # main: alpha, charlie; second: bravo
    world = World(["main", "second"])
    world.post(1002, *range(1, 6))
    ctx = CliContext(env_file=path)
    try:
        settings, account = backfill_cmd.reading_account(ctx.settings, ctx.store, "@bravo_news", None)
        assert account == "second" and settings.api_id == 777
        assert str(settings.session).endswith("tgmonitor-second.session")
        assert "reading with account second (the account it is assigned to" in capsys.readouterr().err
        args = backfill_args("@bravo_news", "--limit", "3")
        result = asyncio.run(
            backfill_cmd.backfill_as(args, ctx, None, settings, account=account, client_factory=world.factory)
        )
        assert result.inserted == 3
        assert world.read_by("second") == {1002} and world.read_by("main") == set()
        # a channel nobody watches: the account the plan would give it (second has fewer)
        assert backfill_cmd.reading_account(ctx.settings, ctx.store, "t.me/echo_news", None)[1] == "second"
        assert backfill_cmd.reading_account(ctx.settings, ctx.store, "@bravo_news", "main")[1] == "main"
        with pytest.raises(UsageError, match="--account third: no such account; TELEGRAM_ACCOUNTS has main, second"):
            backfill_cmd.reading_account(ctx.settings, ctx.store, "@bravo_news", "third")
        one = Settings(data_dir=tmp_path)
        with pytest.raises(UsageError, match="TELEGRAM_ACCOUNTS is not set"):
            backfill_cmd.reading_account(one, ctx.store, "@bravo_news", "main")
        assert backfill_cmd.reading_account(one, ctx.store, "@bravo_news", None) == (one, None)

        # second logged out while the service ran: bravo went to main, and so does its backfill
        world.clients["second"].authorized = False
        run_settings = Settings.load(path, {})

        async def service_run() -> None:
            part = AccountsPart(run_settings, Archive.around(run_settings, store, pipeline), world.factory)
            await part.start()
            await part.poll()
            await part.close()

        asyncio.run(service_run())
        settings, account = backfill_cmd.reading_account(ctx.settings, ctx.store, "@bravo_news", None)
        assert account == "main"
        before = len(world.edges["main"].calls)
        result = asyncio.run(
            backfill_cmd.backfill_as(backfill_args("@bravo_news"), ctx, None, settings, client_factory=world.factory)
        )
        assert (result.inserted, result.unchanged) == (0, 2)  # 1 and 2 below 3: main's catch-up read them already
        assert {tg_id for tg_id, kw in world.edges["main"].calls[before:]} == {1002}
        # asked for by name, a logged-out account says so and how to fix it
        settings, account = backfill_cmd.reading_account(ctx.settings, ctx.store, "@bravo_news", "second")
        with pytest.raises(RuntimeError, match=r"account second is not logged in.*tgmonitor login --account second"):
            asyncio.run(
                backfill_cmd.backfill_as(
                    backfill_args("@bravo_news"), ctx, None, settings, account=account, client_factory=world.factory
                )
            )
    finally:
        ctx.close()
