"""Edit and deletion alerts (bot/app/edit_alerts.py): what is alerted, once, within the shared rate limit.

Real store, real ingest, the bot fake that parses every message with Telethon's HTML parser and
enforces Telegram's length limit (tests/fake_bot.py).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from telethon.errors import ChatWriteForbiddenError, FloodWaitError

from bot.app.alerts import Alerter
from bot.app.edit_alerts import EditAlerter, make_edit_alerter
from bot.config import Settings, SettingsError
from bot.core.alerts import AlertRules
from bot.core.channels import parse_channel
from bot.core.edits import EditWatch
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef
from bot.outputs.telegram import TelethonBotSender
from storage.store import Store
from tests.conftest import make_ingest, raw_post
from tests.fake_bot import FakeBotClient
from tests.tg_factory import SleepRecorder

pytestmark = pytest.mark.both_backends

SOFIA = ZoneInfo("Europe/Sofia")
CHAT = -100222
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WATCHER = ChannelRef(tg_id=1001, username="watcher", title="Watcher")
OTHER = ChannelRef(tg_id=2002, username="other", title="Other")
STATEMENT = "Serbia will not introduce sanctions against Russia, President Vucic said in Belgrade."


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(store: Store) -> Clock:
    fixed = Clock(NOW)
    store.clock = fixed
    return fixed


def edit_alerter(
    store: Store, client: FakeBotClient, clock: Clock, *, watch: tuple[str, ...] = ("@watcher",), rate: int = 20
) -> EditAlerter:
    return EditAlerter(
        store=store,
        sender=TelethonBotSender(client, sleep=SleepRecorder()),
        chat_id=CHAT,
        watch=EditWatch.parse(watch),
        tz=SOFIA,
        rate_per_minute=rate,
        clock=clock,
    )


def post(store: Store, pipeline: Pipeline, message_id: int, text: str, **extra: object) -> int:
    result = make_ingest(store, pipeline).save([raw_post(message_id, text, date=NOW - timedelta(hours=2), **extra)])
    return (result.new_ids or result.updated_ids or (0,))[0]


def edit(store: Store, pipeline: Pipeline, clock: Clock, message_id: int, text: str, minutes: int, **extra: object):
    clock.now = NOW + timedelta(minutes=minutes)
    edit_date = NOW + timedelta(minutes=minutes - 1)
    return post(store, pipeline, message_id, text, edit_date=edit_date, **extra)


def test_a_substantive_edit_is_alerted_once_with_its_diff(store: Store, pipeline: Pipeline, clock: Clock) -> None:
    client = FakeBotClient()
    alerter = edit_alerter(store, client, clock)
    alerter.start()
    post_id = post(store, pipeline, 7, STATEMENT)
    edit(store, pipeline, clock, 7, STATEMENT.replace("will not introduce", "will introduce"), 5)
    run = asyncio.run(alerter.check())
    assert run.sent == [(post_id, 2)] and not run.backlog
    [sent] = client.sent
    assert sent.chat == CHAT
    assert sent.html == (
        "✏️ <b>Edited</b> · @watcher · <i>20 Nov 11:04</i>\n"
        "<i>posted 20 Nov 09:00 · version 1 → 2 · changed: negation</i>\n\n"
        "Serbia will <s>not</s> introduce sanctions against Russia, President Vucic said in Belgrade.\n"
        '<a href="https://t.me/watcher/7">open</a>'
    )
    assert asyncio.run(alerter.check()).sent == []  # at most once per version
    assert store.edit_alert_log.decisions(CHAT) == [(post_id, 2, "sent", sent.id)]
    # A restarted process (a new alerter on the same archive) does not send it again either.
    assert asyncio.run(edit_alerter(store, client, clock).check()).sent == [] and len(client.sent) == 1


def test_minor_edits_other_channels_and_old_edits_are_decided_but_not_sent(
    store: Store, pipeline: Pipeline, clock: Clock
) -> None:
    client = FakeBotClient()
    alerter = edit_alerter(store, client, clock)
    alerter.start()
    typo = post(store, pipeline, 1, "The talks were productive and long, the minister said.")
    elsewhere = post(store, pipeline, 2, STATEMENT, channel=OTHER)
    old = NOW - timedelta(days=3)
    (imported,) = make_ingest(store, pipeline).save([raw_post(3, "Gas deal for 2026 signed.", date=old)]).new_ids
    edit(store, pipeline, clock, 1, "The talks were productiv and long, the minister said. 👍 https://x.org", 1)
    edit(store, pipeline, clock, 2, STATEMENT.replace("not ", ""), 2, channel=OTHER)
    clock.now = NOW + timedelta(minutes=3)
    make_ingest(store, pipeline).save(  # an export re-imported: edited two days ago, learned now
        [raw_post(3, "Gas deal for 2027 signed.", date=old, edit_date=NOW - timedelta(days=2))]
    )
    run = asyncio.run(alerter.check())
    assert run.sent == [] and run.skipped == [(typo, 2), (elsewhere, 2), (imported, 2)]
    assert client.sent == []
    # ALERT_EDITS=all covers the other channel, but the decisions already made for this chat stand.
    assert asyncio.run(edit_alerter(store, client, clock, watch=("all",)).check()).skipped == []


def test_edits_from_before_alerts_started_are_not_owed(store: Store, pipeline: Pipeline, clock: Clock) -> None:
    client = FakeBotClient()
    post(store, pipeline, 7, STATEMENT)
    edit(store, pipeline, clock, 7, STATEMENT.replace("Belgrade", "Moscow"), 5)
    clock.now = NOW + timedelta(minutes=10)
    alerter = edit_alerter(store, client, clock)
    alerter.start()
    assert asyncio.run(alerter.check()).sent == []
    edit(store, pipeline, clock, 7, STATEMENT.replace("Belgrade", "Minsk"), 20)
    assert [v for _, v in asyncio.run(alerter.check()).sent] == [3]
    assert "<s>Moscow</s> <b>Minsk</b>" in client.sent[0].html


def test_a_deletion_in_a_watched_channel_sends_the_kept_text(store: Store, pipeline: Pipeline, clock: Clock) -> None:
    client = FakeBotClient()
    alerter = edit_alerter(store, client, clock)
    alerter.start()
    post_id = post(store, pipeline, 7, "Lavrov & Vucic: <talks> postponed.")
    post(store, pipeline, 8, "Something else", channel=OTHER)
    clock.now = NOW + timedelta(minutes=30)
    make_ingest(store, pipeline).mark_deleted(WATCHER, [7])
    make_ingest(store, pipeline).mark_deleted(OTHER, [8])
    run = asyncio.run(alerter.check())
    assert run.sent == [(post_id, 0)] and len(run.skipped) == 1
    assert client.sent[0].html == (
        "🗑 <b>Deleted</b> · @watcher · <i>noticed 20 Nov 11:30</i>\n"
        "<i>posted 20 Nov 09:00 · kept in the archive</i>\n\n"
        "Lavrov &amp; Vucic: &lt;talks&gt; postponed.\n"
        '<a href="https://t.me/watcher/7">open</a>'
    )


def test_edits_use_at_most_half_the_rate_and_never_starve_new_post_alerts(
    store: Store, pipeline: Pipeline, clock: Clock
) -> None:
    """Issue #27 item 3: edits and deletions took the whole shared budget; now they get half of it."""
    client = FakeBotClient()
    edits = edit_alerter(store, client, clock, rate=4)
    edits.start()
    ids = [post(store, pipeline, i, f"Talks in Belgrade number {i}.") for i in range(1, 6)]
    for i in range(1, 6):
        edit(store, pipeline, clock, i, f"Talks in Moscow number {i + 10}.", 1)
    first = asyncio.run(edits.check())
    assert len(first.sent) == 2 and first.backlog  # half of the 4 a minute
    alerts = Alerter(
        store=store,
        sender=TelethonBotSender(client, sleep=SleepRecorder()),
        chat_id=CHAT,
        rules=AlertRules.from_settings(["kosovo"], []),
        tz=SOFIA,
        rate_per_minute=4,
        clock=clock,
    )
    news = make_ingest(store, pipeline).save([raw_post(50, "Kosovo: a new statement.", date=clock.now)]).new_ids
    more = make_ingest(store, pipeline).save([raw_post(51, "Kosovo: another one.", date=clock.now)]).new_ids
    assert asyncio.run(alerts.check([*news, *more])).sent == [*news, *more]  # the other half is theirs
    assert asyncio.run(edits.check()).sent == []  # 4 in the minute: the edits wait as well
    clock.now += timedelta(seconds=61)
    second = asyncio.run(edits.check())
    assert len(second.sent) == 2 and second.backlog
    clock.now += timedelta(seconds=61)
    third = asyncio.run(edits.check())
    assert len(third.sent) == 1 and not third.backlog
    assert [k[0] for k in first.sent + second.sent + third.sent] == ids  # oldest first, nothing dropped


