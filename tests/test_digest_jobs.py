from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.date import DateTrigger
from telethon.errors import ChatWriteForbiddenError, FloodWaitError

from bot.app.access import AccessPolicy
from bot.app.digest_jobs import DigestBusyError, DigestRunner, DigestScheduler, sync_settings_subscription
from bot.commands import CommandRouter
from bot.config import Settings
from bot.core.pipeline import Pipeline
from bot.core.windows import Window
from bot.models import ChannelRef, Chat, Forward, User
from bot.outputs import ConsoleSender
from bot.outputs.telegram import TelethonBotSender
from bot.scheduler import Scheduler
from storage.digests import DigestLog
from storage.store import Store
from storage.subscriptions import Subscription, Subscriptions
from tests.conftest import raw_post
from tests.fake_bot import Crash, FakeBotClient
from tests.pg_backend import location
from tests.tg_factory import SleepRecorder

pytestmark = pytest.mark.both_backends

SOFIA = ZoneInfo("Europe/Sofia")
CHAT = -1001234567890
NOW = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)  # 09:00 in Sofia; the 08:00 digest is due


def sofia_8(day: int) -> datetime:
    return datetime(2026, 11, day, 6, 0, tzinfo=UTC)  # 08:00 EET


LONG_AGO = sofia_8(1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def subscribe(store: Store, *, tags: tuple[str, ...] = (), since: datetime = LONG_AGO) -> Subscription:
    sub = Subscriptions(store.db).add(CHAT, at=time(8, 0), tz=SOFIA, tags=tags)
    # created before the days under test (created_at is "now" on the real clock otherwise)
    store.db.execute("UPDATE subscriptions SET created_at = ? WHERE id = ?", [since.isoformat(), sub.id])
    store.db.conn.commit()
    return sub


def mark_sent(store: Store, sub: Subscription, end: datetime) -> None:
    log = DigestLog(store.db)
    record = log.begin(sub.id, sub.chat_id, Window(end - timedelta(days=1), end), ["earlier digest"])
    log.finish(record.id)


def runner_for(store: Store, client: FakeBotClient, clock: Callable[[], datetime], **kwargs: object) -> DigestRunner:
    sender = TelethonBotSender(client, sleep=SleepRecorder())
    kwargs.setdefault("per_section", None)  # every item: these windows must run to several messages
    return DigestRunner(store=store, subscriptions=Subscriptions(store.db), sender=sender, clock=clock, **kwargs)  # type: ignore[arg-type]


def save_day_posts(store: Store, pipeline: Pipeline, days: list[int], per_day: int = 2) -> None:
    raws = []
    for day in days:
        for n in range(per_day):
            raws.append(
                raw_post(
                    day * 100 + n,
                    f"Day {day} report {n}: talks on Kosovo continued in Belgrade.",
                    date=sofia_8(day) - timedelta(hours=3 + n),
                )
            )
    store.save_posts([pipeline.process(r) for r in raws])


def test_catch_up_after_downtime_sends_one_digest_per_missed_day_in_order(store: Store, pipeline: Pipeline) -> None:
    sub = subscribe(store)
    mark_sent(store, sub, sofia_8(17))  # the last digest went out three days ago
    save_day_posts(store, pipeline, [17, 18, 19, 20])
    client = FakeBotClient()
    results = asyncio.run(runner_for(store, client, Clock(NOW)).catch_up())
    done = results[sub.id]
    assert not isinstance(done, BaseException)
    assert [r.window.end for r in done] == [sofia_8(18), sofia_8(19), sofia_8(20)]
    assert [r.window.start for r in done] == [sofia_8(17), sofia_8(18), sofia_8(19)]
    assert len(client.sent) == 3 and all(s.chat == CHAT for s in client.sent)
    for day, message in zip((18, 19, 20), client.sent, strict=True):
        assert f"Day {day} report 0" in message.text and f"Day {day} report 1" in message.text
        assert all(f"Day {other} " not in message.text for other in {17, 18, 19, 20} - {day})
        assert message.parse_mode == "html" and message.link_preview is False
    rows = store.db.execute(
        "SELECT window_end, status, parts_total, parts_sent, message_ids, sent_at FROM digests ORDER BY window_end"
    ).fetchall()
    assert [r[1] for r in rows] == ["sent"] * 4
    assert [r[4] for r in rows[1:]] == [f"[{s.id}]" for s in client.sent]
    assert all(r[2] == r[3] == 1 and r[5] for r in rows[1:])
    assert store.meta_get("digest_parts:2") is None  # frozen messages are dropped once sent


def test_a_new_scheduler_on_the_same_file_sends_nothing_already_sent(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    sub = subscribe(store)
    mark_sent(store, sub, sofia_8(17))
    save_day_posts(store, pipeline, [18, 19, 20])
    first = FakeBotClient()
    asyncio.run(runner_for(store, first, Clock(NOW)).catch_up())
    assert len(first.sent) == 3
    store.close()

    reopened = Store.open(tmp_path / "archive.db")
    try:
        again = FakeBotClient()
        clock = Clock(NOW + timedelta(hours=5))
        runner = runner_for(reopened, again, clock)
        assert asyncio.run(runner.catch_up()) == {sub.id: []}
        assert again.sent == []
        clock.now = sofia_8(21) + timedelta(minutes=1)  # the next morning: exactly one more
        done = asyncio.run(runner.run_subscription(sub.id))
        assert [r.window.end for r in done] == [sofia_8(21)] and len(again.sent) == 1
        assert "Nothing new in this window." in again.sent[0].text
    finally:
        reopened.close()


def big_window(store: Store, pipeline: Pipeline, count: int = 200) -> None:
    hostile = "<b>bold</b> & <i>x</i> 🇷🇺 \u202eRTL\u202c Kosovo statement " + "word " * 50
    raws = [
        raw_post(
            i,
            f"{hostile} number {i}.",
            date=sofia_8(20) - timedelta(minutes=i),
            channel=ChannelRef(tg_id=7, username="news"),
        )
        for i in range(1, count + 1)
    ]
    store.save_posts([pipeline.process(r) for r in raws])


def test_an_interrupted_window_resumes_from_the_next_part_after_a_restart(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    sub = subscribe(store)
    mark_sent(store, sub, sofia_8(19))
    big_window(store, pipeline)
    crashing = FakeBotClient(script={3: Crash()})  # the process dies while sending part 3
    with pytest.raises(Crash):
        asyncio.run(runner_for(store, crashing, Clock(NOW)).run_subscription(sub.id))
    (record,) = DigestLog(store.db).unfinished(sub.id)
    assert record.status == "sending" and record.parts_sent == 2 and record.parts_total > 3
    assert record.message_ids == tuple(s.id for s in crashing.sent)
    # posts arriving meanwhile do not change what the resumed digest sends
    store.save_posts([pipeline.process(raw_post(999, "Late Kosovo post.", date=sofia_8(20) - timedelta(hours=1)))])
    store.close()

    reopened = Store.open(tmp_path / "archive.db")
    try:
        healthy = FakeBotClient(next_id=500)
        done = asyncio.run(runner_for(reopened, healthy, Clock(NOW + timedelta(minutes=3))).catch_up())[sub.id]
        assert not isinstance(done, BaseException)
        (finished,) = done
        assert finished.status == "sent" and finished.parts_sent == finished.parts_total == record.parts_total
        assert len(healthy.sent) == record.parts_total - 2  # parts 3.. only, nothing twice
        assert finished.message_ids == (*record.message_ids, *(s.id for s in healthy.sent))
        texts = [s.html for s in crashing.sent] + healthy.htmls
        assert len(set(texts)) == len(texts) == record.parts_total
        assert "Late Kosovo post" not in "".join(texts)
        assert sum(t.count("\n• ") + t.startswith("• ") for t in texts) == 200
    finally:
        reopened.close()


def test_a_crash_after_telegram_accepted_a_part_resends_only_that_part(store: Store, pipeline: Pipeline) -> None:
    sub = subscribe(store)
    mark_sent(store, sub, sofia_8(19))
    big_window(store, pipeline, 120)
    crashing = FakeBotClient(script={2: "crash-after"})  # part 2 delivered, its id never recorded
    with pytest.raises(Crash):
        asyncio.run(runner_for(store, crashing, Clock(NOW)).run_subscription(sub.id))
    (record,) = DigestLog(store.db).unfinished(sub.id)
    assert record.parts_sent == 1 and len(crashing.sent) == 2
    healthy = FakeBotClient(next_id=500)
    asyncio.run(runner_for(store, healthy, Clock(NOW)).run_subscription(sub.id))
    texts = crashing.htmls + healthy.htmls
    assert len(texts) == record.parts_total + 1
    assert texts[1] == texts[2]  # the one interrupted piece, and only it, twice
    assert len(set(texts)) == record.parts_total


def test_concurrent_runs_of_one_subscription_send_once(store: Store, pipeline: Pipeline) -> None:
    sub = subscribe(store)
    mark_sent(store, sub, sofia_8(19))
    save_day_posts(store, pipeline, [20])
    client = FakeBotClient(yield_each_send=True)
    runner = runner_for(store, client, Clock(NOW))

    async def both() -> None:
        await asyncio.gather(runner.run_subscription(sub.id), runner.run_subscription(sub.id), runner.catch_up())

    asyncio.run(both())
    assert len(client.sent) == 1


@pytest.mark.parametrize(("empty", "expected"), [("notice", 1), ("skip", 0)])
def test_empty_window_sends_a_notice_or_nothing_and_is_recorded_either_way(
    store: Store, empty: str, expected: int
) -> None:
    sub = subscribe(store)
    mark_sent(store, sub, sofia_8(19))
    client = FakeBotClient()
    runner = runner_for(store, client, Clock(NOW), empty=empty)
    (record,) = asyncio.run(runner.run_subscription(sub.id))
    assert record.status == "sent" and record.parts_total == expected and len(client.sent) == expected
    if expected:
        assert client.sent[0].text.startswith("Digest 2026-11-19 08:00 → 2026-11-20 08:00 (Europe/Sofia)")
        assert "Nothing new" in client.sent[0].text
    assert asyncio.run(runner.run_subscription(sub.id)) == []


def test_new_subscription_owes_nothing_from_before_it_existed(store: Store) -> None:
    sub = subscribe(store, since=NOW - timedelta(minutes=30))  # created at 08:30, after today's 08:00
    client = FakeBotClient()
    runner = runner_for(store, client, Clock(NOW))
    assert asyncio.run(runner.run_subscription(sub.id)) == []
    runner.clock = Clock(sofia_8(21))
    (record,) = asyncio.run(runner.run_subscription(sub.id))
    assert record.window == Window(sofia_8(20), sofia_8(21))


def test_long_outage_is_capped_to_the_last_seven_days(store: Store) -> None:
    sub = subscribe(store)
    mark_sent(store, sub, datetime(2026, 10, 1, 5, 0, tzinfo=UTC))
    client = FakeBotClient()
    done = asyncio.run(runner_for(store, client, Clock(NOW)).run_subscription(sub.id))
    assert [r.window.end for r in done] == [sofia_8(d) for d in range(14, 21)]


def test_subscription_tags_filter_and_forwards_fold(store: Store, pipeline: Pipeline) -> None:
    sub = subscribe(store, tags=("#RussiaSerbia",))
    mark_sent(store, sub, sofia_8(19))
    mfa = Forward(channel_id=555, message_id=42, name="Russian MFA")
    statement = "Lavrov and Vucic discussed Kosovo in Belgrade today.\n#RussiaSerbia"
    raws = [
        raw_post(
            1,
            statement,
            channel=ChannelRef(tg_id=i, username=f"ch{i}"),
            forward=mfa,
            date=sofia_8(20) - timedelta(hours=i),
        )
        for i in range(1, 4)
    ]
    raws.append(raw_post(9, "Iran and China met in Beijing.", date=sofia_8(20) - timedelta(hours=2)))
    store.save_posts([pipeline.process(r) for r in raws])
    client = FakeBotClient()
    asyncio.run(runner_for(store, client, Clock(NOW)).run_subscription(sub.id))
    (message,) = client.sent
    assert message.text.count("Lavrov and Vucic") == 1 and "seen in 3 channels" in message.text
    assert "Iran" not in message.text
    assert message.text.startswith("Digest · #RussiaSerbia 2026-11-19 08:00 → 2026-11-20 08:00")


def test_flood_wait_is_waited_once_through_call_with_retry(store: Store, pipeline: Pipeline) -> None:
    sub = subscribe(store)
    mark_sent(store, sub, sofia_8(19))
    save_day_posts(store, pipeline, [20])
    client = FakeBotClient(script={1: FloodWaitError(request=None, capture=7)})
    sleep = SleepRecorder()
    runner = DigestRunner(
        store=store,
        subscriptions=Subscriptions(store.db),
        sender=TelethonBotSender(client, sleep=sleep),
        clock=Clock(NOW),
    )
    (record,) = asyncio.run(runner.run_subscription(sub.id))
    assert sleep.waits == [8] and client.calls == 2 and len(client.sent) == 1
    assert record.message_ids == (client.sent[0].id,)


def run_scheduler_until(
    condition: Callable[[], bool], setup: Callable[[Scheduler], None], timeout: float = 8.0
) -> None:
    """The real APScheduler (the service's wrapper), started inside the running loop, for a short bounded time."""

    async def main() -> None:
        scheduler = Scheduler(UTC)
        setup(scheduler)
        scheduler.start()
        try:
            deadline = asyncio.get_running_loop().time() + timeout
            while not condition():
                assert asyncio.get_running_loop().time() < deadline, "the scheduled job did not run in time"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)  # let a wrongly repeated run show up
        finally:
            await scheduler.stop(0)

    asyncio.run(main())


def test_apscheduler_fires_the_subscription_job_and_the_catch_up(store: Store, pipeline: Pipeline) -> None:
    first = subscribe(store)
    mark_sent(store, first, sofia_8(19))
    save_day_posts(store, pipeline, [20])
    client = FakeBotClient()
    runner = runner_for(store, client, Clock(NOW))
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    jobs: list[DigestScheduler] = []

    def setup(scheduler: Scheduler) -> None:
        digests = DigestScheduler(runner, scheduler, trigger=lambda sub: DateTrigger(soon))
        digests.start(catch_up=False)
        jobs.append(digests)
        assert digests.job_ids() == [f"digest:{first.id}"]

    run_scheduler_until(lambda: len(client.sent) == 1, setup)
    assert DigestLog(store.db).history(first.id)[-1].status == "sent"

    # a restart: the catch-up job runs as soon as the scheduler does, and finds nothing to repeat
    client2 = FakeBotClient()
    runner2 = runner_for(store, client2, Clock(NOW + timedelta(days=1)))
    run_scheduler_until(lambda: len(client2.sent) == 1, lambda s: DigestScheduler(runner2, s).start(catch_up=True))
    assert [r.window.end for r in DigestLog(store.db).history(first.id)][-2:] == [sofia_8(20), sofia_8(21)]


def test_a_failed_send_is_retried_by_the_scheduler(store: Store, pipeline: Pipeline) -> None:
    sub = subscribe(store)
    mark_sent(store, sub, sofia_8(19))
    save_day_posts(store, pipeline, [20])
    client = FakeBotClient(script={1: ChatWriteForbiddenError(request=None)})
    runner = runner_for(store, client, Clock(NOW))
    soon = datetime.now(UTC) + timedelta(seconds=1)
    run_scheduler_until(
        lambda: len(client.sent) == 1,
        lambda s: DigestScheduler(runner, s, retry_delay=0.3, trigger=lambda _: DateTrigger(soon)).start(
            catch_up=False
        ),
    )
    assert client.calls == 2
    (record,) = [r for r in DigestLog(store.db).history(sub.id) if r.window.end == sofia_8(20)]
    assert record.status == "sent"


def test_reload_follows_subscription_changes(store: Store) -> None:
    subs = Subscriptions(store.db)
    runner = runner_for(store, FakeBotClient(), Clock(NOW))

    async def main() -> None:
        scheduler = Scheduler(UTC)
        scheduler.start()
        scheduler.aps.pause()
        digests = DigestScheduler(runner, scheduler)
        settings_sub = subs.sync_from_settings(CHAT, at=time(8, 0), tz=SOFIA, tags=())
        assert settings_sub is not None
        digests.start(catch_up=False)
        assert digests.job_ids() == [f"digest:{settings_sub.id}"]
        job = scheduler.aps.get_job(f"digest:{settings_sub.id}")
        assert str(job.trigger) == "daily[08:00 Europe/Sofia]"
        extra = subs.add(-100555, at=time(19, 30), tz=ZoneInfo("America/New_York"), tags=("kosovo",))
        digests.reload()
        assert digests.job_ids() == sorted([f"digest:{settings_sub.id}", f"digest:{extra.id}"])
        moved = subs.sync_from_settings(CHAT, at=time(7, 15), tz=SOFIA, tags=())  # DIGEST_TIME changed
        assert moved is not None and moved.id != settings_sub.id
        subs.remove(-100555)
        digests.reload()
        assert digests.job_ids() == [f"digest:{moved.id}"]
        digests.stop()
        assert digests.job_ids() == []
        await scheduler.stop(0)

    asyncio.run(main())


def test_settings_subscription_resolves_a_username_and_works_without_credentials(store: Store) -> None:
    subs = Subscriptions(store.db)
    settings = Settings.from_mapping({"DIGEST_CHAT": "@balkan_digest", "DIGEST_TIME": "07:45", "TZ": "Europe/Sofia"})
    client = FakeBotClient(peers={"@balkan_digest": -1009876})
    sub = asyncio.run(sync_settings_subscription(settings, subs, TelethonBotSender(client)))
    assert sub is not None and (sub.chat_id, sub.time, sub.origin) == (-1009876, time(7, 45), "settings")
    console = Settings.from_mapping({"DIGEST_OUTPUT": "-", "DIGEST_TAGS": "kosovo"})
    sub = asyncio.run(sync_settings_subscription(console, subs, ConsoleSender()))
    assert sub is not None and sub.chat_id == 0 and sub.tags == ("kosovo",)
    assert [s.id for s in subs.list()] == [sub.id]


def test_two_processes_on_one_archive_send_each_part_once(tmp_path: Path, pipeline: Pipeline) -> None:
    """The service and `digest --due` from cron: two connections, one chat, a multi-part window."""
    first = Store.open(tmp_path / "shared.db")
    sub = subscribe(first)
    mark_sent(first, sub, sofia_8(19))
    long = " ".join(["The ministers discussed Kosovo, energy and the Belgrade-Moscow dialogue."] * 4)
    first.save_posts(
        [
            pipeline.process(raw_post(n, f"Report {n}: {long}", date=sofia_8(20) - timedelta(minutes=5 + n)))
            for n in range(80)
        ]
    )
    second = Store.open(tmp_path / "shared.db")
    client = FakeBotClient(yield_each_send=True)

    def runner(store: Store) -> DigestRunner:
        return runner_for(store, client, Clock(NOW), sleep=lambda _s: asyncio.sleep(0))

    async def both() -> None:
        await asyncio.gather(runner(first).run_subscription(sub.id), runner(second).run_subscription(sub.id))

    try:
        asyncio.run(both())
        [record] = [r for r in DigestLog(first.db).history(sub.id) if r.window.end == sofia_8(20)]
        assert record.parts_total > 1
        assert len(client.sent) == record.parts_total  # without the lock: the second resumed the first's window
        assert len({s.html for s in client.sent}) == len(client.sent)
    finally:
        first.close()
        second.close()


def test_a_digest_held_by_another_process_waits_then_gives_up(tmp_path: Path, pipeline: Pipeline) -> None:
    store = Store.open(tmp_path / "shared.db")
    sub = subscribe(store)
    mark_sent(store, sub, sofia_8(19))
    save_day_posts(store, pipeline, [20])
    holder = subprocess.Popen(  # another process sending it: the lock file's flock, or the server's advisory lock
        [
            sys.executable,
            "-c",
            "import sys; from storage.store import Store; lock = Store.open(sys.argv[1]).lock(sys.argv[2]); "
            "assert lock is not None and lock.try_acquire(); print('held', flush=True); sys.stdin.read()",
            location(tmp_path / "shared.db"),
            f"digest-{sub.id}",
        ],
        cwd=Path(__file__).resolve().parents[1],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    client = FakeBotClient()
    runner = runner_for(store, client, Clock(NOW), lock_wait=0.5)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(DigestBusyError, match=r"another tgmonitor process .*digest-\d+"):
            asyncio.run(runner.run_subscription(sub.id))
        assert client.sent == []
        holder.kill()  # the kernel drops a dead holder's lock
        holder.wait()
        assert len(asyncio.run(runner.run_subscription(sub.id))) == 1
        assert len(client.sent) == 1
    finally:
        holder.kill()
        holder.wait()
        store.close()


def test_a_revoked_user_gets_no_more_digests_until_allowed_again(
    store: Store, pipeline: Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue #13: the allow-list was checked only when a command arrived, never when a digest was sent."""
    user = 4242
    router_settings = Settings.from_mapping({"ALLOWED_USERS": str(user), "TZ": "Europe/Sofia"})
    router = CommandRouter(store, router_settings, now=lambda: NOW)
    reply = router.route("/subscribe 08:00", Chat(user), User(user))
    assert reply.parts[0].startswith("Subscribed")
    (sub,) = Subscriptions(store.db).list(user)
    assert sub.subscriber_id == user
    store.db.execute("UPDATE subscriptions SET created_at = ? WHERE id = ?", [LONG_AGO.isoformat(), sub.id])
    store.db.conn.commit()
    mark_sent(store, sub, sofia_8(19))
    save_day_posts(store, pipeline, [20, 21])

    revoked = AccessPolicy(Settings.from_mapping({"ALLOWED_USERS": "1"}))  # the owner removed them
    client = FakeBotClient()
    with caplog.at_level(logging.WARNING):
        assert asyncio.run(runner_for(store, client, Clock(NOW), may_receive=revoked.may_receive).catch_up()) == {
            sub.id: []
        }
    assert client.sent == [] and Subscriptions(store.db).get(sub.id).paused  # type: ignore[union-attr]
    assert "paused: the chat (or the user who subscribed it) is no longer in ALLOWED_USERS" in caplog.text

    # Revoked, they can still stop it; a stranger without digests is refused as before.
    stranger_router = CommandRouter(store, Settings.from_mapping({"ALLOWED_USERS": "1"}), now=lambda: NOW)
    assert "Stopped" in stranger_router.route("/unsubscribe", Chat(user), User(user)).parts[0]
    assert "private bot" in stranger_router.route("/unsubscribe", Chat(777), User(777)).parts[0]

    # Allowed again and subscribed again: it resumes from then on; the paused days are not owed.
    router.route("/subscribe 08:00", Chat(user), User(user))
    allowed = AccessPolicy(router_settings).may_receive
    asyncio.run(runner_for(store, client, Clock(NOW + timedelta(days=2)), may_receive=allowed).catch_up())
    assert not Subscriptions(store.db).get(sub.id).paused  # type: ignore[union-attr]
    asyncio.run(runner_for(store, client, Clock(NOW + timedelta(days=3)), may_receive=allowed).catch_up())
    assert [r.window.end for r in DigestLog(store.db).history(sub.id)] == [sofia_8(19), sofia_8(23)]
    assert len(client.sent) == 1


def test_group_digests_follow_the_user_who_subscribed_them(store: Store) -> None:
    group, member = Chat(-100777, private=False, title="desk"), User(5)
    CommandRouter(store, Settings.from_mapping({"ALLOWED_USERS": "5"}), now=lambda: NOW).route(
        "/subscribe #serbia", group, member
    )
    (sub,) = Subscriptions(store.db).list(group.id)
    assert AccessPolicy(Settings.from_mapping({"ALLOWED_USERS": "5"})).may_receive(sub)
    assert not AccessPolicy(Settings.from_mapping({"ALLOWED_USERS": "6"})).may_receive(sub)
    assert AccessPolicy(Settings.from_mapping({"ALLOWED_CHATS": "-100777"})).may_receive(sub)
