"""What the live suite (tests/integration, Telegram's test servers) proves, kept proven offline.

The same scenarios on the fake edge: real Telethon TL objects (`types.Message`, `MessageFwdHeader`,
entities, `events.NewMessage.Event`) go through the real listener, pipeline, store, digest and bot
code; only the network is missing. docs/testing.md lists which offline test covers which behaviour.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from telethon import TelegramClient, events
from telethon.extensions import html as telethon_html
from telethon.sessions import StringSession
from telethon.tl import types

from bot.commands.worker import CommandWorker
from bot.core.digest import build_digest
from bot.core.pipeline import Pipeline
from bot.telegram.bot_client import BotClient
from storage.store import Store
from tests.conftest import make_ingest
from tests.test_bot_client import FakeClient
from tests.test_commands import FRIEND, STRANGER, make_router
from tests.tg_factory import BASE, FakeEdge, SleepRecorder, channel, forward_from_channel, message

MFA = channel(3001, "mfa_src", "MFA")
BALKAN = channel(3002, "balkan_w", "Balkan")
SERBIA = channel(3003, "serbia_w", "Serbia")
STATEMENT = (
    "🇷🇺🇷🇸 On 30 November, Foreign Minister Sergey Lavrov held talks in Moscow with the Foreign Minister "
    "of the Republic of Serbia.\n\n"
    "The ministers discussed bilateral cooperation, energy supplies and the situation around Kosovo.\n\n"
    "#RussiaSerbia #Lavrov"
)
PASTED = (
    "Belgrade hosts a conference on energy security in the Western Balkans.\n\n"
    "Delegations from twelve countries attend the two-day meeting at the Sava Centre."
)
LINK = "https://example.org/energy-conference"
CROSSING = "Serbia and Bulgaria open a border crossing near Kalotina. #БългарияСърбия"


def hashtags(text: str) -> list[types.TypeMessageEntity]:
    """Hashtag entities as Telegram sends them (offsets in UTF-16 units)."""
    found, units = [], 0
    for word in text.replace("\n", " ").split(" "):
        if word.startswith("#"):
            found.append(types.MessageEntityHashtag(offset=units, length=len(word.encode("utf-16-le")) // 2))
        units += len(word.encode("utf-16-le")) // 2 + 1
    return found


def source_for(edge: FakeEdge, store: Store, pipeline: Pipeline, **kwargs: Any) -> Any:
    from bot.sources.telethon_source import TelethonSource

    return TelethonSource(edge, make_ingest(store, pipeline), store, sleep=SleepRecorder(), album_wait=0, **kwargs)


def live_scenario(store: Store, pipeline: Pipeline) -> tuple[FakeEdge, dict[str, int]]:
    """Two watched channels forward the MFA statement; each posts its own; all pushed live."""
    edge = FakeEdge([MFA, BALKAN, SERBIA])
    source = source_for(edge, store, pipeline)
    ids = {"statement": 40, "fwd_balkan": 11, "fwd_serbia": 21, "own_balkan": 12, "own_serbia": 22}
    pushed = [
        message(11, STATEMENT, chat=BALKAN.id, fwd_from=forward_from_channel(MFA.id, 40), entities=hashtags(STATEMENT)),
        message(21, STATEMENT, chat=SERBIA.id, fwd_from=forward_from_channel(MFA.id, 40), entities=hashtags(STATEMENT)),
        message(12, CROSSING, chat=BALKAN.id, entities=hashtags(CROSSING)),
        message(22, f"{PASTED}\n\n{PASTED}\n\nMore: {LINK}", chat=SERBIA.id),
    ]
    edge.post(*pushed)

    async def scenario() -> None:
        await source.resolve_channels([f"@{BALKAN.username}", f"https://t.me/{SERBIA.username}"])
        source.register_handlers()
        for msg in pushed:
            await edge.dispatch_new(msg)

    asyncio.run(scenario())
    return edge, ids


def by_message(store: Store) -> dict[tuple[str | None, int], Any]:
    return {(p.channel_username, p.message_id): p for p in store.search(None, include_deleted=True, limit=50)}


def test_live_forwards_share_their_origin_tags_come_from_hashtags_and_the_digest_folds_them(
    store: Store, pipeline: Pipeline
) -> None:
    live_scenario(store, pipeline)
    posts = by_message(store)
    assert set(posts) == {("balkan_w", 11), ("balkan_w", 12), ("serbia_w", 21), ("serbia_w", 22)}
    fwd_balkan, fwd_serbia = posts[("balkan_w", 11)], posts[("serbia_w", 21)]
    assert fwd_balkan.origin_key == fwd_serbia.origin_key and fwd_balkan.origin_key.endswith("/40")
    for post in (fwd_balkan, fwd_serbia):
        assert post.text == STATEMENT
        assert {"#RussiaSerbia", "#Lavrov", "Serbia", "Russia"} <= {t.display for t in post.tags}
    assert posts[("serbia_w", 22)].text == f"{PASTED}\n\nMore: {LINK}"  # pasted twice: kept once, the link stays
    assert "#БългарияСърбия" in {t.display for t in posts[("balkan_w", 12)].tags}
    assert [p.message_id for p in store.search("Kalotina")] == [12]

    digest = build_digest(store.posts_between(BASE, BASE + timedelta(days=1)), BASE, BASE + timedelta(days=1))
    assert (digest.item_count, digest.post_count) == (3, 4)
    (folded,) = [item for section in digest.sections for item in section.items if "Lavrov" in item.first.text]
    assert folded.seen_in == 2


def test_a_live_edit_keeps_the_earlier_text_and_a_deletion_keeps_the_post_out_of_search(
    store: Store, pipeline: Pipeline
) -> None:
    edge, _ = live_scenario(store, pipeline)
    edited = "Serbia and Bulgaria open TWO crossings."

    async def changes() -> None:
        await edge.dispatch_edit(message(12, edited, chat=BALKAN.id, edit_date=BASE + timedelta(hours=1)))
        await edge.dispatch_delete(SERBIA.id, [22])

    asyncio.run(changes())
    posts = by_message(store)
    crossing = posts[("balkan_w", 12)]
    assert crossing.text == edited and crossing.edit_date == BASE + timedelta(hours=1)
    assert "#БългарияСърбия" not in {t.display for t in crossing.tags}
    assert [v.text for v in store.versions(crossing.id)][:1] == [CROSSING]
    assert [tuple(r) for r in store.db.execute("SELECT raw_text FROM post_versions")] == [(CROSSING,)]
    ((raw, deleted_at),) = store.db.execute("SELECT raw_text, deleted_at FROM posts WHERE deleted = 1").fetchall()
    assert raw == f"{PASTED}\n\n{PASTED}\n\nMore: {LINK}" and deleted_at is not None
    assert store.search("Sava Centre") == []  # deleted on Telegram: flagged, kept, out of search
    assert [p.message_id for p in store.search("crossings")] == [12]


def test_catch_up_after_a_restart_stores_exactly_what_was_missed_once(store: Store, pipeline: Pipeline) -> None:
    edge, _ = live_scenario(store, pipeline)
    first = source_for(edge, store, pipeline)
    asyncio.run(first.resolve_channels(["@balkan_w", "@serbia_w"]))
    assert {k: r.inserted for k, r in asyncio.run(first.catch_up()).items()} == {"@balkan_w": 0, "@serbia_w": 0}
    before = set(by_message(store))
    # Down: three posts published; a new process starts and catches up.
    edge.post(
        message(13, "Missed one: consultations on the UN agenda.", chat=BALKAN.id),
        message(14, "Missed two: a visa agreement signed.", chat=BALKAN.id),
        message(23, "Missed three: grain deliveries resume.", chat=SERBIA.id),
    )
    edge.calls.clear()
    restarted = source_for(edge, store, pipeline)
    asyncio.run(restarted.resolve_channels(["@balkan_w", "@serbia_w"]))
    result = asyncio.run(restarted.catch_up())
    assert sum(r.inserted for r in result.values()) == 3
    assert set(by_message(store)) - before == {("balkan_w", 13), ("balkan_w", 14), ("serbia_w", 23)}
    assert {(tg_id, kw["min_id"]) for tg_id, kw in edge.calls} == {(BALKAN.id, 12), (SERBIA.id, 22)}  # the checkpoints
    assert sum(r.inserted for r in asyncio.run(restarted.catch_up()).values()) == 0  # and only once


# ------------------------------------------------------------------------------------ the bot
OFFLINE_CLIENT = TelegramClient(StringSession(), 1, "0" * 32)


def event_from(text: str, sender: Any, msg_id: int = 700) -> events.NewMessage.Event:
    """A private message to the bot as Telethon delivers it: a real Message inside a real NewMessage event."""
    person = types.User(id=sender.id, access_hash=5, first_name=sender.name, username=sender.username)
    msg = types.Message(
        id=msg_id,
        peer_id=types.PeerUser(sender.id),
        from_id=types.PeerUser(sender.id),
        date=BASE,
        message=text,
    )
    event = events.NewMessage.Event(msg)
    event._entities = {sender.id: person}
    event._set_client(OFFLINE_CLIENT)  # never connected: the event reads only its entity cache
    return event


def test_the_bot_answers_search_latest_and_post_as_telegram_html_and_refuses_a_stranger(
    store: Store, pipeline: Pipeline
) -> None:
    texts = [f"Briefing {n}: Lavrov on relations with Serbia, part {n}." for n in range(1, 8)]
    edge = FakeEdge([BALKAN])
    edge.post(*(message(n, text, chat=BALKAN.id) for n, text in enumerate(texts, start=1)))
    source = source_for(edge, store, pipeline)
    asyncio.run(source.resolve_channels(["@balkan_w"]))
    asyncio.run(source.catch_up())
    client = FakeClient()
    bot = BotClient(client, CommandWorker.inline(make_router(store)), sleep=SleepRecorder())  # type: ignore[arg-type]

    def ask(text: str, who: Any = FRIEND) -> tuple[str, list[Any], dict[str, Any]]:
        client.sent.clear()
        asyncio.run(bot.on_message(event_from(text, who)))
        ((chat_id, html, kwargs),) = client.sent
        assert chat_id == who.id and kwargs["parse_mode"] == "html"
        plain, entities = telethon_html.parse(html)  # what Telegram would receive: valid, parsed
        return plain, [type(e).__name__ for e in entities], kwargs

    found, entities, kwargs = ask("/search Lavrov")
    assert "Briefing 7: Lavrov on relations with Serbia" in found and "MessageEntityBold" in entities
    assert [[b.text for b in row] for row in kwargs["buttons"]] == [["Next »"]]  # 7 hits, 5 a page
    latest, _, _ = ask("/latest")
    assert latest.index("Briefing 7") < latest.index("Briefing 3")  # newest first
    post_id = next(p.id for p in store.search("part 4"))
    full, entities, _ = ask(f"/post {post_id}")
    assert texts[3] in full and "MessageEntityTextUrl" in entities  # "Open in Telegram"
    refused, _, _ = ask("/search Lavrov", STRANGER)
    assert refused.startswith("Sorry, this is a private bot") and str(STRANGER.id) in refused
    assert "Lavrov" not in refused
