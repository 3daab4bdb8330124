"""Who carries what where the analyst looks: bot commands, the digest line and section, the web pages.

On the fixture world of tests/spread_world.py, through the real router, digest builder and viewer
(uvicorn on 127.0.0.1).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app.digest_jobs import DigestRunner, window_posts
from bot.core.digest import build_digest
from bot.core.digest_render import digest_json, render_html, render_text
from bot.core.windows import Window
from bot.models import Reply
from bot.outputs.console import ConsoleSender
from storage.store import Store
from storage.subscriptions import Subscription
from tests.spread_world import fill_world
from tests.test_commands import FRIEND, PRIVATE, make_router
from tests.web_server import client as client_for


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
        ("/spread 99999999999999999999", "There is no post 99999999999999999999 in the archive."),
        ("/amplifiers ٣", "Give a number of days from 1 to 366"),
        ("/amplifiers 0", "Give a number of days from 1 to 366"),
        ("/amplifiers " + "9" * 5000, "Give a number of days from 1 to 366"),  # int() raised: "went wrong"
        ("/sources " + "9" * 20, "Give a number of days from 1 to 366"),
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


def test_digest_items_say_who_carried_them(store: Store) -> None:
    start, end = datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)
    posts, changes = window_posts(store, start, end)
    digest = build_digest(posts, start, end, changes=changes)
    text = render_text(digest, UTC)
    lavrov = next(line for line in text.splitlines() if "Sergey Lavrov" in line)
    assert lavrov.endswith("(seen in 6 channels, carried by 5 channels within 2 h 10 min)")
    dayton = next(line for line in text.splitlines() if "Dayton" in line)
    assert dayton.endswith("(seen in 3 channels, carried by 2 channels within 20 min)")
    html_text = "\n".join(render_html(digest, UTC))
    assert "seen in 6 channels · carried by 5 channels within 2 h 10 min" in html_text
    shown = digest_json(digest)
    items = {i["text"][:14]: i for s in shown["sections"] for i in s["items"]}  # type: ignore[index, union-attr]
    assert (items["Foreign Minist"]["carried_by"], items["Foreign Minist"]["carried_within_seconds"]) == (5, 7800)
    assert shown["amplification"] is None


def test_weekly_amplification_section_on_mondays(store: Store) -> None:
    """DIGEST_AMPLIFICATION=weekly: the digest whose window ends on a Monday (local) ends with the week's
    amplifiers and unmonitored sources; other days' digests do not."""
    out = io.StringIO()
    runner = DigestRunner(store=store, sender=ConsoleSender(out), amplification="weekly")
    sub = Subscription(1, 42, (), time(8, 0), ZoneInfo("Europe/Belgrade"), True, "settings")
    monday = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 in Belgrade
    messages = "\n".join(runner.render(sub, Window(monday - timedelta(days=1), monday)))
    section = messages[messages.index("<b>Amplification, 16 Nov – 23 Nov</b>") :].splitlines()
    assert section[:6] == [
        "<b>Amplification, 16 Nov – 23 Nov</b>",
        "@balkan_watch: 3 statements of other channels, first on 2, median 10 min",
        "@kremlin_echo: 3 statements of other channels, first on 2, median 5 min",
        "@serbia_today: 3 statements of other channels, first on 1, median 30 min",
        "@copycat_news: 1 statement of other channels, first on 0, median 30 min",
        "@retold: 1 statement of other channels, first on 0, median 1 h 5 min",
    ]
    assert section[6] == "Forwarded from unmonitored sources: Donbass Insider (2), Рыбарь (1)"
    sunday = monday - timedelta(days=1)
    assert "Amplification" not in "\n".join(runner.render(sub, Window(sunday - timedelta(days=1), sunday)))
    plain = DigestRunner(store=store, sender=ConsoleSender(out))
    assert "Amplification" not in "\n".join(plain.render(sub, Window(monday - timedelta(days=1), monday)))


def test_web_statement_page_draws_the_timeline(world: Path) -> None:
    with client_for(world) as http:
        page = http.get("/statement/5")
        post = http.get("/post/5")
        missing = http.get("/statement/999")
    assert page.status_code == 200 and "<script" not in page.text
    assert "carried by 5 channels within 2 h 10 min" in page.text
    svg = page.text[page.text.index('<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline"') :]
    svg = svg[: svg.index("</svg>") + 6]
    ET.fromstring(svg)  # well-formed
    assert re.findall(r"<title>([^<]*)</title></circle>", svg) == [
        "@mfa_russia · origin · 2026-11-20 09:00 (origin)",
        "@balkan_watch · forward · 2026-11-20 09:10 (+10 min)",
        "@copycat_news · copy · 2026-11-20 09:30 (+30 min)",
        "@serbia_today · forward · 2026-11-20 09:45 (+45 min)",
        "@retold · near-duplicate · 2026-11-20 10:05 (+1 h 5 min)",
        "@kremlin_echo · forward · 2026-11-20 11:10 (+2 h 10 min)",
    ]
    rows = re.findall(r"<tr[^>]*>\s*<td><time[^>]*>([^<]*)</time></td>\s*<td>([^<]*)</td>", page.text)
    assert rows[-1] == ("2026-11-20 11:10", "+2 h 10 min")
    assert '<a href="/statement/5">who carried it' in post.text
    assert missing.status_code == 404


def test_web_network_page_lists_amplifiers_and_draws_the_network(world: Path) -> None:
    with client_for(world) as http:
        page = http.get("/network", params={"days": "30"})
        bad = http.get("/network", params={"days": "x"})
    assert page.status_code == 200 and "<script" not in page.text
    table = page.text[page.text.index('<table class="amplifiers">') :]
    table = table[: table.index("</table>")]
    assert re.findall(r"<bdi>([^<]*)</bdi></a></td><td>(\d+)</td>", table) == [
        ("@balkan_watch", "3"),
        ("@kremlin_echo", "3"),
        ("@serbia_today", "3"),
        ("@copycat_news", "1"),
        ("@retold", "1"),
    ]
    assert "<td>10 min</td><td>20 min</td><td>75%</td>" in table
    svg = page.text[page.text.index('class="chart network"') - 40 :]
    svg = svg[svg.index("<svg") : svg.index("</svg>") + 6]
    ET.fromstring(svg)
    edges = re.findall(r"<title>([^<]*statements \([^<]*)</title></line>", svg)
    assert "@mfa_russia → @balkan_watch: 2 statements (2 forwards, 0 copies, median 15 min)" in edges
    assert "Donbass Insider → @serbia_today: 2 statements (2 forwards, 0 copies, median 15 min)" in edges
    assert len(edges) == 8
    assert "Donbass Insider</bdi> (id 2000000001)" in page.text
    assert bad.status_code == 400
