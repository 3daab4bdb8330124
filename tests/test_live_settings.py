"""The live suite's settings (tests/integration/conftest.py): it runs only when told how, and says why not."""

from __future__ import annotations

import random

import pytest

from bot.setting_values import parse_server
from tests.integration.conftest import Server, missing_settings

GOOD = {
    "TGMONITOR_LIVE_API_ID": "123456",
    "TGMONITOR_LIVE_API_HASH": "0123456789abcdef0123456789abcdef",
    "TGMONITOR_LIVE_SERVER": "2@149.154.167.40:443",
}


def test_nothing_set_names_every_missing_variable() -> None:
    assert missing_settings({}) == (
        "live suite: set TGMONITOR_LIVE_API_ID, TGMONITOR_LIVE_API_HASH, TGMONITOR_LIVE_SERVER "
        "(Telegram's test servers; see docs/testing.md)"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TGMONITOR_LIVE_API_ID", "١٢٣", "TGMONITOR_LIVE_API_ID must be a number, got '١٢٣'"),
        ("TGMONITOR_LIVE_SERVER", "149.154.167.40", "TGMONITOR_LIVE_SERVER must be DC@HOST:PORT"),
        ("TGMONITOR_LIVE_PHONE", "+359888123456", "must be a test number +99966XYYYY"),
        ("TGMONITOR_LIVE_PHONE", "9996641234", "must be a test number +99966XYYYY"),
    ],
)
def test_a_bad_setting_is_named_with_its_value(name: str, value: str, message: str) -> None:
    reason = missing_settings({**GOOD, name: value})
    assert reason is not None and message in reason and "\n" not in reason


def test_good_settings_and_what_they_give_tgmonitor() -> None:
    assert missing_settings(GOOD) is None
    assert missing_settings({**GOOD, "TGMONITOR_LIVE_PHONE": "+9996621234"}) is None
    server = Server(parse_server("3@149.154.175.117:443"), "123456", "h" * 32, None, None, None)
    assert server.login_code() == "33333"
    phone = server.test_phone(random.Random(1))
    assert phone.startswith("+999663") and len(phone) == 11
    assert server.tgmonitor_env() == {
        "TELEGRAM_SERVER": "3@149.154.175.117:443",
        "API_ID": "123456",
        "API_HASH": "h" * 32,
    }
