from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.commands import (
    CALLBACK_DATA_LIMIT,
    COMMANDS,
    Chat,
    CommandRouter,
    Reply,
    User,
    parse_command,
    split_text,
)
from bot.config import Settings
from bot.core.pipeline import Pipeline
from bot.core.ratelimit import RateLimiter
from bot.core.telegram_text import TELEGRAM_LIMIT, utf16_len
from bot.models import ChannelRef, Forward
from storage.store import Store
from storage.subscriptions import Subscriptions
from tests.conftest import raw_post

pytestmark = pytest.mark.both_backends

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SOFIA = ZoneInfo("Europe/Sofia")
MFA = Forward(channel_id=555, message_id=42, name="Russian MFA")

FRIEND = User(1, "friend", "Friend")
ADMIN = User(9, "boss", "Boss")
STRANGER = User(666, "stranger", "Stranger")
GROUP_MEMBER = User(77, "member", "Member")
PRIVATE = Chat(1)
GROUP = Chat(-100123, private=False, title="Balkan desk")
OTHER_GROUP = Chat(-100999, private=False, title="Elsewhere")

SETTINGS = Settings(
    allowed_users=frozenset({FRIEND.id}),
    allowed_chats=frozenset({GROUP.id}),
    admin_users=frozenset({ADMIN.id}),
    tz=SOFIA,
    digest_time=time(8, 0),
)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now
        self.seconds = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.seconds


def make_router(store: Store, clock: Clock | None = None, **kwargs: object) -> CommandRouter:
    clock = clock or Clock()
    return CommandRouter(
        store,
        kwargs.pop("settings", SETTINGS),  # type: ignore[arg-type]
        bot_username="TgMonitorBot",
        now=clock,
        limiter=RateLimiter(20, clock=clock.monotonic),
        **kwargs,  # type: ignore[arg-type]
    )


def fill(store: Store, pipeline: Pipeline, raws: list) -> None:
    store.save_posts([pipeline.process(r) for r in raws])


def kosovo_posts(count: int) -> list:
    return [
        raw_post(i, f"Serbia and Kosovo talks, round {i}, in Brussels. #Serbia", date=BASE + timedelta(minutes=i))
        for i in range(1, count + 1)
    ]


def numbers(reply: Reply) -> list[int]:
    return [int(n) for n in re.findall(r"<b>(\d+)\.</b>", "".join(reply.parts))]


def rounds(reply: Reply) -> list[int]:
    text = re.sub(r"</?b>", "", "".join(reply.parts))  # search hits mark the words that matched
    return [int(n) for n in re.findall(r"round (\d+)", text)]


def button(reply: Reply, label: str) -> str:
    found = [data for row in reply.buttons for text, data in row if label in text]
    assert found, f"no {label!r} button in {reply.buttons}"
    return found[0]


def assert_sane(reply: Reply) -> None:
    assert reply.parts, "expected an answer"
    for part in reply.parts:
        assert 0 < utf16_len(part) <= TELEGRAM_LIMIT
        assert part.count("<b>") == part.count("</b>")
    for row in reply.buttons:
        for _, data in row:
            assert len(data.encode()) <= CALLBACK_DATA_LIMIT


# ------------------------------------------------------------------------------------------ parsing
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/search Kosovo", ("search", None, "Kosovo")),
        ("/search@TgMonitorBot Kosovo  #serbia", ("search", "TgMonitorBot", "Kosovo  #serbia")),
        ("/SEARCH kosovo", ("search", None, "kosovo")),
        ("/post_42", ("post", None, "42")),
        ("/latest", ("latest", None, "")),
        ("hello", None),
        ("/", None),
    ],
)
def test_parse_command_forms(text: str, expected: tuple | None) -> None:
    assert parse_command(text) == expected


# ------------------------------------------------------------------------------------------ commands
def test_start_and_help_list_every_command_with_an_example(store: Store) -> None:
    router = make_router(store)
    friend_help = "".join(router.route("/help", PRIVATE, FRIEND).parts)
    admin_help = "".join(router.route("/help", PRIVATE, ADMIN).parts)
    for command in COMMANDS:
        assert f"<code>{command.example}</code>" in admin_help
        assert (f"<code>{command.example}</code>" in friend_help) is (not command.admin)
    start = router.route("/start", PRIVATE, FRIEND)
    assert_sane(start)
    assert "archive" in start.parts[0] and "/search" in start.parts[0]


