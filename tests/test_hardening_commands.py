"""Attacks on bot replies (issue #13): one command must never flood a chat or break Telegram's limits."""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import CommandRouter
from bot.commands.router import MAX_REPLY_PARTS
from bot.commands.text import reply_of
from bot.core.pipeline import Pipeline
from bot.core.telegram_text import TELEGRAM_LIMIT, split_messages, utf16_len
from bot.models import ChannelRef, Reply
from storage.store import Store
from tests.conftest import make_ingest, raw_post
from tests.test_commands import ADMIN, FRIEND, PRIVATE, make_router

pytestmark = pytest.mark.both_backends
HOSTILE = ChannelRef(tg_id=666, username="hostile_channel", title="\u202eHostile " + "Т" * 5000)


def sane(reply: Reply) -> None:
    """Every part is non-empty and under Telegram's limit; at most MAX_REPLY_PARTS parts."""
    assert reply.parts, "a command answered with silence"
    assert len(reply.parts) <= MAX_REPLY_PARTS, len(reply.parts)
    for part in reply.parts:
        assert part.strip() and utf16_len(part) <= TELEGRAM_LIMIT, utf16_len(part)
        assert "\u202e" not in part


def hashtag_wall(count: int, length: int = 12) -> str:
    rng = random.Random(count)
    return " ".join("#" + "".join(rng.choices(string.ascii_letters, k=length)) for _ in range(count))


def test_post_of_hashtags_then_text_is_a_few_messages_not_thousands(store: Store, pipeline: Pipeline) -> None:
    """A legal 4,096-character post, ~3,980 of them hashtags: 3,414 messages from one tap, before."""
    text = hashtag_wall(300)[:3980] + "\n\n" + "Lavrov met Vucic in Moscow. " * 4
    make_ingest(store, pipeline).save([raw_post(1, text[:4096], channel=HOSTILE)])
    reply = make_router(store).route("/post 1", PRIVATE, FRIEND)
    sane(reply)
    assert len(reply.parts) <= 3
    assert "+" in reply.parts[0] and "more" in reply.parts[0]  # the header names 15 tags and counts the rest


def test_one_enormous_hashtag_breaks_neither_post_nor_tags_nor_search(store: Store, pipeline: Pipeline) -> None:
    giant = "#" + "Ж" * 4096
    make_ingest(store, pipeline).save(
        [raw_post(1, giant, channel=HOSTILE), raw_post(2, f"Kosovo talks {giant}", channel=HOSTILE)]
    )
    router = make_router(store)
    for command in ("/post 1", "/post 2", "/tags", "/search Kosovo", "/latest", "/stats", "/digest week"):
        sane(router.route(command, PRIVATE, FRIEND))
    sane(router.route("/channels", PRIVATE, ADMIN))


def test_subscribe_refuses_a_huge_tag_and_subscriptions_stays_readable(store: Store) -> None:
    router = make_router(store)
    refused = router.route("/subscribe #" + "x" * 4000, PRIVATE, FRIEND)
    assert "at most 64 characters" in refused.parts[0]
    too_many = router.route("/subscribe " + " ".join(f"#t{i}" for i in range(11)), PRIVATE, FRIEND)
    assert "At most 10 tags" in too_many.parts[0]
    assert router.route("/subscribe " + " ".join("#" + "y" * 60 + str(i) for i in range(10)), PRIVATE, FRIEND).parts
    sane(router.route("/subscriptions", PRIVATE, FRIEND))


def test_a_reply_longer_than_the_cap_is_cut_with_a_note(store: Store, pipeline: Pipeline) -> None:
    long_post = "\n\n".join(f"Paragraph {i}: " + "слово " * 120 for i in range(120))  # ~90k characters
    make_ingest(store, pipeline).save([raw_post(1, long_post, channel=HOSTILE)])
    reply = make_router(store).route("/post 1", PRIVATE, FRIEND)
    sane(reply)
    assert len(reply.parts) == MAX_REPLY_PARTS and reply.parts[-1].startswith("… cut here:")


def test_one_line_over_the_limit_is_one_part_not_an_empty_one() -> None:
    reply = reply_of("x" * 5000)
    assert len(reply.parts) == 1 and 0 < utf16_len(reply.parts[0]) <= TELEGRAM_LIMIT


def test_direction_overrides_are_stripped_from_every_reply(store: Store, pipeline: Pipeline) -> None:
    make_ingest(store, pipeline).save([raw_post(1, "Kosovo \u202etxet desrever\u202c ok", channel=HOSTILE)])
    router: CommandRouter = make_router(store)
    for command in ("/post 1", "/search Kosovo", "/latest"):
        reply = router.route(command, PRIVATE, FRIEND)
        assert all("\u202e" not in part and "\u202c" not in part for part in reply.parts)


@settings(max_examples=150, deadline=None)
@given(
    header=st.text(max_size=5000),
    blocks=st.lists(st.tuples(st.none() | st.text(max_size=3000), st.text(max_size=6000)), max_size=8),
)
def test_split_never_emits_an_empty_or_oversize_part(header: str, blocks: list[tuple[str | None, str]]) -> None:
    for part in split_messages(header, blocks):
        assert part.strip() and utf16_len(part) <= TELEGRAM_LIMIT


def test_control_characters_in_a_command_are_spaces_not_a_crash(store: Store, pipeline: Pipeline) -> None:
    """A NUL reached PostgreSQL, which refuses text holding one: "something went wrong" for /tag, /latest,
    /subscribe and /alert add there. Every command now reads control characters (but tab and newline) as spaces."""
    make_ingest(store, pipeline).save([raw_post(1, "Kosovo talks #Serbia")])
    router = make_router(store)
    for command in ("/tag a\x00b", "/latest #a\x00b", "/subscribe #a\x00b", "/search Kosovo\x00", "/tags \x00"):
        reply = router.route(command, PRIVATE, FRIEND)
        sane(reply)
        assert "went wrong" not in reply.parts[0], (command, reply.parts[0])
    added = router.route("/alert add Kosovo\x00talks\x1f", PRIVATE, FRIEND).parts[0]
    assert "Rule 1 added: <code>(kosovo AND talks)</code>" in added
    [rule] = store.alert_rules.of_user(FRIEND.id)
    assert "\x00" not in rule.rule and "\x1f" not in rule.rule


def test_a_since_date_at_datetime_s_ends_is_answered(store: Store) -> None:
    """since:0001-01-01 in an east-of-UTC zone is year 0 in UTC (an OverflowError before)."""
    reply = make_router(store).route("/search Kosovo since:0001-01-01", PRIVATE, FRIEND)
    assert "I could not read" in reply.parts[0] and "went wrong" not in reply.parts[0]
