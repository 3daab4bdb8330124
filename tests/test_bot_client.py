from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from telethon.errors import FloodWaitError, MessageNotModifiedError
from telethon.tl.functions.bots import SetBotCommandsRequest

from bot.commands import CommandRouter
from bot.commands.worker import CommandWorker
from bot.core.digest import TELEGRAM_LIMIT, utf16_len
from bot.core.pipeline import Pipeline
from bot.telegram.bot_client import BotClient, plain
from storage.store import Store
from tests.conftest import raw_post
from tests.test_commands import BASE, FRIEND, GROUP, GROUP_MEMBER, STRANGER, make_router


class FakeClient:
    """The few TelegramClient methods BotClient uses, recording what it was asked to do."""

    def __init__(self, flood_first_send: bool = False) -> None:
        self.handlers: list[tuple[Any, Any]] = []
        self.sent: list[tuple[int, str, dict[str, Any]]] = []
        self.requests: list[Any] = []
        self.token: str | None = None
        self._flood = flood_first_send

    def add_event_handler(self, callback: Any, event: Any) -> None:
        self.handlers.append((callback, event))

    def remove_event_handler(self, callback: Any) -> None:
        self.handlers = [(c, e) for c, e in self.handlers if c != callback]

    async def start(self, bot_token: str) -> FakeClient:
        self.token = bot_token
        return self

    async def get_me(self) -> Any:
        return SimpleNamespace(username="TgMonitorBot")

    async def __call__(self, request: Any) -> None:
        self.requests.append(request)

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> int:
        if self._flood:
            self._flood = False
            raise FloodWaitError(request=None, capture=3)
        self.sent.append((chat_id, text, kwargs))
        return len(self.sent)


class MessageEvent(SimpleNamespace):
    pass


class CallbackEvent(SimpleNamespace):
    async def answer(self, message: str | None = None, alert: bool = False) -> None:
        self.answers.append((message, alert))

    async def edit(self, text: str, **kwargs: Any) -> None:
        if getattr(self, "not_modified", False):
            raise MessageNotModifiedError(request=None)
        self.edits.append((text, kwargs))


def message(text: str, user: Any = FRIEND, chat_id: int | None = None, private: bool = True) -> MessageEvent:
    return MessageEvent(
        raw_text=text,
        id=501,
        chat_id=chat_id if chat_id is not None else user.id,
        sender_id=user.id,
        is_private=private,
        sender=SimpleNamespace(username=user.username, first_name=user.name),
        chat=None if private else SimpleNamespace(title="Balkan desk"),
    )


def callback(data: str, user: Any = FRIEND) -> CallbackEvent:
    return CallbackEvent(
        data=data.encode(),
        chat_id=user.id,
        sender_id=user.id,
        is_private=True,
        sender=SimpleNamespace(username=user.username, first_name=user.name),
        chat=None,
        answers=[],
        edits=[],
    )


def button_data(markup: Any) -> list[list[tuple[str, bytes]]]:
    def data(button: Any) -> bytes:
        return getattr(button, "data", None) or button.type.data

    return [[(b.text, data(b)) for b in row] for row in markup or []]