def test_search_is_newest_first_and_folds_copies(store: Store, pipeline: Pipeline) -> None:
    copies = [
        raw_post(
            100 + n,
            "Lavrov met Vucic in Belgrade to discuss Kosovo.",
            channel=ChannelRef(tg_id=2000 + n, username=f"mirror{n}"),
            forward=MFA,
            date=BASE + timedelta(hours=2, minutes=n),
        )
        for n in range(3)
    ]
    fill(store, pipeline, [*kosovo_posts(3), *copies])
    reply = make_router(store).route("/search Kosovo", PRIVATE, FRIEND)
    assert_sane(reply)
    text = "".join(reply.parts)
    assert text.count("Lavrov met Vucic") == 1 and "seen in 3 channels" in text
    assert numbers(reply) == [1, 2, 3, 4]
    assert rounds(reply) == [3, 2, 1]  # newest first, after the newer forwarded item
    assert text.index("Lavrov") < text.index("round 3")
    assert reply.buttons == ()  # everything fits on one page


def test_search_filters_by_tag_channel_and_since(store: Store, pipeline: Pipeline) -> None:
    other = ChannelRef(tg_id=3003, username="other")
    fill(
        store,
        pipeline,
        [
            *kosovo_posts(2),
            raw_post(1, "Kosovo border crossing reopened.", channel=other, date=BASE - timedelta(days=5)),
        ],
    )
    router = make_router(store)
    assert rounds(router.route("/search Kosovo #serbia", PRIVATE, FRIEND)) == [2, 1]
    only_other = "".join(router.route("/search Kosovo @other", PRIVATE, FRIEND).parts)
    assert "border crossing" in only_other and "round" not in only_other
    recent = "".join(router.route("/search Kosovo since:2026-11-19", PRIVATE, FRIEND).parts)
    assert "border crossing" not in recent and "round 2" in recent


def test_search_pages_with_next_and_prev_buttons(store: Store, pipeline: Pipeline) -> None:
    fill(store, pipeline, kosovo_posts(12))
    router = make_router(store)
    first = router.route("/search Kosovo", PRIVATE, FRIEND)
    assert rounds(first) == [12, 11, 10, 9, 8]
    assert [label for row in first.buttons for label, _ in row] == ["Next »"]

    second = router.route_callback(button(first, "Next"), PRIVATE, FRIEND)
    assert_sane(second)
    assert rounds(second) == [7, 6, 5, 4, 3] and numbers(second) == [6, 7, 8, 9, 10]
    third = router.route_callback(button(second, "Next"), PRIVATE, FRIEND)
    assert rounds(third) == [2, 1]
    assert [label for row in third.buttons for label, _ in row] == ["« Prev"]
    back = router.route_callback(button(third, "Prev"), PRIVATE, FRIEND)
    assert back == second
    assert router.route_callback(button(second, "Prev"), PRIVATE, FRIEND).parts == first.parts


def test_long_queries_page_through_a_short_key_and_expire_politely(store: Store, pipeline: Pipeline) -> None:
    fill(store, pipeline, kosovo_posts(7))
    long_query = "Serbia Kosovo talks round Brussels " * 3
    assert len(f"s5={long_query}".encode()) > CALLBACK_DATA_LIMIT
    router = make_router(store)
    first = router.route(f"/search {long_query}", PRIVATE, FRIEND)
    data = button(first, "Next")
    assert len(data.encode()) <= CALLBACK_DATA_LIMIT and "*" in data
    assert rounds(router.route_callback(data, PRIVATE, FRIEND)) == [2, 1]

    restarted = make_router(store)
    expired = restarted.route_callback(data, PRIVATE, FRIEND)
    assert expired.alert and "send the command again" in expired.parts[0]
    assert restarted.route_callback("garbage", PRIVATE, FRIEND).silent