def test_send_failures_retry_or_give_up(store: Store, pipeline: Pipeline, clock: Clock) -> None:
    client = FakeBotClient(script={1: FloodWaitError(request=None, capture=3600), 2: ChatWriteForbiddenError(None)})
    alerter = edit_alerter(store, client, clock)
    alerter.start()
    first = post(store, pipeline, 1, STATEMENT)
    second = post(store, pipeline, 2, "Talks in Belgrade on Monday.")
    edit(store, pipeline, clock, 1, STATEMENT.replace("Vucic", "Dacic"), 1)
    edit(store, pipeline, clock, 2, "Talks in Belgrade on Tuesday.", 2)
    run = asyncio.run(alerter.check())
    assert run.backlog and run.sent == [] and store.edit_alert_log.decisions(CHAT) == []  # released
    run = asyncio.run(alerter.check())  # call 2: the bot was removed from the chat: given up
    assert run.failed == [(first, 2)] and run.sent == [(second, 2)]
    assert [d[2] for d in store.edit_alert_log.decisions(CHAT)] == ["failed", "sent"]


def test_alert_edits_setting_is_validated_and_wired(store: Store) -> None:
    settings = Settings.from_mapping({"ALERT_EDITS": "@MFA_Russia, t.me/balkan_watch, -1001234567890"})
    assert settings.alert_edits == ("@MFA_Russia", "t.me/balkan_watch", "-1001234567890")
    assert Settings.from_mapping({"ALERT_EDITS": "ALL"}).alert_edits == ("all",)
    with pytest.raises(SettingsError, match=r"ALERT_EDITS \(environment\): expected 'all' or .*not both"):
        Settings.from_mapping({"ALERT_EDITS": "all, @mfa_russia"})
    with pytest.raises(SettingsError, match=r"ALERT_EDITS.*'#news' is not a channel"):
        Settings.from_mapping({"ALERT_EDITS": "@mfa_russia, #news"}, channel_check=parse_channel)
    alerter = make_edit_alerter(settings, store, TelethonBotSender(FakeBotClient()), CHAT)
    assert alerter.watch.covers("mfa_russia", None) and alerter.watch.covers(None, 1234567890)
    assert alerter.rate_per_minute == settings.alert_rate_per_minute
