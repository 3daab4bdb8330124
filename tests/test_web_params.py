"""Issue #27 item 5 and #26 item 1 (web part): every malformed or out-of-range parameter is a 400
naming it, never a 500 and never a traceback in the log; digits are ASCII digits only."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from httpx import Client

from bot.web.forms import MAX_DIGITS, FormError, parse_number
from tests.web_archive import fill_archive
from tests.web_server import client as client_for

HUGE = "9" * 5000


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    path = fill_archive(tmp_path_factory.mktemp("params") / "archive.db")
    with client_for(path) as http:
        yield http


@pytest.mark.parametrize(
    ("url", "params", "name"),
    [
        ("/post/99999999999999999999999", {}, "post"),
        ("/post/²", {}, "post"),
        ("/post/-1", {}, "post"),
        ("/day/9999-12-31", {}, "day"),
        ("/day/0001-01-01", {}, "day"),
        ("/", {"until": "9999-12-31"}, "until"),
        ("/", {"since": "0001-01-01"}, "since"),
        ("/", {"page": "²"}, "page"),
        ("/", {"q": "x", "page": "²"}, "page"),
        ("/", {"page": "٣"}, "page"),
        ("/", {"page": HUGE}, "page"),
        ("/", {"per": "❶"}, "per"),
        ("/", {"channel": "²"}, "channel"),
        ("/", {"channel": HUGE}, "channel"),
        ("/", {"channel": "99999999999999999999999"}, "channel"),
        ("/charts", {"days": "³"}, "days"),
        ("/charts", {"days": "²"}, "days"),
        ("/charts", {"weeks": HUGE}, "weeks"),
        ("/channel/1", {"days": "²"}, "days"),
        ("/channel/99999999999999999999999", {}, "channel"),
        ("/channel/1", {"page": "①"}, "page"),
        ("/tag/serbia", {"days": "٣"}, "days"),
        ("/statement/99999999999999999999", {}, "post"),  # an OverflowError in SQLite before
        ("/statement/x", {}, "post"),
    ],
)
def test_bad_parameter_is_a_400_naming_it_without_a_traceback(
    client: Client, caplog: pytest.LogCaptureFixture, url: str, params: dict[str, str], name: str
) -> None:
    with caplog.at_level(logging.DEBUG):
        page = client.get(url, params=params)
    assert page.status_code == 400, (url, params, page.status_code)
    assert f"{name}: " in page.text
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]
    assert len(page.text) < 20_000  # the 5,000 digits are not echoed back


def test_number_guard_refuses_before_int_sees_the_text() -> None:
    assert parse_number("0" * MAX_DIGITS, "page") == 0
    for raw in ("1" * (MAX_DIGITS + 1), HUGE * 10, "²", "12٣", " 1", "+1", "1_000", "0x10", ""):
        with pytest.raises(FormError, match=r"^page: expected"):
            parse_number(raw, "page")


def test_edges_that_hold_still_answer(client: Client) -> None:
    assert client.get("/day/2999-12-31").status_code == 200
    assert client.get("/day/1970-01-01").status_code == 200
    assert client.get("/", params={"until": "2999-12-31", "since": "1970-01-01"}).status_code == 200
    assert client.get("/post/999999999999999999").status_code == 404
    assert client.get("/channel/999999999999999999").status_code == 404
    assert client.get("/statement/999999999999999999").status_code == 404


@pytest.mark.parametrize("kind", ["alerts", "digest"])
def test_a_subscription_feed_number_over_64_bits_is_a_404_naming_it(client: Client, kind: str) -> None:
    page = client.get(f"/feeds/{kind}/{'9' * 20}.rss")
    assert page.status_code == 404 and "expected a subscription number" in page.text


@pytest.mark.parametrize(
    ("q", "says"),
    [
        ("(Kosovo", "q: &#39;(&#39; at 1 is never closed"),
        ('"Kosovo', "q: unterminated quote at 1"),
        ("NEAR(Kosovo", "q: NEAR at 1 needs a closing"),
        ("Kosovo OR", "q: unexpected end of rule at 10"),
        ("-Kosovo", "q: a rule needs something to find"),
        ("!!! \u200b", "q: the rule is empty"),
        ("channel:@nobody_here", "q: unknown channel"),
    ],
)
def test_a_query_the_rule_language_refuses_is_a_400_naming_q(client: Client, q: str, says: str) -> None:
    page = client.get("/", params={"q": q})
    assert page.status_code == 400 and says in page.text, page.text[-600:]


@pytest.mark.both_backends
@pytest.mark.parametrize(
    ("url", "params"),
    [("/tag/a%00b", {}), ("/", {"tag": "a\x00b"}), ("/day", {"tag": "a\x00b"}), ("/day/2026-11-20", {"tag": "x\x01"})],
)
def test_a_tag_with_a_control_character_is_a_400_naming_it(client: Client, url: str, params: dict[str, str]) -> None:
    """PostgreSQL refuses to compare text holding a NUL: these were 500s there (404s or empty pages on SQLite)."""
    page = client.get(url, params=params)
    assert page.status_code == 400 and "tag: a tag has no control characters" in page.text


@pytest.mark.both_backends
def test_a_feed_name_with_a_control_character_is_a_404_saying_so(client: Client) -> None:
    for name in ("tag/a%00b", "channel/a%00b", "search/a%01b"):
        page = client.get(f"/feeds/{name}.rss")
        assert page.status_code == 404 and "a feed&#39;s name has no control characters" in page.text


def test_a_search_feed_s_bad_rule_is_a_400_naming_the_feed(client: Client) -> None:
    page = client.get("/feeds/search/(Kosovo.rss")
    assert page.status_code == 400 and "feed search/(Kosovo: &#39;(&#39; at 1 is never closed" in page.text