def test_cyrillic_query_buttons_stay_under_64_bytes(store: Store, pipeline: Pipeline) -> None:
    fill(
        store,
        pipeline,
        [raw_post(i, f"Сърбия и Косово, кръг {i}.", date=BASE + timedelta(minutes=i)) for i in range(8)],
    )
    reply = make_router(store).route("/search Сърбия Косово кръг", PRIVATE, FRIEND)
    assert_sane(reply)
    assert len(numbers(reply)) == 5


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "*",
        "NEAR(",
        "-",
        'Kosovo "unbalanced',
        "since:garbage",
        "Kosovo since:garbage",
        "AND OR NOT",
        "(((",
        "a:b",
        "@nobody Kosovo",
        "@a @b Kosovo",
        "#",
        "NEAR(Kosovo Serbia, 2)",
        "Kosovo*",
        "<script>alert(1)</script>",
    ],
)
def test_hostile_queries_get_a_polite_answer(store: Store, pipeline: Pipeline, query: str, caplog) -> None:
    fill(store, pipeline, kosovo_posts(2))
    with caplog.at_level(logging.ERROR):
        reply = make_router(store).route(f"/search {query}", PRIVATE, FRIEND)
    assert_sane(reply)
    text = "".join(reply.parts)
    assert "went wrong" not in text and not caplog.records
    assert "<script>" not in text


def test_since_garbage_and_unknown_channel_hints(store: Store, pipeline: Pipeline) -> None:
    fill(store, pipeline, kosovo_posts(1))
    router = make_router(store)
    assert "since:2026-11-01" in router.route("/search Kosovo since:garbage", PRIVATE, FRIEND).parts[0]
    assert "I do not archive @nobody" in router.route("/search Kosovo @nobody", PRIVATE, FRIEND).parts[0]
    assert "what to look for" in router.route('/search "', PRIVATE, FRIEND).parts[0]


def test_latest_and_tag_and_tags(store: Store, pipeline: Pipeline) -> None:
    fill(
        store,
        pipeline,
        [*kosovo_posts(4), raw_post(50, "Iran and China signed a deal. #China", date=BASE + timedelta(hours=1))],
    )
    router = make_router(store)
    latest = router.route("/latest 3", PRIVATE, FRIEND)
    assert "Iran and China" in latest.parts[0] and rounds(latest) == [4, 3]
    assert rounds(router.route_callback(button(latest, "Next"), PRIVATE, FRIEND)) == [2, 1]
    assert rounds(router.route("/latest #serbia", PRIVATE, FRIEND)) == [4, 3, 2, 1]
    tagged = "".join(router.route("/tag #China", PRIVATE, FRIEND).parts)
    assert "Iran and China" in tagged and "round" not in tagged
    assert "No posts tagged nothinghere" in router.route("/tag nothinghere", PRIVATE, FRIEND).parts[0]
    tags = router.route("/tags 2", PRIVATE, FRIEND)
    assert_sane(tags)
    assert re.findall(r"\n(\d+)\. .+ — 4 posts", "".join(tags.parts)) == ["1", "2"]
    assert button(tags, "Next")
    assert "#China — 1 post" in "".join(router.route("/tags 50", PRIVATE, FRIEND).parts)


def test_latest_thirty_is_split_under_the_limit(store: Store, pipeline: Pipeline) -> None:
    long = "Statement on regional security and cooperation between the Western Balkans states " * 6
    fill(store, pipeline, [raw_post(i, f"Item {i}: {long}", date=BASE + timedelta(minutes=i)) for i in range(1, 31)])
    reply = make_router(store).route("/latest 30", PRIVATE, FRIEND)
    assert_sane(reply)
    assert len(reply.parts) > 1
    assert numbers(reply) == list(range(1, 31))
    assert reply.buttons == ()


def test_post_shows_full_escaped_text_and_link(store: Store, pipeline: Pipeline) -> None:
    fill(store, pipeline, [raw_post(7, "Talks on <b>Kosovo</b> & Serbia went well.\n\nSecond paragraph & more.")])
    post_id = store.search("Kosovo")[0].id
    router = make_router(store)
    reply = router.route(f"/post {post_id}", PRIVATE, FRIEND)
    assert_sane(reply)
    text = reply.parts[0]
    assert "&lt;b&gt;Kosovo&lt;/b&gt; &amp; Serbia" in text and "<b>Kosovo" not in text
    assert "Second paragraph &amp; more." in text
    assert 'href="https://t.me/watcher/7"' in text
    assert router.route(f"/post_{post_id}", PRIVATE, FRIEND).parts == reply.parts
    search = "".join(router.route("/search Kosovo", PRIVATE, FRIEND).parts)
    # the post's own "<b>" stays text; the match is marked in real bold inside it
    assert "&lt;b&gt;<b>Kosovo</b>&lt;/b&gt; &amp;" in search and f"/post_{post_id}" in search
    assert "no post 999" in router.route("/post 999", PRIVATE, FRIEND).parts[0]
    assert "number" in router.route("/post abc", PRIVATE, FRIEND).parts[0]


