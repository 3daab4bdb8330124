"""Sinks against real receivers on 127.0.0.1 (tests/sink_receivers.py): an SMTP server whose message is
parsed, an HTTP server recording json://, ntfy:// and matrix:// requests and answering 429, 500 or
nothing at all; Apprise does the sending, as in production."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app.alerts import Alerter
from bot.app.sink_delivery import SinkDelivery
from bot.config import Settings
from bot.core.alerts import AlertRules
from bot.core.digest import build_digest
from bot.core.pipeline import Pipeline
from bot.core.sink_format import render_digest, split_blocks
from bot.outputs import ConsoleSender
from bot.outputs.sinks import ApprisePoster, SinkTarget, load_target
from storage.store import Store
from tests.conftest import make_ingest, raw_post
from tests.sink_receivers import http_receiver, smtp_receiver

pytestmark = pytest.mark.both_backends

UTC_ZONE = ZoneInfo("UTC")
BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
HOSTILE = 'Vučić & Lavrov <script>alert("x")</script> **bold** [link](http://evil.example)'


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def fill(store: Store, pipeline: Pipeline, texts: list[str]) -> None:
    raws = [raw_post(i + 1, t, date=BASE + timedelta(minutes=i)) for i, t in enumerate(texts)]
    make_ingest(store, pipeline).save(raws)


def digest_of(store: Store):  # type: ignore[no-untyped-def]
    posts = store.posts_between(BASE, BASE + timedelta(days=1))
    return build_digest(posts, BASE, BASE + timedelta(days=1))


def delivery(store: Store, targets: list[SinkTarget], clock: Clock, **kwargs: object) -> SinkDelivery:
    return SinkDelivery(
        outbox=store.sink_outbox,
        targets=targets,
        poster=ApprisePoster(),
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


def test_email_digest_is_one_multipart_message_with_links_and_escaping(store: Store, pipeline: Pipeline) -> None:
    fill(store, pipeline, [HOSTILE, "Sanctions talks in Brussels continue.", "Kosovo: new round of talks."])
    with smtp_receiver() as (port, inbox):
        target = load_target("desk", f"mailto://127.0.0.1:{port}?to=desk@example.com&from=bot@example.com")
        sinks = delivery(store, [target], Clock(BASE))
        assert sinks.enqueue_digest("digest:1:w", digest_of(store), UTC_ZONE, ["desk"]) == ["desk"]
        run = asyncio.run(sinks.deliver("desk"))
        sinks.close()
        assert run.sent == ["digest:1:w"] and run.failed is None
        assert len(inbox) == 1  # one digest, one email
        message = inbox[0]
        assert message["Subject"].startswith("Digest 2026-11-20 08:00")
        assert message["To"] == "desk@example.com"
        assert message.get_content_type() == "multipart/alternative"
        plain = message.get_body(("plain",)).get_content()
        rich = message.get_body(("html",)).get_content()
        for n in (1, 2, 3):
            link = f"https://t.me/watcher/{n}"
            assert f'href="{link}"' in rich and link in plain  # the link in both parts
        assert "&lt;script&gt;" in rich and "<script>" not in rich  # post text escaped in HTML
        assert 'alert("x")' in plain or "alert(&quot;x&quot;)" in rich
        assert "Sanctions talks in Brussels" in plain and "Vučić &amp; Lavrov" in rich


def test_json_sink_gets_the_documented_schema(store: Store, pipeline: Pipeline) -> None:
    fill(store, pipeline, [HOSTILE, "Kosovo: new round of talks."])
    with http_receiver() as receiver:
        target = load_target("hook", f"json://{receiver.base}/tgmonitor")
        sinks = delivery(store, [target], Clock(BASE))
        sinks.enqueue_digest("digest:1:w", digest_of(store), UTC_ZONE, ["hook"])
        asyncio.run(sinks.deliver("hook"))
        sinks.close()
        [request] = receiver.requests
        assert request.method == "POST" and request.path == "/tgmonitor"
        envelope = request.json()
        assert isinstance(envelope, dict) and envelope["title"].startswith("Digest")
        document = json.loads(envelope["message"])
        assert document["schema"] == "tgmonitor.sink/1" and document["kind"] == "digest"
        items = [i for s in document["digest"]["sections"] for i in s["items"]]
        assert {i["link"] for i in items} == {"https://t.me/watcher/1", "https://t.me/watcher/2"}
        assert any(i["text"].startswith("Vučić & Lavrov <script>") for i in items)  # JSON: the text as it is


def test_chat_app_digest_is_markdown_split_under_the_service_limit(store: Store, pipeline: Pipeline) -> None:
    texts = [f"Item {n}: {HOSTILE} " + "talks " * 30 for n in range(60)]
    fill(store, pipeline, texts)
    with http_receiver() as receiver:
        target = load_target("ntfy", f"ntfy://{receiver.base}/alerts")
        assert target.format == "markdown" and target.limit == 2000  # ntfy's 4,096 bytes (a longer one is a file)
        sinks = delivery(store, [target], Clock(BASE))
        sinks.enqueue_digest("digest:1:w", digest_of(store), UTC_ZONE, ["ntfy"])
        run = asyncio.run(sinks.deliver("ntfy"))
        sinks.close()
        bodies = [r.json()["message"] for r in receiver.requests]  # type: ignore[index]
    assert run.sent == ["digest:1:w"] and len(bodies) >= 2
    assert all(len(b) <= 2000 for b in bodies)
    joined = "\n".join(bodies)
    for n in range(60):
        assert joined.count(f"Item {n}: ") == 1  # split between items, none lost or repeated
    assert r"\<script\>" in joined and r"\*\*bold\*\*" in joined and "<script>" not in joined
    assert "[open](https://t.me/watcher/1)" in joined


def test_split_blocks_repeats_the_heading_and_cuts_only_a_block_too_long() -> None:
    parts = split_blocks("HEAD", [("**A**", "x" * 50), ("**A**", "y" * 50), ("**B**", "z" * 500)], 100)
    assert parts[0].startswith("HEAD") and all(len(p) <= 100 for p in parts)
    assert parts[1].startswith("**A**\n" + "y" * 50) and parts[2].startswith("**B**") and parts[2].endswith("…")


def test_matrix_alert_through_a_local_homeserver(store: Store, pipeline: Pipeline) -> None:
    fill(store, pipeline, ["Lavrov and Vucic talked about gas supplies."])
    post = store.search(None, limit=1)[0]
    with http_receiver() as receiver:
        target = load_target("mx", f"matrix://bot:hunter22@{receiver.base}/#desk")
        sinks = delivery(store, [target], Clock(BASE))
        sinks.enqueue_alert("alert:0:1", post, ["NEAR(Lavrov Vucic, 3)"], UTC_ZONE, ["mx"])
        assert asyncio.run(sinks.deliver("mx")).sent == ["alert:0:1"]
        sinks.close()
        sent = [r for r in receiver.requests if "/send/m.room.message/" in r.path]
        assert len(sent) == 1
        event = sent[0].json()
        assert isinstance(event, dict) and "Lavrov and Vucic" in event["body"]
        assert 'href="https://t.me/watcher/1"' in event["formatted_body"]


def test_429_is_retried_with_backoff_and_sent_once(store: Store, pipeline: Pipeline) -> None:
    fill(store, pipeline, ["Kosovo: new round of talks."])
    clock = Clock(BASE)
    with http_receiver(answers=[429]) as receiver:
        target = load_target("hook", f"json://{receiver.base}/h")
        sinks = delivery(store, [target], clock, retry_base=60)
        sinks.enqueue_digest("digest:1:w", digest_of(store), UTC_ZONE, ["hook"])
        first = asyncio.run(sinks.deliver("hook"))
        assert first.failed is not None and "429" in first.failed and not first.paused
        assert asyncio.run(sinks.deliver("hook")).sent == []  # not due again before the backoff
        clock.now += timedelta(seconds=61)
        assert asyncio.run(sinks.deliver("hook")).sent == ["digest:1:w"]
        assert asyncio.run(sinks.deliver("hook")).sent == []  # and never again
        sinks.close()
        assert len(receiver.requests) == 2  # the refused one and the accepted one
    health = store.sink_outbox.health("hook")
    assert health.failures == 0 and health.sent == 1 and health.pending == 0


def test_a_failing_sink_is_paused_reported_and_resumed(
    store: Store, pipeline: Pipeline, tmp_path: Path, capsys
) -> None:
    from bot.cli import main

    fill(store, pipeline, ["Kosovo: new round of talks."])
    clock = Clock(BASE)
    with http_receiver(default=500) as receiver:
        url = f"json://bot:s3cret-pass-77@{receiver.base}/h"
        target = load_target("hook", url)
        sinks = delivery(store, [target], clock, retry_base=1, pause_after=3)
        sinks.enqueue_digest("digest:1:w", digest_of(store), UTC_ZONE, ["hook"])
        for _ in range(3):
            run = asyncio.run(sinks.deliver("hook"))
            clock.now += timedelta(minutes=5)
        assert run.paused and len(receiver.requests) == 3
        assert asyncio.run(sinks.deliver("hook")).paused and len(receiver.requests) == 3  # no more tries
        health = store.sink_outbox.health("hook")
        assert health.paused_at is not None and health.pending == 1 and "500" in (health.last_error or "")
        # `tgmonitor status` and `tgmonitor sinks` report it; neither shows the password
        db = tmp_path / "archive.db"  # the store fixture's archive
        env = tmp_path / "sinks.env"
        env.write_text(f"SINK_HOOK={url}\nDB_PATH={db}\n", encoding="utf-8")
        main(["--env", str(env), "status"])
        main(["--env", str(env), "sinks"])
        out = capsys.readouterr()
        assert "sink hook: PAUSED since" in out.out and "1 owed" in out.out
        assert "hook  json://bot:[redacted]@127.0.0.1" in out.out and "PAUSED" in out.out
        assert "s3cret-pass-77" not in out.out + out.err
        # a test message says what the service answered; still failing, still paused
        assert main(["--env", str(env), "sinks", "test", "hook"]) == 1
        out = capsys.readouterr().out
        assert "hook (json://bot:[redacted]@127.0.0.1" in out and "NOT accepted" in out and "500" in out
        assert "s3cret-pass-77" not in out
        assert store.sink_outbox.health("hook").paused_at is not None
        assert len(receiver.requests) == 4
        # fixed: resume sends what was owed
        receiver.default = 200
        assert main(["--env", str(env), "sinks", "resume", "hook"]) == 0
        assert "hook: resumed; 1 delivered now" in capsys.readouterr().out
        assert len(receiver.requests) == 5
        sinks.close()


def test_a_hanging_sink_delays_no_other(store: Store, pipeline: Pipeline) -> None:
    """Ordering, not wall-clock: the dead receiver holds its request until the test releases it, and the
    alive sink must be delivered before that (a sink waiting for another would never get there)."""
    from tests.test_service import wait_until

    fill(store, pipeline, ["Kosovo: new round of talks."])
    with http_receiver(default="hang") as dead, http_receiver() as alive:
        targets = [load_target("dead", f"json://{dead.base}/h"), load_target("alive", f"json://{alive.base}/h")]
        sinks = delivery(store, targets, Clock(BASE), timeout=60)  # only the release ends the hang
        sinks.enqueue_digest("digest:1:w", digest_of(store), UTC_ZONE, ["dead", "alive"])

        async def both() -> dict[str, Any]:
            everything = asyncio.ensure_future(sinks.deliver_all())
            await wait_until(lambda: len(dead.requests) == 1)  # dead's request is in, unanswered
            await wait_until(lambda: not sinks.outbox.due("alive", BASE))  # alive delivered meanwhile
            assert len(alive.requests) == 1 and not everything.done()  # ...while dead still hangs
            dead.release.set()
            return await everything

        results = asyncio.run(both())
        sinks.close()
        assert results["alive"].sent == results["dead"].sent == ["digest:1:w"]

        # The timeout, not the receiver, decides how long a dead sink holds its own queue.
        dead.release.clear()
        sinks = delivery(store, targets[:1], Clock(BASE), timeout=0.5)
        sinks.enqueue_digest("digest:2:w", digest_of(store), UTC_ZONE, ["dead"])
        run = asyncio.run(sinks.deliver("dead"))
        sinks.close()
        assert run.failed == "no answer within 0.5s"
        assert len(dead.requests) == 2 and dead.answered == 1  # given up while the receiver still held it


def test_alert_rules_go_to_alert_to_sinks(store: Store, pipeline: Pipeline) -> None:
    clock = Clock(BASE + timedelta(hours=1))
    with http_receiver() as receiver:
        target = load_target("hook", f"json://{receiver.base}/h")
        sinks = delivery(store, [target], clock)
        sent: list[str] = []

        class Recorder(ConsoleSender):
            async def send_html(self, chat: int | str, html: str) -> int:
                sent.append(html)
                return 1

        alerter = Alerter(
            store=store,
            sender=Recorder(),
            chat_id=0,
            rules=AlertRules.from_settings(
                (), (), store.search_index.normaliser, [("rule 1", "NEAR(Lavrov Vucic, 3)")]
            ),
            tz=UTC_ZONE,
            clock=clock,
            destinations=("hook",),
            sinks=sinks,
        )
        asyncio.run(alerter.check())  # the watermark starts here
        fill(store, pipeline, ["Lavrov and Vucic talked about gas.", "Lavrov spoke; later, much later, Vucic did."])
        run = asyncio.run(alerter.check([1, 2]))
        asyncio.run(sinks.deliver("hook"))
        asyncio.run(alerter.check([1, 2]))  # again: nothing twice
        asyncio.run(sinks.deliver("hook"))
        sinks.close()
        assert run.sent == [1] and sent == []  # ALERT_TO=hook: not the chat
        [request] = receiver.requests
        document = json.loads(request.json()["message"])  # type: ignore[index]
        assert document["kind"] == "alert" and document["alert"]["reasons"] == ["NEAR(Lavrov Vucic, 3)"]


def test_secrets_in_sink_urls_never_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    from bot.service.logging_setup import make_handler

    url = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general"
    settings = Settings.from_mapping({"SINK_TEAM": url, "DIGEST_TO": "telegram,team"})
    import io

    stream = io.StringIO()
    handler = make_handler(secrets=settings.secrets, stream=stream)
    logger = logging.getLogger("test.sinks.redact")
    logger.addHandler(handler)
    try:
        logger.warning("sending to %s failed", url)
    finally:
        logger.removeHandler(handler)
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in stream.getvalue() and "[redacted]" in stream.getvalue()
    assert load_target("team", url).shown == "slack://[redacted]/[redacted]/[redacted]/#general"


def test_digest_render_for_every_format_is_escaped(store: Store, pipeline: Pipeline) -> None:
    fill(store, pipeline, [HOSTILE])
    digest = digest_of(store)
    telegram = render_digest(digest, UTC_ZONE, "telegram", 4096).parts[0]
    assert "&lt;script&gt;" in telegram
    text = render_digest(digest, UTC_ZONE, "text", 4096).parts[0]
    assert HOSTILE[:20] in text


def test_in_the_service_a_dead_sink_delays_neither_the_listener_nor_the_chat(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    """The service as it runs: ALERT_RULES to the chat and two sinks, one of which never answers."""
    from tests import tg_factory as tg
    from tests.test_service import FakeBotClient, FakeUserClient, listener_settings, make_service, wait_until
    from tests.tg_factory import FakeEdge

    now = datetime.now(UTC).replace(microsecond=0)
    edge = FakeEdge([tg.channel(1001, "balkan_watch", "Balkan Watch")])
    edge.post(tg.message(1, "Weather in Sofia.", date=now - timedelta(minutes=5)))
    user, bot = FakeUserClient(edge), FakeBotClient()
    with http_receiver(default="hang") as dead, http_receiver() as hook:
        settings = listener_settings(
            tmp_path,
            BOT_TOKEN="123456789:" + "A" * 30,
            ALERT_CHAT="-100123",
            ALLOWED_USERS="7",
            ALERT_RULES="NEAR(talks Kosovo, 3) -weather",
            SINK_DEAD=f"json://{dead.base}/h",
            SINK_HOOK=f"json://{hook.base}/h",
            ALERT_TO="dead,telegram,hook",
        )

        async def scenario() -> float:
            service = make_service(
                settings, store, pipeline, user_client_factory=lambda s: user, bot_starter=bot.start_as_bot,
                notify=lambda m: True,
            )  # fmt: skip
            running = asyncio.create_task(service.run())
            await wait_until(lambda: store.meta_get("service.last_poll_at") is not None)
            pushed = asyncio.get_running_loop().time()
            await user.push_new(tg.message(2, "Live: talks on Kosovo resume.", date=now))
            await wait_until(lambda: bool(bot.sent) and bool(hook.requests), timeout=5)
            took = asyncio.get_running_loop().time() - pushed
            await user.push_new(tg.message(3, "Weather: talks on Kosovo postponed.", date=now))  # -weather
            await asyncio.sleep(0.5)
            service.request_stop("test")
            await asyncio.wait_for(running, timeout=10)
            return took

        assert asyncio.run(scenario()) < 5  # the chat and the live sink, while `dead` holds its request
        assert [chat for chat, _ in bot.sent] == [-100123] and "Live: talks on Kosovo" in bot.sent[0][1]
        [request] = hook.requests
        assert json.loads(request.json()["message"])["alert"]["reasons"] == ["NEAR(talks Kosovo, 3) -weather"]  # type: ignore[index]
        assert len(dead.requests) == 1
    owed = store.sink_outbox.get("dead", "alert:-100123:2")
    assert owed is not None and owed.status == "pending"  # not lost: owed for the next run
