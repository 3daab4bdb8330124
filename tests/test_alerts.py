from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telethon.errors import ChatWriteForbiddenError, FloodWaitError

from bot.app.alerts import Alerter, alert_chat_id
from bot.config import Settings
from bot.core.alerts import AlertRules
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, Forward, RawPost
from bot.outputs import ConsoleSender
from bot.outputs.telegram import TelethonBotSender
from bot.scheduler import Scheduler
from storage.alerts import AlertLog
from storage.store import Store
from tests.conftest import make_ingest, raw_post
from tests.fake_bot import FakeBotClient
from tests.tg_factory import SleepRecorder

pytestmark = pytest.mark.both_backends

SOFIA = ZoneInfo("Europe/Sofia")
CHAT = -100222
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
MFA = Forward(channel_id=555, message_id=42, name="Russian MFA")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def alerter(
    store: Store,
    client: FakeBotClient,
    clock: Clock,
    *,
    tags: tuple[str, ...] = ("kosovo",),
    words: tuple[str, ...] = ("Вучич", "резолюция 1244", "серби*"),
    rate: int = 20,
) -> Alerter:
    return Alerter(
        store=store,
        sender=TelethonBotSender(client, sleep=SleepRecorder()),
        chat_id=CHAT,
        rules=AlertRules.from_settings(tags, words),
        tz=SOFIA,
        rate_per_minute=rate,
        clock=clock,
    )


def ingest(store: Store, pipeline: Pipeline, *raws: RawPost) -> list[int]:
    return list(make_ingest(store, pipeline).save(raws).new_ids)


