from __future__ import annotations

import contextlib
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


def test_channel_lists_and_tag_lists_reject_what_cannot_be_right(tmp_path: Path) -> None:
    from bot.core.channels import parse_channel

    env = tmp_path / ".env"
    env.write_text(
        "CHANNELS=@mfa_russia, https://t.me/+AbCdEf, @ab\nFORWARDS_FROM=???\nDIGEST_TAGS=,,,\nALERT_TAGS=serbia, c-d\n",
        encoding="utf-8",
    )
    with pytest.raises(SettingsError) as error:
        Settings.load(env, environ={}, channel_check=parse_channel)
    message = str(error.value)
    assert f"CHANNELS ({env}:1)" in message
    assert "'https://t.me/+AbCdEf' is an invite link: join the channel first, then use its @name" in message
    assert "'@ab' is not a channel" in message  # every bad entry, not only the first
    assert f"FORWARDS_FROM ({env}:2)" in message and "'???' is not a channel" in message
    assert f"DIGEST_TAGS ({env}:3)" in message and "no entries, only separators" in message
    assert f"ALERT_TAGS ({env}:4)" in message and "'c-d' is not a tag" in message
    env.write_text("CHANNELS=@mfa_russia t.me/s/balkan_watch, -1001234567890\nDIGEST_TAGS=#RussiaSerbia, kosovo\n")
    settings = Settings.load(env, environ={}, channel_check=parse_channel)
    assert settings.channels == ("@mfa_russia", "t.me/s/balkan_watch", "-1001234567890")
    assert settings.digest_tags == ("#RussiaSerbia", "kosovo")


def test_a_settings_file_that_is_not_utf8_or_not_readable_is_one_problem_naming_it(tmp_path: Path) -> None:
    """Robustness sweep: a .env saved by a Windows editor (cp1251/latin-1) or as UTF-16 was a traceback
    (UnicodeDecodeError from python-dotenv); an unclosed quote silently dropped the line, and its setting."""
    env = tmp_path / ".env"
    env.write_bytes(b"TZ=Europe/Sofia\nCHANNELS=@caf\xe9\n")
    with pytest.raises(SettingsError, match=rf"{env}:2: not UTF-8 text \(byte 0xe9\)"):
        Settings.load(env, environ={})
    env.write_bytes("TZ=Europe/Sofia\n".encode("utf-16"))
    with pytest.raises(SettingsError, match=rf"{env}:1: not UTF-8 text"):
        Settings.load(env, environ={})
    env.write_text('POLL_INTERVAL=5m\nBOT_TOKEN="123456789:AAEsecretsecretsecretsecret\nTZ=UTC\n', encoding="utf-8")
    with pytest.raises(SettingsError) as unclosed:
        Settings.load(env, environ={})
    assert unclosed.value.problems == [f"{env}:2: not a NAME=value line (an unclosed quote?); fix or remove it"]
    assert "secret" not in str(unclosed.value)
    env.write_text("".join(f"column {n}, column {n + 1}\n" for n in range(50)), encoding="utf-8")  # --env data.csv
    with pytest.raises(SettingsError) as not_settings:
        Settings.load(env, environ={})
    assert len(not_settings.value.problems) == 4
    assert not_settings.value.problems[3] == f"{env}: and 47 more lines like these: is it a settings file?"
    env.unlink()
    env.mkdir()
    with pytest.raises(SettingsError, match=rf"{env}: is not a file"):
        Settings.load(env, environ={})


def test_a_variable_set_twice_is_reported_at_the_line_that_counts(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("POLL_INTERVAL=5m\n# later, by someone else:\nPOLL_INTERVAL=abc\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=rf"POLL_INTERVAL \({env}:3\): expected a positive duration"):
        Settings.load(env, environ={})


@pytest.mark.parametrize("zone", ["Europe", "America/", "a" * 300, "Europe/Sofia\x00", "zone.tab"])
def test_a_time_zone_that_is_a_folder_or_too_long_is_a_settings_error(zone: str) -> None:
    """ZoneInfo("Europe") raised IsADirectoryError and a 300-character name OSError: tracebacks at start-up,
    and for `import --tz`."""
    import argparse

    from bot.cli.argtypes import time_zone

    with pytest.raises(SettingsError, match=r"TZ \(environment\): expected an IANA time zone"):
        Settings.from_mapping({"TZ": zone})
    with pytest.raises(argparse.ArgumentTypeError, match="unknown time zone"):
        time_zone(zone)
    assert Settings.from_mapping({"TZ": " Europe/Sofia "}).tz.key == "Europe/Sofia"


def test_file_settings_with_impossible_names_or_contents_are_settings_errors(tmp_path: Path) -> None:
    """A path longer than the file system allows made Path.is_file() raise OSError (ENAMETOOLONG)."""
    long_name = str(tmp_path / ("r" * 300))
    for name in ("RULES_FILE", "BOILERPLATE_FILE", "ALERT_RULES"):
        with pytest.raises(SettingsError, match=name) if name != "ALERT_RULES" else contextlib.nullcontext():
            Settings.from_mapping({name: long_name})
    rules = tmp_path / "alert-rules.txt"
    rules.write_bytes(b"Kosovo\n\xd0\xa1\xd1\x8a\xd1\x80\xd0\xb1\xd0\xb8\xd1\x8f\n#\xe9t\xe9\n")
    with pytest.raises(SettingsError, match=rf"ALERT_RULES .*{rules}:3: not UTF-8 text"):
        Settings.from_mapping({"ALERT_RULES": str(rules)})


def test_a_huge_bad_value_is_quoted_short(tmp_path: Path) -> None:
    """A runaway 10,000-character value made a 10,000-character error line."""
    from bot.core.channels import parse_channel

    for name in ("POLL_INTERVAL", "CHANNELS", "SERVICE_NAME", "RULES_FILE", "TZ"):
        with pytest.raises(SettingsError) as error:
            Settings.from_mapping({name: "9" * 5000 + "x" * 5000}, channel_check=parse_channel)
        (line,) = error.value.problems
        assert line.startswith(name) and len(line) < 600, line


def test_a_misspelt_setting_in_the_settings_file_is_named_with_the_right_one(tmp_path: Path) -> None:
    """POLL_INTERVALL=5m or poll_interval=5m was ignored: the default 300 s stayed, without a word. Names
    that are no near miss (a file shared with docker compose) still pass."""
    env = tmp_path / ".env"
    env.write_text(
        "COMPOSE_PROJECT_NAME=tg\nPOSTGRES_PASSWORD=x\nPOLL_INTERVALL=5m\npoll_interval=5m\nDIGEST_TIMES=07:00\n",
        encoding="utf-8",
    )
    with pytest.raises(SettingsError) as error:
        Settings.load(env, environ={})
    assert error.value.problems == [
        f"POLL_INTERVALL ({env}:3): not a setting; did you mean POLL_INTERVAL?",
        f"poll_interval ({env}:4): not a setting; did you mean POLL_INTERVAL?",
        f"DIGEST_TIMES ({env}:5): not a setting; did you mean DIGEST_TIME?",
    ]
    env.write_text("COMPOSE_PROJECT_NAME=tg\nPOSTGRES_PASSWORD=x\nPOLL_INTERVAL=5m\n", encoding="utf-8")
    assert Settings.load(env, environ={"POLL_INTERVALL": "1"}).poll_interval == 300  # the environment: not checked
