from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, TelegramServer


def test_defaults_need_nothing(tmp_path: Path) -> None:
    settings = Settings.load(None, environ={})
    assert settings.db_path == Path("data/tgmonitor.db")
    assert not settings.has_api_credentials
    assert settings.poll_interval == 300


def test_a_settings_file_is_read_only_when_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #13: a `.env` in the working directory (the writable state directory under systemd and
    Docker) used to be read implicitly, so anything able to write there could add settings."""
    (tmp_path / ".env").write_text("BOT_TOKEN=123456789:" + "A" * 30 + "\nCHANNELS=@planted\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert Settings.load(environ={}).channels == ()  # not read: nobody named it
    assert Settings.load(tmp_path / ".env", environ={}).channels == ("@planted",)  # named: read
    with pytest.raises(SettingsError, match="no such settings file"):
        Settings.load(tmp_path / "typo.env", environ={})


def test_env_file_values_and_environment_override(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "API_ID=12345\nAPI_HASH=0123456789abcdef0123456789abcdef\nCHANNELS=@mfa_russia, t.me/serbia_today 123\n"
        "POLL_INTERVAL=2m\nDIGEST_TIME=07:30\nTZ=Europe/Sofia\nALLOWED_USERS=1,2\nALERT_WORDS=Vucic, Резолюция 1244\n"
        "DATA_DIR=/srv/tg\n",
        encoding="utf-8",
    )
    settings = Settings.load(env, environ={"TZ": "Europe/Belgrade", "UNRELATED": "x"})
    assert settings.api_id == 12345 and settings.has_api_credentials
    assert settings.channels == ("@mfa_russia", "t.me/serbia_today", "123")
    assert settings.poll_interval == 120
    assert settings.digest_time == time(7, 30)
    assert settings.tz.key == "Europe/Belgrade"
    assert settings.allowed_users == frozenset({1, 2})
    assert settings.alert_words == ("Vucic", "Резолюция 1244")
    assert settings.db_path == Path("/srv/tg/tgmonitor.db")


def test_errors_name_variable_line_and_form(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# comment\nAPI_ID=abc\nTZ=Mars/Olympus\nDIGEST_TIME=8am\nBOT_TOKEN=nope\n", encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        Settings.load(env, environ={"POLL_INTERVAL": "-5"})
    message = str(error.value)
    assert f"API_ID ({env}:2): expected a positive integer" in message
    assert f"TZ ({env}:3): expected an IANA time zone" in message
    assert f"DIGEST_TIME ({env}:4): expected a local time HH:MM" in message
    assert f"BOT_TOKEN ({env}:5): expected a token from @BotFather" in message
    assert "POLL_INTERVAL (environment): expected a positive duration" in message
    assert "API_ID and API_HASH: set both" in message


def test_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_mapping(
        {"API_ID": "1", "API_HASH": "0123456789abcdef0123456789abcdef", "BOT_TOKEN": "123456:" + "A" * 30}
    )
    text = repr(settings)
    assert "0123456789abcdef" not in text and "AAAAAAAA" not in text
    assert settings.secrets == ("0123456789abcdef0123456789abcdef", "123456:" + "A" * 30)


def test_env_example_documents_every_setting() -> None:
    from bot.config import SETTING_NAMES

    example = (Path(__file__).parents[1] / ".env.example").read_text(encoding="utf-8")
    missing = [name for name in SETTING_NAMES if f"{name}=" not in example]
    assert missing == []
    # and the example itself is valid
    Settings.load(Path(__file__).parents[1] / ".env.example", environ={})


def test_neardup_window_reaches_the_index(tmp_path: Path) -> None:
    from datetime import timedelta

    from bot.cli.context import CliContext

    env = tmp_path / ".env"
    env.write_text(f"DB_PATH={tmp_path / 'a.db'}\nNEARDUP_WINDOW_DAYS=3\n", encoding="utf-8")
    ctx = CliContext(env)
    try:
        assert ctx.neardup.window == timedelta(days=3)
    finally:
        ctx.close()
    env.write_text("NEARDUP_WINDOW_DAYS=0\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"NEARDUP_WINDOW_DAYS \(.*\.env:1\): expected a positive number of days"):
        Settings.load(env, environ={})


PEM = "-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEA\n-----END RSA PUBLIC KEY-----\n"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("127.0.0.1:4430", TelegramServer(2, "127.0.0.1", 4430)),
        ("4@127.0.0.1:4430", TelegramServer(4, "127.0.0.1", 4430)),
        ("2@[::1]:443", TelegramServer(2, "::1", 443)),
        ("test.example.org:80", TelegramServer(2, "test.example.org", 80)),
    ],
)
def test_telegram_server_forms(raw: str, expected: TelegramServer, tmp_path: Path) -> None:
    assert Settings.from_mapping({}).telegram_server is None  # off by default
    key = tmp_path / "pubkey.asc"
    key.write_text(PEM, encoding="ascii")
    settings = Settings.from_mapping({"TELEGRAM_SERVER": raw, "TELEGRAM_PUBLIC_KEY": str(key)})
    assert settings.telegram_server == expected and settings.telegram_public_key == key
    assert Settings.from_mapping({"TELEGRAM_SERVER": str(expected)}).telegram_server == expected  # round trip


def test_telegram_server_errors_name_the_variable_and_the_form(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    not_pem = tmp_path / "key.txt"
    not_pem.write_text("hello", encoding="ascii")
    env.write_text(f"TELEGRAM_SERVER=127.0.0.1\nTELEGRAM_PUBLIC_KEY={not_pem}\n", encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        Settings.load(env, environ={})
    message = str(error.value)
    assert f"TELEGRAM_SERVER ({env}:1): expected a test server as HOST:PORT or DC@HOST:PORT" in message
    assert f"TELEGRAM_PUBLIC_KEY ({env}:2): {not_pem} is not a PEM public key" in message
    for raw in ("127.0.0.1:0", "127.0.0.1:99999", "x@127.0.0.1:1", "http://127.0.0.1:4430"):
        with pytest.raises(SettingsError, match="TELEGRAM_SERVER"):
            Settings.from_mapping({"TELEGRAM_SERVER": raw})
    with pytest.raises(SettingsError, match=r"TELEGRAM_PUBLIC_KEY \(environment\): cannot read .*missing\.pem"):
        Settings.from_mapping(
            {"TELEGRAM_SERVER": "127.0.0.1:4430", "TELEGRAM_PUBLIC_KEY": str(tmp_path / "missing.pem")}
        )
    with pytest.raises(SettingsError, match=r"TELEGRAM_PUBLIC_KEY .*only used with TELEGRAM_SERVER"):
        Settings.from_mapping({"TELEGRAM_PUBLIC_KEY": str(not_pem)})


@pytest.mark.parametrize(
    ("name", "value", "hint"),
    [
        ("BOT_TOKEN", "123456789:AAE" + "s" * 30 + " # prod bot", "inline comment"),
        ("API_HASH", "0123456789abcdef0123456789abcdef0", "33 characters"),
        ("API_HASH", '"0123456789abcdef0123456789abcdef"', "quoted"),
        ("TG_SESSION", "   ", None),  # blank: simply unset
    ],
)
def test_a_mistyped_secret_is_described_never_echoed(name: str, value: str, hint: str | None) -> None:
    """Issue #13: `BOT_TOKEN='… # prod bot'` from an EnvironmentFile used to be printed in full."""
    env = {name: value, **({"API_ID": "1"} if name == "API_HASH" else {})}
    if hint is None:
        Settings.from_mapping(env)
        return
    with pytest.raises(SettingsError) as raised:
        Settings.from_mapping(env)
    message = str(raised.value)
    assert hint in message and "not shown" in message
    for piece in (value.strip(), value.strip().strip('"'), "AAE" + "s" * 30, "0123456789abcdef0123"):
        assert piece not in message