def at(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


def test_words_match_case_insensitively_in_cyrillic_and_tags_match(store: Store, pipeline: Pipeline) -> None:
    ids = ingest(
        store,
        pipeline,
        raw_post(1, "ВУЧИЧ заяви, че няма да признае независимостта.", date=at(50)),
        raw_post(2, "Совбез обсудил Резолюция   1244 и ситуацию.", date=at(40)),
        raw_post(3, "Посол Сербии встретился с коллегами.", date=at(30)),
        raw_post(4, "Вучичев кабинет: no whole-word match here.", date=at(20)),
        raw_post(5, "Pristina and Belgrade talk about Kosovo again.", date=at(10)),
        raw_post(6, "Weather in Sofia is fine.", date=at(5)),
    )
    client = FakeBotClient()
    run = asyncio.run(alerter(store, client, Clock(NOW)).check(ids))
    assert run.sent == [ids[0], ids[1], ids[2], ids[4]]
    headlines = [s.text.splitlines()[0] for s in client.sent]
    assert headlines[0] == "🔔 Вучич"
    assert headlines[1] == "🔔 резолюция 1244"
    assert headlines[2] == "🔔 серби*"
    assert "Kosovo" in headlines[3]
    assert all(s.chat == CHAT and s.parse_mode == "html" for s in client.sent)
    assert client.sent[0].html.endswith('<a href="https://t.me/watcher/1">open</a>')


def test_words_match_any_form_and_script_quotes_match_exactly(store: Store, pipeline: Pipeline) -> None:
    rules = AlertRules.from_settings([], ["Вучич", '"провёл переговоры"', "🇷🇸"])
    cases = {
        "Predsednik Vučića je rekao": ["Вучич"],
        "ВУЧИЧА пригласили": ["Вучич"],
        "Лавров провёл переговоры": ['"провёл переговоры"'],
        "Лавров провел переговоры": [],
        "🇷🇺🇷🇸 Talks": ["🇷🇸"],
    }
    ids = ingest(store, pipeline, *(raw_post(n, text) for n, text in enumerate(cases, start=1)))
    for post_id, (text, reasons) in zip(ids, cases.items(), strict=True):
        post = store.get_post(post_id)
        assert post is not None and rules.reasons(post) == reasons, text


def test_forwards_of_one_origin_alert_once_and_no_post_twice(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    statement = "Lavrov and Vucic discussed Kosovo in Belgrade."
    first = ingest(
        store,
        pipeline,
        *(
            raw_post(10 + i, statement, channel=ChannelRef(tg_id=i, username=f"ch{i}"), forward=MFA, date=at(30 - i))
            for i in range(1, 4)
        ),
    )
    client = FakeBotClient()
    alerts = alerter(store, client, Clock(NOW))
    run = asyncio.run(alerts.check(first))
    assert run.sent == [first[0]] and run.folded == first[1:]
    # a copy of the same text without a forward header, later: still the same statement
    later = ingest(
        store, pipeline, raw_post(50, statement, channel=ChannelRef(tg_id=9, username="copycat"), date=at(1))
    )
    assert asyncio.run(alerts.check(later)).folded == later
    assert asyncio.run(alerts.check(first + later)).sent == []
    store.close()
    reopened = Store.open(tmp_path / "archive.db")  # a restart
    try:
        again = FakeBotClient()
        assert asyncio.run(alerter(reopened, again, Clock(NOW)).check(first + later)).sent == []
        assert again.sent == [] and len(client.sent) == 1
        assert AlertLog(reopened.db).sent(CHAT) == [(first[0], client.sent[0].id)]
    finally:
        reopened.close()


def test_rate_limit_queues_the_excess_for_later_runs_even_across_a_restart(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    ids = ingest(store, pipeline, *(raw_post(i, f"Kosovo update number {i}.", date=at(30 - i)) for i in range(1, 6)))
    client = FakeBotClient()
    clock = Clock(NOW)
    alerts = alerter(store, client, clock, rate=2)
    first = asyncio.run(alerts.check(ids))
    assert first.sent == ids[:2] and first.backlog
    assert asyncio.run(alerts.check()).sent == []  # same minute: still full
    clock.now += timedelta(seconds=61)
    assert asyncio.run(alerts.check()).sent == ids[2:4]
    store.close()
    reopened = Store.open(tmp_path / "archive.db")
    try:
        clock.now += timedelta(seconds=61)
        run = asyncio.run(alerter(reopened, client, clock, rate=2).check())
        assert run.sent == ids[4:] and not run.backlog
        assert [s.text.splitlines()[2] for s in client.sent] == [f"Kosovo update number {i}." for i in range(1, 6)]
    finally:
        reopened.close()


def test_alerts_are_escaped_and_valid_telegram_html(store: Store, pipeline: Pipeline) -> None:
    hostile = '<b>Kosovo</b> & <script>alert(1)</script> "quoted" \u202eRTL 🇷🇸'
    ids = ingest(store, pipeline, raw_post(1, hostile, channel=ChannelRef(tg_id=3, username="a_b"), date=at(3)))
    client = FakeBotClient()
    asyncio.run(alerter(store, client, Clock(NOW)).check(ids))
    (message,) = client.sent
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "&lt;b&gt;Kosovo&lt;/b&gt; &amp;" in message.html
    assert "\u202e" not in message.html
    assert '<b>Kosovo</b> & <script>alert(1)</script> "quoted"' in message.text  # what the reader sees


def test_old_posts_and_the_archive_before_the_first_run_are_not_alerted(store: Store, pipeline: Pipeline) -> None:
    archive = ingest(store, pipeline, raw_post(1, "Kosovo archive post.", date=at(60 * 24 * 30)))
    client = FakeBotClient()
    alerts = alerter(store, client, Clock(NOW))
    imported = ingest(store, pipeline, raw_post(2, "Kosovo imported, three days old.", date=at(60 * 72)))
    fresh = ingest(store, pipeline, raw_post(3, "Kosovo fresh news.", date=at(2)))
    run = asyncio.run(alerts.check(imported + fresh))
    assert run.sent == fresh and archive[0] not in run.sent


def test_transient_failure_is_retried_permanent_failure_given_up(store: Store, pipeline: Pipeline) -> None:
    ids = ingest(store, pipeline, *(raw_post(i, f"Kosovo item {i}.", date=at(10 - i)) for i in range(1, 4)))
    client = FakeBotClient(script={1: FloodWaitError(request=None, capture=100_000)})  # too long to wait
    alerts = alerter(store, client, Clock(NOW))
    run = asyncio.run(alerts.check(ids))
    assert run.sent == [] and run.backlog
    assert AlertLog(store.db).sent(CHAT) == []  # the claim was released
    client.script = {3: ChatWriteForbiddenError(request=None)}  # the second post hits a permanent error
    run = asyncio.run(alerts.check())
    assert run.sent == [ids[0], ids[2]] and run.failed == [ids[1]]
    assert asyncio.run(alerts.check()).sent == []  # the failed one is not retried forever


def test_no_rules_means_no_alerts(store: Store, pipeline: Pipeline) -> None:
    ids = ingest(store, pipeline, raw_post(1, "Kosovo.", date=at(1)))
    client = FakeBotClient()
    run = asyncio.run(alerter(store, client, Clock(NOW), tags=(), words=()).check(ids))
    assert run.sent == [] and client.sent == []


def test_the_periodic_run_drains_the_backlog_on_the_real_scheduler(store: Store, pipeline: Pipeline) -> None:
    ids = ingest(store, pipeline, *(raw_post(i, f"Kosovo bulletin {i}.", date=at(10 - i)) for i in range(1, 3)))
    client = FakeBotClient()
    clock = Clock(NOW)
    alerts = alerter(store, client, clock, rate=1)
    assert asyncio.run(alerts.check(ids)).sent == ids[:1]
    clock.now += timedelta(minutes=2)

    async def main() -> None:
        scheduler = Scheduler(UTC)
        alerts.schedule(scheduler, every=0.2)
        scheduler.start()
        try:
            async with asyncio.timeout(5):
                while len(client.sent) < 2:
                    await asyncio.sleep(0.05)
        finally:
            await scheduler.stop(0)

    asyncio.run(main())
    assert [s.text.splitlines()[2] for s in client.sent] == ["Kosovo bulletin 1.", "Kosovo bulletin 2."]


def test_alert_chat_defaults_to_the_digest_chat_and_console_mode() -> None:
    client = FakeBotClient(peers={"@alerts_here": -100999})
    sender = TelethonBotSender(client)
    assert asyncio.run(alert_chat_id(Settings.from_mapping({"DIGEST_CHAT": "-100123"}), sender)) == -100123
    both = Settings.from_mapping({"DIGEST_CHAT": "-100123", "ALERT_CHAT": "@alerts_here"})
    assert asyncio.run(alert_chat_id(both, sender)) == -100999
    assert asyncio.run(alert_chat_id(Settings.from_mapping({"DIGEST_OUTPUT": "-"}), ConsoleSender())) == 0
    # stdout is the default without a bot (README); DIGEST_OUTPUT=off leaves nowhere to send
    assert asyncio.run(alert_chat_id(Settings.from_mapping({}), ConsoleSender())) == 0
    assert asyncio.run(alert_chat_id(Settings.from_mapping({"DIGEST_OUTPUT": "off"}), ConsoleSender())) is None