def test_long_post_is_split_without_breaking_entities(store: Store, pipeline: Pipeline) -> None:
    paragraphs = "\n\n".join(f"Paragraph {i}: Serbia & Kosovo <talks> " + "x&y " * 150 for i in range(12))
    fill(store, pipeline, [raw_post(1, paragraphs)])
    reply = make_router(store).route(f"/post {store.search('Kosovo')[0].id}", PRIVATE, FRIEND)
    assert_sane(reply)
    assert len(reply.parts) > 1
    body = "".join(reply.parts)
    assert "<talks>" not in body and body.count("&lt;talks&gt;") == 12
    for part in reply.parts:
        assert not re.search(r"&[a-z]*$", part)  # no entity cut in half


def test_split_text_cuts_huge_words_by_characters() -> None:
    chunks = split_text("&" * 5000, 1000)
    assert "".join(chunks) == "&" * 5000
    assert all(len(c) * 5 <= 1000 for c in chunks)


def test_digest_windows_follow_the_time_zone(store: Store, pipeline: Pipeline) -> None:
    # NOW is 14:00 in Sofia; local midnight is 22:00 UTC the day before.
    fill(
        store,
        pipeline,
        [
            raw_post(1, "Late night statement on Kosovo. #Serbia", date=datetime(2026, 11, 19, 23, 0, tzinfo=UTC)),
            raw_post(2, "Evening statement on Bosnia. #Serbia", date=datetime(2026, 11, 19, 21, 0, tzinfo=UTC)),
            raw_post(3, "Old statement on Iran.", date=datetime(2026, 11, 10, 9, 0, tzinfo=UTC)),
        ],
    )
    router = make_router(store)
    today = "".join(router.route("/digest today", PRIVATE, FRIEND).parts)
    assert "Late night" in today and "Evening" not in today and "(Europe/Sofia)" in today
    yesterday = "".join(router.route("/digest yesterday", PRIVATE, FRIEND).parts)
    assert "Evening" in yesterday and "Late night" not in yesterday
    day = "".join(router.route("/digest", PRIVATE, FRIEND).parts)
    assert "Evening" in day and "Late night" in day and "Iran" not in day
    week = "".join(router.route("/digest week #serbia", PRIVATE, FRIEND).parts)
    assert "Iran" not in week and "Evening" in week
    assert "yesterday" in router.route("/digest lastyear", PRIVATE, FRIEND).parts[0]


def test_subscribe_round_trip(store: Store) -> None:
    changes: list[str] = []
    router = make_router(store, on_subscriptions_changed=lambda: changes.append("reload"))
    bad_zone = router.route("/subscribe #serbia 07:30 Europe/Sofa", GROUP, GROUP_MEMBER).parts[0]
    assert "Unknown time zone" in bad_zone and "Europe/Sofia" in bad_zone and "Usage" in bad_zone
    assert "not a time of day" in router.route("/subscribe 25:00", GROUP, GROUP_MEMBER).parts[0]
    assert "did not understand" in router.route("/subscribe serbia", GROUP, GROUP_MEMBER).parts[0]
    assert changes == [] and Subscriptions(store.db).list() == []

    made = router.route("/subscribe #Serbia #kosovo 07:30 europe/belgrade", GROUP, GROUP_MEMBER).parts[0]
    assert "07:30 Europe/Belgrade" in made and "#kosovo, #serbia" in made
    default = router.route("/subscribe", GROUP, GROUP_MEMBER).parts[0]
    assert "08:00 Europe/Sofia" in default and "all tags" in default
    assert changes == ["reload", "reload"]
    subs = Subscriptions(store.db).list(GROUP.id)
    assert [(s.tags, s.time, s.tz.key) for s in subs] == [
        (("kosovo", "serbia"), time(7, 30), "Europe/Belgrade"),
        ((), time(8, 0), "Europe/Sofia"),
    ]

    listed = "".join(router.route("/subscriptions", GROUP, GROUP_MEMBER).parts)
    assert f"#{subs[0].id} · every day at 07:30 Europe/Belgrade" in listed
    assert "no active digest" in router.route(f"/unsubscribe {subs[0].id}", PRIVATE, FRIEND).parts[0]
    assert "Stopped digest" in router.route(f"/unsubscribe {subs[0].id}", GROUP, GROUP_MEMBER).parts[0]
    assert "Stopped 1 digest " in router.route("/unsubscribe", GROUP, GROUP_MEMBER).parts[0]
    assert changes == ["reload"] * 4
    assert "no digests" in router.route("/subscriptions", GROUP, GROUP_MEMBER).parts[0]


