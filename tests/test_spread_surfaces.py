"""Who carries what where the analyst looks: bot commands, the digest line and section, the web pages.

On the fixture world of tests/spread_world.py, through the real router, digest builder and viewer
(uvicorn on 127.0.0.1).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.models import Reply
from storage.store import Store
from tests.spread_world import fill_world
from tests.test_commands import FRIEND, PRIVATE, make_router


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fill_world(tmp_path_factory.mktemp("surfaces") / "world.db")


@pytest.fixture
def store(world: Path) -> Store:
    opened = Store.open(world)
    yield opened  # type: ignore[misc]
    opened.close()


def text_of(reply: Reply) -> str:
    return "\n".join(reply.parts)


def test_bot_spread_is_a_timeline(store: Store) -> None:
    text = text_of(make_router(store).route("/spread https://t.me/retold/41", PRIVATE, FRIEND))
    lines = text.splitlines()
    assert lines[0].startswith("<b>Foreign Minister Sergey Lavrov held talks in Moscow")
    assert lines[1].startswith('Origin: <a href="https://t.me/mfa_russia/101">@mfa_russia</a> · <i>20 Nov 2026 11:00')
    assert lines[2] == "Carried by 5 channels within 2 h 10 min"
    assert lines[4:] == [
        '● origin · <a href="https://t.me/mfa_russia/101">@mfa_russia</a> · origin',
        '↪ +10 min · <a href="https://t.me/balkan_watch/11">@balkan_watch</a> · forward',
        '≡ +30 min · <a href="https://t.me/copycat_news/31">@copycat_news</a> · copy',
        '↪ +45 min · <a href="https://t.me/serbia_today/21">@serbia_today</a> · forward',
        '≈ +1 h 5 min · <a href="https://t.me/retold/41">@retold</a> · near-duplicate',
        '↪ +2 h 10 min · <a href="https://t.me/kremlin_echo/51">@kremlin_echo</a> · forward',
    ]


@pytest.mark.parametrize(
    ("args", "answer"),
    [
        ("/spread", "Which post?"),
        ("/spread 999", "There is no post 999 in the archive."),
        ("/spread https://t.me/nobody/1", "is not in the archive"),
        ("/amplifiers ٣", "Give a number of days from 1 to 366"),
        ("/amplifiers 0", "Give a number of days from 1 to 366"),
    ],
)
def test_bot_answers_bad_arguments_politely(store: Store, args: str, answer: str) -> None:
    assert answer in text_of(make_router(store).route(args, PRIVATE, FRIEND))


def test_bot_amplifiers_and_sources(store: Store) -> None:
    text = text_of(make_router(store).route("/amplifiers 2", PRIVATE, FRIEND))
    assert text.splitlines()[:4] == [
        "<b>Amplifiers, last 2 days of the archive</b>",
        "statements carried · first · median delay · share of its posts",
        "1. @balkan_watch — 3 (3 fwd, 0 copies) · first 2 · 10 min · 75%",
        "2. @kremlin_echo — 3 (3 fwd, 0 copies) · first 2 · 5 min · 75%",
    ]
    text = text_of(make_router(store).route("/sources", PRIVATE, FRIEND))
    assert text.splitlines()[1:3] == [
        "1. Donbass Insider (id 2000000001) — forwarded by 2 channels, 3 times · "
        '<a href="https://t.me/serbia_today/23">example</a>',
        '2. Рыбарь (@rybar) — forwarded by 1 channel, 1 time · <a href="https://t.me/kremlin_echo/53">example</a>',
    ]