def bot_for(store: Store, client: FakeClient, router: CommandRouter | None = None) -> tuple[BotClient, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    router = router or make_router(store)
    return BotClient(client, CommandWorker.inline(router), sleep=sleep), slept  # type: ignore[arg-type]


def test_start_logs_in_registers_and_publishes_the_menu(store: Store) -> None:
    client = FakeClient()
    bot, _ = bot_for(store, client)
    bot.router.bot_username = None  # learnt from get_me()
    assert asyncio.run(bot.start("123456:token")) == "TgMonitorBot"
    assert client.token == "123456:token" and bot.router.bot_username == "TgMonitorBot"
    assert len(client.handlers) == 2
    (request,) = client.requests
    assert isinstance(request, SetBotCommandsRequest)
    names = [c.command for c in request.commands]
    assert "search" in names and "watch" not in names
    bot.stop()
    assert client.handlers == []


def test_a_server_that_cannot_set_the_menu_still_gets_an_answering_bot(store: Store) -> None:
    """Telethon retries a 500 answer (e.g. NOT_IMPLEMENTED from a test server) and then raises ValueError."""

    class Refusing(FakeClient):
        async def __call__(self, request: Any) -> None:
            raise ValueError("Request was unsuccessful 6 time(s)")

    refusing = Refusing()
    bot, _ = bot_for(store, refusing)
    assert asyncio.run(bot.start()) == "TgMonitorBot"
    assert len(refusing.handlers) == 2  # commands are answered without the menu


def test_start_on_a_client_already_logged_in(store: Store) -> None:
    client = FakeClient()
    bot, _ = bot_for(store, client)
    asyncio.run(bot.start(publish_commands=False))
    asyncio.run(bot.start(publish_commands=False))
    assert client.token is None and client.requests == [] and len(client.handlers) == 2


def test_message_is_answered_in_html_with_buttons_on_the_last_part(store: Store, pipeline: Pipeline) -> None:
    store.save_posts(
        [
            pipeline.process(raw_post(i, f"Kosovo talks & <b>news</b> {i}", date=BASE + timedelta(minutes=i)))
            for i in range(8)
        ]
    )
    client = FakeClient()
    bot, _ = bot_for(store, client)
    asyncio.run(bot.on_message(message("/search Kosovo")))
    ((chat_id, text, kwargs),) = client.sent
    assert chat_id == FRIEND.id and "talks &amp; &lt;b&gt;news&lt;/b&gt;" in text
    assert kwargs["parse_mode"] == "html" and kwargs["link_preview"] is False and kwargs["reply_to"] is None
    assert button_data(kwargs["buttons"]) == [[("Next »", b"s5=Kosovo")]]


def test_group_replies_quote_the_command_and_long_answers_are_split(store: Store, pipeline: Pipeline) -> None:
    long = "Statement on regional security and cooperation in the Western Balkans " * 6
    store.save_posts(
        [pipeline.process(raw_post(i, f"Item {i}: {long}", date=BASE + timedelta(minutes=i))) for i in range(1, 41)]
    )
    client = FakeClient()
    bot, _ = bot_for(store, client)
    asyncio.run(bot.on_message(message("/latest 30", GROUP_MEMBER, chat_id=GROUP.id, private=False)))
    assert len(client.sent) > 1
    assert all(utf16_len(text) <= TELEGRAM_LIMIT for _, text, _ in client.sent)
    assert client.sent[0][2]["reply_to"] == 501 and client.sent[1][2]["reply_to"] is None
    assert [kw["buttons"] is not None for _, _, kw in client.sent] == [False] * (len(client.sent) - 1) + [True]


def test_next_button_edits_the_message(store: Store, pipeline: Pipeline) -> None:
    store.save_posts(
        [pipeline.process(raw_post(i, f"Kosovo round {i}", date=BASE + timedelta(minutes=i))) for i in range(1, 9)]
    )
    client = FakeClient()
    bot, _ = bot_for(store, client)
    event = callback("s5=Kosovo")
    asyncio.run(bot.on_callback(event))
    assert event.answers == [(None, False)]
    ((text, kwargs),) = event.edits
    assert "round 3" in text and "round 1" in text and "round 8" not in text
    assert button_data(kwargs["buttons"]) == [[("« Prev", b"s0=Kosovo")]]
    assert client.sent == []

    pressed_twice = callback("s5=Kosovo")
    pressed_twice.not_modified = True
    asyncio.run(bot.on_callback(pressed_twice))  # no exception escapes
    assert pressed_twice.answers == [(None, False)]


def test_stranger_pressing_a_button_gets_a_popup_not_an_edit(store: Store) -> None:
    client = FakeClient()
    bot, _ = bot_for(store, client)
    first, second = callback("s5=Kosovo", STRANGER), callback("s5=Kosovo", STRANGER)
    asyncio.run(bot.on_callback(first))
    asyncio.run(bot.on_callback(second))
    assert first.edits == [] and first.answers[0][1] is True and "private bot" in first.answers[0][0]
    assert "<code>" not in first.answers[0][0] and len(first.answers[0][0]) <= 200
    assert second.answers == [(None, False)]  # silence still stops the button's spinner


def test_flood_wait_on_send_is_waited_out(store: Store) -> None:
    client = FakeClient(flood_first_send=True)
    bot, slept = bot_for(store, client)
    asyncio.run(bot.on_message(message("/help")))
    assert slept == [4] and len(client.sent) == 1


def test_channel_posts_and_silent_replies_send_nothing(store: Store) -> None:
    client = FakeClient()
    bot, _ = bot_for(store, client)
    channel_post = message("/search x")
    channel_post.sender_id = None
    asyncio.run(bot.on_message(channel_post))
    asyncio.run(bot.on_message(message("/search@OtherBot x", GROUP_MEMBER, chat_id=GROUP.id, private=False)))
    assert client.sent == []


def test_plain_strips_tags_and_entities() -> None:
    assert plain("Sorry, id <code>5</code> &amp; more") == "Sorry, id 5 & more"
    assert len(plain("x" * 500)) == 200