def test_a_failing_reload_hook_does_not_lose_the_subscription(store: Store, caplog) -> None:
    def explode() -> None:
        raise RuntimeError("scheduler down")

    router = make_router(store, on_subscriptions_changed=explode)
    assert "Subscribed" in router.route("/subscribe 09:00", PRIVATE, FRIEND).parts[0]
    assert len(Subscriptions(store.db).list(PRIVATE.id)) == 1
    assert "scheduler down" in caplog.text


def test_stats_shows_last_poll_and_error(store: Store, pipeline: Pipeline) -> None:
    fill(store, pipeline, kosovo_posts(2))
    channel = store.find_channel("@watcher")
    assert channel is not None
    store.record_poll(channel.id, error="ChannelPrivateError: <private>", at=BASE)
    text = "".join(make_router(store).route("/stats", PRIVATE, FRIEND).parts)
    assert "2 posts" in text and "@watcher" in text
    assert "last poll 20 Nov 2026 10:00" in text  # 08:00 UTC in Sofia
    assert "ChannelPrivateError: &lt;private&gt;" in text


# ------------------------------------------------------------------------------------------ access
def test_strangers_get_one_refusal_a_day_and_are_logged(store: Store, caplog) -> None:
    clock = Clock()
    router = make_router(store, clock)
    with caplog.at_level(logging.WARNING, logger="bot.commands"):
        first = router.route("/search Kosovo", PRIVATE, STRANGER)
        again = [router.route(cmd, PRIVATE, STRANGER) for cmd in ("/help", "/start", "/search x")]
    assert first.alert and "private bot" in first.parts[0] and str(STRANGER.id) in first.parts[0]
    assert all(r.silent for r in again)
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and "@stranger" in refusals[0].getMessage()
    assert store.db.execute("SELECT user_id, day FROM refusals").fetchall() == [(STRANGER.id, "2026-11-20")]

    assert make_router(store, clock).route("/help", PRIVATE, STRANGER).silent  # a restart changes nothing
    assert router.route_callback("s5=Kosovo", PRIVATE, STRANGER).silent
    clock.now += timedelta(days=1)
    assert not router.route("/help", PRIVATE, STRANGER).silent
    assert router.route("/help", PRIVATE, STRANGER).silent


def test_members_of_allowed_chats_and_listed_users_are_answered(store: Store) -> None:
    router = make_router(store)
    assert "What I can do" in router.route("/help", GROUP, GROUP_MEMBER).parts[0]
    assert "private bot" in router.route("/help", OTHER_GROUP, GROUP_MEMBER).parts[0]
    assert "What I can do" in router.route("/help", OTHER_GROUP, FRIEND).parts[0]
    assert "What I can do" in router.route("/help", PRIVATE, ADMIN).parts[0]


def test_group_command_forms(store: Store, pipeline: Pipeline) -> None:
    fill(store, pipeline, kosovo_posts(2))
    router = make_router(store)
    addressed = router.route("/search@TgMonitorBot Kosovo", GROUP, GROUP_MEMBER)
    assert rounds(addressed) == [2, 1]
    assert rounds(router.route("/search@tgmonitorbot Kosovo", GROUP, GROUP_MEMBER)) == [2, 1]
    assert router.route("/search@OtherBot Kosovo", GROUP, GROUP_MEMBER).silent
    assert router.route("/search@OtherBot Kosovo", OTHER_GROUP, STRANGER).silent  # not even a refusal
    assert router.route("/frobnicate", GROUP, GROUP_MEMBER).silent  # maybe another bot's command
    assert "do not know /frobnicate" in router.route("/frobnicate", PRIVATE, FRIEND).parts[0]
    assert "do not know" in router.route("/frobnicate@TgMonitorBot", GROUP, GROUP_MEMBER).parts[0]


