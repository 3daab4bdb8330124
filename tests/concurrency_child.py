"""The processes of tests/test_pg_concurrency.py: a digest service and a listener writing the archive,
each a real tgmonitor code path with only Telegram faked, started as `python -m tests.concurrency_child`.

    digest LOCATION SENDS_LOG GO_FILE CLOCK...   the scheduled-digest job (DigestRunner.catch_up, what
                                                 DigestScheduler runs) once per clock reading
    writer LOCATION PLAN_FILE GO_FILE            `tgmonitor run`'s ingest (Archive.ingest.save): catch-up
                                                 batches with their checkpoint, live posts one by one
    alerts LOCATION SENDS_LOG GO_FILE NOW ROUNDS the service's alert check (Alerter.check), ROUNDS times

Both wait for GO_FILE to appear, so the processes of a test start their work together.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app.alerts import Alerter
from bot.app.archive import Archive
from bot.app.digest_jobs import DigestRunner
from bot.config import Settings
from bot.core.alerts import AlertRules
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, RawPost
from storage.store import Store


def _wait_for(go: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{go} never appeared")
        time.sleep(0.01)


class RecordingTelegram:
    """Telegram's edge: a message is delivered once its line is on disk; ids unique across processes."""

    def __init__(self, log: Path, latency: float = 0.005) -> None:
        self.log = log
        self.latency = latency
        self.sent = 0

    async def send_html(self, chat: int | str, html: str) -> int:
        await asyncio.sleep(self.latency)  # a round trip: the other process runs meanwhile
        self.sent += 1
        message_id = os.getpid() * 100_000 + self.sent
        line = json.dumps({"id": message_id, "chat": chat, "html": html, "pid": os.getpid()}, ensure_ascii=False)
        with open(self.log, "a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
        return message_id

    async def resolve_chat(self, chat: int | str) -> int:
        return int(chat)


def digest(location: str, sends: Path, go: Path, clocks: list[str]) -> int:
    store = Store.open(location)
    now = [datetime.fromisoformat(clocks[0])]
    runner = DigestRunner(  # every item listed (per_section=None): the long days take several messages
        store=store, sender=RecordingTelegram(sends), clock=lambda: now[0], lock_wait=120, per_section=None
    )
    _wait_for(go)
    failures = 0
    for clock in clocks:
        now[0] = datetime.fromisoformat(clock)
        for sub_id, result in asyncio.run(runner.catch_up()).items():
            if isinstance(result, BaseException):
                print(f"subscription {sub_id} at {clock}: {result!r}", file=sys.stderr)
                failures += 1
    store.close()
    return 1 if failures else 0


def alerts(location: str, sends: Path, go: Path, now: str, rounds: int) -> int:
    store = Store.open(location)
    clock = datetime.fromisoformat(now)
    alerter = Alerter(
        store=store,
        sender=RecordingTelegram(sends),
        chat_id=-100222,
        rules=AlertRules.from_settings(("kosovo",), ()),
        tz=clock.tzinfo or ZoneInfo("UTC"),
        rate_per_minute=10_000,
        clock=lambda: clock,
        batch=7,  # small batches: the two services interleave within one check
    )
    _wait_for(go)
    for _ in range(rounds):
        asyncio.run(alerter.check())
    store.close()
    return 0


def _raw(channel: dict[str, Any], post: list[Any]) -> RawPost:
    ref = ChannelRef(tg_id=channel["tg_id"], username=channel["username"], title=channel["title"])
    return RawPost(
        channel=ref, message_id=post[0], text=post[1], date=datetime.fromisoformat(post[2]), source="telethon"
    )


def writer(location: str, plan_file: Path, go: Path) -> int:
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    pipeline = Pipeline.load()
    store = Store.open(location, pipeline.normaliser)  # as Archive.open: one normaliser for both
    archive = Archive.around(Settings.from_mapping({}), store, pipeline)
    _wait_for(go)
    for step in plan:
        raws = [_raw(step["channel"], post) for post in step["posts"]]
        if step["kind"] == "catch-up":
            archive.ingest.save(raws, checkpoint=(raws[0].channel, step["upto"]))
        else:
            for raw in raws:  # live updates: one save each, as telethon_live does
                archive.ingest.save([raw])
    store.close()
    return 0


def main(argv: list[str]) -> int:
    kind, location, *rest = argv
    if kind == "digest":
        return digest(location, Path(rest[0]), Path(rest[1]), rest[2:])
    if kind == "alerts":
        return alerts(location, Path(rest[0]), Path(rest[1]), rest[2], int(rest[3]))
    if kind == "writer":
        return writer(location, Path(rest[0]), Path(rest[1]))
    raise SystemExit(f"unknown child {kind!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
