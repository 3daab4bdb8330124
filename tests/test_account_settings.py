"""TELEGRAM_ACCOUNTS and the per-account variables: parsed, checked, secrets never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings, SettingsError
from bot.core.channels import parse_channel

HASH = "0123456789abcdef0123456789abcdef"
HASH2 = "fedcba9876543210fedcba9876543210"


def load(**values: str) -> Settings:
    return Settings.from_mapping(values, channel_check=parse_channel)


def test_unset_means_one_account_as_before() -> None:
    s = load(API_ID="1", API_HASH=HASH, CHANNELS="@alpha_news")
    assert s.accounts == () and s.account_names == ()
    assert s.account_max_channels == 450


def test_accounts_with_fallback_credentials_and_explicit_channels(tmp_path: Path) -> None:
    s = load(
        DATA_DIR=str(tmp_path),
        API_ID="1",
        API_HASH=HASH,
        TELEGRAM_ACCOUNTS="main, second",
        API_ID_second="2",
        API_HASH_second=HASH2,
        TELEGRAM_SESSION_second="/srv/second.session",
        CHANNELS_second="@xray_news,@yankee_news",
        ACCOUNT_MAX_CHANNELS="3",
    )
    assert [a.name for a in s.accounts] == ["main", "second"]
    main, second = s.accounts
    assert (second.api_id, second.channels) == (2, ("@xray_news", "@yankee_news"))
    assert s.account_max_channels == 3
    as_main = s.for_account(main, ("@alpha_news",))
    assert (as_main.api_id, as_main.api_hash, as_main.channels) == (1, HASH, ("@alpha_news",))
    assert as_main.session == str(tmp_path / "tgmonitor-main.session")
    as_second = s.for_account(second)
    assert (as_second.api_id, as_second.api_hash, as_second.session) == (2, HASH2, "/srv/second.session")
    assert HASH2 in s.secrets and "/srv/second.session" in s.secrets
    assert HASH2 not in repr(s)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"TELEGRAM_ACCOUNTS": "main,2nd"}, "TELEGRAM_ACCOUNTS (environment): expected a comma-separated list"),
        (
            {"TELEGRAM_ACCOUNTS": "main", "CHANNELS_other": "@alpha_news"},
            "CHANNELS_other (environment): no account named 'other'",
        ),
        ({"CHANNELS_main": "@alpha_news"}, "TELEGRAM_ACCOUNTS is not set"),
        ({"TELEGRAM_ACCOUNTS": "main", "API_ID_main": "5"}, "API_ID_main and API_HASH_main: set both"),
        (
            {"TELEGRAM_ACCOUNTS": "main", "CHANNELS_main": "https://t.me/+invite"},
            "CHANNELS_main (environment): expected",
        ),
        (
            {"TELEGRAM_ACCOUNTS": "main,second", "CHANNELS_main": "@alpha_news", "CHANNELS_second": "@ALPHA_NEWS"},
            "CHANNELS_second (environment): @ALPHA_NEWS is also in CHANNELS_main",
        ),
        ({"TELEGRAM_ACCOUNTS": "main", "ACCOUNT_MAX_CHANNELS": "٣"}, "ACCOUNT_MAX_CHANNELS (environment): expected"),
    ],
)
def test_one_line_errors_name_the_variable(values: dict[str, str], expected: str) -> None:
    base = {"API_ID": "1", "API_HASH": HASH}
    with pytest.raises(SettingsError) as caught:
        load(**{**base, **values})
    assert any(expected in p for p in caught.value.problems), caught.value.problems
    assert all("\n" not in p for p in caught.value.problems)


def test_no_credentials_for_an_account() -> None:
    with pytest.raises(SettingsError, match="account 'main' has no API credentials"):
        load(TELEGRAM_ACCOUNTS="main")


def test_a_bad_secret_is_never_echoed() -> None:
    secret = "not-a-hash-but-secret-ish-value"
    with pytest.raises(SettingsError) as caught:
        load(API_ID="1", API_HASH=HASH, TELEGRAM_ACCOUNTS="main", API_ID_main="2", API_HASH_main=secret)
    text = str(caught.value)
    assert "API_HASH_main (environment): expected 32 hexadecimal characters" in text
    assert secret not in text


def test_load_reads_account_variables_from_the_environment(tmp_path: Path) -> None:
    env = tmp_path / "settings.env"
    env.write_text(f"API_ID=1\nAPI_HASH={HASH}\nTELEGRAM_ACCOUNTS=main,second\n", encoding="utf-8")
    s = Settings.load(env, {"CHANNELS_second": "@zulu_news", "UNRELATED": "x"})
    assert s.account("second") is not None and s.account("second").channels == ("@zulu_news",)  # type: ignore[union-attr]


def test_unrelated_environment_variables_do_not_break_one_account(tmp_path: Path) -> None:
    s = Settings.load(None, {"CHANNELS_FILE": "/etc/x", "API_ID_OLD": "x", "API_ID": "1", "API_HASH": HASH})
    assert s.accounts == () and s.api_id == 1