def test_admin_commands(store: Store, pipeline: Pipeline, caplog) -> None:
    fill(store, pipeline, kosovo_posts(1))
    changes: list[str] = []
    router = make_router(store, on_channels_changed=lambda: changes.append("channels"))
    for command in ("/watch @balkan_watch", "/unwatch @watcher", "/channels"):
        refused = router.route(command, PRIVATE, FRIEND)
        assert refused.alert and "admins only" in refused.parts[0]
    assert store.find_channel("@balkan_watch") is None

    assert "Watching @balkan_watch" in router.route("/watch https://t.me/s/Balkan_Watch", PRIVATE, ADMIN).parts[0]
    assert "already watch" in router.route("/watch @balkan_watch", PRIVATE, ADMIN).parts[0]
    watched = store.find_channel("@balkan_watch")
    assert watched is not None and watched.watched
    assert "not a channel name" in router.route("/watch @x!", PRIVATE, ADMIN).parts[0]
    listing = "".join(router.route("/channels", PRIVATE, ADMIN).parts)
    assert "@balkan_watch — 0 posts · never polled" in listing and "@watcher — 1 post" in listing
    assert "Stopped watching @balkan_watch" in router.route("/unwatch @balkan_watch", PRIVATE, ADMIN).parts[0]
    assert "do not watch" in router.route("/unwatch @balkan_watch", PRIVATE, ADMIN).parts[0]
    assert changes == ["channels", "channels"]
    assert not store.find_channel("@balkan_watch").watched  # type: ignore[union-attr]


def test_lists_page_buttons_are_admin_checked_too(store: Store, pipeline: Pipeline) -> None:
    fill(
        store,
        pipeline,
        [
            raw_post(1, f"Post from channel {n}.", channel=ChannelRef(tg_id=4000 + n, username=f"chan{n:02d}"))
            for n in range(13)
        ],
    )
    router = make_router(store)
    page = router.route("/channels", PRIVATE, ADMIN)
    data = button(page, "Next")
    assert "chan12" in "".join(router.route_callback(data, PRIVATE, ADMIN).parts)
    assert "admins only" in router.route_callback(data, PRIVATE, FRIEND).parts[0]


def test_rate_limit_per_user(store: Store) -> None:
    clock = Clock()
    router = make_router(store, clock)
    answers = [router.route("/help", PRIVATE, FRIEND) for _ in range(20)]
    assert all(not r.silent and not r.alert for r in answers)
    limited = router.route("/help", PRIVATE, FRIEND)
    assert limited.alert and "please wait 3 s" in limited.parts[0]
    assert router.route("/help", PRIVATE, FRIEND).silent  # told once, then quiet
    assert not router.route("/help", PRIVATE, ADMIN).silent  # other users are not affected
    clock.seconds += 3
    assert "What I can do" in router.route("/help", PRIVATE, FRIEND).parts[0]
    assert router.route("/help", PRIVATE, FRIEND).alert  # the bucket refills at 20 a minute


def test_handler_errors_become_a_polite_answer(store: Store, caplog, monkeypatch: pytest.MonkeyPatch) -> None:
    router = make_router(store)

    def broken(*_: object) -> list:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "stats", broken)
    reply = router.route("/stats", PRIVATE, FRIEND)
    assert "something went wrong" in reply.parts[0] and "disk on fire" not in reply.parts[0]
    assert "disk on fire" in caplog.text


def test_no_allow_list_answers_nobody(store: Store, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        router = make_router(store, settings=Settings())
    assert "answer nobody" in caplog.text
    assert router.route("/help", PRIVATE, FRIEND).alert


def never_called() -> Callable[[], None]:
    def hook() -> None:
        raise AssertionError("must not be called")

    return hook


def test_rejected_commands_do_not_notify(store: Store) -> None:
    router = make_router(store, on_subscriptions_changed=never_called(), on_channels_changed=never_called())
    router.route("/subscribe 99:99", PRIVATE, FRIEND)
    router.route("/unsubscribe 5", PRIVATE, FRIEND)
    router.route("/unsubscribe", PRIVATE, FRIEND)
    router.route("/watch @balkan_watch", PRIVATE, FRIEND)
    router.route("/unwatch @nobody_here", PRIVATE, ADMIN)
